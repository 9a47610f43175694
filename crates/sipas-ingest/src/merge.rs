//! The input-order checks (`duplicate_response_id`, `mixed_granularity`),
//! applied to the validated rows chunk by chunk in input order, and the
//! counts of the report. The result does not depend on how the rows were
//! cut into chunks or on the number of threads: [`Merger::part`] is called
//! for every part of every chunk, files in the order given, rows in file
//! order, and its state carries over between calls.

use std::collections::{BTreeSet, HashMap, HashSet};

use sipas_core::{Granularity, Period, UnitRegistry};

use crate::ids::{IdSet, id_key};
use crate::report::{QuarantinedRow, ReasonCounts, empty_reason_counts};
use crate::validate::{Failure, Parsed, Stage};
use crate::{Format, InputReport, Reason, Totals};

/// Candidates whose id-table slots are loaded together before they are
/// checked one by one ([`IdSet::warm`]): 512 cache lines, 32 KiB.
const WARM_KEYS: usize = 512;

pub(crate) fn granularity_name(g: Granularity) -> &'static str {
    match g {
        Granularity::Year => "year",
        Granularity::Half => "half",
        Granularity::Quarter => "quarter",
        Granularity::Month => "month",
    }
}

/// The counts of the file being merged.
#[derive(Debug)]
struct FileCounts {
    rows_read: u64,
    blank_rows: u64,
    accepted: u64,
    by_reason: ReasonCounts,
}

/// How a file was read, for its [`InputReport`].
#[derive(Debug)]
pub(crate) struct FileInfo {
    pub(crate) format: Format,
    pub(crate) text: crate::input::TextInfo,
    pub(crate) header_line: u64,
    pub(crate) missing_kept_columns: Vec<String>,
}

/// The merged result of a run.
#[derive(Debug)]
pub(crate) struct Merged {
    /// In input order.
    pub(crate) quarantine: Vec<QuarantinedRow>,
    /// Duplicates whose detail must still name the first occurrence: the
    /// id (NFC) and the quarantine indices (see [`Merger::part`]).
    pub(crate) pending: HashMap<String, Vec<usize>>,
    pub(crate) inputs: Vec<InputReport>,
    pub(crate) totals: Totals,
    pub(crate) granularity: Option<Granularity>,
    /// Periods of accepted rows, chronological labels.
    pub(crate) periods: Vec<String>,
    /// Distinct units of accepted rows.
    pub(crate) units: usize,
    pub(crate) rows_unit_not_in_registry: u64,
}

/// The running state of the input-order checks.
#[derive(Debug)]
pub(crate) struct Merger<'a> {
    names: &'a [String],
    registry: &'a UnitRegistry,
    seen: IdSet,
    /// Granularity of the first accepted row, its file and line.
    gran: Option<(Granularity, usize, u64)>,
    quarantine: Vec<QuarantinedRow>,
    pending: HashMap<String, Vec<usize>>,
    missing_code_answers: u64,
    review_flagged: u64,
    periods: BTreeSet<Period>,
    units: HashSet<String>,
    not_in_registry: u64,
    inputs: Vec<InputReport>,
    file: Option<FileCounts>,
}

/// The detail of a duplicate, naming the first occurrence.
pub(crate) fn dup_detail(id: &str, file: &str, line: u64) -> String {
    format!("column response_id: {id:?} was already accepted from {file} line {line}")
}

impl<'a> Merger<'a> {
    /// `names`: the report name of every source, in input order; `seen`:
    /// the (empty) set the accepted ids go to.
    pub(crate) fn new(names: &'a [String], registry: &'a UnitRegistry, seen: IdSet) -> Self {
        Merger {
            names,
            registry,
            seen,
            gran: None,
            quarantine: Vec::new(),
            pending: HashMap::new(),
            missing_code_answers: 0,
            review_flagged: 0,
            periods: BTreeSet::new(),
            units: HashSet::new(),
            not_in_registry: 0,
            inputs: Vec::with_capacity(names.len()),
            file: None,
        }
    }

    fn counts(&mut self) -> &mut FileCounts {
        self.file.get_or_insert_with(|| FileCounts {
            rows_read: 0,
            blank_rows: 0,
            accepted: 0,
            by_reason: empty_reason_counts(),
        })
    }

    fn push(
        &mut self,
        fi: usize,
        line: u64,
        reason: Reason,
        column: &str,
        detail: String,
        record: String,
    ) -> usize {
        *self
            .counts()
            .by_reason
            .get_mut(reason.as_str())
            .expect("every reason is present") += 1;
        self.quarantine.push(QuarantinedRow {
            source_file: self.names[fi].clone(),
            line,
            reason,
            column: column.to_string(),
            detail,
            record,
        });
        self.quarantine.len() - 1
    }

    /// A duplicate of `id`; its detail is filled in by [`resolve`] once the
    /// first occurrence's row is found in the table.
    fn push_duplicate(&mut self, fi: usize, line: u64, id: &str, record: String) -> usize {
        let qi = self.push(
            fi,
            line,
            Reason::DuplicateResponseId,
            "response_id",
            String::new(),
            record,
        );
        self.pending.entry(id.to_string()).or_default().push(qi);
        qi
    }

    fn mixed(&self, period: Period) -> Option<String> {
        let (g, ff, fl) = self.gran?;
        (period.granularity() != g).then(|| {
            format!(
                "column period: {period} is a {} period but the dataset's periods are by {} (set by {} line {fl})",
                granularity_name(period.granularity()),
                granularity_name(g),
                self.names[ff]
            )
        })
    }

