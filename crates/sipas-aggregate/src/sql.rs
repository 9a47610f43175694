//! The aggregation as SQL (Spark SQL or DuckDB), generated from the same
//! instrument and design the Rust estimator uses.
//!
//! [`sql`] writes one query per result table ([`SqlOutput`]): the unit ×
//! period table (`unit_period.csv`'s columns), the pooled pilot / baseline
//! groups (`groups.csv`), or the long table of every item, element, part and
//! SIPAS in unit, group, district and kind domains (the `domain_type,
//! domain, period, indicator, indicator_kind, n, value, se, lo, hi` columns
//! of `estimates.csv`: the `normal` interval of composites; an item's `lo`,
//! `hi` are left empty, its logit and Wilson intervals need the design's
//! degrees of freedom and effective n, which stay sipas' own). Every value is the ratio
//! estimator of [`crate::design`]; every SE is its Taylor linearization on the
//! FULL design, as R `survey`'s `svyby` computes it:
//!
//! - per domain *d*, *Xⱼ* = Σ_d *w·a*, *Yⱼ* = Σ_d *w·s*, the index
//!   100·Σⱼ *cⱼ Yⱼ/Xⱼ* (undefined when an item it needs has *Xⱼ* = 0);
//! - per row of the domain, *z* = 100·*w*·Σⱼ *cⱼ (s − Yⱼ/Xⱼ·a)/Xⱼ*, summed per
//!   PSU (a cluster, or the row itself);
//! - Var = Σ_h *f_h·n_h/(n_h − 1)·(Σ_p Z_p² − (Σ_p Z_p)²/n_h)* over the strata
//!   with rows in the domain, *n_h* = the stratum's PSUs in the whole sample,
//!   *f_h* = 1 − fpc (a fraction) or (N_h − n_h)/N_h (a population of PSUs).
//!
//! Lonely PSUs (a stratum with one PSU): `certainty` and `remove` (no
//! contribution), `adjust` (the PSU total centred at zero) and `average`
//! (the other strata's average) are expressed in SQL; `fail` stops the query
//! with the engine's error function (`error` in DuckDB, `raise_error` in
//! Spark), as does an fpc that is not constant in its stratum or not a
//! fraction in (0, 1] or a population ≥ the sampled PSUs. Replication
//! variances (jackknife, bootstrap, supplied replicate weights) are not
//! expressed in SQL: [`sql`] refuses them. The per-mode domains, design
//! effects, item intervals (logit, Wilson) and the DiD remain sipas' own.

use std::fmt::Write as _;
use std::path::Path;

use sipas_core::instrument::Instrument;
use sipas_core::{Granularity, Period};

use crate::channels::{SURVEY, channel_key};
use crate::design::{DesignSpec, IndicatorKind, LonelyPsu, Strata, VarianceMethod};
use crate::options::AggregateOptions;
use crate::{Error, Result};

/// The SQL dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Apache Spark SQL (3.x, 4.x).
    Spark,
    /// DuckDB (1.x).
    DuckDb,
}

impl Dialect {
    /// Parses `spark` or `duckdb`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "spark" => Some(Dialect::Spark),
            "duckdb" => Some(Dialect::DuckDb),
            _ => None,
        }
    }

    fn string_type(self) -> &'static str {
        match self {
            Dialect::Spark => "STRING",
            Dialect::DuckDb => "VARCHAR",
        }
    }

    fn ident(self, name: &str) -> String {
        match self {
            Dialect::Spark => format!("`{}`", name.replace('`', "``")),
            Dialect::DuckDb => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }

    fn lit(self, s: &str) -> String {
        match self {
            Dialect::Spark => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
            Dialect::DuckDb => format!("'{}'", s.replace('\'', "''")),
        }
    }

    fn error_fn(self) -> &'static str {
        match self {
            Dialect::Spark => "raise_error",
            Dialect::DuckDb => "error",
        }
    }
}

