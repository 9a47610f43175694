//! The results folder: the one contract between the stages that write result tables and the
//! readers of them.
//!
//! Every file `sipas aggregate` (or `sipas evaluate`) leaves in its results folder is listed
//! here, once: its file name, the stage that writes it, its columns (name, Parquet type and
//! meaning) and, where a reader takes it apart row by row, its row type. Writers take the header
//! from [`Table::header`], write the rows with the formatting of this module ([`num`],
//! [`finite_num`], [`field`]) and hand the text to [`crate::csv_out`] (and the Parquet twin,
//! typed by [`Table::kind_of`]); readers find the files by [`Table::file`] and the columns by
//! [`Column::name`]. A new output table is one more `table!` declaration (a column a line:
//! `name: Kind "meaning";`) added to [`TABLES`].
//!
//! Conventions of every table: UTF-8 (NFC), `,`-separated, RFC 4180 quoting, `\n` line ends,
//! header first; numbers with six decimals and no negative zero; an empty field is an undefined
//! value (never `NaN`); unit codes are text (`05569`). Each `X.csv` has a Parquet twin
//! `X.parquet` with the same rows and typed columns ([`Kind`]).
//!
//! | file | written by | what a row is |
//! |---|---|---|
//! | `unit_period.csv` | aggregate | a unit in a period: SIPAS with its interval, each element and part |
//! | `items.csv` | aggregate | a unit × period × item: share satisfied with its Wilson interval |
//! | `groups.csv` | aggregate | pilot or baseline units pooled, per period |
//! | `did.csv` | aggregate | the pooled 2×2 difference-in-differences (one row or none) |
//! | `estimates.csv` | design | every indicator in every domain (unit, group, district, kind, mode) |
//! | `modes.csv` | design | SIPAS of two survey modes in a period and their difference |
//! | `did_twfe.csv` | evaluation | the two-way fixed-effects DiD: overall, per pilot unit, per treatment definition |
//! | `did_units.csv` | evaluation | a pilot unit's 2×2 DiD of cell means |
//! | `event_study.csv` | evaluation | an event-study coefficient |
//! | `pretrend.csv` | evaluation | the joint pre-trend test (one row or none) |
//! | `treatment.csv` | treatment | a unit with a pilot commune after a crosswalk: its old units and intensity |
//! | `att_gt.csv` … `att_overall.csv` | rollout | Callaway–Sant'Anna effects and their aggregations |
//! | `att_units.csv` | rollout | a unit of the staggered evaluation: used or why not |
//! | `bacon.csv` | rollout | a term of the Goodman-Bacon decomposition of the TWFE |
//!
//! Beside the tables: `aggregate-report.json` ([`AGGREGATE_REPORT`]), `evaluation.json`
//! ([`EVALUATION_JSON`]), `rollout.json` ([`ROLLOUT_JSON`]) and `methods.txt` ([`METHODS`], written
//! by [`write_methods`]).

use std::fmt::Write as _;
use std::path::Path;

use crate::Period;

/// The type of a result-table column (its type in the Parquet twin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Codes, names, periods, labels (`Utf8`).
    Text,
    /// Counts, event times, seeds (`Int64`).
    Int,
    /// `true` / `false` (`Boolean`).
    Bool,
    /// Estimates, standard errors, bounds, p-values, shares (`Float64`).
    Float,
}

/// One column of a result table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Its name in the header.
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// What it holds, in a statistician's words.
    pub doc: &'static str,
}

/// The stage of sipas that writes a file of the results folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The unit × period indices, items, pooled groups and the 2×2 DiD (`write_results`).
    Aggregate,
    /// The long table of every estimate under the survey design (`write_estimates`).
    Design,
    /// The pilot evaluation on the unit × period panel (`write_evaluation`).
    Evaluation,
    /// The treatment on today's units after a crosswalk (`sipas aggregate` with a crosswalk).
    Treatment,
    /// The staggered-rollout evaluation (`write_rollout`, `sipas evaluate`).
    Rollout,
    /// The evaluation of every headline index and the commune PAR index (`sipas aggregate`).
    Indices,
    /// The plain-English methods text, assembled from the stages above ([`write_methods`]).
    Methods,
}

/// A result table: a CSV file and its Parquet twin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    /// The CSV file name (`unit_period.csv`); the twin is [`Table::parquet`].
    pub file: &'static str,
    /// Who writes it.
    pub stage: Stage,
    /// What a row is.
    pub doc: &'static str,
    /// The fixed columns, in file order.
    pub columns: &'static [Column],
    /// `Some(meaning)` when one `Float` column per element and part of the instrument follows
    /// the fixed columns (named by the group ids, in the instrument's order).
    pub group_columns: Option<&'static str>,
}

/// A file of the results folder that is not a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Document {
    /// The file name.
    pub file: &'static str,
    /// Who writes it.
    pub stage: Stage,
    /// What it holds.
    pub doc: &'static str,
}

impl Document {
    /// A document written by `stage` into the results folder.
    pub const fn new(file: &'static str, stage: Stage, doc: &'static str) -> Self {
        Document { file, stage, doc }
    }
}

impl Table {
    /// A table without group columns.
    pub const fn new(
        file: &'static str,
        stage: Stage,
        doc: &'static str,
        columns: &'static [Column],
    ) -> Self {
        Table {
            file,
            stage,
            doc,
            columns,
            group_columns: None,
        }
    }

    /// This table with one `Float` column per element and part after its fixed columns.
    #[must_use]
    pub const fn with_group_columns(self, doc: &'static str) -> Self {
        Table {
            group_columns: Some(doc),
            ..self
        }
    }