    /// Applies the input-order checks to the next part of file `fi` (parts
    /// in input order). Returns the indices of its accepted candidates, in
    /// order; the quarantine rows of rejected candidates have an empty
    /// record, to fill in from the source: `refetch` maps their line to
    /// their index in the quarantine.
    pub(crate) fn part(
        &mut self,
        fi: usize,
        p: &Parsed,
        refetch: &mut HashMap<u64, usize>,
    ) -> Vec<u32> {
        let c = self.counts();
        c.rows_read += p.rows_read;
        c.blank_rows += p.blank_rows;
        let mut accepted = Vec::with_capacity(p.cand.len());
        let mut failures = p.failures.iter().peekable();
        let n = p.cand.len();
        for k in 0..=n {
            // Failures recorded before candidate k come first.
            while let Some(f) = failures.next_if(|f| f.before <= k) {
                self.failure(fi, f);
            }
            if k == n {
                break;
            }
            if k % WARM_KEYS == 0 {
                self.seen.warm(&p.cand.keys[k..n.min(k + WARM_KEYS)]);
            }
            let key = p.cand.keys[k];
            let line = p.cand.lines[k];
            let period = p.cand.period(k);
            // The duplicate check comes first; the insert is the test when
            // the granularity is right.
            let qi = match self.mixed(period) {
                Some(d) if !self.seen.contains(key) => Some(self.push(
                    fi,
                    line,
                    Reason::MixedGranularity,
                    "period",
                    d,
                    String::new(),
                )),
                Some(_) => Some(self.push_duplicate(fi, line, p.cand.ids.get(k), String::new())),
                None if !self.seen.insert(key) => {
                    Some(self.push_duplicate(fi, line, p.cand.ids.get(k), String::new()))
                }
                None => {
                    self.gran.get_or_insert((period.granularity(), fi, line));
                    accepted.push(k as u32);
                    None
                }
            };
            if let Some(qi) = qi {
                refetch.insert(line, qi);
            }
        }
        self.counts().accepted += accepted.len() as u64;
        self.tally(p, &accepted);
        accepted
    }

    /// A row that failed a row-local check: the input-order checks that
    /// come before that check still apply.
    fn failure(&mut self, fi: usize, f: &Failure) {
        if f.stage != Stage::BeforeDuplicate {
            let id = f.id.as_deref().expect("ids are kept after the first stage");
            if self.seen.contains(id_key(id)) {
                self.push_duplicate(fi, f.line, id, f.record.clone());
                return;
            }
            if f.stage == Stage::Last
                && let Some(period) = f.period
                && let Some(d) = self.mixed(period)
            {
                self.push(
                    fi,
                    f.line,
                    Reason::MixedGranularity,
                    "period",
                    d,
                    f.record.clone(),
                );
                return;
            }
        }
        self.push(
            fi,
            f.line,
            f.reason,
            &f.column,
            f.detail.clone(),
            f.record.clone(),
        );
    }

    /// Report counts of accepted rows: missing codes, periods, units.
    fn tally(&mut self, p: &Parsed, accepted: &[u32]) {
        let c = &p.cand;
        let mut period_used = vec![false; c.period_table.len()];
        let mut unit_used = vec![false; c.unit_table.table.len()];
        for &k in accepted {
            let k = k as usize;
            self.missing_code_answers += u64::from(c.missing_codes[k]);
            self.review_flagged += u64::from(c.review_flagged[k]);
            period_used[c.periods[k] as usize] = true;
            unit_used[c.units[k] as usize] = true;
        }
        let in_registry: Vec<bool> = c
            .unit_table
            .table
            .iter()
            .map(|u| self.registry.contains(u))
            .collect();
        self.not_in_registry += accepted
            .iter()
            .filter(|&&k| !in_registry[c.units[k as usize] as usize])
            .count() as u64;
        for (i, used) in period_used.into_iter().enumerate() {
            if used {
                self.periods.insert(c.period_table[i]);
            }
        }
        for (i, used) in unit_used.into_iter().enumerate() {
            if used && !self.units.contains(&c.unit_table.table[i]) {
                self.units.insert(c.unit_table.table[i].clone());
            }
        }
    }

    /// Closes the counts of file `fi` (after its last part).
    pub(crate) fn end_file(&mut self, fi: usize, info: FileInfo) {
        let c = self.file.take().unwrap_or_else(|| FileCounts {
            rows_read: 0,
            blank_rows: 0,
            accepted: 0,
            by_reason: empty_reason_counts(),
        });
        let quarantined = c.by_reason.values().sum();
        self.inputs.push(InputReport {
            file: self.names[fi].clone(),
            format: info.format,
            encoding: info.text.encoding,
            encoding_confidence: info.text.confidence,
            delimiter: info.text.delimiter,
            header_line: info.header_line,
            blank_rows: c.blank_rows,
            rows_read: c.rows_read,
            accepted: c.accepted,
            quarantined,
            quarantined_by_reason: c.by_reason,
            missing_kept_columns: info.missing_kept_columns,
        });
    }

    /// Fills in a quarantine record (see [`Merger::part`]).
    pub(crate) fn set_record(&mut self, qi: usize, record: String) {
        self.quarantine[qi].record = record;
    }

    /// The totals and the rest of the state; frees the id set.
    pub(crate) fn finish(self) -> Merged {
        let mut totals = Totals {
            rows_read: 0,
            accepted: 0,
            quarantined: 0,
            quarantined_by_reason: empty_reason_counts(),
            missing_code_answers: self.missing_code_answers,
            review_flagged: self.review_flagged,
        };
        for i in &self.inputs {
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
        Merged {
            quarantine: self.quarantine,
            pending: self.pending,
            inputs: self.inputs,
            totals,
            granularity: self.gran.map(|g| g.0),
            periods: self.periods.iter().map(ToString::to_string).collect(),
            units: self.units.len(),
            rows_unit_not_in_registry: self.not_in_registry,
        }
    }
}
