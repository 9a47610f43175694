//! The results folder: the one contract between the stages that write result tables and the
//! readers of them.
//!
//! Every file `sipas aggregate` (or `sipas evaluate`) leaves in its results folder is listed
//! here, once: its file name, the stage that writes it, its columns (name, Parquet type and
//! meaning) and, where a reader takes it apart row by row, its row type. Writers take the header
//! from [`Table::header`], write the rows with the formatting of this module ([`num`],
//! [`finite_num`], [`field`]) and hand the text to [`crate::csv_out`] (and the Parquet twin,
//! typed by [`Table::kind_of`]); readers find the files by [`Table::file`] and the columns by
//! [`Column::name`]. A new output table is one more [`Table`] in [`TABLES`].
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

use Kind::{Bool, Float, Int, Text};

/// The unit's 5-digit GSO code.
const UNIT_CODE: Column = col("unit_code", Text, "5-digit GSO code of the unit");
/// The survey period.
const PERIOD: Column = col("period", Text, "survey period (2024Q1)");
/// The index a staggered-rollout row is about.
const INDEX: Column = col("index", Text, "the index evaluated (sipas)");

/// The wild bootstrap's settings, shared by `did_twfe.csv` and `pretrend.csv`.
const BOOTSTRAP: [Column; 3] = [
    col(
        "bootstrap_weights",
        Text,
        "`rademacher` or `webb` (empty without bootstrap)",
    ),
    col("replicates", Int, "bootstrap replicates"),
    col("seed", Int, "bootstrap seed"),
];

/// The estimate columns shared by `unit_period.csv` and `groups.csv`.
const SIPAS_ESTIMATE: [Column; 5] = [
    col("n", Int, "responses in the cell"),
    col("sipas", Float, "SIPAS index, 0–100 (empty when undefined)"),
    col(
        "sipas_se",
        Float,
        "its design-based (linearised) standard error",
    ),
    col(
        "sipas_lo",
        Float,
        "lower bound of its 95% interval, clipped to 0–100",
    ),
    col(
        "sipas_hi",
        Float,
        "upper bound of its 95% interval, clipped to 0–100",
    ),
];

/// The columns shared by the Callaway–Sant'Anna tables after their key columns.
const ATT: [Column; 6] = [
    col("att", Float, "average effect on the treated, index points"),
    col("se", Float, "its standard error"),
    col("ci_low", Float, "lower bound of the pointwise 95% interval"),
    col(
        "ci_high",
        Float,
        "upper bound of the pointwise 95% interval",
    ),
    col(
        "band_low",
        Float,
        "lower bound of the simultaneous 95% band of the table's rows",
    ),
    col(
        "band_high",
        Float,
        "upper bound of the simultaneous 95% band",
    ),
];

const fn cat<const A: usize, const B: usize, const N: usize>(
    a: [Column; A],
    b: [Column; B],
) -> [Column; N] {
    assert!(A + B == N, "column count");
    let mut out = [col("", Text, ""); N];
    let mut i = 0;
    while i < A {
        out[i] = a[i];
        i += 1;
    }
    let mut j = 0;
    while j < B {
        out[A + j] = b[j];
        j += 1;
    }
    out
}

const UNIT_PERIOD_COLUMNS: [Column; 11] = cat(
    [
        UNIT_CODE,
        col(
            "unit_name",
            Text,
            "its full name with prefix (Phường Trưng Vương)",
        ),
        col("district", Text, "its district"),
        col("kind", Text, "`xa`, `phuong` or `thi_tran`"),
        col("pilot", Bool, "whether the unit is a pilot unit"),
        PERIOD,
    ],
    SIPAS_ESTIMATE,
);

/// `unit_period.csv`: SIPAS of each unit in each period.
pub const UNIT_PERIOD: Table = Table::new(
    "unit_period.csv",
    Stage::Aggregate,
    "a unit in a period: SIPAS with its 95% interval, then each element and part",
    &UNIT_PERIOD_COLUMNS,
)
.with_group_columns("index of each element and part of the instrument, 0–100");

