//! `sipas aggregate --engine spark`: the unit × period, group and estimate
//! tables computed by Spark (through PySpark) from the SQL of `sipas sql`,
//! written by the same writers as the local engine; the pilot evaluation
//! (TWFE, wild bootstrap, event study) runs here on the returned panel.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, bail};
use sipas_aggregate::design::{CiMethod, DomainEstimates, DomainType, EstimateRow, IndicatorKind};
use sipas_aggregate::sql::{self, Dialect, Engine, SqlOutput, SqlSpec};
use sipas_aggregate::{
    AggregateOptions, AggregateReport, Arm, CellEstimate, Estimate, GroupEstimate, Indices,
    evaluate, select_panel, write_estimates, write_evaluation, write_results,
};
use sipas_core::{Period, results};

use crate::ExitStatus;
use crate::commands::aggregate::Settings;
use crate::commands::{Done, say};

/// A CSV the runner wrote: header and rows of fields (the runner quotes a
/// field only when it holds a comma or quote).
/// A CSV's header (name → position) and its rows.
type Table = (HashMap<String, usize>, Vec<Vec<String>>);

fn read_csv(path: &Path) -> anyhow::Result<Table> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines = text.lines();
    let header = split(lines.next().unwrap_or_default())
        .into_iter()
        .enumerate()
        .map(|(i, h)| (h, i))
        .collect();
    Ok((header, lines.map(split).collect()))
}

