//! Resolves the instrument, units and pilots named on the command line or
//! in a job file (bundled defaults otherwise).

use std::path::Path;

use anyhow::Context;
use sipas_core::{Instrument, PilotSet, UnitHistory, UnitRegistry, bundled};

/// An instrument from a bundled id or a TOML path.
pub(crate) fn instrument(spec: &str) -> anyhow::Result<Instrument> {
    if let Some(i) = bundled::instrument(spec) {
        return Ok(i);
    }
    let path = Path::new(spec);
    if path.exists() {
        return Instrument::from_path(path)
            .with_context(|| format!("cannot load instrument {}", path.display()));
    }
    anyhow::bail!(
        "unknown instrument `{spec}`\nhint: use one of {} or a path to a TOML file",
        bundled::INSTRUMENT_IDS.join(", ")
    )
}

/// An optional instrument.
pub(crate) fn instrument_opt(spec: Option<&str>) -> anyhow::Result<Option<Instrument>> {
    spec.map(instrument).transpose()
}

/// The unit list (bundled when `None`).
pub(crate) fn units(path: Option<&Path>) -> anyhow::Result<UnitRegistry> {
    match path {
        None => Ok(bundled::units()),
        Some(p) => UnitRegistry::from_path(p)
            .with_context(|| format!("cannot load unit list {}", p.display())),
    }
}

/// The units over time for clean: the bundled Thái Nguyên history (177 →
/// 172 → 92, each row read at its date) when `None`, else the one list given.
pub(crate) fn unit_history(path: Option<&Path>) -> anyhow::Result<UnitHistory> {
    match path {
        None => Ok(bundled::unit_history()),
        Some(_) => units(path).map(UnitHistory::single),
    }
}

/// The pilot set (bundled when `None`), checked against the units.
pub(crate) fn pilots(path: Option<&Path>, units: &UnitRegistry) -> anyhow::Result<PilotSet> {
    let (mut p, origin) = match path {
        None => (bundled::pilots(), "bundled pilots".to_string()),
        Some(p) => (
            PilotSet::from_path(p)
                .with_context(|| format!("cannot load pilots {}", p.display()))?,
            p.display().to_string(),
        ),
    };
    p.resolve_against(units, &origin)?;
    p.check_against(units, &origin)?;
    Ok(p)
}