/// `items.csv`: the share satisfied with each item in each unit and period.
pub const ITEMS: Table = Table::new(
    "items.csv",
    Stage::Aggregate,
    "a unit × period × item: share of satisfied answers with its Wilson 95% interval",
    &[
        UNIT_CODE,
        PERIOD,
        col("item", Text, "item id of the instrument (a1)"),
        col("n_valid", Int, "answers to the item"),
        col("share", Float, "weighted share satisfied, 0–100"),
        col("lo", Float, "lower bound of the Wilson 95% interval"),
        col("hi", Float, "upper bound of the Wilson 95% interval"),
    ],
);

const GROUPS_COLUMNS: [Column; 7] = cat(
    [
        PERIOD,
        col("group", Text, "`pilot` or `baseline` units, pooled"),
    ],
    SIPAS_ESTIMATE,
);

/// `groups.csv`: pilot and baseline units pooled, per period.
pub const GROUPS: Table = Table::new(
    "groups.csv",
    Stage::Aggregate,
    "pilot or baseline units pooled in a period: SIPAS with its 95% interval, then each element and part",
    &GROUPS_COLUMNS,
)
.with_group_columns("pooled index of each element and part of the instrument, 0–100");

/// `did.csv`: the pooled 2×2 difference-in-differences.
pub const DID: Table = Table::new(
    "did.csv",
    Stage::Aggregate,
    "the pooled 2×2 DiD of SIPAS, pilot against baseline (one row; none when the data cannot give one)",
    &[
        col("pilot_start", Text, "first period of the pilot"),
        col(
            "estimate",
            Float,
            "change in pilot units minus change in the baseline, index points",
        ),
        col(
            "se",
            Float,
            "its standard error (the four quadrants' full covariance)",
        ),
        col("lo", Float, "lower bound of its 95% interval"),
        col("hi", Float, "upper bound of its 95% interval"),
        col("pilot_pre", Float, "pooled pilot SIPAS before the start"),
        col("pilot_post", Float, "pooled pilot SIPAS from the start on"),
        col(
            "baseline_pre",
            Float,
            "pooled baseline SIPAS before the start",
        ),
        col(
            "baseline_post",
            Float,
            "pooled baseline SIPAS from the start on",
        ),
    ],
);

/// `estimates.csv`: every indicator in every domain under the survey design.
pub const ESTIMATES: Table = Table::new(
    "estimates.csv",
    Stage::Design,
    "an indicator (item, element, part or index) in a domain and period under the survey design",
    &[
        col(
            "domain_type",
            Text,
            "`unit`, `group`, `district`, `kind` or `mode`",
        ),
        col(
            "domain",
            Text,
            "the domain: unit code, `pilot`/`baseline`, district name, kind or mode",
        ),
        PERIOD,
        col(
            "indicator",
            Text,
            "item or group id (`sipas` for the index)",
        ),
        col(
            "indicator_kind",
            Text,
            "`item`, `element`, `part` or `index`",
        ),
        col(
            "n",
            Int,
            "answers of the item, or rows of the domain for composites",
        ),
        col(
            "value",
            Float,
            "the estimate, 0–100 (empty when suppressed or undefined)",
        ),
        col("se", Float, "its design-based standard error"),
        col("lo", Float, "lower bound of its 95% interval"),
        col("hi", Float, "upper bound of its 95% interval"),
        col("ci_method", Text, "how the bounds were computed"),
        col(
            "deff",
            Float,
            "design effect (with-replacement SRS reference)",
        ),
        col("n_eff", Float, "effective sample size n / deff"),
        col("cv", Float, "coefficient of variation se / value"),
        col("reliable", Bool, "n and cv within the design's thresholds"),
        col(
            "suppressed",
            Bool,
            "n below the suppression threshold: value fields left empty",
        ),
    ],
);

