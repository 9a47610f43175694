//! Writing the RESULTS tables: fixed-format CSV, one Parquet file and the
//! JSON report, each written to a temporary file and renamed into place.

use std::fmt::Write as _;
use std::path::Path;

use polars::prelude::*;
use rayon::prelude::*;

use sipas_core::results;
pub(crate) use sipas_core::results::{field, finite_num, num};

use crate::indices::{CellEstimate, Estimate, Indices};
use crate::{Error, Result};

/// Writes every results table into `out_dir` (created if needed).
///
/// Each file is written to a temporary file in `out_dir` and renamed, so a
/// reader never sees a half-written table. Same indices → same bytes.
pub fn write_results(indices: &Indices, out_dir: &Path) -> Result<()> {
    std::fs::create_dir_all(out_dir).map_err(|source| Error::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;

    // unit_period.csv
    let mut text = results::UNIT_PERIOD.header(&indices.group_ids);
    let lines: Vec<String> = indices.cells.par_iter().map(cell_line).collect();
    text.extend(lines);
    // The Parquet twin is built from the typed cells below.
    let target = out_dir.join(results::UNIT_PERIOD.file);
    sipas_core::csv_out::write(&target, text.as_bytes()).map_err(io_err(&target))?;

    // unit_period.parquet
    let mut df = cells_frame(indices).map_err(|source| Error::Polars {
        origin: out_dir
            .join(results::UNIT_PERIOD.parquet())
            .display()
            .to_string(),
        source,
    })?;
    write_parquet(out_dir, &results::UNIT_PERIOD.parquet(), &mut df)?;

    // items.csv: 3.96 M lines with 10,000 units. Its twin is made from the
    // cells, each number as the text shows it (`results::num_value`), not by
    // parsing the text back ([`items_frame`]).
    // The text is made a window of cells at a time, each block of cells on its own thread
    // (`par_records`): never 200 MB in one string.
    let target = out_dir.join(results::ITEMS.file);
    // The items' ids as CSV fields, made once for every block.
    let ids: Vec<std::borrow::Cow<'_, str>> = indices.item_ids.iter().map(|id| field(id)).collect();
    let (csv, twin) = rayon::join(
        || {
            sipas_core::csv_out::write_with(&target, |w| {
                w.records(results::ITEMS.header::<&str>(&[]).as_bytes())?;
                w.par_records(&indices.cells, ITEM_BLOCK_CELLS, |cells| {
                    let mut s = Vec::with_capacity(cells.len() * ids.len() * 48);
                    for c in cells {
                        item_lines(&mut s, c, &ids);
                    }
                    s
                })
            })
            .map_err(io_err(&target))
        },
        || write_items_twin(indices, &out_dir.join(results::ITEMS.parquet())),
    );
    csv?;
    twin?;

    // groups.csv
    let mut text = results::GROUPS.header(&indices.group_ids);
    for g in &indices.groups {
        let _ = write!(text, "{},{},{},", g.period, g.group.as_str(), g.n);
        push_estimate(&mut text, &g.sipas);
        push_values(&mut text, &g.groups);
        text.push('\n');
    }
    write_csv(out_dir, &results::GROUPS, text.as_bytes())?;

    // did.csv
    // Header only when the data cannot give a DiD (the reason is in
    // aggregate-report.json): never a stale table from an earlier run.
    let mut text = results::DID.header::<&str>(&[]);
    if let Some(d) = &indices.did {
        let _ = writeln!(
            text,
            "{},{},{},{},{},{},{},{},{}",
            d.pilot_start,
            num(Some(d.estimate)),
            num(Some(d.se)),
            num(Some(d.lo)),
            num(Some(d.hi)),
            num(d.pilot_pre.value),
            num(d.pilot_post.value),
            num(d.baseline_pre.value),
            num(d.baseline_post.value),
        );
    }
    write_csv(out_dir, &results::DID, text.as_bytes())?;

    // aggregate-report.json
    let mut json = serde_json::to_string_pretty(&indices.report)?;
    json.push('\n');
    write_atomic(out_dir, results::AGGREGATE_REPORT.file, json.as_bytes())?;
    Ok(())
}

/// Cells per block of `items.csv` formatted on one thread (a window of
/// [`sipas_core::csv_out::WINDOW_BLOCKS`] blocks is about 30 MB of text with 33 items a cell).
const ITEM_BLOCK_CELLS: usize = 512;

/// Appends the lines of `items.csv` of cell `c`: one per item of `item_ids` (the items' ids as
/// CSV fields, [`field`]).
fn item_lines(s: &mut Vec<u8>, c: &CellEstimate, item_ids: &[std::borrow::Cow<'_, str>]) {
    // The cell's opening fields once: `unit_code,period,`.
    let start = format!("{},{},", field(&c.unit_code), c.period);
    for (id, it) in item_ids.iter().zip(&c.items) {
        s.extend_from_slice(start.as_bytes());
        s.extend_from_slice(id.as_bytes());
        s.push(b',');
        results::push_uint_bytes(s, it.n_valid as u64);
        s.push(b',');
        results::push_num_bytes(s, it.share);
        s.push(b',');
        results::push_num_bytes(s, it.lo);
        s.push(b',');
        results::push_num_bytes(s, it.hi);
        s.push(b'\n');
    }
}

fn cell_line(c: &CellEstimate) -> String {
    let mut s = format!(
        "{},{},{},{},{},{},{},",
        field(&c.unit_code),
        field(&c.unit_name),
        field(&c.district),
        field(&c.kind),
        c.pilot,
        c.period,
        c.n
    );
    push_estimate(&mut s, &c.sipas);
    push_values(&mut s, &c.groups);
    s.push('\n');
    s
}

fn push_estimate(s: &mut String, e: &Estimate) {
    results::push_num(s, e.value);
    for v in [e.se, e.lo, e.hi] {
        s.push(',');
        results::push_num(s, v);
    }
}

fn push_values(s: &mut String, values: &[Option<f64>]) {
    for v in values {
        s.push(',');
        results::push_num(s, *v);
    }
}

fn cells_frame(indices: &Indices) -> PolarsResult<DataFrame> {
    let cells = &indices.cells;
    let text = |name: &str, f: &dyn Fn(&CellEstimate) -> String| {
        Column::new(name.into(), cells.iter().map(f).collect::<Vec<String>>())
    };
    let float = |name: &str, f: &dyn Fn(&CellEstimate) -> Option<f64>| {
        Column::new(
            name.into(),
            cells.iter().map(f).collect::<Vec<Option<f64>>>(),
        )
    };
    let mut columns = vec![
        text("unit_code", &|c| c.unit_code.clone()),
        text("unit_name", &|c| c.unit_name.clone()),
        text("district", &|c| c.district.clone()),
        text("kind", &|c| c.kind.clone()),
        Column::new(
            "pilot".into(),
            cells.iter().map(|c| c.pilot).collect::<Vec<bool>>(),
        ),
        text("period", &|c| c.period.to_string()),
        Column::new(
            "n".into(),
            cells.iter().map(|c| c.n as u64).collect::<Vec<u64>>(),
        ),
        float("sipas", &|c| c.sipas.value),
        float("sipas_se", &|c| c.sipas.se),
        float("sipas_lo", &|c| c.sipas.lo),
        float("sipas_hi", &|c| c.sipas.hi),
    ];
    for (g, id) in indices.group_ids.iter().enumerate() {
        columns.push(float(id, &|c| c.groups[g]));
    }
    DataFrame::new(cells.len(), columns)
}

/// Writes the twin of `items.csv` to `target`: the file of the frame [`items_frame`] (the frame
/// [`crate::twin::frame_of_csv`] makes of the text), byte for byte (tests hold both equal),
/// made a row group at a time from the cells: with 10,000 units the table has 4 M rows, whose
/// frame took 0.5 GB of fresh memory and a second and a half of CPU to build and encode.
/// Codes are text dictionaries (an empty one null), `n_valid` Int64, each share and bound the
/// number its six decimals show.
fn write_items_twin(indices: &Indices, target: &Path) -> Result<()> {
    use polars_arrow::array::PrimitiveArray;
    use polars_arrow::datatypes::ArrowDataType;

    let schema = crate::twin::schema_of(&results::ITEMS);
    let cells = &indices.cells;
    // Where each cell's rows start (a cell has a row per item it holds an estimate of).
    let mut starts = Vec::with_capacity(cells.len() + 1);
    starts.push(0usize);
    for c in cells {
        starts.push(starts[starts.len() - 1] + c.items.len().min(indices.item_ids.len()));
    }
    let height = starts[cells.len()];
    let periods = crate::twin::PeriodTexts::of(cells.iter().map(|c| c.period));
    let mut twin = crate::twin::TwinWriter::like_frame(target, &schema)?;
    for range in sipas_dataset::frame_row_groups(height) {
        let n = range.len();
        let mut text: [crate::twin::TextColumn<'_>; 3] =
            std::array::from_fn(|_| crate::twin::TextColumn::with_capacity(n));
        let mut counts: Vec<i64> = Vec::with_capacity(n);
        let mut floats: [crate::twin::FloatColumn; 3] =
            std::array::from_fn(|_| crate::twin::FloatColumn::with_capacity(n));
        let first = starts.partition_point(|&s| s <= range.start) - 1;
        for (c, cell) in cells.iter().enumerate().skip(first) {
            if starts[c] >= range.end {
                break;
            }
            let period = periods.text(cell.period);
            let rows = indices.item_ids.iter().zip(&cell.items).enumerate();
            for (j, (id, it)) in rows {
                if !range.contains(&(starts[c] + j)) {
                    continue;
                }
                text[0].push_or_null(&cell.unit_code);
                text[1].push_or_null(period);
                text[2].push_or_null(id);
                counts.push(it.n_valid as i64);
                for (column, v) in floats.iter_mut().zip([it.share, it.lo, it.hi]) {
                    column.push(results::num_value(v));
                }
            }
        }
        let mut columns: Vec<ArrayRef> = text
            .into_iter()
            .map(crate::twin::TextColumn::finish)
            .collect();
        columns.push(Box::new(PrimitiveArray::<i64>::new(
            ArrowDataType::Int64,
            counts.into(),
            None,
        )));
        columns.extend(floats.into_iter().map(crate::twin::FloatColumn::finish));
        twin.push_arrays(&columns)?;
    }
    twin.finish()
}

/// The twin of `items.csv` as a frame: the frame [`crate::twin::frame_of_csv`] makes of its
/// text (a test holds them equal), built from the cells: codes as text (an empty one null),
/// `n_valid` as Int64, each share and bound the number its six decimals show. What
/// [`write_items_twin`] writes without making it.
#[cfg(test)]
fn items_frame(indices: &Indices) -> PolarsResult<DataFrame> {
    // An empty code is null, as a reader of the text takes an empty field.
    fn text<'b>(name: &str, values: impl ParallelIterator<Item = &'b str>) -> Column {
        let v: Vec<Option<&str>> = values.map(|s| Some(s).filter(|s| !s.is_empty())).collect();
        Column::new(name.into(), v)
    }
    let cells = &indices.cells;
    let periods: &Vec<String> = &cells.par_iter().map(|c| c.period.to_string()).collect();
    // Row by row as the text: each cell's items, in the order of `item_ids`.
    let rows = |c: usize| indices.item_ids.iter().zip(&cells[c].items);
    let each = || (0..cells.len()).into_par_iter();
    let float = |name: &str, f: fn(&crate::indices::ItemShare) -> Option<f64>| {
        let values: Vec<Option<f64>> = each()
            .flat_map_iter(|c| rows(c).map(move |(_, it)| results::num_value(f(it))))
            .collect();
        Column::new(name.into(), values)
    };
    let n_valid: Vec<i64> = each()
        .flat_map_iter(|c| rows(c).map(|(_, it)| it.n_valid as i64))
        .collect();
    let height = n_valid.len();
    let columns = vec![
        text(
            "unit_code",
            each().flat_map_iter(|c| rows(c).map(move |_| cells[c].unit_code.as_str())),
        ),
        text(
            "period",
            each().flat_map_iter(|c| rows(c).map(move |_| periods[c].as_str())),
        ),
        text(
            "item",
            each().flat_map_iter(|c| rows(c).map(|(id, _)| id.as_str())),
        ),
        Column::new("n_valid".into(), n_valid),
        float("share", |it| it.share),
        float("lo", |it| it.lo),
        float("hi", |it| it.hi),
    ];
    DataFrame::new(height, columns)
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes the result table `table` into `dir` and its typed Parquet twin (see
/// [`crate::twin::write_csv_and_twin`]).
pub(crate) fn write_csv(dir: &Path, table: &results::Table, bytes: &[u8]) -> Result<()> {
    crate::twin::write_csv_and_twin(dir, table, bytes)
}

pub(crate) fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let target = dir.join(name);
    sipas_core::atomic::write_bytes(&target, bytes).map_err(io_err(&target))
}

fn write_parquet(dir: &Path, name: &str, df: &mut DataFrame) -> Result<()> {
    let target = dir.join(name);
    let mut polars_error = None;
    let written = sipas_core::atomic::write_with(&target, |file| {
        sipas_dataset::write_frame(file, df)
            .map(|_| ())
            .map_err(|e| {
                let io = std::io::Error::other(e.to_string());
                polars_error = Some(e);
                io
            })
    });
    if let Some(source) = polars_error {
        return Err(Error::Polars {
            origin: target.display().to_string(),
            source,
        });
    }
    written.map_err(io_err(&target))
}

#[cfg(test)]
mod tests {
    use polars::prelude::*;
    use sipas_core::bundled;

    use super::{items_frame, num, results, write_items_twin, write_results};
    use crate::{AggregateOptions, Responses, aggregate};

    #[test]
    fn numbers_have_six_decimals_and_no_negative_zero() {
        assert_eq!(num(Some(52.232_142_857)), "52.232143");
        assert_eq!(num(Some(-1e-15)), "0.000000");
        assert_eq!(num(Some(-8.333_333_3)), "-8.333333");
        assert_eq!(num(None), "");
    }

    #[test]
    fn tables_have_the_contract_layout() {
        let inst = bundled::instrument("sipas-2017").unwrap();
        let sat = vec![Some(5); 22];
        let unsat = vec![Some(2); 22];
        let mut b = Responses::builder(inst);
        // 05443 (pilot) 2023Q4: one satisfied row ⇒ 100, no SE.
        b.push("05443", "2023Q4", "survey", 1.0, &sat).unwrap();
        // 05443 2024Q1: weights 1 and 3, satisfied then not ⇒ 25.
        b.push("05443", "2024Q1", "survey", 1.0, &sat).unwrap();
        b.push("05443", "2024Q1", "survey", 3.0, &unsat).unwrap();
        // 05446 (baseline): 50 then 100.
        b.push("05446", "2023Q4", "survey", 1.0, &sat).unwrap();
        b.push("05446", "2023Q4", "survey", 1.0, &unsat).unwrap();
        b.push("05446", "2024Q1", "survey", 2.0, &sat).unwrap();
        let ix = aggregate(&b.build().unwrap(), &AggregateOptions::bundled()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        write_results(&ix, dir.path()).unwrap();
        let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();

        let up = read("unit_period.csv");
        let lines: Vec<&str> = up.lines().collect();
        assert_eq!(
            lines[0],
            "unit_code,unit_name,district,kind,pilot,period,n,sipas,sipas_se,sipas_lo,sipas_hi,access,procedures,staff,results,feedback"
        );
        assert_eq!(
            lines[1],
            "05443,Phường Trưng Vương,Thành phố Thái Nguyên,phuong,true,2023Q4,1,100.000000,,,,100.000000,100.000000,100.000000,100.000000,100.000000"
        );
        // 2024Q1: R = 1/4 for every item; z = 100·w·(s − 1/4)/4 = 18.75 and −18.75,
        // z̄ = 0, Var = 2/1·(2·18.75²) = 1406.25, SE = 37.5; interval [0, 98.5].
        assert_eq!(
            lines[2],
            "05443,Phường Trưng Vương,Thành phố Thái Nguyên,phuong,true,2024Q1,2,25.000000,37.500000,0.000000,98.500000,25.000000,25.000000,25.000000,25.000000,25.000000"
        );
        assert!(lines[3].starts_with(
            "05446,Phường Quang Trung,Thành phố Thái Nguyên,phuong,false,2023Q4,2,50.000000,"
        ));
        assert_eq!(lines.len(), 5);

        let items = read("items.csv");
        let lines: Vec<&str> = items.lines().collect();
        assert_eq!(lines[0], "unit_code,period,item,n_valid,share,lo,hi");
        // Wilson at p = 1, n = 1: centre = (1 + z²/2)/(1 + z²) = 0.6029, half = 0.3971 ⇒ [20.654, 100].
        assert!(
            lines[1].starts_with("05443,2023Q4,a1,1,100.000000,20.65"),
            "{}",
            lines[1]
        );
        assert_eq!(lines.len(), 1 + 4 * 22);

        let groups = read("groups.csv");
        let lines: Vec<&str> = groups.lines().collect();
        assert_eq!(
            lines[0],
            "period,group,n,sipas,sipas_se,sipas_lo,sipas_hi,access,procedures,staff,results,feedback"
        );
        assert!(lines[1].starts_with("2023Q4,baseline,2,50.000000,"));
        assert!(lines[2].starts_with("2023Q4,pilot,1,100.000000,0.000000,100.000000,100.000000,"));
        assert!(lines[4].starts_with("2024Q1,pilot,2,25.000000,37.500000,"));

        // DiD = (25 − 100) − (100 − 50) = −125; variance only from 05446 2023Q4
        // and 05443 2024Q1 (single-row strata contribute 0).
        let did = read("did.csv");
        let lines: Vec<&str> = did.lines().collect();
        assert_eq!(
            lines[0],
            "pilot_start,estimate,se,lo,hi,pilot_pre,pilot_post,baseline_pre,baseline_post"
        );
        assert!(lines[1].starts_with("2024Q1,-125.000000,"), "{}", lines[1]);
        assert!(lines[1].ends_with(",100.000000,25.000000,50.000000,100.000000"));

        let report: serde_json::Value =
            serde_json::from_str(&read("aggregate-report.json")).unwrap();
        assert_eq!(report["rows_used"], 6);
        assert_eq!(report["cells"], 4);

        let f = std::fs::File::open(dir.path().join("unit_period.parquet")).unwrap();
        let df = ParquetReader::new(f).finish().unwrap();
        assert_eq!(df.shape(), (4, 16));
        assert_eq!(df.column("pilot").unwrap().dtype(), &DataType::Boolean);
        assert_eq!(df.column("n").unwrap().dtype(), &DataType::UInt64);
        assert_eq!(df.column("sipas_se").unwrap().f64().unwrap().get(0), None);
        let se = df
            .column("sipas_se")
            .unwrap()
            .f64()
            .unwrap()
            .get(1)
            .unwrap();
        assert!((se - 37.5).abs() < 1e-12, "{se}");

        // The items twin made from the cells is the frame of the CSV's text.
        let f = std::fs::File::open(dir.path().join("items.parquet")).unwrap();
        let twin = ParquetReader::new(f).finish().unwrap();
        let of_text =
            crate::twin::frame_of_csv(items.as_bytes(), &results::ITEMS, "items.csv").unwrap();
        assert_eq!(twin.shape(), (4 * 22, 7));
        assert!(twin.equals_missing(&of_text), "{twin}\n{of_text}");
        // And it is the file of that frame, byte for byte.
        let mut frame = Vec::new();
        sipas_dataset::write_frame(&mut frame, &mut items_frame(&ix).unwrap()).unwrap();
        assert!(std::fs::read(dir.path().join("items.parquet")).unwrap() == frame);
    }

    /// The items twin written a row group at a time is the file of the whole frame of the
    /// cells' rows, byte for byte: three row groups (the last longer than the others), a row
    /// group starting inside a cell, a cell with an empty code (null), periods and items
    /// repeated.
    #[test]
    fn the_items_twin_is_the_frames_file_in_row_groups() {
        let inst = bundled::instrument("sipas-2017").unwrap();
        let mut b = Responses::builder(inst);
        b.push("05443", "2023Q4", "survey", 1.0, &[Some(5); 22])
            .unwrap();
        b.push("05443", "2024Q1", "survey", 2.0, &[Some(2); 22])
            .unwrap();
        b.push("05446", "2024Q1", "survey", 1.0, &[Some(4); 22])
            .unwrap();
        let mut ix = aggregate(&b.build().unwrap(), &AggregateOptions::bundled()).unwrap();
        let base = ix.cells.clone();
        let n_cells = 3 * sipas_dataset::FRAME_ROW_GROUP / 22 + 7;
        ix.cells = (0..n_cells)
            .map(|i| {
                let mut c = base[i % base.len()].clone();
                c.unit_code = if i == 1234 {
                    String::new()
                } else {
                    format!("{:05}", i / 3)
                };
                for (j, it) in c.items.iter_mut().enumerate() {
                    it.n_valid = i + j;
                    it.share = it.share.map(|s| s - (i % 100) as f64 / 7.0);
                }
                c
            })
            .collect();
        let rows = n_cells * 22;
        let groups = sipas_dataset::frame_row_groups(rows);
        assert_eq!(groups.len(), 3);
        assert!(groups.iter().any(|g| g.start % 22 != 0));
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("items.parquet");
        write_items_twin(&ix, &target).unwrap();
        let mut frame = Vec::new();
        let mut df = items_frame(&ix).unwrap();
        assert_eq!(df.column("unit_code").unwrap().null_count(), 22);
        sipas_dataset::write_frame(&mut frame, &mut df).unwrap();
        let written = std::fs::read(&target).unwrap();
        assert!(
            written == frame,
            "{} bytes against the frame's {}",
            written.len(),
            frame.len()
        );
    }
}
