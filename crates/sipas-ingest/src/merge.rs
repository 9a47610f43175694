//! The input-order checks (`duplicate_response_id`, `mixed_granularity`) and
//! the merge of the per-file results, deterministic whatever the parallelism.

use std::collections::{BTreeSet, HashMap};

use rayon::prelude::*;
use sipas_core::Granularity;

use crate::Source;
use crate::report::{QuarantinedRow, empty_reason_counts};
use crate::validate::{Failure, Parsed, Stage, record_text};
use crate::{InputReport, Reason, Result, Totals};

/// The merged result: accepted rows (file index, candidate index) in input
/// order, the quarantine in input order, the counts.
#[derive(Debug)]
pub(crate) struct Merged {
    pub(crate) accepted: Vec<(u32, u32)>,
    pub(crate) quarantine: Vec<QuarantinedRow>,
    pub(crate) inputs: Vec<InputReport>,
    pub(crate) totals: Totals,
    pub(crate) granularity: Option<Granularity>,
}

pub(crate) fn granularity_name(g: Granularity) -> &'static str {
    match g {
        Granularity::Year => "year",
        Granularity::Half => "half",
        Granularity::Quarter => "quarter",
        Granularity::Month => "month",
    }
}

pub(crate) fn merge(files: &[Source], parsed: &[Parsed]) -> Result<Merged> {
    let names: Vec<String> = files.iter().map(|s| s.file.name()).collect();
    let mut seen: HashMap<&str, (usize, u64)> = HashMap::new();
    let mut gran: Option<(Granularity, usize, u64)> = None;
    let mut quarantine: Vec<QuarantinedRow> = Vec::new();
    // Per file: (line, index in `quarantine`) of rows whose record must be re-read.
    let mut refetch: Vec<HashMap<u64, usize>> = vec![HashMap::new(); files.len()];
    let mut accepted = Vec::new();
    let mut missing_code_answers = 0u64;
    let mut inputs = Vec::with_capacity(files.len());

    for (fi, p) in parsed.iter().enumerate() {
        let name = &names[fi];
        let mut by_reason = empty_reason_counts();
        let mut n_acc = 0u64;
        let mut push =
            |q: &mut Vec<QuarantinedRow>, line, reason: Reason, column: &str, detail, record| {
                *by_reason
                    .get_mut(reason.as_str())
                    .expect("every reason is present") += 1;
                q.push(QuarantinedRow {
                    source_file: name.clone(),
                    line,
                    reason,
                    column: column.to_string(),
                    detail,
                    record,
                });
            };
        let dup_detail = |id: &str, (ff, fl): (usize, u64)| {
            format!("{id:?} was already accepted from {} line {fl}", names[ff])
        };
        let mixed = |period: sipas_core::Period, (g, ff, fl): (Granularity, usize, u64)| {
            (period.granularity() != g).then(|| {
                format!(
                    "column period: {period} is a {} period but the dataset's periods are by {} (set by {} line {fl})",
                    granularity_name(period.granularity()),
                    granularity_name(g),
                    names[ff]
                )
            })
        };
        let mut failures = p.failures.iter().peekable();
        let n = p.cand.len();
        for k in 0..=n {
            // Failures recorded before candidate k come first.
            while let Some(f) = failures.next_if(|f| f.before <= k) {
                let Failure {
                    line,
                    stage,
                    reason,
                    column,
                    detail,
                    id,
                    period,
                    record,
                    ..
                } = f;
                if *stage != Stage::BeforeDuplicate {
                    let id = id.as_deref().expect("ids are kept after the first stage");
                    if let Some(&first) = seen.get(id) {
                        push(
                            &mut quarantine,
                            *line,
                            Reason::DuplicateResponseId,
                            "response_id",
                            format!("column response_id: {}", dup_detail(id, first)),
                            record.clone(),
                        );
                        continue;
                    }
                    if *stage == Stage::Last
                        && let (Some(g), Some(period)) = (gran, period)
                        && let Some(d) = mixed(*period, g)
                    {
                        push(
                            &mut quarantine,
                            *line,
                            Reason::MixedGranularity,
                            "period",
                            d,
                            record.clone(),
                        );
                        continue;
                    }
                }
                push(
                    &mut quarantine,
                    *line,
                    *reason,
                    column,
                    detail.clone(),
                    record.clone(),
                );
            }
            if k == n {
                break;
            }
            let id = p.cand.ids.get(k);
            let line = p.cand.lines[k];
            let rejected = if let Some(&first) = seen.get(id) {
                Some((
                    Reason::DuplicateResponseId,
                    "response_id",
                    format!("column response_id: {}", dup_detail(id, first)),
                ))
            } else {
                gran.and_then(|g| mixed(p.cand.period(k), g))
                    .map(|d| (Reason::MixedGranularity, "period", d))
            };
            if let Some((reason, column, detail)) = rejected {
                refetch[fi].insert(line, quarantine.len());
                push(&mut quarantine, line, reason, column, detail, String::new());
            } else {
                seen.insert(id, (fi, line));
                gran.get_or_insert((p.cand.period(k).granularity(), fi, line));
                accepted.push((fi as u32, k as u32));
                missing_code_answers += u64::from(p.cand.missing_codes[k]);
                n_acc += 1;
            }
        }
        let quarantined = by_reason.values().sum();
        let (encoding, delimiter) = files[fi].loaded.text_info();
        inputs.push(InputReport {
            file: name.clone(),
            format: files[fi].file.format,
            encoding,
            delimiter,
            header_line: files[fi].header_line,
            blank_rows: p.blank_rows,
            rows_read: p.rows_read,
            accepted: n_acc,
            quarantined,
            quarantined_by_reason: by_reason,
            missing_kept_columns: Vec::new(),
        });
    }

    // Re-read the records of rows rejected by the input-order checks.
    let records: Vec<Vec<(usize, String)>> = files
        .par_iter()
        .zip(refetch.par_iter())
        .map(|(src, want)| {
            let mut got = Vec::with_capacity(want.len());
            if !want.is_empty() {
                src.loaded.scan(&src.file.path, &mut |i, line, row| {
                    if i > src.header
                        && let (Some(&qi), Ok(rec)) = (want.get(&line), row)
                    {
                        got.push((qi, record_text(rec)));
                    }
                    true
                })?;
            }
            Ok(got)
        })
        .collect::<Result<_>>()?;
    for (qi, rec) in records.into_iter().flatten() {
        quarantine[qi].record = rec;
    }

    let mut totals = Totals {
        rows_read: 0,
        accepted: 0,
        quarantined: 0,
        quarantined_by_reason: empty_reason_counts(),
        missing_code_answers,
    };
    for i in &inputs {
        totals.rows_read += i.rows_read;
        totals.accepted += i.accepted;
        totals.quarantined += i.quarantined;
        for (r, c) in &i.quarantined_by_reason {
            *totals
                .quarantined_by_reason
                .get_mut(r)
                .expect("every reason is present") += c;
        }
    }
    Ok(Merged {
        accepted,
        quarantine,
        inputs,
        totals,
        granularity: gran.map(|g| g.0),
    })
}

/// Periods (chronological labels) and the number of distinct units of the
/// accepted rows.
pub(crate) fn periods_and_units(
    parsed: &[Parsed],
    accepted: &[(u32, u32)],
) -> (Vec<String>, usize) {
    let mut periods = BTreeSet::new();
    let mut units = BTreeSet::new();
    for &(f, k) in accepted {
        let c = &parsed[f as usize].cand;
        periods.insert(c.period(k as usize));
        units.insert(c.unit(k as usize));
    }
    (
        periods.iter().map(ToString::to_string).collect(),
        units.len(),
    )
}