/// `modes.csv`: SIPAS by survey mode and the differences between modes.
pub const MODES: Table = Table::new(
    "modes.csv",
    Stage::Design,
    "two survey modes in a period: SIPAS of each and their difference (header only with one mode)",
    &[
        PERIOD,
        col("mode_a", Text, "the first mode (paper, online, phone…)"),
        col("mode_b", Text, "the second mode"),
        col("n_a", Int, "responses of mode a"),
        col("n_b", Int, "responses of mode b"),
        col("sipas_a", Float, "SIPAS of mode a"),
        col("se_a", Float, "its standard error"),
        col("sipas_b", Float, "SIPAS of mode b"),
        col("se_b", Float, "its standard error"),
        col("difference", Float, "SIPAS of a minus SIPAS of b"),
        col("se", Float, "standard error of the difference"),
        col("lo", Float, "lower bound of its 95% interval"),
        col("hi", Float, "upper bound of its 95% interval"),
    ],
);

/// `did_twfe.csv`: the two-way fixed-effects DiD.
pub const DID_TWFE: Table = Table::new(
    "did_twfe.csv",
    Stage::Evaluation,
    "a two-way fixed-effects DiD of SIPAS on the unit × period panel",
    &[
        col(
            "scope",
            Text,
            "`overall`, `unit` (one pilot unit) or `treatment` (a definition on today's units)",
        ),
        col(
            "unit_code",
            Text,
            "the pilot unit, or the treatment definition; empty for overall",
        ),
        col("estimate", Float, "β̂, index points"),
        col(
            "se_cr1",
            Float,
            "CR1 cluster-robust standard error (clusters = units)",
        ),
        col(
            "lo_cr1",
            Float,
            "lower bound of the CR1 95% interval (t with G − 1 df)",
        ),
        col("hi_cr1", Float, "upper bound of the CR1 95% interval"),
        col("p_cr1", Float, "CR1 p-value of β = 0"),
        col("p_wild", Float, "wild cluster restricted bootstrap p-value"),
        col(
            "lo_wild",
            Float,
            "lower bound of the bootstrap 95% interval",
        ),
        col(
            "hi_wild",
            Float,
            "upper bound of the bootstrap 95% interval",
        ),
        col("n_clusters", Int, "clusters (units) in the panel"),
        col("n_treated", Int, "treated clusters"),
        col("n_obs", Int, "unit × period cells"),
        BOOTSTRAP[0],
        BOOTSTRAP[1],
        BOOTSTRAP[2],
    ],
);

/// `did_units.csv`: each pilot unit's 2×2 DiD of cell means ([`DidUnitsRow`]).
pub const DID_UNITS: Table = Table::new(
    "did_units.csv",
    Stage::Evaluation,
    "a pilot unit's 2×2 DiD of cell means against the baseline",
    &[
        col("unit_code", Text, "the pilot unit"),
        col(
            "pilot_pre",
            Float,
            "mean SIPAS of its cells before the start",
        ),
        col(
            "pilot_post",
            Float,
            "mean SIPAS of its cells from the start on",
        ),
        col(
            "baseline_pre",
            Float,
            "mean SIPAS of the baseline cells before the start",
        ),
        col(
            "baseline_post",
            Float,
            "mean SIPAS of the baseline cells from the start on",
        ),
        col(
            "estimate",
            Float,
            "(pilot post − pre) − (baseline post − pre)",
        ),
        col(
            "se",
            Float,
            "from the cells' survey SEs (cells independent)",
        ),
        col("lo", Float, "lower bound of its 95% interval"),
        col("hi", Float, "upper bound of its 95% interval"),
    ],
);

/// `event_study.csv`: the event-study coefficients ([`EventStudyRow`]).
pub const EVENT_STUDY: Table = Table::new(
    "event_study.csv",
    Stage::Evaluation,
    "an event-study coefficient: pilot minus baseline k periods from the start",
    &[
        col("k", Int, "periods relative to the start (0 = the start)"),
        col("period", Text, "the calendar period"),
        col(
            "estimate",
            Float,
            "β̂_k, index points (0 for the reference period)",
        ),
        col("se", Float, "CR1 standard error (empty for the reference)"),
        col(
            "lo",
            Float,
            "lower bound of its 95% interval (t with G − 1 df)",
        ),
        col("hi", Float, "upper bound of its 95% interval"),
        col("p", Float, "two-sided p-value of β_k = 0"),
    ],
);

