//! The long estimates table and its CSV.

use std::path::Path;

use sipas_core::Period;
use sipas_core::results;

use super::spec::DesignSpec;
use crate::Result;
use crate::twin::PeriodTexts;
use crate::write::field;

/// The kind of domain of an estimate (sorted in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DomainType {
    /// One unit in one period (`domain` = unit code).
    Unit,
    /// Pilot or baseline units of one period (`domain` = `pilot` | `baseline`).
    Group,
    /// The units of one district (`domain` = district name).
    District,
    /// The units of one kind (`domain` = `xa` | `phuong` | `thi_tran`).
    Kind,
    /// The responses of one survey mode (`domain` = the channel value:
    /// `paper`, `online`, `phone`…), when several modes are pooled.
    Mode,
}

impl DomainType {
    /// `unit`, `group`, `district`, `kind` or `mode`.
    pub fn as_str(self) -> &'static str {
        match self {
            DomainType::Unit => "unit",
            DomainType::Group => "group",
            DomainType::District => "district",
            DomainType::Kind => "kind",
            DomainType::Mode => "mode",
        }
    }
}

/// The level of an indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IndicatorKind {
    /// The overall index (root).
    Index,
    /// A part (mean of elements).
    Part,
    /// An element (mean of items).
    Element,
    /// An item: the share satisfied.
    Item,
    /// A weighted sum of other indices (the PAR index's survey points).
    Composite,
}

impl IndicatorKind {
    /// `index`, `part`, `element` or `item`.
    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorKind::Index => "index",
            IndicatorKind::Part => "part",
            IndicatorKind::Element => "element",
            IndicatorKind::Item => "item",
            IndicatorKind::Composite => "composite",
        }
    }
}

/// How `lo` / `hi` were computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CiMethod {
    /// value ± m·se clipped to 0–100 (composites; `m` =
    /// [`sipas_core::Level::normal_multiplier`]).
    Normal,
    /// R `svyciprop(method = "logit")`: t quantile on the design df (items).
    Logit,
    /// Wilson score interval on the effective n (items).
    Wilson,
}

impl CiMethod {
    /// `normal`, `logit` or `wilson`.
    pub fn as_str(self) -> &'static str {
        match self {
            CiMethod::Normal => "normal",
            CiMethod::Logit => "logit",
            CiMethod::Wilson => "wilson",
        }
    }
}

/// The name of a domain or an indicator of [`EstimateRow`]: shared by all the rows that carry
/// it (one allocation per domain or indicator, not two per row: with 10,000 units there are
/// 9.5 M rows). Reads as a `&str` (`as_str`, `Deref`) and compares with text.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Name(std::sync::Arc<str>);

impl Name {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Self {
        Name(s.into())
    }
}

impl From<String> for Name {
    fn from(s: String) -> Self {
        Name(s.into())
    }
}

impl From<&String> for Name {
    fn from(s: &String) -> Self {
        Name(s.as_str().into())
    }
}

impl From<Name> for String {
    fn from(n: Name) -> Self {
        n.0.to_string()
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, o: &str) -> bool {
        &*self.0 == o
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, o: &&str) -> bool {
        &*self.0 == *o
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, o: &String) -> bool {
        *self.0 == **o
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, o: &Name) -> bool {
        **self == *o.0
    }
}

impl PartialEq<Name> for String {
    fn eq(&self, o: &Name) -> bool {
        **self == *o.0
    }
}