/// The SQL condition "the row's `period` is before the pilot `start`", as
/// [`crate::arms::is_pre`]: the labels of each granularity (2024, 2024-H1,
/// 2024Q1, 2024-01) are compared as text with the start's first period at
/// that granularity (or the period containing it).
fn before_start(start: Period, lit: &dyn Fn(&str) -> String) -> String {
    let at = |g: Granularity| -> String {
        let first = if g.per_year() <= start.granularity().per_year() {
            start.coarsen(g).expect("granularities 1, 2, 4, 12 nest")
        } else {
            let month0 = (start.sub() - 1) * 12 / start.granularity().per_year();
            Period::new(g, start.year(), month0 * g.per_year() / 12 + 1).expect("a valid period")
        };
        lit(&first.to_string())
    };
    format!(
        "(CASE WHEN length(period) = 4 THEN period < {} WHEN period LIKE '%-H%' THEN period < {} \
         WHEN period LIKE '%Q%' THEN period < {} ELSE period < {} END)",
        at(Granularity::Year),
        at(Granularity::Half),
        at(Granularity::Quarter),
        at(Granularity::Month)
    )
}

/// Which result table the query returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlOutput {
    /// `unit_period.csv`.
    UnitPeriod,
    /// `groups.csv`.
    Groups,
    /// The composite and item rows of `estimates.csv` (value, SE, normal interval).
    Estimates,
}

impl SqlOutput {
    /// Parses `unit_period`, `groups` or `estimates`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "unit_period" => Some(SqlOutput::UnitPeriod),
            "groups" => Some(SqlOutput::Groups),
            "estimates" => Some(SqlOutput::Estimates),
            _ => None,
        }
    }
}

/// What the query is generated from.
#[derive(Debug, Clone)]
pub struct SqlSpec<'a> {
    /// The questionnaire (items, scale, rollup).
    pub instrument: &'a Instrument,
    /// Units (names, districts, kinds), pilots, channel and channel classes.
    pub opts: &'a AggregateOptions,
    /// The survey design (linearization only).
    pub design: &'a DesignSpec,
    /// The table expression read (see [`table_expression`]).
    pub table: String,
    /// The table has a `channel` column (else every row is `survey`).
    pub has_channel: bool,
    /// The table has the design's weight column (else weights are 1, as
    /// sipas reads a table without `weight`).
    pub has_weight: bool,
    /// The table has `old_unit_code` (written by `sipas clean` with a
    /// crosswalk): the default unit × period strata are then the old units ×
    /// period, as in sipas.
    pub has_old_unit_code: bool,
}

/// The table expression of a response table at `path`: one Parquet file,
/// or the period-partitioned folder (the period read as text).
pub fn table_expression(dialect: Dialect, path: &Path) -> String {
    let p = path.display().to_string();
    let file = path.extension().is_some_and(|e| e == "parquet") && !path.is_dir();
    match (dialect, file) {
        (Dialect::DuckDb, true) => format!("read_parquet({})", dialect.lit(&p)),
        (Dialect::DuckDb, false) => format!(
            "read_parquet({}, hive_partitioning = true, hive_types = {{'period': VARCHAR}})",
            dialect.lit(&format!("{}/period=*/*.parquet", p.trim_end_matches('/')))
        ),
        // Spark discovers the `period=` partitions of a folder itself; set
        // spark.sql.sources.partitionColumnTypeInference.enabled=false so a
        // yearly period stays text.
        (Dialect::Spark, _) => format!("parquet.{}", dialect.ident(&p)),
    }
}

/// A DOUBLE literal in both dialects (scientific notation, shortest
/// round-trip digits).
fn dbl(x: f64) -> String {
    format!("{x:e}")
}