/// `pretrend.csv`: the joint test of the pre-start coefficients.
pub const PRETREND: Table = Table::new(
    "pretrend.csv",
    Stage::Evaluation,
    "the joint Wald test that every pre-start coefficient is 0 (one row; none without a pre-period to test)",
    &[
        col("q", Int, "pre-start coefficients tested"),
        col("df1", Int, "numerator degrees of freedom"),
        col("df2", Float, "denominator degrees of freedom (G − 1)"),
        col("wald", Float, "Wald statistic"),
        col("f", Float, "F = W / q"),
        col("p", Float, "p-value of F"),
        col("p_wild", Float, "wild bootstrap p-value of W"),
        BOOTSTRAP[0],
        BOOTSTRAP[1],
        BOOTSTRAP[2],
    ],
);

/// `treatment.csv`: which old units make up each unit with a pilot commune.
pub const TREATMENT: Table = Table::new(
    "treatment.csv",
    Stage::Treatment,
    "today's unit holding a pilot commune (after a crosswalk): its old units and treatment intensity",
    &[
        col("unit_code", Text, "today's unit"),
        col(
            "intensity",
            Float,
            "share of its pre-merge responses (or population) from pilot communes, 0–1",
        ),
        col("mixed", Bool, "whether it also holds non-pilot communes"),
        col("old_units", Text, "the old units behind it, `|`-separated"),
        col(
            "pilot_old_units",
            Text,
            "those of them that are pilot communes",
        ),
        col("responses", Text, "its pre-merge responses"),
        col(
            "intensity_basis",
            Text,
            "what the intensity is a share of: `responses` or `population`",
        ),
        col(
            "population",
            Float,
            "its population (with `intensity_basis` = population)",
        ),
        col(
            "old_unit_names",
            Text,
            "the old units' names, `|`-separated in the order of `old_units`",
        ),
    ],
);

const ATT_GT_COLUMNS: [Column; 9] = cat(
    [
        INDEX,
        col("group", Text, "the cohort: first treated period"),
        col("period", Text, "the calendar period"),
    ],
    ATT,
);

/// `att_gt.csv`: Callaway–Sant'Anna group-time effects.
pub const ATT_GT: Table = Table::new(
    "att_gt.csv",
    Stage::Rollout,
    "a Callaway–Sant'Anna group-time effect ATT(g, t)",
    &ATT_GT_COLUMNS,
);

const ATT_EVENT_COLUMNS: [Column; 8] = cat(
    [
        INDEX,
        col(
            "exposure",
            Int,
            "periods since the cohort's start (negative: before)",
        ),
    ],
    ATT,
);

/// `att_event.csv`: effects by time since the start.
pub const ATT_EVENT: Table = Table::new(
    "att_event.csv",
    Stage::Rollout,
    "the group-time effects aggregated by exposure (time since the start)",
    &ATT_EVENT_COLUMNS,
);

const ATT_GROUP_COLUMNS: [Column; 8] = cat(
    [
        INDEX,
        col("group", Text, "the cohort: first treated period"),
    ],
    ATT,
);

/// `att_group.csv`: effects by cohort.
pub const ATT_GROUP: Table = Table::new(
    "att_group.csv",
    Stage::Rollout,
    "the group-time effects aggregated by cohort",
    &ATT_GROUP_COLUMNS,
);

const ATT_CALENDAR_COLUMNS: [Column; 8] =
    cat([INDEX, col("period", Text, "the calendar period")], ATT);

/// `att_calendar.csv`: effects by calendar period.
pub const ATT_CALENDAR: Table = Table::new(
    "att_calendar.csv",
    Stage::Rollout,
    "the group-time effects aggregated by calendar period",
    &ATT_CALENDAR_COLUMNS,
);

