//! The first step of every estimate: rows grouped into cells, and each
//! cell's weighted item totals.
//!
//! A *cell* is whatever the caller groups rows by: a unit × period for the
//! default design ([`crate::aggregate`]), a (stratum, unit × period) pair
//! for any design (`design::engine`), a (stratum, channel × period) pair for
//! the survey-mode domains. [`CellRows`] holds the grouping, as runs of
//! consecutive rows when the table keeps a cell's rows together (ingest and
//! clean write it sorted by period and unit) and as a counting-sorted list
//! of rows otherwise; [`cell_totals`] totals one cell from the rows' answer
//! masks. Both estimators take their totals from here, so a cell's totals
//! are computed by one piece of code whatever the design.

use rayon::prelude::*;

/// Weighted per-item totals of a set of rows.
#[derive(Debug, Clone)]
pub(crate) struct ItemTotals {
    /// Rows.
    pub(crate) n: usize,
    /// Σ w.
    pub(crate) w: f64,
    /// Σ w·a_j (a_j: item j answered on the scale).
    pub(crate) x: Vec<f64>,
    /// Σ w·s_j (s_j: item j satisfied).
    pub(crate) y: Vec<f64>,
    /// Σ a_j.
    pub(crate) nv: Vec<usize>,
}

impl ItemTotals {
    pub(crate) fn zero(j: usize) -> Self {
        ItemTotals {
            n: 0,
            w: 0.0,
            x: vec![0.0; j],
            y: vec![0.0; j],
            nv: vec![0; j],
        }
    }

    pub(crate) fn add(&mut self, o: &ItemTotals) {
        self.n += o.n;
        self.w += o.w;
        for (a, b) in self.x.iter_mut().zip(&o.x) {
            *a += b;
        }
        for (a, b) in self.y.iter_mut().zip(&o.y) {
            *a += b;
        }
        for (a, b) in self.nv.iter_mut().zip(&o.nv) {
            *a += b;
        }
    }
}

/// The rows' weights and answer masks (see `Responses::states`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rows<'a> {
    pub(crate) weights: &'a [f64],
    pub(crate) states: &'a [u64],
    pub(crate) words: usize,
    pub(crate) n_items: usize,
}

/// Cells of at least this many rows are totalled through histograms of
/// the bytes of their masks; smaller ones of the nibbles (fewer bins to
/// clear and sum per cell, a few more additions per row).
const BYTE_HISTOGRAM_ROWS: usize = 256;

/// Weighted totals of cell `c`'s rows from their masks.
pub(crate) fn cell_totals(cells: &CellRows, c: usize, rows: Rows<'_>) -> ItemTotals {
    if cells.len(c) >= BYTE_HISTOGRAM_ROWS {
        histogram_totals::<8>(cells, c, rows)
    } else {
        histogram_totals::<4>(cells, c, rows)
    }
}

/// [`cell_totals`] through histograms of the masks `K` bits (items) at a
/// time: per chunk of `K` items, the rows' weights and counts by the
/// chunk's value in the answered mask, and their weights by its value in
/// the satisfied mask. Item `j`'s totals are then the sums over the values
/// with bit `j % K` set: a few additions per row whatever the items.
fn histogram_totals<const K: usize>(cells: &CellRows, c: usize, rows: Rows<'_>) -> ItemTotals {
    let Rows {
        weights,
        states,
        words,
        n_items,
    } = rows;
    let stride = 2 * words;
    let bins = 1usize << K;
    let mask = (bins - 1) as u64;
    let chunks = n_items.div_ceil(K);
    let chunk = |m: &[u64], b: usize| ((m[b * K / 64] >> (b * K % 64)) & mask) as usize;
    let mut wa = vec![0.0f64; chunks * bins];
    let mut ws = vec![0.0f64; chunks * bins];
    let mut ca = vec![0u32; chunks * bins];
    let mut w_sum = 0.0;
    cells.for_each(c, |r| {
        let w = weights[r];
        w_sum += w;
        let (a, s) = states[r * stride..(r + 1) * stride].split_at(words);
        for b in 0..chunks {
            let (va, vs) = (b * bins + chunk(a, b), b * bins + chunk(s, b));
            wa[va] += w;
            ca[va] += 1;
            ws[vs] += w;
        }
    });
    let mut t = ItemTotals::zero(n_items);
    t.n = cells.len(c);
    t.w = w_sum;
    for j in 0..n_items {
        let (b, bit) = (j / K, j % K);
        let (mut x, mut y, mut n) = (0.0, 0.0, 0usize);
        for v in (0..bins).filter(|v| (v >> bit) & 1 == 1) {
            x += wa[b * bins + v];
            y += ws[b * bins + v];
            n += ca[b * bins + v] as usize;
        }
        t.x[j] = x;
        t.y[j] = y;
        t.nv[j] = n;
    }
    t
}

