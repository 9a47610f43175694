//! Large outputs written past the page cache.
//!
//! A results folder at national scale holds over a gigabyte of CSV (`estimates.csv` alone is
//! 1.1 GB at 10,000 units). Written the usual way, every byte is first copied into the
//! kernel's page cache, a page at a time, under the file's lock; the atomic write then syncs
//! it to disk anyway ([`crate::atomic`]). On the 2-core machines sipas is measured on that
//! copy was a sixth of all the CPU time of `sipas aggregate`, and two threads writing one
//! file spent more spinning on its lock.
//!
//! [`DirectWriter`] gathers the bytes into 4096-aligned chunks of up to 8 MiB and hands each
//! whole chunk to a writer thread, which writes it with `O_DIRECT` (Linux): the disk reads
//! the chunk from sipas' own memory and the page cache is not touched. The bytes that do not
//! fill a last aligned block are written the usual way. Where the file system refuses
//! `O_DIRECT` (tmpfs, some network file systems, any other system than Linux) every chunk is
//! written the usual way: the same bytes, only the path differs. Chunks are written in turn
//! while the caller fills the next one (up to [`BUFFERS`] in flight).
//!
//! The writer thread also hashes the bytes (BLAKE3) as it writes them, and a file committed
//! through [`crate::atomic::write_direct_with`] is remembered with its size, time of
//! modification and hash ([`written`]): the results folder's manifest takes them from there
//! instead of reading a gigabyte back from the disk.
//!
//! The read side: [`DirectReader`] reads a large input (a CSV of many gigabytes) into
//! [`AlignedBuf`]s past the page cache, for the same reasons.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;
use std::time::SystemTime;

/// The alignment of the chunks' memory, length and place in the file.
pub const ALIGN: usize = 4096;

/// The largest chunk written at once.
pub const CHUNK: usize = 8 << 20;

/// Chunks that exist at once (filled, in flight or written and free again).
pub const BUFFERS: usize = 3;

/// The first chunk's size: a small file never needs a large buffer.
const FIRST: usize = 64 << 10;

/// One chunk: `buf[off..off + len]`, to be written at `pos` of the file.
struct Job {
    buf: Vec<u8>,
    off: usize,
    len: usize,
    pos: u64,
}

/// A buffer of `size` bytes at a 4096-aligned address: `buf[off..off + size]`.
fn aligned(size: usize) -> (Vec<u8>, usize) {
    let buf = vec![0u8; size + ALIGN];
    let off = buf.as_ptr().align_offset(ALIGN);
    assert!(off < ALIGN, "a byte buffer can be aligned");
    (buf, off)
}

/// A file handle with `O_DIRECT` on `path`, for writing or (not `write`) reading, when the
/// system and file system allow one.
#[cfg(target_os = "linux")]
fn open_direct(path: &Path, write: bool) -> Option<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(write)
        .read(!write)
        .custom_flags(libc::O_DIRECT)
        .open(path)
        .ok()
}

#[cfg(not(target_os = "linux"))]
fn open_direct(_: &Path, _: bool) -> Option<File> {
    None
}

/// Writes `bytes` at `pos` of `file`.
#[cfg(unix)]
fn write_at(file: &File, bytes: &[u8], pos: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.write_all_at(bytes, pos)
}

#[cfg(not(unix))]
fn write_at(mut file: &File, bytes: &[u8], pos: u64) -> io::Result<()> {
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::Start(pos))?;
    file.write_all(bytes)
}

/// Bytes at a 4096-aligned address ([`ALIGN`]), as many as a multiple of it: the memory a
/// read past the page cache ([`DirectReader`]) fills. Allocated zeroed once, then reused.
pub struct AlignedBuf {
    buf: Vec<u8>,
    off: usize,
    cap: usize,
}

impl std::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlignedBuf")
            .field("cap", &self.cap)
            .finish_non_exhaustive()
    }
}

impl AlignedBuf {
    /// A buffer of at least `size` bytes (rounded up to a multiple of [`ALIGN`]).
    pub fn new(size: usize) -> Self {
        let cap = size.max(1).next_multiple_of(ALIGN);
        let (buf, off) = aligned(cap);
        AlignedBuf { buf, off, cap }
    }

    /// Its size in bytes (a multiple of [`ALIGN`]).
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// All its bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[self.off..self.off + self.cap]
    }

    /// All its bytes, to write into.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.off..self.off + self.cap]
    }
}