/// The query of `output` for `spec` in `dialect` (see the module docs).
pub fn sql(spec: &SqlSpec<'_>, dialect: Dialect, output: SqlOutput) -> Result<String> {
    let d = spec.design;
    let refuse = |what: &str| {
        Err(Error::Data {
            origin: "sipas sql".into(),
            message: format!(
                "{what} is not expressed in SQL: the SQL covers Taylor linearization \
                 (weights, strata, clusters, fpc, lonely-PSU rules)"
            ),
        })
    };
    if d.replicate_weights.is_some() {
        return refuse("a design with replicate weights");
    }
    match d.variance {
        VarianceMethod::Linearization => {}
        VarianceMethod::Jackknife => return refuse("the jackknife variance"),
        VarianceMethod::Bootstrap => return refuse("the bootstrap variance"),
    }
    let inst = spec.instrument;
    let q = |s: &str| dialect.ident(s);
    let lit = |s: &str| dialect.lit(s);
    let st = dialect.string_type();
    let inds = crate::design::indicators(inst);
    let n_groups = inst.reported_groups().len();
    // Indicators with a variance: SIPAS for the wide tables, all for estimates.
    let with_var: Vec<usize> = match output {
        SqlOutput::Estimates => (0..inds.len()).collect(),
        _ => vec![0],
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "-- sipas sql: instrument {}, {} output, design {}\n-- generated by sipas {}; the same estimator as `sipas aggregate` (Taylor linearization)",
        inst.id,
        match output {
            SqlOutput::UnitPeriod => "unit_period",
            SqlOutput::Groups => "groups",
            SqlOutput::Estimates => "estimates",
        },
        crate::design::describe(d)
            .split(". Every")
            .next()
            .unwrap_or_default(),
        env!("CARGO_PKG_VERSION"),
    );

    // Units.
    let mut units: Vec<_> = spec.opts.units.iter().collect();
    units.sort_by(|a, b| a.code.cmp(&b.code));
    s.push_str("WITH units AS (\n  SELECT * FROM (VALUES\n");
    for (i, u) in units.iter().enumerate() {
        let _ = writeln!(
            s,
            "    ({}, {}, {}, {}, {}, {}, {}){}",
            lit(&u.code),
            lit(&u.full_name()),
            lit(&u.district_name),
            lit(&u.district_code),
            lit(u.kind.as_str()),
            spec.opts.pilots.contains(&u.code),
            spec.opts.pilots.in_later_wave(&u.code),
            if i + 1 < units.len() { "," } else { "" }
        );
    }
    s.push_str(
        "  ) AS v(unit_code, unit_name, district, district_code, kind, pilot, later_wave)\n),\n",
    );

    // Rows used, with their design.
    let channel_filter = if spec.has_channel {
        let key = format!(
            "replace(replace(lower(trim(CAST(t.{} AS {st}))), '-', '_'), ' ', '_')",
            q("channel")
        );
        let want = channel_key(&spec.opts.channel);
        if want == SURVEY {
            let list: Vec<String> = spec
                .opts
                .channels
                .survey_modes
                .iter()
                .map(|m| lit(m))
                .collect();
            format!("{key} IN ({})", list.join(", "))
        } else {
            format!("{key} = {}", lit(&want))
        }
    } else if channel_key(&spec.opts.channel) == SURVEY {
        "TRUE".to_string()
    } else {
        "FALSE".to_string()
    };
    let weight = if spec.has_weight || d.weights != sipas_core::schema::WEIGHT {
        format!("CAST(t.{} AS DOUBLE)", q(&d.weights))
    } else {
        dbl(1.0)
    };
    let strata = match &d.strata {
        Strata::UnitPeriod if spec.has_old_unit_code => format!(
            "concat(CAST(t.{} AS {st}), '|', CAST(t.period AS {st}))",
            q(sipas_core::schema::OLD_UNIT_CODE)
        ),
        Strata::UnitPeriod => format!("concat(t.unit_code, '|', CAST(t.period AS {st}))"),
        Strata::Unit => "t.unit_code".to_string(),
        Strata::District => "u.district_code".to_string(),
        Strata::Kind => "u.kind".to_string(),
        Strata::None => "'all'".to_string(),
        Strata::Column(c) => format!("CAST(t.{} AS {st})", q(c)),
    };
    let _ = writeln!(
        s,
        "r AS (\n  SELECT /*+ BROADCAST(u) */ t.unit_code AS unit_code, CAST(t.period AS {st}) AS period,\n         \
         coalesce(u.pilot, FALSE) AS pilot, coalesce(u.later_wave, FALSE) AS later_wave,\n         \
         u.district AS district, u.kind AS kind,\n         \
         {weight} AS w, {strata} AS h,"
    );
    if let Some(c) = &d.cluster {
        let _ = writeln!(s, "         CAST(t.{} AS {st}) AS psu,", q(c));
    }
    if let Some(f) = &d.fpc {
        let _ = writeln!(s, "         CAST(t.{} AS DOUBLE) AS fpc,", q(f));
    }
    // One (answered, passed) pair per test: for a SIPAS instrument, item j
    // answered and satisfied. The clean table holds valid codes only.
    let tests = inst.tests();
    for (j, t) in tests.iter().enumerate() {
        let col = format!("t.{}", q(&inst.items()[t.item].id));
        let pass = match &t.test {
            sipas_core::index::Test::AtLeast(c) => format!("{col} >= {c}"),
            sipas_core::index::Test::In(set) => {
                let codes: Vec<String> = set.iter().map(u8::to_string).collect();
                format!("{col} IN ({})", codes.join(", "))
            }
        };
        let _ = writeln!(
            s,
            "         CASE WHEN {col} IS NOT NULL THEN 1 ELSE 0 END AS a{j}, \
             CASE WHEN {pass} THEN 1 ELSE 0 END AS s{j}{}",
            if j + 1 < tests.len() { "," } else { "" }
        );
    }
    let _ = writeln!(
        s,
        "  FROM {} AS t LEFT JOIN units AS u ON t.unit_code = u.unit_code\n  WHERE {channel_filter}\n),",
        spec.table
    );

    // Every unit's arm, by the rule of `crate::arms`: a unit without a
    // period before the start is in no arm (unless no unit has one), nor is
    // a unit of a later wave; a non-pilot unit is in the baseline when the
    // baseline choice takes it.
    if output != SqlOutput::UnitPeriod {
        let pre = before_start(spec.opts.pilots.start, &lit);
        let taken = match spec.opts.baseline {
            crate::Baseline::All => "TRUE".to_string(),
            crate::Baseline::SameKind => {
                "kind IN (SELECT kind FROM cmp WHERE pilot AND pre = 1)".to_string()
            }
            crate::Baseline::SameDistrict => {
                "district IN (SELECT district FROM cmp WHERE pilot AND pre = 1)".to_string()
            }
        };
        let _ = write!(
            s,
            "cmp0 AS (\n  SELECT unit_code, pilot, later_wave, kind, district,\n         \
             max(CASE WHEN {pre} THEN 1 ELSE 0 END) AS pre0\n  \
             FROM r GROUP BY unit_code, pilot, later_wave, kind, district\n),\n\
             cmp AS (\n  SELECT c.*, CASE WHEN (SELECT max(pre0) FROM cmp0) = 1 THEN pre0 ELSE 1 END \
             AS pre FROM cmp0 AS c\n),\n\
             arms AS (\n  SELECT unit_code, CASE WHEN pre = 0 THEN NULL WHEN pilot THEN 'pilot' \
             WHEN later_wave THEN NULL WHEN {taken} THEN 'baseline' END AS arm\n  FROM cmp\n),\n"
        );
    }
    // Joins of the rows with small tables (units, arms, domain values) carry
    // a broadcast hint: Spark then ships the small table to every task instead
    // of shuffling the rows (at 10⁸ rows the shuffled domain rows filled the
    // disk). Other engines read the hint as a comment.
    let group_rows = "SELECT /*+ BROADCAST(a) */ 'group' AS dt, a.arm AS dk, r.* FROM r JOIN arms AS a \
                      ON r.unit_code = a.unit_code WHERE a.arm IS NOT NULL";
    // Domains: (dt, dk, period).
    let domain_rows = match output {
        SqlOutput::UnitPeriod => "  SELECT 'unit' AS dt, unit_code AS dk, r.* FROM r\n".to_string(),
        SqlOutput::Groups => format!("  {group_rows}\n"),
        SqlOutput::Estimates => format!(
            "  SELECT 'unit' AS dt, unit_code AS dk, r.* FROM r\n  UNION ALL\n  \
             {group_rows}\n  UNION ALL\n  \
             SELECT 'district' AS dt, district AS dk, r.* FROM r\n  UNION ALL\n  \
             SELECT 'kind' AS dt, kind AS dk, r.* FROM r\n"
        ),
    };
    let _ = write!(s, "d AS (\n{domain_rows}),\n");
    let keys = "dt, dk, period";

    // Domain totals.
    s.push_str("tot AS (\n  SELECT dt, dk, period, count(*) AS n");
    for j in 0..tests.len() {
        let _ = write!(
            s,
            ",\n         sum(w * a{j}) AS x{j}, sum(w * s{j}) AS y{j}, sum(a{j}) AS nv{j}"
        );
    }
    let _ = write!(s, "\n  FROM d GROUP BY {keys}\n),\n");

    // Values.
    s.push_str("val AS (\n  SELECT tot.*");
    for (i, ind) in inds.iter().enumerate() {
        let terms: Vec<String> = ind
            .coefs
            .iter()
            .map(|&(j, c)| format!("{} * (y{j} / NULLIF(x{j}, 0))", dbl(c)))
            .collect();
        let constant = if ind.constant == 0.0 {
            String::new()
        } else {
            format!("{} + ", dbl(ind.constant))
        };
        let _ = write!(s, ",\n         {constant}{} AS v{i}", terms.join(" + "));
    }
    s.push_str("\n  FROM tot\n),\n");

    // Linearized variables per row of each domain.
    let _ = write!(
        s,
        "lin AS (\n  SELECT /*+ BROADCAST(val) */ d.dt, d.dk, d.period, d.h"
    );
    if d.cluster.is_some() {
        s.push_str(", d.psu");
    }
    for &i in &with_var {
        let terms: Vec<String> = inds[i]
            .coefs
            .iter()
            .map(|&(j, c)| {
                format!(
                    "{} * coalesce((d.s{j} - val.y{j} / NULLIF(val.x{j}, 0) * d.a{j}) / NULLIF(val.x{j}, 0), 0)",
                    dbl(c)
                )
            })
            .collect();
        let _ = write!(
            s,
            ",\n         d.w * ({}) AS z{i}",
            terms.join("\n           + ")
        );
    }
    if output == SqlOutput::Estimates {
        for j in 0..tests.len() {
            let _ = write!(s, ", d.a{j}");
        }
    }
    let _ = write!(s, "\n  FROM d JOIN val USING ({keys})\n),\n");

    // PSU totals (clusters), then per stratum of each domain.
    let psu_src = if d.cluster.is_some() {
        s.push_str("psu AS (\n  SELECT dt, dk, period, h, psu");
        for &i in &with_var {
            let _ = write!(s, ", sum(z{i}) AS z{i}");
        }
        if output == SqlOutput::Estimates {
            for j in 0..tests.len() {
                let _ = write!(s, ", max(a{j}) AS a{j}");
            }
        }
        let _ = write!(s, "\n  FROM lin GROUP BY {keys}, h, psu\n),\n");
        "psu"
    } else {
        "lin"
    };
    s.push_str("sh AS (\n  SELECT dt, dk, period, h");
    for &i in &with_var {
        let _ = write!(s, ", sum(z{i}) AS sz{i}, sum(z{i} * z{i}) AS szz{i}");
    }
    if output == SqlOutput::Estimates {
        for j in 0..tests.len() {
            let _ = write!(s, ", max(a{j}) AS t{j}");
        }
    }
    let _ = write!(s, "\n  FROM {psu_src} GROUP BY {keys}, h\n),\n");

    // Strata of the whole sample: PSUs and finite population correction.
    let err = dialect.error_fn();
    let nh = if d.cluster.is_some() {
        "count(DISTINCT psu)"
    } else {
        "count(*)"
    };
    let _ = write!(s, "strat0 AS (\n  SELECT h, {nh} AS nh");
    if d.fpc.is_some() {
        s.push_str(", min(fpc) AS fpc_min, max(fpc) AS fpc_max");
    }
    s.push_str(" FROM r GROUP BY h\n),\n");
    let fcorr = match &d.fpc {
        None => dbl(1.0),
        Some(f) => format!(
            "CASE WHEN fpc_min <> fpc_max THEN {err}(concat('fpc column {f}: not constant in stratum ', h))\n              \
             WHEN fpc_min IS NULL OR fpc_min <= 0 OR (fpc_min > 1 AND fpc_min < nh) THEN {err}(concat('fpc column {f}: neither a fraction in (0, 1] nor a population >= the sampled PSUs in stratum ', h))\n              \
             WHEN fpc_min <= 1 THEN 1 - fpc_min ELSE (fpc_min - nh) / fpc_min END"
        ),
    };
    let _ = write!(
        s,
        "strat AS (\n  SELECT h, nh, {fcorr} AS f FROM strat0\n),\n"
    );

    // Variance per domain.
    s.push_str("var AS (\n  SELECT dt, dk, period, count(*) AS touched, sum(CASE WHEN nh = 1 THEN 1 ELSE 0 END) AS lonely");
    for &i in &with_var {
        let lonely = match d.lonely_psu {
            LonelyPsu::Adjust => format!("f * szz{i}"),
            LonelyPsu::Fail => {
                format!("{err}(concat('the stratum ', h, ' has only one PSU (lonely_psu = fail)'))")
            }
            _ => dbl(0.0),
        };
        let _ = write!(
            s,
            ",\n         sum(CASE WHEN f < 1e-7 THEN 0e0 WHEN nh > 1 THEN f * nh / (nh - 1e0) * (szz{i} - sz{i} * sz{i} / nh) ELSE {lonely} END) AS var{i}"
        );
        if output == SqlOutput::Estimates && inds[i].kind == IndicatorKind::Item {
            let j = inds[i].coefs[0].0;
            let _ = write!(
                s,
                ",\n         sum(CASE WHEN t{j} > 0 THEN 1 ELSE 0 END) AS touched{i}, sum(CASE WHEN t{j} > 0 AND nh = 1 THEN 1 ELSE 0 END) AS lonely{i}"
            );
        }
    }
    let _ = write!(s, "\n  FROM sh JOIN strat USING (h) GROUP BY {keys}\n),\n");

    // Standard errors.
    s.push_str("est AS (\n  SELECT val.*");
    for &i in &with_var {
        let (touched, lonely) =
            if output == SqlOutput::Estimates && inds[i].kind == IndicatorKind::Item {
                (format!("touched{i}"), format!("lonely{i}"))
            } else {
                ("touched".to_string(), "lonely".to_string())
            };
        let v = if d.lonely_psu == LonelyPsu::Average {
            format!(
                "CASE WHEN {lonely} = 0 THEN var{i} WHEN {touched} > {lonely} THEN var{i} * {touched} / ({touched} - {lonely}) END"
            )
        } else {
            format!("var{i}")
        };
        let _ = write!(
            s,
            ",\n         CASE WHEN v{i} IS NULL THEN NULL ELSE sqrt(CASE WHEN {v} < 0 THEN 0e0 ELSE {v} END) END AS se{i}"
        );
    }
    let _ = write!(s, "\n  FROM val JOIN var USING ({keys})\n)\n");

    // The result table.
    // `value ± m·se` clipped to the scale (bounds as SQL expressions).
    let interval = |v: &str, se: &str, name: &str, (b0, b1): (&str, &str)| {
        format!(
            "CASE WHEN {se} IS NULL THEN NULL ELSE greatest({b0}, least({b1}, {v} {name} {} * {se})) END",
            dbl(spec.opts.level.normal_multiplier())
        )
    };
    let root_bounds = (dbl(inds[0].bounds.0), dbl(inds[0].bounds.1));
    let root_bounds = (root_bounds.0.as_str(), root_bounds.1.as_str());
    let se_n = "CASE WHEN n > 1 THEN se0 END";
    // inds[1..=n_groups] are parts then elements; the columns are elements
    // then parts (reported_groups order).
    let mut groups_cols = String::new();
    for g in inst.reported_groups().iter().take(n_groups) {
        let k = inds
            .iter()
            .position(|x| x.id == g.id)
            .expect("reported group");
        let _ = write!(groups_cols, ", v{k} AS {}", q(&g.id));
    }
    match output {
        SqlOutput::UnitPeriod => {
            let _ = write!(
                s,
                "SELECT est.dk AS unit_code, u.unit_name, u.district, u.kind, coalesce(u.pilot, FALSE) AS pilot, est.period, n,\n       \
                 v0 AS {root}, {se_n} AS {root}_se, {lo} AS {root}_lo, {hi} AS {root}_hi{groups_cols}\n\
                 FROM est LEFT JOIN units AS u ON est.dk = u.unit_code\nORDER BY unit_code, period\n",
                root = "sipas",
                lo = interval("v0", se_n, "-", root_bounds),
                hi = interval("v0", se_n, "+", root_bounds),
            );
        }
        SqlOutput::Groups => {
            let _ = write!(
                s,
                "SELECT period, dk AS {grp}, n, v0 AS sipas, {se_n} AS sipas_se, {lo} AS sipas_lo, {hi} AS sipas_hi{groups_cols}\n\
                 FROM est\nORDER BY period, {grp}\n",
                grp = q("group"),
                lo = interval("v0", se_n, "-", root_bounds),
                hi = interval("v0", se_n, "+", root_bounds),
            );
        }
        SqlOutput::Estimates => {
            // One pass: every domain row × the list of indicators, each
            // column picked by the indicator's position (no UNION ALL,
            // which Spark would evaluate once per indicator).
            let list: Vec<String> = inds
                .iter()
                .enumerate()
                .map(|(i, ind)| {
                    format!(
                        "({i}, {}, {}, {}, {})",
                        lit(&ind.id),
                        lit(ind.kind.as_str()),
                        dbl(ind.bounds.0),
                        dbl(ind.bounds.1)
                    )
                })
                .collect();
            let pick = |f: &dyn Fn(usize) -> String| -> String {
                let mut arms = String::from("CASE k.ord");
                for i in 0..inds.len() {
                    let _ = write!(arms, " WHEN {i} THEN {}", f(i));
                }
                arms.push_str(" END");
                arms
            };
            let n = pick(&|i| {
                if inds[i].kind == IndicatorKind::Item {
                    format!("nv{}", inds[i].coefs[0].0)
                } else {
                    "n".to_string()
                }
            });
            let value = pick(&|i| format!("v{i}"));
            let se = pick(&|i| format!("se{i}"));
            let _ = write!(
                s,
                ", ind AS (\n  SELECT * FROM (VALUES {}) AS v(ord, indicator, indicator_kind, b0, b1)\n),\n\
                 long AS (\n  SELECT dt, dk, period, k.ord, k.indicator, k.indicator_kind, k.b0, k.b1,\n         \
                 {n} AS n,\n         {value} AS value,\n         {se} AS se\n  FROM est CROSS JOIN ind AS k\n)\n\
                 SELECT dt AS domain_type, dk AS domain, period, indicator, indicator_kind, n, value, se,\n       \
                 CASE WHEN indicator_kind = 'item' THEN NULL ELSE {lo} END AS lo,\n       \
                 CASE WHEN indicator_kind = 'item' THEN NULL ELSE {hi} END AS hi\n\
                 FROM long\n\
                 ORDER BY CASE dt WHEN 'unit' THEN 0 WHEN 'group' THEN 1 WHEN 'district' THEN 2 ELSE 3 END, dk, period, ord\n",
                list.join(", "),
                lo = interval("value", "se", "-", ("b0", "b1")),
                hi = interval("value", "se", "+", ("b0", "b1")),
            );
        }
    }
    Ok(s)
}