/// One estimate of one indicator in one domain (a row of `estimates.csv`). Its names are
/// [`Name`]s; the files are written from rows whose names are borrowed (`EstimateRow<&str>`,
/// [`EstimateRow::view`]), without counting references to a name shared by millions of rows.
#[derive(Debug, Clone, PartialEq)]
pub struct EstimateRow<N = Name> {
    /// Kind of domain.
    pub domain_type: DomainType,
    /// The domain (unit code, `pilot`/`baseline`, district name, kind).
    pub domain: N,
    /// The period.
    pub period: Period,
    /// Item or group id.
    pub indicator: N,
    /// Item, element, part or index.
    pub indicator_kind: IndicatorKind,
    /// Responses: answers of the item (items) or rows of the domain (composites).
    pub n: usize,
    /// Estimate, 0–100; `None` when an item it needs has no answer.
    pub value: Option<f64>,
    /// Standard error (index points).
    pub se: Option<f64>,
    /// Lower bound at [`DomainEstimates::level`].
    pub lo: Option<f64>,
    /// Upper bound.
    pub hi: Option<f64>,
    /// How the bounds were computed.
    pub ci_method: CiMethod,
    /// Design effect (with-replacement SRS reference, R `deff = "replace"`).
    pub deff: Option<f64>,
    /// Effective sample size `n / deff`.
    pub n_eff: Option<f64>,
    /// Coefficient of variation `se / value`.
    pub cv: Option<f64>,
    /// `n ≥ min_n` and `cv ≤ max_cv`.
    pub reliable: bool,
    /// `n < suppress_below`: the published value fields are left empty.
    pub suppressed: bool,
    /// Design degrees of freedom (PSUs − strata with answers in the domain).
    pub df: Option<f64>,
}

impl<N> EstimateRow<N> {
    /// The row with the names `domain` and `indicator` (every other field as it is).
    pub fn with_names<M>(&self, domain: M, indicator: M) -> EstimateRow<M> {
        EstimateRow {
            domain_type: self.domain_type,
            domain,
            period: self.period,
            indicator,
            indicator_kind: self.indicator_kind,
            n: self.n,
            value: self.value,
            se: self.se,
            lo: self.lo,
            hi: self.hi,
            ci_method: self.ci_method,
            deff: self.deff,
            n_eff: self.n_eff,
            cv: self.cv,
            reliable: self.reliable,
            suppressed: self.suppressed,
            df: self.df,
        }
    }
}

impl<N> EstimateRow<N> {
    /// The value `v` of this row as `estimates.csv` and its twin publish it: `None` (an empty
    /// field, a null) when the row is suppressed or `v` is undefined or not finite.
    pub fn published(&self, v: Option<f64>) -> Option<f64> {
        v.filter(|v| !self.suppressed && v.is_finite())
    }
}

impl EstimateRow {
    /// The row with its names borrowed.
    pub fn view(&self) -> EstimateRow<&str> {
        self.with_names(self.domain.as_str(), self.indicator.as_str())
    }
}

/// Every domain estimate of a response table under one design.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainEstimates {
    /// Instrument id.
    pub instrument_id: String,
    /// The design used.
    pub design: DesignSpec,
    /// Rows sorted by domain type, domain, period, indicator (index, parts,
    /// elements in instrument order, items), then ci method.
    pub rows: super::EstimateRows,
    /// With several survey modes: SIPAS of each pair of modes per period
    /// and their difference (`modes.csv`); empty otherwise.
    pub mode_differences: Vec<super::modes::ModeDifference>,
    /// The 2×2 DiD of the index under the same design (`None` when a
    /// quadrant has no rows or an undefined index).
    pub did: Option<super::DesignDid>,
    /// The confidence level of every `lo` / `hi`.
    pub level: sipas_core::Level,
}

impl DomainEstimates {
    /// The row of one domain / period / indicator / ci method, if present.
    pub fn get(
        &self,
        domain_type: DomainType,
        domain: &str,
        period: Period,
        indicator: &str,
        ci_method: CiMethod,
    ) -> Option<EstimateRow> {
        self.rows.iter().find(|r| {
            r.domain_type == domain_type
                && r.domain == domain
                && r.period == period
                && r.indicator == indicator
                && r.ci_method == ci_method
        })
    }
}

fn estimates_header() -> String {
    results::ESTIMATES.header::<&str>(&[])
}

/// The opening fields of the lines of `estimates.csv` last written, kept from line to line: a
/// domain's rows in a period (one per indicator) share `domain_type,domain,period,`, which is
/// then copied whole instead of field by field.
#[derive(Default)]
struct LineStart {
    /// The domain type, the domain's text (its address and length: the rows of a domain
    /// borrow one name) and the period of `text`.
    key: Option<(DomainType, *const u8, usize, Period)>,
    /// `domain_type,domain,period,` as written.
    text: Vec<u8>,
}