/// Co-occurrence counts of the answer bits of a set of rows of weight 1:
/// `g[a * bits + b]` (a ≤ b; the lower triangle is left at 0; [`Gram::get`]) is the number
/// of rows with both bit a and bit b set, where bit `j` is "item j
/// answered" and bit `n_items + j` "item j satisfied". The diagonal holds
/// the bits' counts. With every row its own PSU and weight 1, a linearized
/// variable is linear in these bits, z = Σ_b u_b·x_b, so its sums over the
/// rows are Σ z = Σ_b u_b·g_bb and Σ z² = Σ_a Σ_b u_a u_b g_ab: the
/// design engine's second pass reads them from here instead of visiting
/// every row for every domain.
#[derive(Debug, Clone)]
pub(crate) struct Gram {
    /// Rows.
    pub(crate) n: usize,
    /// 2 × items.
    pub(crate) bits: usize,
    /// Upper triangle, row-major `bits × bits`.
    pub(crate) g: Vec<u64>,
}

impl Gram {
    /// Count of rows with bits `a` and `b` set (either order).
    #[inline]
    pub(crate) fn get(&self, a: usize, b: usize) -> u64 {
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        self.g[a * self.bits + b]
    }
}

/// The [`Gram`] counts of cell `c`'s rows (their weights are not read).
/// Sixty-four rows at a time, each mask word of the rows is transposed into
/// one 64-row column per bit ([`crate::responses::pack::transpose64`]), and
/// every pair of columns adds the population count of their AND.
#[allow(clippy::inline_always)] // inlined into the wide code (`crate::wide`)
#[inline(always)]
pub(crate) fn cell_gram(cells: &CellRows, c: usize, rows: Rows<'_>) -> Gram {
    let Rows {
        states,
        words,
        n_items,
        ..
    } = rows;
    let stride = 2 * words;
    let bits = 2 * n_items;
    let mut g = vec![0u64; bits * bits];
    let mut block = vec![[0u64; 64]; stride];
    let mut cols = vec![0u64; bits];
    let mut t = 0usize;
    cells.for_each(c, |r| {
        for (m, &v) in block.iter_mut().zip(&states[r * stride..(r + 1) * stride]) {
            m[t] = v;
        }
        t += 1;
        if t == 64 {
            flush_block(&mut block, &mut g, &mut cols, (words, n_items));
            t = 0;
        }
    });
    if t > 0 {
        flush_block(&mut block, &mut g, &mut cols, (words, n_items));
    }
    Gram {
        n: cells.len(c),
        bits,
        g,
    }
}

/// Adds a block of up to 64 rows (`block`: per mask word, its rows' words; emptied) to the
/// counts `g` of [`cell_gram`]: each word transposed into one 64-row column per bit
/// (`cols`), and every pair of columns adds the population count of their AND.
#[allow(clippy::inline_always)] // inlined into the wide code (`crate::wide`)
#[inline(always)]
fn flush_block(
    block: &mut [[u64; 64]],
    g: &mut [u64],
    cols: &mut [u64],
    (words, n_items): (usize, usize),
) {
    let bits = 2 * n_items;
    for (w, m) in block.iter_mut().enumerate() {
        crate::responses::pack::transpose64(m);
        let (base, first) = if w < words {
            (0, w * 64)
        } else {
            (n_items, (w - words) * 64)
        };
        for (b, col) in m.iter().enumerate() {
            if first + b < n_items {
                cols[base + first + b] = *col;
            }
        }
        *m = [0; 64];
    }
    for a in 0..bits {
        let ca = cols[a];
        if ca == 0 {
            continue;
        }
        for (gb, &cb) in g[a * bits + a..(a + 1) * bits].iter_mut().zip(&cols[a..]) {
            *gb += u64::from((ca & cb).count_ones());
        }
    }
}

