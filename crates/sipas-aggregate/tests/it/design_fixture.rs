//! The responses of `fixtures/reference/design` (districts as strata, villages as clusters,
//! weights, replicate weights) as a [`Responses`] table: shared by the design tests of
//! sipas-aggregate and, through `#[path]`, the report test of sipas-cli.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sipas_aggregate::Responses;
use sipas_core::Instrument;

/// The fixture folder.
pub(crate) fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/reference/design")
}

/// The fixture responses with their village, district and (when asked) the
/// replicate-weight columns of replicates.csv.
pub(crate) fn responses(with_replicates: bool) -> Responses {
    let inst = Instrument::from_path(&dir().join("instrument.toml")).unwrap();
    let (mut r, village) = read_rows(&dir(), inst);
    if with_replicates {
        // One row per village: its replicate weight factors.
        let text = std::fs::read_to_string(dir().join("replicates.csv")).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let by_village: HashMap<&str, Vec<f64>> = lines
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[0], f[1..].iter().map(|x| x.parse().unwrap()).collect())
            })
            .collect();
        for (k, name) in header.iter().enumerate().skip(1) {
            let col = village
                .iter()
                .map(|v| by_village[v.as_str()][k - 1])
                .collect();
            r = r.with_number_column(name, col).unwrap();
        }
    }
    r
}

/// `dir/responses.csv` (the instrument's item columns, `unit_code`, `period`,
/// `weight`, `village`, `district_code`) as a table with its village and
/// district columns, and the villages row by row.
pub(crate) fn read_rows(dir: &Path, inst: Instrument) -> (Responses, Vec<String>) {
    let text = std::fs::read_to_string(dir.join("responses.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let items: Vec<usize> = inst.item_ids().into_iter().map(col).collect();
    let (u, p, w) = (col("unit_code"), col("period"), col("weight"));
    let (v, dc) = (col("village"), col("district_code"));
    let mut b = Responses::builder(inst);
    let (mut village, mut district) = (Vec::new(), Vec::new());
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let answers: Vec<Option<u8>> = items.iter().map(|&i| f[i].parse().ok()).collect();
        b.push(f[u], f[p], "survey", f[w].parse().unwrap(), &answers)
            .unwrap();
        village.push(f[v].to_string());
        district.push(f[dc]);
    }
    let villages: Vec<&str> = village.iter().map(String::as_str).collect();
    let r = b
        .build()
        .unwrap()
        .with_text_column("village", &villages)
        .unwrap()
        .with_text_column("district_code", &district)
        .unwrap();
    (r, village)
}