impl LineStart {
    /// The opening fields of row `r`'s line, made anew when its domain or period is not
    /// that of the last row.
    fn of(&mut self, r: &EstimateRow<&str>) -> &[u8] {
        let key = (r.domain_type, r.domain.as_ptr(), r.domain.len(), r.period);
        if self.key != Some(key) {
            self.text.clear();
            for f in [
                r.domain_type.as_str(),
                &field(r.domain),
                &r.period.to_string(),
            ] {
                self.text.extend_from_slice(f.as_bytes());
                self.text.push(b',');
            }
            self.key = Some(key);
        }
        &self.text
    }
}

/// Appends row `r`'s line of `estimates.csv` to `s`, field by field in
/// place: with 10,000 units there are 9.5 M lines. `start` keeps the opening fields of the
/// last line written (a domain's rows share them).
fn estimate_line(s: &mut Vec<u8>, r: &EstimateRow<&str>, start: &mut LineStart) {
    s.extend_from_slice(start.of(r));
    for f in [&field(r.indicator), r.indicator_kind.as_str()] {
        s.extend_from_slice(f.as_bytes());
        s.push(b',');
    }
    results::push_uint_bytes(s, r.n as u64);
    s.push(b',');
    for v in [r.value, r.se, r.lo, r.hi] {
        results::push_num_bytes(s, r.published(v));
        s.push(b',');
    }
    s.extend_from_slice(r.ci_method.as_str().as_bytes());
    for v in [r.deff, r.n_eff, r.cv] {
        s.push(b',');
        results::push_num_bytes(s, r.published(v));
    }
    let flag = |b: bool| if b { &b",true"[..] } else { &b",false"[..] };
    s.extend_from_slice(flag(r.reliable));
    s.extend_from_slice(flag(r.suppressed));
    s.push(b'\n');
}

/// The CSV text of `estimates.csv` (see [`write_estimates`]).
pub fn estimates_csv(est: &DomainEstimates) -> String {
    let mut s = estimates_header().into_bytes();
    let mut start = LineStart::default();
    for r in &est.rows {
        estimate_line(&mut s, &r.view(), &mut start);
    }
    String::from_utf8(s).expect("UTF-8 fields")
}

/// Rows of `estimates.csv` formatted per task (in parallel, then written in order).
const CSV_BLOCK_ROWS: usize = 1 << 12;

/// Writes `estimates.csv` and `modes.csv` (see
/// [`super::modes_csv`]; header only with one mode) into `out_dir`
/// (created if needed) through temporary files renamed into place. Columns:
/// `domain_type,domain,period,indicator,indicator_kind,n,value,se,lo,hi,ci_method,deff,n_eff,cv,reliable,suppressed`;
/// six decimals, empty = undefined or suppressed (the row is kept).
pub fn write_estimates(est: &DomainEstimates, out_dir: &Path) -> Result<()> {
    write_estimates_in(est, out_dir, crate::twin::ROW_GROUP)
}