/// `att_overall.csv`: the overall effect under each aggregation.
pub const ATT_OVERALL: Table = Table::new(
    "att_overall.csv",
    Stage::Rollout,
    "one overall effect on the treated per aggregation",
    &[
        INDEX,
        col(
            "aggregation",
            Text,
            "`simple`, `event`, `group` or `calendar`",
        ),
        col(
            "att",
            Float,
            "overall average effect on the treated, index points",
        ),
        col("se", Float, "its standard error"),
        col("ci_low", Float, "lower bound of its 95% interval"),
        col("ci_high", Float, "upper bound of its 95% interval"),
    ],
);

/// `att_units.csv`: the units of the staggered evaluation.
pub const ATT_UNITS: Table = Table::new(
    "att_units.csv",
    Stage::Rollout,
    "a unit of the staggered evaluation: its cohort and whether it is used (why not)",
    &[
        col("unit_code", Text, "the unit"),
        col(
            "group",
            Text,
            "its cohort (first treated period; empty: never treated)",
        ),
        col("used", Bool, "whether the estimation uses it"),
        col("reason", Text, "why it is left out (empty when used)"),
    ],
);

/// `bacon.csv`: the Goodman-Bacon decomposition of the TWFE estimate.
pub const BACON: Table = Table::new(
    "bacon.csv",
    Stage::Rollout,
    "a 2×2 comparison of the Goodman-Bacon decomposition, and the TWFE total",
    &[
        INDEX,
        col(
            "comparison",
            Text,
            "the kind of 2×2 comparison (`twfe` for the total row)",
        ),
        col("treated", Text, "the treated cohort"),
        col(
            "control",
            Text,
            "the comparison cohort (`never`: never treated)",
        ),
        col("estimate", Float, "the 2×2 DiD estimate"),
        col("weight", Float, "its weight in the TWFE estimate"),
        col(
            "forbidden",
            Bool,
            "whether already-treated units serve as controls",
        ),
    ],
);

/// Every result table, in the order of the README's list.
pub const TABLES: [&Table; 18] = [
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
];

/// `aggregate-report.json`: rows read and used, channels, cells, the design in words.
pub const AGGREGATE_REPORT: Document = Document {
    file: "aggregate-report.json",
    stage: Stage::Aggregate,
    doc: "rows read and used by channel, cells, why there is no DiD when there is none, the survey design in words",
};

/// `evaluation.json`: the options and panel selection of the evaluation.
pub const EVALUATION_JSON: Document = Document {
    file: "evaluation.json",
    stage: Stage::Evaluation,
    doc: "the evaluation's options, start period, panel selection and pilot units",
};

/// `rollout.json`: the staggered evaluation's estimator and options.
pub const ROLLOUT_JSON: Document = Document {
    file: "rollout.json",
    stage: Stage::Rollout,
    doc: "the staggered evaluation's estimator, comparison group, base period, design variance, bootstrap and level, and its waves",
};

/// `methods.txt`: the methods of every table, in plain English.
pub const METHODS: Document = Document {
    file: "methods.txt",
    stage: Stage::Methods,
    doc: "how every estimate, interval and test of the folder was computed and how to read it",
};

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
    match v {
        Some(v) if v.abs() < 5e-7 => "0.000000".to_string(),
        Some(v) => format!("{v:.6}"),
        None => String::new(),
    }
}

/// [`num`], also empty when not finite.
pub fn finite_num(v: Option<f64>) -> String {
    num(v.filter(|v| v.is_finite()))
}

/// A CSV field, quoted when needed (RFC 4180).
pub fn field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}

/// Appends a CSV line: the `keys` as they print (codes, periods, counts: never quoted), then
/// the `values` through [`finite_num`].
fn push_row(s: &mut String, keys: &[&dyn std::fmt::Display], values: &[Option<f64>]) {
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "{k}");
    }
    for v in values {
        s.push(',');
        s.push_str(&finite_num(*v));
    }
    s.push('\n');
}