/// A file read at aligned offsets into [`AlignedBuf`]s, with `O_DIRECT` (Linux) when asked and
/// the file system allows it: the disk writes into sipas' own memory and the page cache is
/// neither copied from nor filled. A file of many gigabytes read through the page cache costs
/// more in the kernel than the reading itself (on the 2-core machines sipas is measured on, 22
/// s of system time for one read of a 12 GB CSV that was not cached, 0.6 s with `O_DIRECT`),
/// and evicts what the stage writes. Where `O_DIRECT` is refused the file is read the usual
/// way: the same bytes.
#[derive(Debug)]
pub struct DirectReader {
    file: File,
    direct: bool,
}

impl DirectReader {
    /// Opens `path` for reading, past the page cache when `direct` and the system allows.
    pub fn open(path: &Path, direct: bool) -> io::Result<Self> {
        if direct && let Some(file) = open_direct(path, false) {
            return Ok(DirectReader { file, direct: true });
        }
        Ok(DirectReader {
            file: File::open(path)?,
            direct: false,
        })
    }

    /// Whether reads go past the page cache.
    pub fn is_direct(&self) -> bool {
        self.direct
    }

    /// The file's size in bytes now.
    pub fn size(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    /// Fills `dst` with the file's bytes from `pos`, as far as the file goes: the number of
    /// bytes read, fewer than `dst.len()` only at the end of the file. Past the page cache,
    /// `dst` must start at a [`ALIGN`]-aligned address (a slice of an [`AlignedBuf`] from a
    /// multiple of [`ALIGN`]) and `pos` and `dst.len()` be multiples of [`ALIGN`]; the kernel
    /// refuses other reads.
    pub fn read_at(&self, dst: &mut [u8], pos: u64) -> io::Result<usize> {
        debug_assert!(
            !self.direct
                || ((dst.as_ptr() as usize).is_multiple_of(ALIGN)
                    && pos.is_multiple_of(ALIGN as u64)
                    && dst.len().is_multiple_of(ALIGN)),
            "aligned reads only"
        );
        let mut k = 0;
        while k < dst.len() {
            match read_at(&self.file, &mut dst[k..], pos + k as u64) {
                Ok(0) => break,
                // Past the page cache a short read is the end of the file (the next read would
                // start at an unaligned offset).
                Ok(n) if self.direct && !n.is_multiple_of(ALIGN) => {
                    k += n;
                    break;
                }
                Ok(n) => k += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(k)
    }
}

/// The machine's memory in bytes, when the system tells (Linux: `MemTotal` of
/// `/proc/meminfo`).
pub fn physical_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    mem_total(&info)
}

/// `MemTotal` of a `/proc/meminfo` text, in bytes.
fn mem_total(info: &str) -> Option<u64> {
    let line = info.lines().find_map(|l| l.strip_prefix("MemTotal:"))?;
    let kib = line.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()?;
    Some(kib.saturating_mul(1024))
}

/// Reads into `buf` from `pos` of `file`.
#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    file.read_at(buf, pos)
}

#[cfg(not(unix))]
fn read_at(mut file: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(pos))?;
    file.read(buf)
}

/// What a [`DirectWriter`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Bytes.
    pub len: u64,
    /// Their BLAKE3 hash, in hex.
    pub blake3: String,
    /// Whether every whole aligned block went with `O_DIRECT`.
    pub direct: bool,
}

/// The writer thread: each chunk's aligned part through `direct` (while it works), the rest
/// through `normal`, then hashed; each buffer handed back once written.
fn run(
    normal: &File,
    mut direct: Option<File>,
    jobs: &Receiver<Job>,
    back: &SyncSender<Vec<u8>>,
) -> io::Result<Written> {
    let mut hash = blake3::Hasher::new();
    let mut len = 0u64;
    for job in jobs {
        let bytes = &job.buf[job.off..job.off + job.len];
        let mut done = 0;
        let whole = bytes.len() / ALIGN * ALIGN;
        if whole > 0
            && let Some(d) = &direct
        {
            match write_at(d, &bytes[..whole], job.pos) {
                Ok(()) => done = whole,
                // The file system takes no direct writes after all: the usual way from now on.
                Err(e) if e.kind() == io::ErrorKind::InvalidInput => direct = None,
                Err(e) => return Err(e),
            }
        }
        write_at(normal, &bytes[done..], job.pos + done as u64)?;
        hash.update(bytes);
        len += bytes.len() as u64;
        // The writer may already be gone (it stops at an error of its own).
        let _ = back.send(job.buf);
    }
    Ok(Written {
        len,
        blake3: hash.finalize().to_hex().to_string(),
        direct: direct.is_some(),
    })
}