fn split(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn num(s: &str, what: &str) -> anyhow::Result<Option<f64>> {
    if s.is_empty() {
        return Ok(None);
    }
    s.parse()
        .map(Some)
        .with_context(|| format!("Spark returned `{s}` for {what}, not a number"))
}

fn estimate(r: &[String], h: &HashMap<String, usize>, root: &str) -> anyhow::Result<Estimate> {
    let get = |suffix: &str| -> anyhow::Result<Option<f64>> {
        let col = format!("{root}{suffix}");
        let i = *h
            .get(&col)
            .with_context(|| format!("Spark's result has no column {col}"))?;
        num(&r[i], &col)
    };
    Ok(Estimate {
        value: get("")?,
        se: get("_se")?,
        lo: get("_lo")?,
        hi: get("_hi")?,
    })
}

/// Runs the aggregation on Spark at `master` and writes the result tables into `out`.
#[allow(clippy::too_many_lines)]
pub(crate) fn run(
    data: &Path,
    s: &Settings<'_>,
    master: &str,
    out: &Path,
    shown: &Path,
) -> anyhow::Result<Done> {
    let started = std::time::Instant::now();
    let dataset = sipas_dataset::Dataset::open(data)
        .with_context(|| format!("cannot open the response table in {}", data.display()))?;
    let (instrument, has_channel, has_weight, has_old_unit_code) =
        super::sql::table_facts(data, s.instrument.cloned(), s.design)?;
    let python = sql::python();
    let engine = Engine::Spark(master.to_string());
    let work = out.join(".spark");
    sql::check_engine(&python, &engine, &work)
        .context("aggregate --engine spark needs Python 3 with PySpark and Java 17")?;
    let mut opts = AggregateOptions::new(s.units.clone(), s.pilots.clone());
    opts.channel = s.channel.to_string();
    opts.channels = s.channels.clone();
    opts.baseline = s.evaluation.baseline;
    opts.level = s.level;
    let spec = SqlSpec {
        instrument: &instrument,
        opts: &opts,
        design: s.design,
        table: "responses".into(),
        has_channel,
        has_weight,
        has_old_unit_code,
    };
    let mut queries = Vec::new();
    // Each query writes `<stem>.csv` into `work`: the local engine's table of that name.
    for (table, o) in [
        (&results::UNIT_PERIOD, SqlOutput::UnitPeriod),
        (&results::GROUPS, SqlOutput::Groups),
        (&results::ESTIMATES, SqlOutput::Estimates),
    ] {
        queries.push((
            table.stem().to_string(),
            sql::sql(&spec, Dialect::Spark, o)?,
        ));
    }
    let table = dataset.path().display().to_string();
    say(&format!(
        "aggregate: running the SQL on Spark ({master}) over {table}"
    ));
    sql::run_queries(
        &python,
        &engine,
        &queries,
        &[("responses".into(), format!("parquet:{table}"))],
        &work,
    )
    .context("the Spark aggregation failed")?;

    // unit_period
    let group_ids: Vec<String> = instrument
        .reported_groups()
        .iter()
        .map(|g| g.id.clone())
        .collect();
    let root = instrument.root().to_string();
    let (h, rows) = read_csv(&work.join(results::UNIT_PERIOD.file))?;
    let col = |name: &str| -> anyhow::Result<usize> {
        h.get(name)
            .copied()
            .with_context(|| format!("Spark's unit_period has no column {name}"))
    };
    let mut cells = Vec::with_capacity(rows.len());
    for r in &rows {
        let unit_code = r[col("unit_code")?].clone();
        let Some(unit) = opts.units.get(&unit_code) else {
            bail!("unit {unit_code} of the response table is not in the unit list");
        };
        let text = &r[col("period")?];
        let period: Period = text
            .parse()
            .with_context(|| format!("Spark returned period `{text}`"))?;
        let mut groups = Vec::with_capacity(group_ids.len());
        for g in &group_ids {
            groups.push(num(&r[col(g)?], g)?);
        }
        cells.push(CellEstimate {
            unit_code: unit_code.clone(),
            unit_name: unit.full_name(),
            district: unit.district_name.clone(),
            kind: unit.kind.as_str().to_string(),
            pilot: opts.pilots.contains(&unit_code),
            period,
            n: r[col("n")?].parse().context("Spark's n")?,
            sipas: estimate(r, &h, &root)?,
            groups,
            items: Vec::new(),
        });
    }
    cells.sort_by(|a, b| (&a.unit_code, a.period).cmp(&(&b.unit_code, b.period)));

    // groups
    let (h, rows) = read_csv(&work.join(results::GROUPS.file))?;
    let mut groups = Vec::with_capacity(rows.len());
    for r in &rows {
        let get = |name: &str| -> anyhow::Result<&str> {
            Ok(&r[*h
                .get(name)
                .with_context(|| format!("Spark's groups has no column {name}"))?])
        };
        let mut values = Vec::with_capacity(group_ids.len());
        for g in &group_ids {
            values.push(num(get(g)?, g)?);
        }
        groups.push(GroupEstimate {
            period: get("period")?.parse().context("Spark's period")?,
            group: if get("group")? == "pilot" {
                Arm::Pilot
            } else {
                Arm::Baseline
            },
            n: get("n")?.parse().context("Spark's n")?,
            sipas: estimate(r, &h, &root)?,
            groups: values,
        });
    }

    // estimates: the composites (value, SE, normal interval, CV); design
    // effects and item intervals stay with the local engine.
    let (h, rows) = read_csv(&work.join(results::ESTIMATES.file))?;
    let mut est_rows = Vec::new();
    for r in &rows {
        let get = |name: &str| -> anyhow::Result<&str> {
            Ok(&r[*h
                .get(name)
                .with_context(|| format!("Spark's estimates has no column {name}"))?])
        };
        let kind = match get("indicator_kind")? {
            "index" => IndicatorKind::Index,
            "part" => IndicatorKind::Part,
            "element" => IndicatorKind::Element,
            "composite" => IndicatorKind::Composite,
            _ => continue,
        };
        let domain_type = match get("domain_type")? {
            "unit" => DomainType::Unit,
            "group" => DomainType::Group,
            "district" => DomainType::District,
            _ => DomainType::Kind,
        };
        let n: usize = get("n")?.parse().context("Spark's n")?;
        let value = num(get("value")?, "value")?;
        let se = num(get("se")?, "se")?;
        let cv = match (value, se) {
            (Some(v), Some(se)) if v > 0.0 => Some(se / v),
            _ => None,
        };
        est_rows.push(EstimateRow {
            domain_type,
            domain: get("domain")?.into(),
            period: get("period")?.parse().context("Spark's period")?,
            indicator: get("indicator")?.into(),
            indicator_kind: kind,
            n,
            value,
            se,
            lo: num(get("lo")?, "lo")?,
            hi: num(get("hi")?, "hi")?,
            ci_method: CiMethod::Normal,
            deff: None,
            n_eff: None,
            cv,
            reliable: n >= s.design.min_n && cv.is_some_and(|cv| cv <= s.design.max_cv),
            suppressed: n < s.design.suppress_below,
            df: None,
        });
    }
    let _ = std::fs::remove_dir_all(&work);

    let mut periods: Vec<String> = cells.iter().map(|c| c.period.to_string()).collect();
    periods.sort();
    periods.dedup();
    let rows_used: usize = cells.iter().map(|c| c.n).sum();
    let report = AggregateReport {
        source: table.clone(),
        instrument: instrument.id.clone(),
        headline: sipas_aggregate::Headline::of(&instrument),
        channel: s.channel.to_string(),
        channels_used: BTreeMap::new(),
        rows_read: usize::try_from(dataset.rows()).unwrap_or(usize::MAX),
        rows_used,
        rows_excluded_channel: usize::try_from(dataset.rows())
            .unwrap_or(usize::MAX)
            .saturating_sub(rows_used),
        excluded_by_channel: BTreeMap::new(),
        units: cells
            .iter()
            .map(|c| c.unit_code.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        periods,
        cells: cells.len(),
        cells_pilot: cells.iter().filter(|c| c.pilot).count(),
        cells_single_response: cells.iter().filter(|c| c.n == 1).count(),
        cells_undefined_sipas: cells.iter().filter(|c| c.sipas.value.is_none()).count(),
        item_rows: 0,
        group_rows: groups.len(),
        pilot_start: opts.pilots.start.to_string(),
        did_pre_periods: Vec::new(),
        did_post_periods: Vec::new(),
        did_unavailable: Some(
            "computed on Spark (engine = \"spark\"): the 2×2 difference-in-differences with its \
             design covariance, item intervals and design effects are the local engine's; the \
             pilot evaluation (did_twfe.csv) is computed from the unit × period panel"
                .into(),
        ),
        design: format!(
            "{} Engine: Spark ({master}). {}",
            sipas_aggregate::design::describe(s.design),
            sipas_aggregate::design::describe_level(opts.level)
        ),
        left_out: sipas_aggregate::arms::of_cells(
            &cells,
            &opts.pilots,
            opts.baseline,
            sipas_aggregate::arms::Comparison::FirstWave,
        )
        .1
        .left_out()
        .to_vec(),
        level: opts.level,
    };
    let indices = Indices {
        instrument_id: instrument.id.clone(),
        root_bounds: instrument.bounds(instrument.root()).expect("root scale"),
        item_ids: Vec::new(),
        group_ids,
        cells,
        groups,
        did: None,
        report,
    };
    write_results(&indices, out)
        .with_context(|| format!("cannot write results to {}", shown.display()))?;
    let mut est = DomainEstimates {
        instrument_id: instrument.id.clone(),
        design: s.design.clone(),
        rows: est_rows.into(),
        mode_differences: Vec::new(),
        did: None,
        level: opts.level,
    };
    // Every other headline index from the tables Spark returned (its cells, groups and SEs),
    // then the same evaluation, PAR total and ranking as the local engine.
    let ev_opts = s.evaluation;
    let mut heads = {
        let mut aggregate = |id: &str| {
            let bounds = instrument.bounds(id);
            bounds
                .and_then(|b| sipas_aggregate::headline::rerooted(&indices, &est, id, b))
                .ok_or_else(|| sipas_aggregate::Error::Data {
                    origin: "Spark's unit_period".into(),
                    message: format!("no column of index {id}"),
                })
        };
        // The PAR total's pooled groups average the cells' appraised points with the cells'
        // Σ of survey weights: not among Spark's tables, read here from the response table
        // (only with an instrument with `[par]` and a criteria table).
        let weights = match (instrument.par(), s.criteria) {
            (Some(_), Some(_)) => {
                let mut columns = s.design.columns();
                if has_old_unit_code {
                    columns.push(sipas_core::schema::OLD_UNIT_CODE);
                }
                let responses =
                    sipas_aggregate::read_responses_with(data, Some(&instrument), &columns)
                        .with_context(|| {
                            format!("cannot read the response table in {}", data.display())
                        })?;
                Some((
                    sipas_aggregate::par::cell_weights(&responses, &opts)?,
                    sipas_aggregate::par::code_weights(&responses, &opts)?,
                ))
            }
            _ => None,
        };
        super::aggregate::other_indices(
            &instrument,
            &mut aggregate,
            weights,
            (&opts, &ev_opts),
            s.criteria,
            &indices,
        )?
    };
    if let Some((def, _, Some(total))) = &heads.par {
        sipas_aggregate::par::append_estimates(&mut est, def, total);
    }
    if let Some(s) = sipas_core::staging::ShownAs::of_stage(out, shown)
        && let Some((_, c, _)) = &mut heads.par
    {
        c.origin = s.path(Path::new(&c.origin)).display().to_string();
    }
    write_estimates(&est, out)
        .with_context(|| format!("cannot write estimates to {}", shown.display()))?;
    let r = &indices.report;
    say(&format!(
        "aggregate: Spark ({master}) computed {} unit × period cells of {} rows → {}{}",
        r.cells,
        r.rows_used,
        shown.display(),
        crate::logging::rate(started, r.rows_read as u64)
    ));
    let rows = [
        ("rows_read", r.rows_read as u64),
        ("rows_used", r.rows_used as u64),
        ("cells", r.cells as u64),
    ];

    // The pilot evaluation, here, on the panel Spark returned.
    let (panel, selection) = select_panel(&indices.cells, &opts.pilots, ev_opts.baseline);
    match evaluate(&panel, opts.pilots.start, &ev_opts) {
        Ok(ev) => {
            write_evaluation(&ev, Some(&selection), out)
                .with_context(|| format!("cannot write the evaluation to {}", shown.display()))?;
            let methods = sipas_aggregate::methods::Methods::evaluation(&ev, &indices.report)
                .left_out(&indices.report, opts.pilots.start);
            heads.write(&indices, &instrument, Some(&ev), (out, shown), methods)?;
            say(&format!(
                "aggregate: two-way fixed effects on the Spark panel: {:.2} points, clustered {} CI {:.2} to {:.2}",
                ev.overall.estimate, opts.level, ev.overall.lo_cr1, ev.overall.hi_cr1
            ));
        }
        Err(e) => {
            say(&format!("aggregate: no pilot evaluation ({e})"));
            let methods = sipas_aggregate::methods::Methods::design(&indices.report);
            heads.write(&indices, &instrument, None, (out, shown), methods)?;
        }
    }
    Ok(Done::new(ExitStatus::Success, &rows))
}