/// The Python script that runs queries in DuckDB or Spark and writes each
/// result as CSV at full precision (see [`run_queries`]).
pub const RUNNER_PY: &str = include_str!("../py/sipas_sql_run.py");

/// The Python interpreter: `$SIPAS_PYTHON`, else `python3` on the `PATH`.
pub fn python() -> std::path::PathBuf {
    std::env::var_os("SIPAS_PYTHON").map_or_else(|| "python3".into(), Into::into)
}

/// Where the engine runs a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    /// DuckDB (Python package `duckdb`), in process.
    DuckDb,
    /// Spark through PySpark, at this master (`local[*]`, `spark://…`, `yarn`).
    Spark(String),
}

/// Runs `queries` (name, SQL) with `python` in `engine`, after registering
/// `views` (name, `csv:PATH` or `parquet:PATH`), and writes each result to
/// `out_dir/<name>.csv` (doubles at full precision, empty = NULL).
///
/// A missing Python, Python package or Java is an error saying what to install.
pub fn run_queries(
    python: &Path,
    engine: &Engine,
    queries: &[(String, String)],
    views: &[(String, String)],
    out_dir: &Path,
) -> Result<()> {
    let io = |path: &Path, source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(out_dir).map_err(|e| io(out_dir, e))?;
    let work = out_dir.join(format!(".sipas-sql-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| io(&work, e))?;
    let script = work.join("sipas_sql_run.py");
    std::fs::write(&script, RUNNER_PY).map_err(|e| io(&script, e))?;
    let mut cmd = std::process::Command::new(python);
    cmd.arg(&script).arg("--out").arg(out_dir);
    match engine {
        Engine::DuckDb => {
            cmd.args(["--engine", "duckdb"]);
        }
        Engine::Spark(master) => {
            cmd.args(["--engine", "spark", "--master", master]);
        }
    }
    for (name, text) in queries {
        let f = work.join(format!("{name}.sql"));
        std::fs::write(&f, text).map_err(|e| io(&f, e))?;
        cmd.arg("--query").arg(format!("{name}={}", f.display()));
    }
    for (name, spec) in views {
        cmd.arg("--view").arg(format!("{name}={spec}"));
    }
    let out = cmd.output();
    let _ = std::fs::remove_dir_all(&work);
    let out = out.map_err(|e| Error::Data {
        origin: python.display().to_string(),
        message: format!(
            "cannot start Python ({e}): install Python 3 or set SIPAS_PYTHON to its path"
        ),
    })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let message = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("sipas: "))
        .map_or_else(
            || engine_message(&stderr),
            |l| l.trim_start_matches("sipas: ").to_string(),
        );
    Err(Error::Data {
        origin: format!("{} {}", python.display(), script.display()),
        message,
    })
}

/// The engine's own words from its standard error when the runner could
/// not say what failed: the last 20 lines that are not frames of a Java
/// stack trace (`at …`, `... N more`), in order, so that the exception and
/// its message (`java.io.IOException: No space left on device`) are shown
/// rather than the bottom of the stack.
fn engine_message(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            let frame = t.starts_with("at ") || (t.starts_with("... ") && t.ends_with(" more"));
            !(t.is_empty() || frame)
        })
        .collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// Whether `python` can start `engine` (its package, and Java for Spark);