/// [`write_estimates`] with `group` rows per row group of the twin.
///
/// The rows are made `group` at a time into one buffer (with 10,000 units there are 9.5 M
/// rows, which are never held at once); each batch is formatted into the CSV (blocks made
/// inert for spreadsheets on their own threads, then written at their place) while its
/// columns ([`estimates_columns`]) are encoded into the twin.
fn write_estimates_in(est: &DomainEstimates, out_dir: &Path, group: usize) -> Result<()> {
    std::fs::create_dir_all(out_dir).map_err(|source| crate::Error::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let periods = period_texts(&est.rows);
    let twin_target = out_dir.join(results::ESTIMATES.parquet());
    let schema = estimates_schema();
    let mut twin = crate::twin::TwinWriter::new(&twin_target, &schema)?;
    let mut twin_err = None;
    let target = out_dir.join(results::ESTIMATES.file);
    let csv = sipas_core::csv_out::write_with(&target, |w| {
        w.records(estimates_header().as_bytes())?;
        let n = est.rows.len();
        let mut rows = Vec::with_capacity(group.min(n));
        for start in (0..n).step_by(group.max(1)) {
            est.rows.fill_views(start..n.min(start + group), &mut rows);
            let (written, encoded) = rayon::join(
                || {
                    w.par_records(&rows, CSV_BLOCK_ROWS, |rows| {
                        let mut text = Vec::with_capacity(rows.len() * 128);
                        let mut start = LineStart::default();
                        for r in rows {
                            estimate_line(&mut text, r, &mut start);
                        }
                        text
                    })
                },
                || twin.push_arrays(&estimates_columns(&rows, &periods)),
            );
            written?;
            if let Err(e) = encoded {
                twin_err = Some(e);
                return Err(std::io::Error::other(
                    "the Parquet twin could not be encoded",
                ));
            }
        }
        Ok(())
    });
    if let Some(e) = twin_err {
        return Err(e);
    }
    csv.map_err(|source| crate::Error::Io {
        path: target.clone(),
        source,
    })?;
    twin.finish()?;
    super::modes::write_modes(&est.mode_differences, out_dir)
}

/// Each period's text once.
fn period_texts(rows: &super::EstimateRows) -> PeriodTexts {
    PeriodTexts::of(rows.periods())
}

/// The schema of the twin of `estimates.csv`: its columns as the results contract types them
/// (`domain` and every code as text, `n` as Int64, estimates as Float64, flags as Boolean).
fn estimates_schema() -> polars::prelude::Schema {
    crate::twin::schema_of(&results::ESTIMATES)
}

/// The rows of the Parquet twin of `estimates.csv`: the same rows and columns, typed
/// ([`estimates_schema`]; suppressed or undefined values null), made in one pass over the
/// rows. The text columns are dictionaries ([`crate::twin::TextColumn`]): with 10,000 units
/// a batch of 262,144 rows holds some 280 domains, 12 periods and 78 indicators.
fn estimates_columns<'a>(
    rows: &[EstimateRow<&'a str>],
    periods: &'a PeriodTexts,
) -> Vec<polars::prelude::ArrayRef> {
    use polars_arrow::array::{BooleanArray, PrimitiveArray};
    use polars_arrow::bitmap::MutableBitmap;
    use polars_arrow::datatypes::ArrowDataType;

    use crate::twin::{FloatColumn, TextColumn};

    let n = rows.len();
    let mut text: [TextColumn<'a>; 6] = std::array::from_fn(|_| TextColumn::with_capacity(n));
    let mut floats: [FloatColumn; 7] = std::array::from_fn(|_| FloatColumn::with_capacity(n));
    let mut counts: Vec<i64> = Vec::with_capacity(n);
    let mut flags: [MutableBitmap; 2] = std::array::from_fn(|_| MutableBitmap::with_capacity(n));
    let mut period: Option<(Period, &'a str)> = None;
    for r in rows {
        let p = match period {
            Some((p, t)) if p == r.period => t,
            _ => period.insert((r.period, periods.text(r.period))).1,
        };
        let texts = [
            r.domain_type.as_str(),
            r.domain,
            p,
            r.indicator,
            r.indicator_kind.as_str(),
            r.ci_method.as_str(),
        ];
        for (column, t) in text.iter_mut().zip(texts) {
            column.push(t);
        }
        counts.push(r.n as i64);
        let values = [r.value, r.se, r.lo, r.hi, r.deff, r.n_eff, r.cv];
        for (column, v) in floats.iter_mut().zip(values) {
            column.push(r.published(v));
        }
        flags[0].push(r.reliable);
        flags[1].push(r.suppressed);
    }
    let [
        domain_type,
        domain,
        period,
        indicator,
        indicator_kind,
        ci_method,
    ] = text;
    let [value, se, lo, hi, deff, n_eff, cv] = floats;
    let [reliable, suppressed] = flags;
    let flag = |b: MutableBitmap| -> polars::prelude::ArrayRef {
        Box::new(BooleanArray::new(ArrowDataType::Boolean, b.into(), None))
    };
    vec![
        domain_type.finish(),
        domain.finish(),
        period.finish(),
        indicator.finish(),
        indicator_kind.finish(),
        Box::new(PrimitiveArray::<i64>::new(
            ArrowDataType::Int64,
            counts.into(),
            None,
        )),
        value.finish(),
        se.finish(),
        lo.finish(),
        hi.finish(),
        ci_method.finish(),
        deff.finish(),
        n_eff.finish(),
        cv.finish(),
        flag(reliable),
        flag(suppressed),
    ]
}

/// The twin's rows as a polars frame, column by column through polars' own builders: the
/// reference [`estimates_columns`] is tested against (the same file, byte for byte).
#[cfg(test)]
fn estimates_frame(
    rows: &[EstimateRow],
    periods: &PeriodTexts,
) -> polars::prelude::PolarsResult<polars::prelude::DataFrame> {
    use polars::prelude::{Column, DataFrame};
    // Text columns borrow their strings (a row's own, a kind's static name, one string per
    // period): with 10,000 units there are 9.5 M rows, and a `String` per field was most of
    // the twin's cost.
    let text = |name: &str, v: Vec<&str>| Column::new(name.into(), v);
    let float = |name: &str, f: &dyn Fn(&EstimateRow) -> Option<f64>| {
        Column::new(
            name.into(),
            rows.iter()
                .map(|r| f(r).filter(|v| !r.suppressed && v.is_finite()))
                .collect::<Vec<Option<f64>>>(),
        )
    };
    let flag = |name: &str, f: &dyn Fn(&EstimateRow) -> bool| {
        Column::new(name.into(), rows.iter().map(f).collect::<Vec<bool>>())
    };
    DataFrame::new(
        rows.len(),
        vec![
            text(
                "domain_type",
                rows.iter().map(|r| r.domain_type.as_str()).collect(),
            ),
            text("domain", rows.iter().map(|r| r.domain.as_str()).collect()),
            text(
                "period",
                rows.iter().map(|r| periods.text(r.period)).collect(),
            ),
            text(
                "indicator",
                rows.iter().map(|r| r.indicator.as_str()).collect(),
            ),
            text(
                "indicator_kind",
                rows.iter().map(|r| r.indicator_kind.as_str()).collect(),
            ),
            Column::new(
                "n".into(),
                rows.iter().map(|r| r.n as i64).collect::<Vec<i64>>(),
            ),
            float("value", &|r| r.value),
            float("se", &|r| r.se),
            float("lo", &|r| r.lo),
            float("hi", &|r| r.hi),
            text(
                "ci_method",
                rows.iter().map(|r| r.ci_method.as_str()).collect(),
            ),
            float("deff", &|r| r.deff),
            float("n_eff", &|r| r.n_eff),
            float("cv", &|r| r.cv),
            flag("reliable", &|r| r.reliable),
            flag("suppressed", &|r| r.suppressed),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(domain: &str, suppressed: bool) -> EstimateRow {
        EstimateRow {
            domain_type: DomainType::District,
            domain: domain.into(),
            period: "2024Q1".parse().unwrap(),
            indicator: "sipas".into(),
            indicator_kind: IndicatorKind::Index,
            n: 12,
            value: Some(81.25),
            se: Some(1.0 / 3.0),
            lo: None,
            hi: Some(f64::INFINITY),
            ci_method: CiMethod::Normal,
            deff: Some(2e-7),
            n_eff: Some(6.0),
            cv: None,
            reliable: false,
            suppressed,
            df: None,
        }
    }

    /// The estimates of `rows` under the default design.
    fn estimates_of(rows: Vec<EstimateRow>) -> DomainEstimates {
        DomainEstimates {
            instrument_id: "sipas-2023".into(),
            design: DesignSpec::default(),
            rows: rows.into(),
            mode_differences: Vec::new(),
            did: None,
            level: sipas_core::Level::DEFAULT,
        }
    }

    #[test]
    fn the_file_is_written_row_by_row_with_the_same_bytes_as_the_text() {
        let est = estimates_of(vec![row("Phú Lương, \"cũ\"", false), row("Đại Từ", true)]);
        let expected = format!(
            "{}\
             district,\"Phú Lương, \"\"cũ\"\"\",2024Q1,sipas,index,12,81.250000,0.333333,,,normal,0.000000,6.000000,,false,false\n\
             district,Đại Từ,2024Q1,sipas,index,12,,,,,normal,,,,false,true\n",
            estimates_header()
        );
        assert_eq!(estimates_csv(&est), expected);
        let dir = tempfile::tempdir().unwrap();
        write_estimates(&est, dir.path()).unwrap();
        let written = std::fs::read_to_string(dir.path().join(results::ESTIMATES.file)).unwrap();
        assert_eq!(written, expected);
    }

    /// Each line is its row's fields written one by one, whether the row shares its opening
    /// fields with the line before (one name for the domain's rows) or not: the domain, its
    /// type or the period changing alone, equal domains in strings of their own, a domain
    /// that must be quoted.
    #[test]
    fn each_line_is_its_fields_whatever_the_line_before() {
        let shared: Vec<Name> = ["Võ Nhai", "Phú Lương, \"cũ\"", "Đại Từ"]
            .into_iter()
            .map(Name::from)
            .collect();
        let rows: Vec<EstimateRow> = (0..600usize)
            .map(|i| {
                let mut r = row("", i % 29 == 4);
                r.domain = if i % 7 == 3 {
                    Name::from(shared[(i / 50) % 3].as_str())
                } else {
                    shared[(i / 50) % 3].clone()
                };
                r.domain_type = [DomainType::Unit, DomainType::District][usize::from(i % 23 < 3)];
                r.period = ["2023Q4", "2024Q1"][(i / 9) % 2].parse().unwrap();
                r.indicator = Name::from(["sipas", "q,1", "e2"][i % 3]);
                r.n = i;
                r.value = Some(i as f64 * 0.37 - 50.0);
                r.lo = (i % 4 != 0).then_some(1e7 / (i as f64 + 1.0));
                r
            })
            .collect();
        let mut expected = estimates_header();
        for r in &rows {
            let num = |v: Option<f64>| results::num(r.published(v));
            let flag = |b: bool| b.to_string();
            let fields = [
                r.domain_type.as_str().to_string(),
                field(r.domain.as_str()).into_owned(),
                r.period.to_string(),
                field(r.indicator.as_str()).into_owned(),
                r.indicator_kind.as_str().to_string(),
                r.n.to_string(),
                num(r.value),
                num(r.se),
                num(r.lo),
                num(r.hi),
                r.ci_method.as_str().to_string(),
                num(r.deff),
                num(r.n_eff),
                num(r.cv),
                flag(r.reliable),
                flag(r.suppressed),
            ];
            expected.push_str(&fields.join(","));
            expected.push('\n');
        }
        assert!(expected.contains("\"Phú Lương, \"\"cũ\"\"\",2024Q1,\"q,1\""));
        assert_eq!(estimates_csv(&estimates_of(rows)), expected);
    }

    /// More rows than two batches, each of several blocks (formatted on several threads),
    /// batches and blocks not aligned: the file is the text, in row order, with a
    /// formula-like domain made inert as every CSV of sipas; the twin holds every row, in
    /// the same order.
    #[test]
    fn the_file_of_many_blocks_is_the_text_in_order() {
        use polars::prelude::*;
        let group = 3 * CSV_BLOCK_ROWS + 5;
        let n = 2 * group + CSV_BLOCK_ROWS / 2 + 3;
        let rows: Vec<EstimateRow> = (0..n)
            .map(|i| {
                let mut r = row(if i % 1000 == 7 { "=1+1" } else { "Võ Nhai" }, i % 5 == 0);
                r.n = i;
                r.value = Some(i as f64 / 7.0);
                r
            })
            .collect();
        let est = estimates_of(rows);
        let text = estimates_csv(&est);
        assert_eq!(text.lines().count(), n + 1);
        let dir = tempfile::tempdir().unwrap();
        write_estimates_in(&est, dir.path(), group).unwrap();
        let written = std::fs::read(dir.path().join(results::ESTIMATES.file)).unwrap();
        let expected = sipas_core::csv_out::neutralise(text.as_bytes());
        assert!(matches!(expected, std::borrow::Cow::Owned(_)));
        assert!(
            written == expected.as_ref(),
            "the file differs from the text"
        );
        let f = std::fs::File::open(dir.path().join(results::ESTIMATES.parquet())).unwrap();
        let df = ParquetReader::new(f).finish().unwrap();
        let col = df.column("n").unwrap().i64().unwrap().clone();
        let ns: Vec<Option<i64>> = (0..col.len()).map(|i| col.get(i)).collect();
        assert_eq!(ns, (0..n).map(|i| Some(i as i64)).collect::<Vec<_>>());
    }

    /// The twin's columns made in one pass, text as dictionaries, give the file polars' own
    /// builders and dictionary search give (`estimates_frame` through the same encoder), byte
    /// for byte: batches where a text column is mostly distinct values (stored PLAIN) and
    /// where it repeats (a dictionary), equal names held once or each in its own string,
    /// several periods and domain types, nulls (undefined, not finite, suppressed).
    #[test]
    fn the_twins_columns_are_the_frames_file_byte_for_byte() {
        let group = 300;
        let shared: Vec<Name> = ["sipas", "policy", "service"]
            .into_iter()
            .map(Name::from)
            .collect();
        let periods = ["2023Q4", "2024Q1", "2024Q2"];
        let rows: Vec<EstimateRow> = (0..2 * group + 123)
            .map(|i| {
                // The first batch: every domain new (PLAIN); later ones: runs of 40 rows.
                let domain = if i < group {
                    format!("Xã số {i}")
                } else {
                    format!("Phường {}", i / 40)
                };
                let mut r = row(&domain, i % 11 == 3);
                r.domain_type = [DomainType::Unit, DomainType::District][usize::from(i % 97 < 5)];
                r.period = periods[(i / 7) % 3].parse().unwrap();
                r.indicator = if i % 4 == 0 {
                    Name::from(["sipas", "policy", "service"][i % 3])
                } else {
                    shared[i % 3].clone()
                };
                r.indicator_kind = [IndicatorKind::Index, IndicatorKind::Item][i % 2];
                r.ci_method = [CiMethod::Normal, CiMethod::Logit, CiMethod::Wilson][i % 3];
                r.n = i;
                r.value = (i % 13 != 1).then_some(i as f64 / 3.0);
                r.lo = Some(if i % 17 == 0 { f64::NAN } else { -(i as f64) });
                r.deff = (i % 5 != 2).then_some(1.0 + i as f64 * 1e-3);
                r.cv = Some(0.5);
                r.reliable = i % 3 == 0;
                r
            })
            .collect();
        let est = estimates_of(rows.clone());
        let dir = tempfile::tempdir().unwrap();
        write_estimates_in(&est, dir.path(), group).unwrap();
        let written = std::fs::read(dir.path().join(results::ESTIMATES.parquet())).unwrap();

        let periods = period_texts(&est.rows);
        let mut reference = Vec::new();
        let mut out = sipas_dataset::ParquetOut::fast(&mut reference, &estimates_schema()).unwrap();
        for batch in rows.chunks(group) {
            out.write_batch(&estimates_frame(batch, &periods).unwrap())
                .unwrap();
        }
        out.finish().unwrap();
        assert!(written == reference, "the twins differ");
    }

    /// The twin written one row group of a row at a time holds the rows of the whole frame:
    /// the same values, nulls where the CSV is empty (undefined, not finite or suppressed).
    #[test]
    fn the_twin_in_row_groups_holds_every_row() {
        use polars::prelude::*;
        let rows = vec![
            row("Phú Lương", false),
            row("Đại Từ", true),
            row("Võ Nhai", false),
        ];
        let est = estimates_of(rows);
        let dir = tempfile::tempdir().unwrap();
        write_estimates_in(&est, dir.path(), 1).unwrap();
        let f = std::fs::File::open(dir.path().join(results::ESTIMATES.parquet())).unwrap();
        let df = ParquetReader::new(f).finish().unwrap();
        assert_eq!(df.height(), 3);
        let text = |c: &str, i: usize| {
            df.column(c)
                .unwrap()
                .str()
                .unwrap()
                .get(i)
                .map(str::to_string)
        };
        let num = |c: &str, i: usize| df.column(c).unwrap().f64().unwrap().get(i);
        let names = ["Phú Lương", "Đại Từ", "Võ Nhai"];
        for (i, name) in names.into_iter().enumerate() {
            assert_eq!(text("domain", i).as_deref(), Some(name));
            assert_eq!(text("period", i).as_deref(), Some("2024Q1"));
            assert_eq!(df.column("n").unwrap().i64().unwrap().get(i), Some(12));
            // Suppressed: null; an infinite bound and an undefined cv: null.
            let shown = i != 1;
            assert_eq!(num("value", i), shown.then_some(81.25));
            assert_eq!(num("se", i), shown.then_some(1.0 / 3.0));
            assert_eq!(num("hi", i), None);
            assert_eq!(num("cv", i), None);
            let sup = df.column("suppressed").unwrap().bool().unwrap().get(i);
            assert_eq!(sup, Some(!shown));
        }
    }
}