/// Positions per block when a table is scanned for runs of one cell.
const RUN_SCAN_ROWS: usize = 1 << 20;

/// Consecutive rows of one cell: (cell, first row, end row).
pub(crate) type Run = (usize, u32, u32);

/// Scans positions `0..n` in parallel blocks for runs of consecutive rows
/// of one cell: position `i` is row `row_of(i)` of cell `cell_of(i)` (`None`:
/// not used). A run continues while the cell stays the same and the rows
/// are consecutive. Also counts the positions of each class
/// (`class_of(i) < n_classes`, used or not), for the reconciliation.
pub(crate) fn scan_runs(
    n: usize,
    cell_of: impl Fn(usize) -> Option<usize> + Sync,
    row_of: impl Fn(usize) -> usize + Sync,
    class_of: impl Fn(usize) -> usize + Sync,
    n_classes: usize,
) -> (Vec<Run>, Vec<usize>) {
    let blocks: Vec<(Vec<Run>, Vec<usize>)> = (0..n.div_ceil(RUN_SCAN_ROWS))
        .into_par_iter()
        .map(|b| {
            let mut per_class = vec![0usize; n_classes];
            let mut runs: Vec<Run> = Vec::new();
            for i in b * RUN_SCAN_ROWS..((b + 1) * RUN_SCAN_ROWS).min(n) {
                per_class[class_of(i)] += 1;
                let Some(c) = cell_of(i) else { continue };
                let r = row_of(i);
                match runs.last_mut() {
                    Some((lc, _, end)) if *lc == c && *end as usize == r => *end += 1,
                    _ => runs.push((c, r as u32, r as u32 + 1)),
                }
            }
            (runs, per_class)
        })
        .collect();
    let mut per_class = vec![0usize; n_classes];
    let mut runs: Vec<Run> = Vec::new();
    for (block_runs, counts) in blocks {
        for (a, b) in per_class.iter_mut().zip(counts) {
            *a += b;
        }
        for run in block_runs {
            match runs.last_mut() {
                Some((lc, _, end)) if *lc == run.0 && *end == run.1 => *end = run.2,
                _ => runs.push(run),
            }
        }
    }
    (runs, per_class)
}

/// The rows of each cell, in the order they were scanned: runs of
/// consecutive rows when there are few, otherwise a counting-sorted list.
#[derive(Debug)]
pub(crate) enum CellRows {
    /// Cell `c` owns `runs[bounds[c]..bounds[c + 1]]`, each `(start, end)`.
    Runs {
        bounds: Vec<usize>,
        runs: Vec<(u32, u32)>,
    },
    /// Cell `c` owns rows `order[bounds[c]..bounds[c + 1]]`.
    Order { bounds: Vec<usize>, order: Vec<u32> },
}

impl CellRows {
    /// Groups the runs of [`scan_runs`] by cell (`n_cells` cells):
    /// deterministic, O(rows).
    pub(crate) fn from_runs(runs: &[Run], n_cells: usize) -> Self {
        let mut bounds = vec![0usize; n_cells + 1];
        let rows_used: usize = runs.iter().map(|r| (r.2 - r.1) as usize).sum();
        let few = runs.len() <= rows_used / 16 + n_cells;
        for &(c, start, end) in runs {
            bounds[c + 1] += if few { 1 } else { (end - start) as usize };
        }
        for c in 1..bounds.len() {
            bounds[c] += bounds[c - 1];
        }
        let mut next = bounds.clone();
        if few {
            let mut placed = vec![(0u32, 0u32); runs.len()];
            for &(c, start, end) in runs {
                placed[next[c]] = (start, end);
                next[c] += 1;
            }
            CellRows::Runs {
                bounds,
                runs: placed,
            }
        } else {
            let mut order = vec![0u32; rows_used];
            for &(c, start, end) in runs {
                for r in start..end {
                    order[next[c]] = r;
                    next[c] += 1;
                }
            }
            CellRows::Order { bounds, order }
        }
    }

    /// Number of cells.
    pub(crate) fn n_cells(&self) -> usize {
        match self {
            CellRows::Runs { bounds, .. } | CellRows::Order { bounds, .. } => bounds.len() - 1,
        }
    }