/// `Err` holds the runner's message saying what to install.
pub fn check_engine(python: &Path, engine: &Engine, out_dir: &Path) -> Result<()> {
    let dir = out_dir.join(format!(".sipas-check-{}", std::process::id()));
    let r = match engine {
        Engine::DuckDb => run_queries(python, engine, &[], &[], &dir),
        Engine::Spark(_) => {
            // Importing pyspark is enough to know the package; Java is checked too.
            run_check(python, &dir)
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    r
}

fn run_check(python: &Path, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg("import pyspark, shutil, os, sys; sys.exit(0 if (shutil.which('java') or os.environ.get('JAVA_HOME')) else 4)")
        .output();
    match out {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) if o.status.code() == Some(4) => Err(Error::Data {
            origin: "spark".into(),
            message: "Java is not installed (Spark needs a Java 17 runtime): install it, e.g. `apt-get install openjdk-17-jre-headless`, or set JAVA_HOME".into(),
        }),
        Ok(_) => Err(Error::Data {
            origin: "spark".into(),
            message: format!(
                "the Python package `pyspark` is not installed for {}: install it with `{} -m pip install pyspark` (or set SIPAS_PYTHON to a Python that has it)",
                python.display(),
                python.display()
            ),
        }),
        Err(e) => Err(Error::Data {
            origin: python.display().to_string(),
            message: format!("cannot start Python ({e}): install Python 3 or set SIPAS_PYTHON to its path"),
        }),
    }
}

#[cfg(test)]
mod message_tests {
    #[test]
    fn an_engine_failure_shows_the_exception_not_the_stack() {
        let stderr = "WARN something\n\
            26/12/05 ERROR Executor: Exception in task 3.0\n\
            java.io.IOException: No space left on device\n\
            \tat java.base/java.io.FileOutputStream.writeBytes(Native Method)\n\
            \tat org.apache.spark.storage.DiskBlockObjectWriter.write(DiskBlockObjectWriter.scala:336)\n\
            \t... 12 more\n\
            Caused by: java.io.IOException: No space left on device\n\
            \tat java.base/java.lang.Thread.run(Thread.java:840)\n";
        assert_eq!(
            super::engine_message(stderr),
            "WARN something\n26/12/05 ERROR Executor: Exception in task 3.0\n\
             java.io.IOException: No space left on device\n\
             Caused by: java.io.IOException: No space left on device"
        );
    }
}