/// Writes a file's bytes in order past the page cache (see the module's documentation).
/// [`DirectWriter::finish`] writes the last bytes and reports any error of the writer thread;
/// the file must be synced by its owner afterwards (as [`crate::atomic::AtomicFile::commit`]
/// does).
pub struct DirectWriter {
    /// The chunk being filled: `buf[off..off + cap]`, `fill` bytes so far.
    buf: Vec<u8>,
    off: usize,
    cap: usize,
    fill: usize,
    /// The place in the file of the chunk being filled.
    pos: u64,
    /// Buffers made so far (at most [`BUFFERS`]).
    made: usize,
    jobs: Option<SyncSender<Job>>,
    free: Receiver<Vec<u8>>,
    thread: Option<JoinHandle<io::Result<Written>>>,
}

impl std::fmt::Debug for DirectWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectWriter")
            .field("pos", &self.pos)
            .field("fill", &self.fill)
            .finish_non_exhaustive()
    }
}

impl DirectWriter {
    /// Writes from the start of `file` (an empty file at `path`), with `O_DIRECT` where the
    /// file system allows it.
    ///
    /// # Errors
    /// The I/O error of starting the writer thread.
    pub fn new(file: File, path: &Path) -> io::Result<Self> {
        Self::with_direct(file, open_direct(path, true))
    }

    /// [`DirectWriter::new`] with the direct handle given (`None`: the usual way only).
    fn with_direct(file: File, direct: Option<File>) -> io::Result<Self> {
        let (jobs, rx) = sync_channel::<Job>(BUFFERS);
        let (back, free) = sync_channel::<Vec<u8>>(BUFFERS);
        let thread = std::thread::Builder::new()
            .name("sipas-write".into())
            .spawn(move || run(&file, direct, &rx, &back))?;
        let (buf, off) = aligned(FIRST);
        Ok(DirectWriter {
            buf,
            off,
            cap: FIRST,
            fill: 0,
            pos: 0,
            made: 1,
            jobs: Some(jobs),
            free,
            thread: Some(thread),
        })
    }

    /// Waits for the writer thread (its job queue closed): what it wrote, or its error.
    fn join(&mut self) -> io::Result<Written> {
        self.jobs = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(io::Error::other("the writer thread panicked")),
            None => Err(io::Error::other("the writer thread stopped")),
        }
    }

    /// The writer thread's error once it has stopped (it stops only at one).
    fn stopped(&mut self) -> io::Error {
        self.join()
            .err()
            .unwrap_or_else(|| io::Error::other("the writer thread stopped"))
    }

    /// A free buffer of [`CHUNK`] bytes and its aligned offset: one the writer thread handed
    /// back, or a new one while fewer than [`BUFFERS`] exist.
    fn free_buffer(&mut self) -> io::Result<(Vec<u8>, usize)> {
        let back = match self.free.try_recv() {
            Ok(buf) => Some(buf),
            Err(TryRecvError::Empty) if self.made < BUFFERS => None,
            Err(TryRecvError::Empty) => match self.free.recv() {
                Ok(buf) => Some(buf),
                Err(_) => return Err(self.stopped()),
            },
            Err(TryRecvError::Disconnected) => return Err(self.stopped()),
        };
        Ok(match back {
            Some(buf) if buf.len() == CHUNK + ALIGN => {
                let off = buf.as_ptr().align_offset(ALIGN);
                (buf, off)
            }
            // The first, smaller buffer is dropped; a new one counts.
            _ => {
                self.made += usize::from(back.is_none());
                aligned(CHUNK)
            }
        })
    }

    /// Hands the chunk being filled (`fill` bytes) to the writer thread, `next` (a buffer and
    /// its aligned offset) taking its place.
    fn hand_over(&mut self, (buf, off): (Vec<u8>, usize)) -> io::Result<()> {
        let job = Job {
            buf: std::mem::replace(&mut self.buf, buf),
            off: std::mem::replace(&mut self.off, off),
            len: self.fill,
            pos: self.pos,
        };
        self.pos += self.fill as u64;
        self.fill = 0;
        let sent = self.jobs.as_ref().map(|j| j.send(job));
        match sent {
            Some(Ok(())) => Ok(()),
            _ => Err(self.stopped()),
        }
    }

    /// Writes the last bytes, waits for the writer thread and reports its error; what was
    /// written.
    ///
    /// # Errors
    /// The I/O error of any write.
    pub fn finish(mut self) -> io::Result<Written> {
        if self.fill > 0 {
            // The last chunk: nothing takes its place.
            self.hand_over((Vec::new(), 0))?;
        }
        self.join()
    }
}