/// A row of `did_units.csv` ([`DID_UNITS`]): a pilot unit's 2×2 DiD of cell means.
/// Written by the evaluation, read by the report; `None` is an empty field.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DidUnitsRow {
    /// The pilot unit.
    pub unit_code: String,
    /// Mean SIPAS of its cells before the start.
    pub pilot_pre: Option<f64>,
    /// … from the start on.
    pub pilot_post: Option<f64>,
    /// Mean SIPAS of the baseline cells before the start.
    pub baseline_pre: Option<f64>,
    /// … from the start on.
    pub baseline_post: Option<f64>,
    /// `(pilot_post − pilot_pre) − (baseline_post − baseline_pre)`.
    pub estimate: Option<f64>,
    /// From the cell SEs (cells independent); `None` when a cell has none.
    pub se: Option<f64>,
    /// Lower bound of the 95% interval.
    pub lo: Option<f64>,
    /// Upper bound of the 95% interval.
    pub hi: Option<f64>,
}

impl DidUnitsRow {
    /// Appends the row as a CSV line (the columns of [`DID_UNITS`]).
    pub fn write_line(&self, s: &mut String) {
        push_row(
            s,
            &[&self.unit_code],
            &[
                self.pilot_pre,
                self.pilot_post,
                self.baseline_pre,
                self.baseline_post,
                self.estimate,
                self.se,
                self.lo,
                self.hi,
            ],
        );
    }
}

/// A row of `event_study.csv` ([`EVENT_STUDY`]): one event-study coefficient.
/// Written by the evaluation, read by the report; `None` is an empty field.
#[derive(Debug, Clone, PartialEq)]
pub struct EventStudyRow {
    /// Periods relative to the start (0 = the start period).
    pub k: i64,
    /// The calendar period.
    pub period: Period,
    /// β̂_k (0 for the reference period); `None` when not identified.
    pub estimate: Option<f64>,
    /// CR1 standard error (`None` for the reference).
    pub se: Option<f64>,
    /// Lower 95% bound (t with G − 1 df).
    pub lo: Option<f64>,
    /// Upper 95% bound.
    pub hi: Option<f64>,
    /// Two-sided p-value of `β_k = 0`.
    pub p: Option<f64>,
}

impl EventStudyRow {
    /// Whether this is the reference period (estimate fixed at 0, no SE).
    pub fn is_reference(&self) -> bool {
        self.se.is_none() && self.estimate == Some(0.0)
    }

    /// Appends the row as a CSV line (the columns of [`EVENT_STUDY`]).
    pub fn write_line(&self, s: &mut String) {
        push_row(
            s,
            &[&self.k, &self.period],
            &[self.estimate, self.se, self.lo, self.hi, self.p],
        );
    }
}

/// A row of `modes.csv` ([`MODES`]): SIPAS of two survey modes in one period and their
/// difference. Written by the design estimates, read by the report; `None` is an empty field.
#[derive(Debug, Clone, PartialEq)]
pub struct ModesRow {
    /// The period.
    pub period: Period,
    /// First mode (channel value; modes in name order).
    pub mode_a: String,
    /// Second mode.
    pub mode_b: String,
    /// Responses of the first mode.
    pub n_a: usize,
    /// Responses of the second mode.
    pub n_b: usize,
    /// SIPAS of the first mode (as in `estimates.csv`).
    pub sipas_a: Option<f64>,
    /// Its standard error (as in `estimates.csv`).
    pub se_a: Option<f64>,
    /// SIPAS of the second mode.
    pub sipas_b: Option<f64>,
    /// Its standard error.
    pub se_b: Option<f64>,
    /// `sipas_a − sipas_b`.
    pub difference: Option<f64>,
    /// Linearized SE of the difference (covariance of the two domains included).
    pub se: Option<f64>,
    /// Lower bound of the difference's 95% interval.
    pub lo: Option<f64>,
    /// Upper bound of the difference's 95% interval.
    pub hi: Option<f64>,
}

impl ModesRow {
    /// Appends the row as a CSV line (the columns of [`MODES`]).
    pub fn write_line(&self, s: &mut String) {
        push_row(
            s,
            &[
                &self.period,
                &field(&self.mode_a),
                &field(&self.mode_b),
                &self.n_a,
                &self.n_b,
            ],
            &[
                self.sipas_a,
                self.se_a,
                self.sipas_b,
                self.se_b,
                self.difference,
                self.se,
                self.lo,
                self.hi,
            ],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(n, 18 * 2 + 4);
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
}