    /// The file name without `.csv` (`unit_period`): the table's name in SQL.
    pub fn stem(&self) -> &'static str {
        self.file.strip_suffix(".csv").unwrap_or(self.file)
    }

    /// The Parquet twin's file name (`unit_period.parquet`).
    pub fn parquet(&self) -> String {
        format!("{}.parquet", self.stem())
    }

    /// The header line (with its `\n`): the fixed columns, then `group_ids` (empty for a table
    /// without [`Table::group_columns`]).
    pub fn header<S: AsRef<str>>(&self, group_ids: &[S]) -> String {
        let mut s = String::new();
        for (i, c) in self.columns.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(c.name);
        }
        for g in group_ids {
            s.push(',');
            s.push_str(g.as_ref());
        }
        s.push('\n');
        s
    }

    /// The column `name`, when it is one of the fixed columns.
    pub fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The type of column `name`: its declared [`Kind`]; a group column is `Float`.
    pub fn kind_of(&self, name: &str) -> Kind {
        self.column(name).map_or(Kind::Float, |c| c.kind)
    }
}

impl Stage {
    /// Every file this stage writes into the results folder (each table's CSV and Parquet
    /// twin, then its documents), in the order of [`TABLES`] and [`DOCUMENTS`].
    pub fn files(self) -> Vec<String> {
        let mut out = Vec::new();
        for t in TABLES.iter().filter(|t| t.stage == self) {
            out.push(t.file.to_string());
            out.push(t.parquet());
        }
        for d in DOCUMENTS.iter().filter(|d| d.stage == self) {
            out.push(d.file.to_string());
        }
        out
    }
}

const fn col(name: &'static str, kind: Kind, doc: &'static str) -> Column {
    Column { name, kind, doc }
}

/// The number of columns in `parts`.
const fn total(parts: &[&[Column]]) -> usize {
    let (mut n, mut i) = (0, 0);
    while i < parts.len() {
        n += parts[i].len();
        i += 1;
    }
    n
}

/// The columns of `parts`, one after the other.
const fn concat<const N: usize>(parts: &[&[Column]]) -> [Column; N] {
    let mut out = [col("", Kind::Text, ""); N];
    let (mut i, mut k) = (0, 0);
    while i < parts.len() {
        let mut j = 0;
        while j < parts[i].len() {
            out[k] = parts[i][j];
            k += 1;
            j += 1;
        }
        i += 1;
    }
    assert!(k == N, "column count");
    out
}

/// Columns, one a line: `name: Kind "meaning";` (a column) or `..SHARED;` (a shared list of
/// columns spliced in). Alone, a list of plain columns (`[Column; N]`).
macro_rules! columns {
    (@parts [$($part:expr,)*]) => { &[$($part,)*] };
    (@parts [$($part:expr,)*] ..$shared:ident; $($rest:tt)*) => {
        columns!(@parts [$($part,)* $shared,] $($rest)*)
    };
    (@parts [$($part:expr,)*] $name:ident: $kind:ident $doc:literal; $($rest:tt)*) => {
        columns!(@parts [$($part,)* &[col(stringify!($name), Kind::$kind, $doc)],] $($rest)*)
    };
    ($($name:ident: $kind:ident $doc:literal;)*) => {
        [$(col(stringify!($name), Kind::$kind, $doc)),*]
    };
}

/// The Rust type of a row field: from the column's kind, unless the declaration names one.
macro_rules! field_type {
    (Text) => { String };
    (Int) => { i64 };
    (Bool) => { bool };
    (Float) => { Option<f64> };
    ($kind:ident $ty:ty) => { $ty };
}