impl Write for DirectWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.write_all(data)?;
        Ok(data.len())
    }

    fn write_all(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            if self.fill == self.cap {
                if self.cap < CHUNK {
                    // The first buffer grows (a small file never needs a large one).
                    let cap = (self.cap * 4).min(CHUNK);
                    let (mut buf, off) = aligned(cap);
                    buf[off..off + self.fill]
                        .copy_from_slice(&self.buf[self.off..self.off + self.fill]);
                    (self.buf, self.off, self.cap) = (buf, off, cap);
                } else {
                    let next = self.free_buffer()?;
                    self.hand_over(next)?;
                }
            }
            let n = (self.cap - self.fill).min(data.len());
            let at = self.off + self.fill;
            self.buf[at..at + n].copy_from_slice(&data[..n]);
            self.fill += n;
            data = &data[n..];
        }
        Ok(())
    }

    /// Nothing: the bytes reach the file in whole chunks and at [`DirectWriter::finish`].
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for DirectWriter {
    fn drop(&mut self) {
        // Unfinished (an error elsewhere): the thread ends once its last chunk is written.
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A file this process committed: its size, time of modification and hash.
struct Record {
    len: u64,
    modified: SystemTime,
    blake3: String,
}

/// The files committed through [`crate::atomic::write_direct_with`] (and the result tables'
/// Parquet twins) and the files hashed whole ([`remember_read`]), by canonical path.
static WRITTEN: Mutex<Option<HashMap<PathBuf, Record>>> = Mutex::new(None);

/// The size and modification time of `path`, and its canonical path.
fn stat(path: &Path) -> Option<(PathBuf, u64, SystemTime)> {
    let (len, modified) = stamp(path)?;
    Some((std::fs::canonicalize(path).ok()?, len, modified))
}

/// Remembers that `path` holds `len` bytes of hash `blake3` when its size is `len` and, with
/// `seen`, its size and time of modification are still those.
fn keep(path: &Path, len: u64, seen: Option<(u64, SystemTime)>, blake3: &str) {
    let Some((key, now_len, modified)) = stat(path) else {
        return;
    };
    if now_len != len || seen.is_some_and(|s| s != (now_len, modified)) {
        return;
    }
    let record = Record {
        len,
        modified,
        blake3: blake3.to_string(),
    };
    let mut map = WRITTEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    map.get_or_insert_with(HashMap::new).insert(key, record);
}

/// Remembers that `path` (just committed) holds what `w` wrote.
pub fn remember(path: &Path, w: &Written) {
    keep(path, w.len, None, &w.blake3);
}

/// The size and time of modification of `path`: taken before a file is read to be hashed
/// ([`remember_read`]).
pub fn stamp(path: &Path) -> Option<(u64, SystemTime)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

/// Remembers the BLAKE3 hash `blake3` of `len` bytes that this process read from `path`,
/// whose size and time of modification were `seen` ([`stamp`]) before it was read and are
/// still: a stage's input folder is hashed when it is verified at the start and listed in the
/// manifest at the end, and is read once for both.
pub fn remember_read(path: &Path, seen: (u64, SystemTime), len: u64, blake3: &str) {
    keep(path, len, Some(seen), blake3);
}

/// The size and BLAKE3 hash of `path` when this process wrote it ([`remember`]) or read it
/// whole ([`remember_read`]) and it has the same size and time of modification since; `None`
/// otherwise (read it to know).
pub fn written(path: &Path) -> Option<(u64, String)> {
    let (key, len, modified) = stat(path)?;
    let map = WRITTEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let r = map.as_ref()?.get(&key)?;
    (r.len == len && r.modified == modified).then(|| (r.len, r.blake3.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xorshift::XorShift64;

    /// Random bytes in random pieces: `n` bytes, pieces up to `max` long.
    fn pieces(seed: u64, n: usize, max: usize) -> (Vec<u8>, Vec<std::ops::Range<usize>>) {
        let mut rng = XorShift64::new(seed);
        let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
        let mut cuts = Vec::new();
        let mut a = 0;
        while a < n {
            let b = (a + 1 + (rng.next_u64() as usize % max)).min(n);
            cuts.push(a..b);
            a = b;
        }
        (bytes, cuts)
    }

    /// `MemTotal` is read in kB and given in bytes; a text without it gives nothing.
    #[test]
    fn mem_total_is_read_in_bytes() {
        let info = "MemTotal:       24576000 kB\nMemFree:         1000 kB\n";
        assert_eq!(mem_total(info), Some(24_576_000 * 1024));
        assert_eq!(mem_total("MemFree: 1 kB\n"), None);
        assert_eq!(mem_total("MemTotal: many\n"), None);
    }

    /// Bytes written in pieces of every size (from one byte to more than a chunk) reach the
    /// file in order, whole, across chunks, the first buffer's growth and a last unaligned
    /// block; with a direct handle (where the file system takes one) and without.
    #[test]
    fn every_byte_reaches_the_file_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for (k, n, max) in [
            (0, 0, 1),
            (1, 1, 1),
            (2, ALIGN, 100),
            (3, FIRST + 1, 5000),
            (4, 2 * CHUNK + 3 * ALIGN + 17, CHUNK + 999),
            (5, 3 * CHUNK, 1 << 20),
        ] {
            let (bytes, cuts) = pieces(k as u64 + 1, n, max);
            for direct in [true, false] {
                let path = dir.path().join(format!("f{k}{direct}"));
                let file = File::create(&path).unwrap();
                let mut w = if direct {
                    DirectWriter::new(file, &path).unwrap()
                } else {
                    DirectWriter::with_direct(file, None).unwrap()
                };
                for c in &cuts {
                    w.write_all(&bytes[c.clone()]).unwrap();
                }
                let w = w.finish().unwrap();
                assert!(direct || !w.direct);
                let back = std::fs::read(&path).unwrap();
                assert_eq!(back.len(), n, "file {k}, direct {direct}");
                assert!(back == bytes, "file {k}, direct {direct}: bytes differ");
                assert_eq!(w.len, n as u64);
                assert_eq!(w.blake3, blake3::hash(&bytes).to_hex().to_string());
            }
        }
    }

    /// An error of the writer thread reaches the caller (a handle opened for reading only
    /// cannot be written).
    #[test]
    fn an_error_of_the_writer_thread_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r");
        std::fs::write(&path, b"").unwrap();
        let read_only = File::open(&path).unwrap();
        let mut w = DirectWriter::with_direct(read_only, None).unwrap();
        let data = vec![7u8; 3 * CHUNK];
        let wrote = w.write_all(&data);
        let finished = w.finish();
        assert!(wrote.is_err() || finished.is_err());
    }

    /// A file committed through `write_direct_with` is remembered with its size and hash
    /// until it changes; another file is not known.
    #[test]
    fn a_committed_file_is_known_until_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let bytes = pieces(9, 3 * ALIGN + 5, 700).0;
        crate::atomic::write_direct_with(&path, |w| w.write_all(&bytes)).unwrap();
        let hex = blake3::hash(&bytes).to_hex().to_string();
        assert_eq!(written(&path), Some((bytes.len() as u64, hex)));
        std::fs::write(&path, b"changed").unwrap();
        assert_eq!(written(&path), None);
        let other = dir.path().join("u.csv");
        std::fs::write(&other, &bytes).unwrap();
        assert_eq!(written(&other), None);
    }

    /// A file hashed whole is remembered while its size and time of modification stay those
    /// seen before it was read; one changed while it was read, or since, is read again.
    #[test]
    fn a_file_read_whole_is_known_until_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.parquet");
        std::fs::write(&path, b"responses").unwrap();
        let hex = blake3::hash(b"responses").to_hex().to_string();
        let seen = stamp(&path).unwrap();
        remember_read(&path, seen, 9, &hex);
        assert_eq!(written(&path), Some((9, hex.clone())));
        std::fs::write(&path, b"responses, changed").unwrap();
        assert_eq!(written(&path), None);
        // Changed between the stamp and the hash: not remembered.
        let moved = dir.path().join("moved.parquet");
        std::fs::write(&moved, b"responses").unwrap();
        let seen = stamp(&moved).unwrap();
        std::fs::write(&moved, b"responses, longer").unwrap();
        remember_read(&moved, seen, 9, &hex);
        assert_eq!(written(&moved), None);
    }
}