    /// Rows in cell `c`.
    pub(crate) fn len(&self, c: usize) -> usize {
        match self {
            CellRows::Runs { bounds, runs } => runs[bounds[c]..bounds[c + 1]]
                .iter()
                .map(|&(s, e)| (e - s) as usize)
                .sum(),
            CellRows::Order { bounds, .. } => bounds[c + 1] - bounds[c],
        }
    }

    /// Calls `f` with each row of cell `c`, in scan order.
    #[allow(clippy::inline_always)] // inlined into the wide code (`crate::wide`)
    #[inline(always)]
    pub(crate) fn for_each(&self, c: usize, mut f: impl FnMut(usize)) {
        match self {
            CellRows::Runs { bounds, runs } => {
                for &(s, e) in &runs[bounds[c]..bounds[c + 1]] {
                    for r in s as usize..e as usize {
                        f(r);
                    }
                }
            }
            CellRows::Order { bounds, order } => {
                for &r in &order[bounds[c]..bounds[c + 1]] {
                    f(r as usize);
                }
            }
        }
    }
}

/// One stratum's contribution to the covariance of two linearized totals:
/// (1 − f_h)·n_h/(n_h − 1)·(Σ z_a z_b − Σ z_a Σ z_b / n_h), with `n` the
/// stratum's PSUs, `fcorr` = 1 − f_h, `sab` = Σ_p z_a,p z_b,p and `sa`, `sb`
/// the PSU totals' sums: the with-replacement estimator of R's `svytotal`.
/// The one formula of every linearized variance (the default design's
/// cells, every domain of a declared design, the DiD quadrants and the
/// survey modes); strata with one PSU follow the lonely-PSU rule of the
/// caller.
#[inline]
pub(crate) fn stratum_cov(n: usize, fcorr: f64, sab: f64, sa: f64, sb: f64) -> f64 {
    let nf = n as f64;
    fcorr * nf / (nf - 1.0) * (sab - sa * sb / nf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pair's count of [`cell_gram`] is the number of the cell's rows with both bits
    /// set, counted row by row: 33 items (one mask word each for answered and satisfied),
    /// cells of 1, 63, 64, 65 and 200 rows, in runs and counting-sorted.
    #[test]
    fn gram_counts_are_the_rows_with_both_bits() {
        let n_items = 33;
        let mut state = 0x6A09_E667_u64;
        let mut next = move || crate::lanes::splitmix(&mut state);
        let sizes = [1usize, 63, 64, 65, 200];
        let n: usize = sizes.iter().sum();
        let item_mask = (1u64 << n_items) - 1;
        // Answered, then satisfied (a subset of answered), per row.
        let states: Vec<u64> = (0..n)
            .flat_map(|_| {
                let a = next() & item_mask;
                [a, a & next()]
            })
            .collect();
        let weights = vec![1.0; n];
        let rows = Rows {
            weights: &weights,
            states: &states,
            words: 1,
            n_items,
        };
        let mut runs = Vec::new();
        let mut start = 0u32;
        for (c, &len) in sizes.iter().enumerate() {
            // Each cell one run of consecutive rows.
            let len = u32::try_from(len).unwrap();
            runs.push((c, start, start + len));
            start += len;
        }
        let bit = |r: usize, b: usize| {
            let (word, k) = if b < n_items {
                (0, b)
            } else {
                (1, b - n_items)
            };
            (states[2 * r + word] >> k) & 1 == 1
        };
        for grouped in [
            CellRows::from_runs(&runs, sizes.len()),
            CellRows::Order {
                bounds: std::iter::once(0)
                    .chain(sizes.iter().scan(0, |s, &l| {
                        *s += l;
                        Some(*s)
                    }))
                    .collect(),
                order: (0..u32::try_from(n).unwrap()).collect(),
            },
        ] {
            for (c, &size) in sizes.iter().enumerate() {
                let g = cell_gram(&grouped, c, rows);
                assert_eq!(g.n, size);
                let mut members = Vec::new();
                grouped.for_each(c, |r| members.push(r));
                for a in 0..2 * n_items {
                    for b in 0..2 * n_items {
                        let want = members.iter().filter(|&&r| bit(r, a) && bit(r, b)).count();
                        assert_eq!(g.get(a, b), want as u64, "cell {c}, bits {a} and {b}");
                    }
                }
            }
        }
    }
}