/// Declares a result table: `NAME = "file.csv", Stage, "what a row is";`, then its columns
/// (see `columns!`) and, for a table of the elements and parts, `groups "meaning";` (first).
/// A table that is read back row by row declares its row type instead of a column list:
/// `row Name { name: Kind "meaning" [as Type]; … }`, one field per column in the header's
/// order, typed by the column's kind (`Text` → `String`, `Int` → `i64`, `Bool` → `bool`,
/// `Float` → `Option<f64>`, `None` being an empty field) unless `as Type` says otherwise;
/// its `write_line` writes the fields in that order.
macro_rules! table {
    (
        $(#[$meta:meta])*
        $table:ident = $file:literal, $stage:ident, $doc:literal;
        $(#[$row_meta:meta])*
        row $row:ident { $($name:ident: $kind:ident $col_doc:literal $(as $ty:ty)?;)* }
    ) => {
        table! {
            $(#[$meta])*
            $table = $file, $stage, $doc;
            $($name: $kind $col_doc;)*
        }

        $(#[$row_meta])*
        pub struct $row {
            $(
                #[doc = $col_doc]
                pub $name: field_type!($kind $($ty)?),
            )*
        }

        impl $row {
            #[doc = concat!("Appends the row as a CSV line (the columns of [`", stringify!($table), "`]).")]
            pub fn write_line(&self, s: &mut String) {
                let cells: &[&dyn Cell] = &[$(&self.$name),*];
                for (i, cell) in cells.iter().enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    cell.push_to(s);
                }
                s.push('\n');
            }
        }
    };
    (@then [$($then:tt)*] $(#[$meta:meta])* $table:ident, $file:literal, $stage:ident, $doc:literal; $($columns:tt)*) => {
        $(#[$meta])*
        pub const $table: Table = {
            const PARTS: &[&[Column]] = columns!(@parts [] $($columns)*);
            const COLUMNS: [Column; total(PARTS)] = concat(PARTS);
            Table::new($file, Stage::$stage, $doc, &COLUMNS)$($then)*
        };
    };
    (
        $(#[$meta:meta])*
        $table:ident = $file:literal, $stage:ident, $doc:literal;
        groups $groups:literal;
        $($columns:tt)*
    ) => {
        table! {
            @then [.with_group_columns($groups)]
            $(#[$meta])* $table, $file, $stage, $doc; $($columns)*
        }
    };
    (
        $(#[$meta:meta])*
        $table:ident = $file:literal, $stage:ident, $doc:literal;
        $($columns:tt)*
    ) => {
        table! { @then [] $(#[$meta])* $table, $file, $stage, $doc; $($columns)* }
    };
}

/// A field of a row, as the contract writes it: text quoted when needed, numbers through
/// [`finite_num`].
trait Cell {
    fn push_to(&self, s: &mut String);
}

impl Cell for String {
    fn push_to(&self, s: &mut String) {
        s.push_str(&field(self));
    }
}

impl Cell for Option<f64> {
    fn push_to(&self, s: &mut String) {
        s.push_str(&finite_num(*self));
    }
}

macro_rules! displayed_cell {
    ($($ty:ty),*) => {$(
        impl Cell for $ty {
            fn push_to(&self, s: &mut String) {
                let _ = write!(s, "{self}");
            }
        }
    )*};
}

displayed_cell!(Period, i64, usize, bool);

/// The unit's 5-digit GSO code.
const UNIT_CODE: &[Column] = &columns! { unit_code: Text "5-digit GSO code of the unit"; };
/// The survey period.
const PERIOD: &[Column] = &columns! { period: Text "survey period (2024Q1)"; };
/// The index a staggered-rollout row is about.
const INDEX: &[Column] = &columns! { index: Text "the index evaluated (sipas)"; };

/// The wild bootstrap's settings, shared by `did_twfe.csv` and `pretrend.csv`.
const BOOTSTRAP: &[Column] = &columns! {
    bootstrap_weights: Text "`rademacher` or `webb` (empty without bootstrap)";
    replicates: Int "bootstrap replicates";
    seed: Int "bootstrap seed";
};

/// The estimate columns shared by `unit_period.csv` and `groups.csv`.
const SIPAS_ESTIMATE: &[Column] = &columns! {
    n: Int "responses in the cell";
    sipas: Float "the run's headline index: SIPAS, 0–100, with the SIPAS instruments; another instrument's first root on its scale, named by `headline` in aggregate-report.json (empty when undefined)";
    sipas_se: Float "its design-based (linearised) standard error";
    sipas_lo: Float "lower bound of its 95% interval, clipped to its scale";
    sipas_hi: Float "upper bound of its 95% interval, clipped to its scale";
};

/// The columns shared by the Callaway–Sant'Anna tables after their key columns.
const ATT: &[Column] = &columns! {
    att: Float "average effect on the treated, index points";
    se: Float "its standard error";
    ci_low: Float "lower bound of the pointwise 95% interval";
    ci_high: Float "upper bound of the pointwise 95% interval";
    band_low: Float "lower bound of the simultaneous 95% band of the table's rows";
    band_high: Float "upper bound of the simultaneous 95% band";
};

table! {
    /// `unit_period.csv`: SIPAS of each unit in each period.
    UNIT_PERIOD = "unit_period.csv", Aggregate,
        "a unit in a period: SIPAS with its 95% interval, then each element and part";
    groups "index of each element and part of the instrument, 0–100";
    ..UNIT_CODE;
    unit_name: Text "its full name with prefix (Phường Trưng Vương)";
    district: Text "its district";
    kind: Text "`xa`, `phuong` or `thi_tran`";
    pilot: Bool "whether the unit is a pilot unit";
    ..PERIOD;
    ..SIPAS_ESTIMATE;
}

table! {
    /// `items.csv`: the share satisfied with each item in each unit and period.
    ITEMS = "items.csv", Aggregate,
        "a unit × period × item: share of satisfied answers with its Wilson 95% interval";
    ..UNIT_CODE;
    ..PERIOD;
    item: Text "item id of the instrument (a1)";
    n_valid: Int "answers to the item";
    share: Float "weighted share satisfied, 0–100";
    lo: Float "lower bound of the Wilson 95% interval";
    hi: Float "upper bound of the Wilson 95% interval";
}

table! {
    /// `groups.csv`: pilot and baseline units pooled, per period.
    GROUPS = "groups.csv", Aggregate,
        "pilot or baseline units pooled in a period: SIPAS with its 95% interval, then each element and part";
    groups "pooled index of each element and part of the instrument, 0–100";
    ..PERIOD;
    group: Text "`pilot` or `baseline` units, pooled";
    ..SIPAS_ESTIMATE;
}

table! {
    /// `did.csv`: the pooled 2×2 difference-in-differences.
    DID = "did.csv", Aggregate,
        "the pooled 2×2 DiD of SIPAS, pilot against baseline (one row; none when the data cannot give one)";
    pilot_start: Text "first period of the pilot";
    estimate: Float "change in pilot units minus change in the baseline, index points";
    se: Float "its standard error (the four quadrants' full covariance)";
    lo: Float "lower bound of its 95% interval";
    hi: Float "upper bound of its 95% interval";
    pilot_pre: Float "pooled pilot SIPAS before the start";
    pilot_post: Float "pooled pilot SIPAS from the start on";
    baseline_pre: Float "pooled baseline SIPAS before the start";
    baseline_post: Float "pooled baseline SIPAS from the start on";
}

table! {
    /// `estimates.csv`: every indicator in every domain under the survey design.
    ESTIMATES = "estimates.csv", Design,
        "an indicator (item, element, part or index) in a domain and period under the survey design";
    domain_type: Text "`unit`, `group`, `district`, `kind` or `mode`";
    domain: Text "the domain: unit code, `pilot`/`baseline`, district name, kind or mode";
    ..PERIOD;
    indicator: Text "item or group id (`sipas` for the index)";
    indicator_kind: Text "`item`, `element`, `part` or `index`";
    n: Int "answers of the item, or rows of the domain for composites";
    value: Float "the estimate, 0–100 (empty when suppressed or undefined)";
    se: Float "its design-based standard error";
    lo: Float "lower bound of its 95% interval";
    hi: Float "upper bound of its 95% interval";
    ci_method: Text "how the bounds were computed";
    deff: Float "design effect (with-replacement SRS reference)";
    n_eff: Float "effective sample size n / deff";
    cv: Float "coefficient of variation se / value";
    reliable: Bool "n and cv within the design's thresholds";
    suppressed: Bool "n below the suppression threshold: value fields left empty";
}

table! {
    /// `modes.csv`: SIPAS by survey mode and the differences between modes.
    MODES = "modes.csv", Design,
        "two survey modes in a period: SIPAS of each and their difference (header only with one mode)";
    /// A row of `modes.csv` ([`MODES`]): SIPAS of two survey modes in one period and their
    /// difference (modes in name order; SIPAS and SEs as in `estimates.csv`; the difference's
    /// SE linearised, the covariance of the two domains included). Written by the design
    /// estimates, read by the report; `None` is an empty field.
    #[derive(Debug, Clone, PartialEq)]
    row ModesRow {
        period: Text "survey period (2024Q1)" as Period;
        mode_a: Text "the first mode (paper, online, phone…)";
        mode_b: Text "the second mode";
        n_a: Int "responses of mode a" as usize;
        n_b: Int "responses of mode b" as usize;
        sipas_a: Float "SIPAS of mode a";
        se_a: Float "its standard error";
        sipas_b: Float "SIPAS of mode b";
        se_b: Float "its standard error";
        difference: Float "SIPAS of a minus SIPAS of b";
        se: Float "standard error of the difference";
        lo: Float "lower bound of its 95% interval";
        hi: Float "upper bound of its 95% interval";
    }
}

table! {
    /// `did_twfe.csv`: the two-way fixed-effects DiD.
    DID_TWFE = "did_twfe.csv", Evaluation,
        "a two-way fixed-effects DiD of SIPAS on the unit × period panel";
    scope: Text "`overall`, `unit` (one pilot unit) or `treatment` (a definition on today's units)";
    unit_code: Text "the pilot unit, or the treatment definition; empty for overall";
    estimate: Float "β̂, index points";
    se_cr1: Float "CR1 cluster-robust standard error (clusters = units)";
    lo_cr1: Float "lower bound of the CR1 95% interval (t with G − 1 df)";
    hi_cr1: Float "upper bound of the CR1 95% interval";
    p_cr1: Float "CR1 p-value of β = 0";
    p_wild: Float "wild cluster restricted bootstrap p-value";
    lo_wild: Float "lower bound of the bootstrap 95% interval";
    hi_wild: Float "upper bound of the bootstrap 95% interval";
    n_clusters: Int "clusters (units) in the panel";
    n_treated: Int "treated clusters";
    n_obs: Int "unit × period cells";
    ..BOOTSTRAP;
}

table! {
    /// `did_units.csv`: each pilot unit's 2×2 DiD of cell means ([`DidUnitsRow`]).
    DID_UNITS = "did_units.csv", Evaluation,
        "a pilot unit's 2×2 DiD of cell means against the baseline";
    /// A row of `did_units.csv` ([`DID_UNITS`]): a pilot unit's 2×2 DiD of cell means.
    /// Written by the evaluation, read by the report; `None` is an empty field (the SE is
    /// `None` when a cell has none).
    #[derive(Debug, Clone, PartialEq, Default)]
    row DidUnitsRow {
        unit_code: Text "the pilot unit";
        pilot_pre: Float "mean SIPAS of its cells before the start";
        pilot_post: Float "mean SIPAS of its cells from the start on";
        baseline_pre: Float "mean SIPAS of the baseline cells before the start";
        baseline_post: Float "mean SIPAS of the baseline cells from the start on";
        estimate: Float "(pilot post − pre) − (baseline post − pre)";
        se: Float "from the cells' survey SEs (cells independent)";
        lo: Float "lower bound of its 95% interval";
        hi: Float "upper bound of its 95% interval";
    }
}

table! {
    /// `event_study.csv`: the event-study coefficients ([`EventStudyRow`]).
    EVENT_STUDY = "event_study.csv", Evaluation,
        "an event-study coefficient: pilot minus baseline k periods from the start";
    /// A row of `event_study.csv` ([`EVENT_STUDY`]): one event-study coefficient (`None` for
    /// an estimate not identified). Written by the evaluation, read by the report; `None` is
    /// an empty field.
    #[derive(Debug, Clone, PartialEq)]
    row EventStudyRow {
        k: Int "periods relative to the start (0 = the start)";
        period: Text "the calendar period" as Period;
        estimate: Float "β̂_k, index points (0 for the reference period)";
        se: Float "CR1 standard error (empty for the reference)";
        lo: Float "lower bound of its 95% interval (t with G − 1 df)";
        hi: Float "upper bound of its 95% interval";
        p: Float "two-sided p-value of β_k = 0";
    }
}

impl EventStudyRow {
    /// Whether this is the reference period (estimate fixed at 0, no SE).
    pub fn is_reference(&self) -> bool {
        self.se.is_none() && self.estimate == Some(0.0)
    }
}

table! {
    /// `pretrend.csv`: the joint test of the pre-start coefficients.
    PRETREND = "pretrend.csv", Evaluation,
        "the joint Wald test that every pre-start coefficient is 0 (one row; none without a pre-period to test)";
    q: Int "pre-start coefficients tested";
    df1: Int "numerator degrees of freedom";
    df2: Float "denominator degrees of freedom (G − 1)";
    wald: Float "Wald statistic";
    f: Float "F = W / q";
    p: Float "p-value of F";
    p_wild: Float "wild bootstrap p-value of W";
    ..BOOTSTRAP;
}

table! {
    /// `treatment.csv`: which old units make up each unit with a pilot commune.
    TREATMENT = "treatment.csv", Treatment,
        "today's unit holding a pilot commune (after a crosswalk): its old units and treatment intensity";
    unit_code: Text "today's unit";
    intensity: Float "share of its pre-merge responses (or population) from pilot communes, 0–1";
    mixed: Bool "whether it also holds non-pilot communes";
    old_units: Text "the old units behind it, `|`-separated";
    pilot_old_units: Text "those of them that are pilot communes";
    responses: Text "its pre-merge responses";
    intensity_basis: Text "what the intensity is a share of: `responses` or `population`";
    population: Float "its population (with `intensity_basis` = population)";
    old_unit_names: Text "the old units' names, `|`-separated in the order of `old_units`";
}

table! {
    /// `att_gt.csv`: Callaway–Sant'Anna group-time effects.
    ATT_GT = "att_gt.csv", Rollout, "a Callaway–Sant'Anna group-time effect ATT(g, t)";
    ..INDEX;
    group: Text "the cohort: first treated period";
    period: Text "the calendar period";
    ..ATT;
}

table! {
    /// `att_event.csv`: effects by time since the start.
    ATT_EVENT = "att_event.csv", Rollout,
        "the group-time effects aggregated by exposure (time since the start)";
    ..INDEX;
    exposure: Int "periods since the cohort's start (negative: before)";
    ..ATT;
}

table! {
    /// `att_group.csv`: effects by cohort.
    ATT_GROUP = "att_group.csv", Rollout, "the group-time effects aggregated by cohort";
    ..INDEX;
    group: Text "the cohort: first treated period";
    ..ATT;
}

table! {
    /// `att_calendar.csv`: effects by calendar period.
    ATT_CALENDAR = "att_calendar.csv", Rollout,
        "the group-time effects aggregated by calendar period";
    ..INDEX;
    period: Text "the calendar period";
    ..ATT;
}

table! {
    /// `att_overall.csv`: the overall effect under each aggregation.
    ATT_OVERALL = "att_overall.csv", Rollout, "one overall effect on the treated per aggregation";
    ..INDEX;
    aggregation: Text "`simple`, `event`, `group` or `calendar`";
    att: Float "overall average effect on the treated, index points";
    se: Float "its standard error";
    ci_low: Float "lower bound of its 95% interval";
    ci_high: Float "upper bound of its 95% interval";
}

table! {
    /// `att_units.csv`: the units of the staggered evaluation.
    ATT_UNITS = "att_units.csv", Rollout,
        "a unit of the staggered evaluation: its cohort and whether it is used (why not)";
    unit_code: Text "the unit";
    group: Text "its cohort (first treated period; empty: never treated)";
    used: Bool "whether the estimation uses it";
    reason: Text "why it is left out (empty when used)";
}

table! {
    /// `bacon.csv`: the Goodman-Bacon decomposition of the TWFE estimate.
    BACON = "bacon.csv", Rollout,
        "a 2×2 comparison of the Goodman-Bacon decomposition, and the TWFE total";
    ..INDEX;
    comparison: Text "the kind of 2×2 comparison (`twfe` for the total row)";
    treated: Text "the treated cohort";
    control: Text "the comparison cohort (`never`: never treated)";
    estimate: Float "the 2×2 DiD estimate";
    weight: Float "its weight in the TWFE estimate";
    forbidden: Bool "whether already-treated units serve as controls";
}

table! {
    /// `indices.csv`: the pilot evaluation of every headline index.
    INDICES = "indices.csv", Indices,
        "a headline index of the instrument (SIPAS, a PAPI dimension, the PAR total): its scale, 2×2 DiD and TWFE estimate";
    ..INDEX;
    name_vi: Text "its Vietnamese name";
    name_en: Text "its English name";
    scale_lo: Float "the lowest value of its scale";
    scale_hi: Float "the highest value of its scale";
    pilot_start: Text "first period of the pilot";
    did: Float "the 2×2 difference-in-differences, design-based, in the index's points";
    did_se: Float "its design-based standard error";
    did_lo: Float "lower bound of its 95% interval";
    did_hi: Float "upper bound of its 95% interval";
    pilot_pre: Float "the pilot units pooled before the start";
    pilot_post: Float "… from the start";
    baseline_pre: Float "the baseline units pooled before the start";
    baseline_post: Float "… from the start";
    twfe: Float "two-way fixed effects DiD on the unit × period panel";
    twfe_se: Float "its cluster-robust (CR1) standard error";
    twfe_lo: Float "lower bound of its 95% interval (Student t, G − 1 df)";
    twfe_hi: Float "upper bound";
    p_wild: Float "wild cluster bootstrap p-value of the TWFE estimate";
    pretrend_p: Float "p-value of the joint test that the event study's pre-start coefficients are 0";
    uncertainty: Text "what the intervals carry (`survey`: the design's sampling error; `survey part only` for the PAR total)";
}

table! {
    /// `par_ranking.csv`: the units ranked by the commune PAR total in each period.
    PAR_RANKING = "par_ranking.csv", Indices,
        "a unit's rank by the commune PAR total in a period, with its interval and rank interval (empty without a PAR index)";
    ..PERIOD;
    rank: Int "1 = the highest total";
    ..UNIT_CODE;
    unit_name: Text "its full name";
    pilot: Bool "whether it is a pilot unit";
    par_total: Float "the PAR total (appraised criteria + survey points), 0–100";
    se: Float "its standard error: the survey part's (the appraised points carry none)";
    lo: Float "lower bound of its 95% interval";
    hi: Float "upper bound";
    rank_lo: Int "best rank of its 95% rank interval (normal draws of every total)";
    rank_hi: Int "worst rank of its 95% rank interval";
}

table! {
    /// `par_quarantine.csv`: the rows of the criteria table not used.
    PAR_QUARANTINE = "par_quarantine.csv", Indices,
        "a row of the appraised criteria table that is not used, with its line and reason";
    line: Int "its line in the file (the header is line 1)";
    ..UNIT_CODE;
    period: Text "the period as given";
    criterion: Text "the criterion as given";
    points: Text "the points as given";
    maximum: Text "the maximum as given";
    reason: Text "why: unknown_unit, bad_period, unknown_criterion, maximum_mismatch, points_out_of_range, duplicate_copy, conflicting_duplicate, no_survey_cell or old_and_new_codes";
}

/// Every result table, in the order of the README's list.
pub const TABLES: [&Table; 21] = [
    &UNIT_PERIOD,
    &ITEMS,
    &GROUPS,
    &DID,
    &ESTIMATES,
    &MODES,
    &DID_TWFE,
    &DID_UNITS,
    &EVENT_STUDY,
    &PRETREND,
    &TREATMENT,
    &ATT_GT,
    &ATT_EVENT,
    &ATT_GROUP,
    &ATT_CALENDAR,
    &ATT_OVERALL,
    &ATT_UNITS,
    &BACON,
    &INDICES,
    &PAR_RANKING,
    &PAR_QUARANTINE,
];

/// `aggregate-report.json`: rows read and used, channels, cells, the design in words.
pub const AGGREGATE_REPORT: Document = Document::new(
    "aggregate-report.json",
    Stage::Aggregate,
    "rows read and used by channel, cells, why there is no DiD when there is none, the survey design in words",
);

/// `evaluation.json`: the options and panel selection of the evaluation.
pub const EVALUATION_JSON: Document = Document::new(
    "evaluation.json",
    Stage::Evaluation,
    "the evaluation's options, start period, panel selection and pilot units",
);

/// `rollout.json`: the staggered evaluation's estimator and options.
pub const ROLLOUT_JSON: Document = Document::new(
    "rollout.json",
    Stage::Rollout,
    "the staggered evaluation's estimator, comparison group, base period, design variance, bootstrap and level, and its waves",
);

/// `methods.txt`: the methods of every table, in plain English.
pub const METHODS: Document = Document::new(
    "methods.txt",
    Stage::Methods,
    "how every estimate, interval and test of the folder was computed and how to read it",
);

/// Every file of the results folder that is not a table.
pub const DOCUMENTS: [&Document; 4] =
    [&AGGREGATE_REPORT, &EVALUATION_JSON, &ROLLOUT_JSON, &METHODS];

/// The table whose CSV or Parquet file is `file`.
pub fn table(file: &str) -> Option<&'static Table> {
    TABLES
        .iter()
        .copied()
        .find(|t| t.file == file || t.parquet() == file)
}

/// Writes `methods.txt` into `dir`, atomically.
///
/// # Errors
/// The I/O error of writing; the file is then left as it was.
pub fn write_methods(dir: &Path, text: &str) -> std::io::Result<()> {
    crate::atomic::write_bytes(&dir.join(METHODS.file), text.as_bytes())
}

/// Six decimals; empty when undefined; no negative zero.
pub fn num(v: Option<f64>) -> String {
    let mut s = String::new();
    push_num(&mut s, v);
    s
}

/// Appends [`num`]`(v)` to `out` (without a `String` of its own: a table of millions of
/// numbers is formatted in place).
pub fn push_num(out: &mut String, v: Option<f64>) {
    if let Some(v) = v {
        with_num(v, |b| {
            out.push_str(std::str::from_utf8(b).expect("ASCII digits"));
        });
    }
}

/// [`push_num`] onto bytes (a CSV built as bytes is not checked as UTF-8 number by number).
pub fn push_num_bytes(out: &mut Vec<u8>, v: Option<f64>) {
    if let Some(v) = v {
        with_num(v, |b| out.extend_from_slice(b));
    }
}

/// The number the text [`num`]`(v)` denotes, as a reader parses it back (`None` for the empty
/// field): a typed copy of a table holds what its CSV shows without formatting and parsing
/// every value. Where [`num`] writes the digits of m, the integer nearest to |v|·10⁶ (its fast
/// path), that is ±m / 10⁶: m < 2⁴⁰ and 10⁶ are exact, so the division rounds the exact
/// decimal m·10⁻⁶ once, as a correct parser does. Otherwise (a near-tie, a large or a non-finite value) the text is
/// parsed.
pub fn num_value(v: Option<f64>) -> Option<f64> {
    let v = v?;
    if v.abs() < 5e-7 {
        return Some(0.0);
    }
    if let Some(m) = micros(v) {
        #[allow(clippy::cast_precision_loss)] // m < 2⁴⁰: exact
        let x = m as f64 / 1e6;
        return Some(if v < 0.0 { -x } else { x });
    }
    with_six(v, |b| {
        std::str::from_utf8(b)
            .ok()
            .and_then(|t| t.parse::<f64>().ok())
    })
}

/// Appends the decimal digits of `n` to `out`.
pub fn push_uint_bytes(out: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + u8::try_from(n % 10).expect("a digit");
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Hands `f` the text of [`num`]`(Some(v))`.
fn with_num<R>(v: f64, f: impl FnOnce(&[u8]) -> R) -> R {
    if v.abs() < 5e-7 {
        f(b"0.000000")
    } else {
        with_six(v, f)
    }
}

/// The integer nearest to |v|·10⁶ when that is not in doubt, which is the six decimals of
/// `format!("{v:.6}")` (a table of millions of numbers is mostly this): for |v| < 10⁶ the
/// product |v|·10⁶ < 2⁴⁰ is within half an ulp (at most 2⁻¹⁴) of the exact one, so unless its
/// fraction is within 10⁻³ of one half both round to the same integer. `None` for a tie or
/// near-tie, a large or a non-finite value, which `core::fmt` rounds from the exact binary value.
///
/// The integer part is taken by truncation, one instruction (0 ≤ |v|·10⁶ < 2⁴⁰, so the cast is
/// exact and so is the fraction, the difference of two floats within a factor two), where
/// `floor` and `round` are calls into libm on the baseline x86-64: 12.3–12.8 ns a number
/// instead of 14.7–15.8 (example `format_numbers`; `benches/README.md`, stop 45).
fn micros(v: f64) -> Option<u64> {
    let a = v.abs();
    if a < 1e6 {
        let x = a * 1e6;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let whole = x as u64;
        #[allow(clippy::cast_precision_loss)] // whole < 2⁴⁰: exact
        let fraction = x - whole as f64;
        if (fraction - 0.5).abs() > 1e-3 {
            return Some(whole + u64::from(fraction > 0.5));
        }
    }
    None
}

/// Hands `f` the text of `format!("{v:.6}")`: from [`micros`] where it holds, else through
/// `core::fmt`.
fn with_six<R>(v: f64, f: impl FnOnce(&[u8]) -> R) -> R {
    let Some(m) = micros(v) else {
        return f(format!("{v:.6}").as_bytes());
    };
    // Sign, at most 7 integer digits, the point and 6 decimals, filled from the end two
    // digits at a time.
    let mut text = [0u8; 16];
    let pair = |text: &mut [u8; 16], at: usize, n: u64| {
        let k = 2 * usize::try_from(n).expect("below 100");
        text[at..at + 2].copy_from_slice(&DIGIT_PAIRS[k..k + 2]);
    };
    let (int, frac) = (m / 1_000_000, m % 1_000_000);
    pair(&mut text, 14, frac % 100);
    pair(&mut text, 12, frac / 100 % 100);
    pair(&mut text, 10, frac / 10_000);
    text[9] = b'.';
    let mut i = 9;
    let mut rest = int;
    while rest >= 100 {
        i -= 2;
        pair(&mut text, i, rest % 100);
        rest /= 100;
    }
    if rest >= 10 {
        i -= 2;
        pair(&mut text, i, rest);
    } else {
        i -= 1;
        text[i] = b'0' + u8::try_from(rest).expect("a digit");
    }
    if v < 0.0 {
        i -= 1;
        text[i] = b'-';
    }
    f(&text[i..])
}

/// "00", "01", … "99": two decimal digits at a time.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// [`num`], also empty when not finite.
pub fn finite_num(v: Option<f64>) -> String {
    num(v.filter(|v| v.is_finite()))
}

/// A CSV field, quoted when needed (RFC 4180).
pub fn field(s: &str) -> std::borrow::Cow<'_, str> {
    // Byte by byte: the four are ASCII, and no byte of a multi-byte UTF-8 character is.
    if s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `push_num` writes exactly what `format!("{v:.6}")` writes, on values of every size,
    /// decimals ending in 5 at the 7th place (near-ties), exact ties (k + ½)·10⁻⁶ of binary
    /// fractions, negatives and the bounds of the fast path.
    #[test]
    fn six_decimals_are_those_of_core_fmt() {
        let mut rng = crate::xorshift::XorShift64::new(0x2545_F491_4F6C_DD1D);
        let mut next = move || rng.next_u64();
        let mut values: Vec<f64> = vec![
            5e-7,
            -5e-7,
            5.000_000_1e-7,
            1e-6,
            0.000_000_5,
            0.5,
            1.5e-6,
            2.5e-6,
            0.125,
            0.0625,
            99.999_999_5,
            100.0,
            999_999.999_999_5,
            999_999.999_999,
            1e6,
            -1e6,
            1e6 + 0.5,
            123_456.789_012_5,
            2f64.powi(-20),
            3.0 * 2f64.powi(-21),
            // Rounded up to one more integer digit.
            0.999_999_7,
            9.999_999_7,
            -99_999.999_999_7,
            999_999.999_999_7,
            -999_999.999_999_7,
            f64::MAX,
            f64::MIN_POSITIVE,
        ];
        for _ in 0..400_000 {
            let r = next();
            let scale = 10f64.powi(i32::try_from(r % 13).unwrap() - 6);
            let u = (next() >> 11) as f64 / (1u64 << 53) as f64;
            values.push(u * scale * if r & 1 << 20 == 0 { 1.0 } else { -1.0 });
            // A decimal with a 5 in the 7th place, as text would give it.
            let d = format!("{}.{:06}5", next() % 1000, next() % 1_000_000);
            values.push(d.parse().unwrap());
            // A multiple of 2⁻²⁰ (exact binary fractions, some exact ties at 10⁻⁶).
            values.push((next() % (1 << 30)) as f64 / f64::from(1 << 20));
        }
        for v in values {
            if v.abs() < 5e-7 {
                continue; // written as 0.000000 by `push_num` itself
            }
            let mut s = String::new();
            push_num(&mut s, Some(v));
            assert_eq!(s, format!("{v:.6}"), "{v:e}");
            let mut b = b"x".to_vec();
            push_num_bytes(&mut b, Some(v));
            assert_eq!(&b[1..], s.as_bytes(), "{v:e}");
            let parsed: f64 = s.parse().unwrap();
            assert_eq!(
                num_value(Some(v)).map(f64::to_bits),
                Some(parsed.to_bits()),
                "{v:e}"
            );
        }
    }

    #[test]
    fn integers_are_their_decimal_digits() {
        for n in [
            0,
            7,
            9,
            10,
            99,
            100,
            1_000_000,
            9_456_408,
            999_999_999_999,
            9_999_999_999_999_999_999,
            10_000_000_000_000_000_000,
            u64::MAX,
        ] {
            let mut b = Vec::new();
            push_uint_bytes(&mut b, n);
            assert_eq!(b, n.to_string().into_bytes());
        }
        let mut b = Vec::new();
        push_num_bytes(&mut b, None);
        push_num_bytes(&mut b, Some(-1e-9));
        assert_eq!(b, b"0.000000");
        // What a reader parses back from the small, empty and non-finite fields.
        assert_eq!(num_value(None), None);
        assert_eq!(
            num_value(Some(-1e-9)).map(f64::to_bits),
            Some(0f64.to_bits())
        );
        assert_eq!(num_value(Some(f64::NEG_INFINITY)), Some(f64::NEG_INFINITY));
        assert!(num_value(Some(f64::NAN)).is_some_and(f64::is_nan));
    }

    #[test]
    fn every_file_name_is_listed_once_and_every_column_once_per_table() {
        let mut names: Vec<String> = TABLES
            .iter()
            .flat_map(|t| [t.file.to_string(), t.parquet()])
            .chain(DOCUMENTS.iter().map(|d| d.file.to_string()))
            .collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n, "a file name twice");
        assert_eq!(n, 21 * 2 + 4);
        for t in TABLES {
            let mut cols: Vec<&str> = t.columns.iter().map(|c| c.name).collect();
            cols.sort_unstable();
            cols.dedup();
            assert_eq!(cols.len(), t.columns.len(), "{}", t.file);
            assert!(
                t.columns
                    .iter()
                    .all(|c| !c.name.is_empty() && !c.doc.is_empty())
            );
        }
    }

    #[test]
    fn headers_and_twins_follow_the_table() {
        assert_eq!(
            ITEMS.header::<&str>(&[]),
            "unit_code,period,item,n_valid,share,lo,hi\n"
        );
        assert_eq!(
            GROUPS.header(&["access", "staff"]),
            "period,group,n,sipas,sipas_se,sipas_lo,sipas_hi,access,staff\n"
        );
        assert_eq!(UNIT_PERIOD.parquet(), "unit_period.parquet");
        assert_eq!(UNIT_PERIOD.kind_of("unit_code"), Kind::Text);
        assert_eq!(UNIT_PERIOD.kind_of("pilot"), Kind::Bool);
        assert_eq!(UNIT_PERIOD.kind_of("n"), Kind::Int);
        // A group column (not a fixed one) is a float.
        assert_eq!(UNIT_PERIOD.kind_of("access"), Kind::Float);
        assert_eq!(table("bacon.parquet"), Some(&BACON));
        assert_eq!(table("nope.csv"), None);
    }

    #[test]
    fn each_stage_owns_its_files() {
        assert_eq!(
            Stage::Aggregate.files(),
            [
                "unit_period.csv",
                "unit_period.parquet",
                "items.csv",
                "items.parquet",
                "groups.csv",
                "groups.parquet",
                "did.csv",
                "did.parquet",
                "aggregate-report.json"
            ]
        );
        // Seven tables with their twins, then rollout.json.
        assert_eq!(Stage::Rollout.files().len(), 15);
        assert_eq!(Stage::Rollout.files().last().unwrap(), "rollout.json");
        assert_eq!(Stage::Methods.files(), ["methods.txt"]);
    }

    #[test]
    fn rows_are_written_with_six_decimals_and_empty_when_undefined() {
        let mut s = String::new();
        EventStudyRow {
            k: -2,
            period: "2023Q3".parse().unwrap(),
            estimate: Some(-1e-9),
            se: None,
            lo: Some(f64::NAN),
            hi: Some(1.0 / 3.0),
            p: Some(0.05),
        }
        .write_line(&mut s);
        assert_eq!(s, "-2,2023Q3,0.000000,,,0.333333,0.050000\n");
        let mut s = String::new();
        DidUnitsRow {
            unit_code: "05569".into(),
            estimate: Some(-8.333_333_3),
            ..DidUnitsRow::default()
        }
        .write_line(&mut s);
        assert_eq!(s, "05569,,,,,-8.333333,,,\n");
        let mut s = String::new();
        ModesRow {
            period: "2024Q1".parse().unwrap(),
            mode_a: "online, web".into(),
            mode_b: "paper".into(),
            n_a: 12,
            n_b: 30,
            sipas_a: Some(80.0),
            se_a: None,
            sipas_b: Some(82.5),
            se_b: None,
            difference: Some(-2.5),
            se: None,
            lo: None,
            hi: None,
        }
        .write_line(&mut s);
        assert_eq!(
            s,
            "2024Q1,\"online, web\",paper,12,30,80.000000,,82.500000,,-2.500000,,,\n"
        );
    }

    #[test]
    fn a_row_type_has_one_field_per_column_of_its_table() {
        let fields = |line: &str| line.trim_end().split(',').count();
        let mut s = String::new();
        DidUnitsRow::default().write_line(&mut s);
        assert_eq!(fields(&s), DID_UNITS.columns.len());
        let mut s = String::new();
        EventStudyRow {
            k: 0,
            period: "2024Q1".parse().unwrap(),
            estimate: None,
            se: None,
            lo: None,
            hi: None,
            p: None,
        }
        .write_line(&mut s);
        assert_eq!(fields(&s), EVENT_STUDY.columns.len());
    }
}
