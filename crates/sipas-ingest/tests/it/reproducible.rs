//! Same inputs ⇒ same bytes; row order does not change the table.

use std::path::Path;

use crate::common::{csv, ingest, read_parquet, row};

fn rows() -> Vec<String> {
    vec![
        row("r1", "05443", "2024Q1", "", "4", &[("a1", "2")]),
        row("r2", "05500", "2024Q2", "1.5", "5", &[]),
        row("r3", "05443", "2024Q2", "", "3", &[("b2", "")]),
        row("r4", "", "2024Q1", "", "4", &[]),
        row("r5", "05536", "2024Q1", "", "1", &[("c1", "9")]),
        row("r1", "05536", "2024Q1", "", "1", &[]),
    ]
}

fn bytes(dir: &Path) -> Vec<Vec<u8>> {
    ["responses.parquet", "quarantine.csv", "ingest-report.json"]
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap())
        .collect()
}

#[test]
fn same_inputs_twice_give_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let p = csv(dir.path(), "in.csv", &rows());
    let (o1, o2) = (dir.path().join("o1"), dir.path().join("o2"));
    sipas_ingest::write_outputs(&ingest(std::slice::from_ref(&p)), &o1).unwrap();
    sipas_ingest::write_outputs(&ingest(std::slice::from_ref(&p)), &o2).unwrap();
    assert_eq!(bytes(&o1), bytes(&o2));
    // Rewriting into the same folder replaces the files with the same bytes.
    sipas_ingest::write_outputs(&ingest(std::slice::from_ref(&p)), &o1).unwrap();
    assert_eq!(bytes(&o1), bytes(&o2));
}

#[test]
fn shuffled_rows_give_the_same_table() {
    let dir = tempfile::tempdir().unwrap();
    // Without the duplicate (which row wins depends on order by design).
    let mut r = rows();
    r.pop();
    let a = csv(dir.path(), "a/in.csv", &r);
    r.reverse();
    r.swap(0, 2);
    let b = csv(dir.path(), "b/in.csv", &r);
    let (oa, ob) = (dir.path().join("oa"), dir.path().join("ob"));
    sipas_ingest::write_outputs(&ingest(&[a]), &oa).unwrap();
    sipas_ingest::write_outputs(&ingest(&[b]), &ob).unwrap();
    let keep = |d: &Path| {
        read_parquet(&d.join("responses.parquet")).drop_many(["source_file", "source_line"])
    };
    let (ta, tb) = (keep(&oa), keep(&ob));
    assert_eq!(ta.height(), 4);
    assert!(ta.equals_missing(&tb));
    let ids: Vec<&str> = ta
        .column("response_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(Option::unwrap)
        .collect();
    // (period, unit_code, response_id): 2024Q1 05443 r1, 2024Q1 05536 r5,
    // 2024Q2 05443 r3, 2024Q2 05500 r2.
    assert_eq!(ids, ["r1", "r5", "r3", "r2"]);
}
