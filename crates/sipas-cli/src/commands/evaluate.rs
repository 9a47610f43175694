//! `sipas evaluate`: the staggered-rollout estimators on a panel file.

use std::path::Path;

use anyhow::Context;
use sipas_aggregate::rollout::{
    IndexRollout, PanelColumns, RolloutOptions, bacon, callaway_santanna, methods_text, read_panel,
    write_rollout,
};

use crate::ExitStatus;
use crate::args::EvaluateArgs;
use crate::commands::{Done, say};
use crate::manifest::Recorder;

pub(crate) fn run(a: &EvaluateArgs) -> anyhow::Result<ExitStatus> {
    let rec = Recorder::start();
    let staging = super::begin("evaluate", &a.out, &[&a.panel], &rec)?;
    let done = run_evaluate(a, staging.path())?;
    let inputs = [super::input(&a.panel)];
    super::commit("evaluate", staging, &rec, format!("{a:?}"), &inputs, &done)?;
    Ok(done.status)
}

fn run_evaluate(a: &EvaluateArgs, out: &Path) -> anyhow::Result<Done> {
    let cols = PanelColumns {
        unit: a.unit.clone(),
        period: a.period.clone(),
        value: a.value.clone(),
        group: a.group.clone(),
        weight: a.weight.clone(),
        se: a.se.clone(),
    };
    let panel = read_panel(&a.panel, &cols)
        .with_context(|| format!("cannot read the panel {}", a.panel.display()))?;
    let opts = RolloutOptions {
        control: a.control.into(),
        base: a.base.into(),
        replicates: a.replicates,
        seed: a.seed,
        design_variance: a.se.is_some(),
        level: a.level.or_default(),
    };
    let r = callaway_santanna(&panel.units, &opts).with_context(|| {
        format!(
            "cannot estimate the group-time effects of {}",
            a.panel.display()
        )
    })?;
    let b = match bacon(&panel.units) {
        Ok(b) => Some(b),
        Err(e) => {
            say(&format!("evaluate: no Goodman-Bacon decomposition: {e}"));
            None
        }
    };
    let label = |i: i64| {
        panel
            .periods
            .get(&i)
            .map_or_else(|| i.to_string(), ToString::to_string)
    };
    write_rollout(
        out,
        &[IndexRollout {
            index: &a.value,
            rollout: &r,
            bacon: b.as_ref(),
        }],
        &label,
    )
    .context("cannot write the evaluation tables")?;
    let methods = methods_text(&r, b.as_ref(), &label);
    sipas_core::results::write_methods(out, &methods).context("cannot write methods.txt")?;
    let interval = |e: &sipas_aggregate::rollout::AggEffect| {
        e.ci(opts.level).map_or_else(
            || format!("{:.6} (no SE)", e.att),
            |(lo, hi)| format!("{:.6} [{lo:.6}, {hi:.6}] ({} CI)", e.att, opts.level),
        )
    };
    say(&format!(
        "evaluate: {} rows, {} units ({} used), {} group-time effects; comparison {}, base period {}",
        panel.rows,
        r.units.len(),
        r.units.iter().filter(|u| u.used).count(),
        r.att_gt.len(),
        opts.control.as_str(),
        opts.base.as_str()
    ));
    say(&format!(
        "evaluate: staggered (Callaway–Sant'Anna) overall ATT {}",
        interval(&r.simple)
    ));
    if let Some(b) = &b {
        say(&format!(
            "evaluate: TWFE {:.6}; {:.1}% of its weight on later-vs-earlier (already treated) comparisons",
            b.twfe,
            100.0 * b.forbidden_weight()
        ));
    }
    let dropped = r.units.iter().filter(|u| !u.used).count();
    let rows = [
        ("rows", panel.rows as u64),
        ("units", r.units.len() as u64),
        ("units_left_out", dropped as u64),
        ("att_gt", r.att_gt.len() as u64),
    ];
    Ok(Done::new(ExitStatus::Success, &rows))
}
