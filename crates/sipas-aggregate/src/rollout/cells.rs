//! The staggered-rollout panel of a sipas run: the SIPAS of every unit × period cell of the
//! evaluation panel, each unit in the wave of the pilot file that names it.

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;
use sipas_core::{Period, PilotSet};

use super::{Bacon, Rollout, RolloutOptions, UnitSeries, bacon, callaway_santanna};
use crate::design::{CiMethod, DomainEstimates, DomainType};
use crate::indices::{CellEstimate, Indices};
use crate::panel::{PanelCell, Weighting};

/// The unit series of the rollout panel `cells` (from [`crate::panel::select_panel_for`] with
/// [`crate::arms::Comparison::AllWaves`]: every wave's units and the never-treated comparison
/// units, by the rule of [`crate::arms`]): a unit's group is the start of its wave in
/// `pilots` (`None`: never treated), its weight 1 ([`Weighting::Equal`]) or its mean number of
/// responses per cell ([`Weighting::N`]), its variances the squared design-based SEs of its
/// cells. Returns the series in order of unit code and the period of each period index.
pub fn series_of_cells(
    cells: &[PanelCell],
    pilots: &PilotSet,
    weighting: Weighting,
) -> (Vec<UnitSeries>, BTreeMap<i64, Period>) {
    let mut by_unit: BTreeMap<&str, (UnitSeries, f64, usize)> = BTreeMap::new();
    let mut periods = BTreeMap::new();
    for c in cells {
        let e = by_unit.entry(c.unit_code.as_str()).or_insert_with(|| {
            (
                UnitSeries {
                    unit: c.unit_code.clone(),
                    group: pilots.start_of(&c.unit_code).map(Period::index),
                    weight: 1.0,
                    values: BTreeMap::new(),
                    variances: BTreeMap::new(),
                },
                0.0,
                0,
            )
        });
        let t = c.period.index();
        e.0.values.insert(t, c.value);
        if let Some(se) = c.se {
            e.0.variances.insert(t, se * se);
        }
        #[allow(clippy::cast_precision_loss)]
        {
            e.1 += c.n as f64;
        }
        e.2 += 1;
        periods.insert(t, c.period);
    }
    let units = by_unit
        .into_values()
        .map(|(mut u, n, k)| {
            if weighting == Weighting::N {
                #[allow(clippy::cast_precision_loss)]
                {
                    u.weight = n / k as f64;
                }
            }
            u
        })
        .collect();
    (units, periods)
}

/// The cells of the rollout panel in the other tables: for each panel cell (in its order),
/// the position of its unit × period in `cells`, and the design SE of each indicator of `ids`
/// in its unit × period domain of the estimates (`ses[k][i]`: indicator `ids[k]`, panel cell
/// i). The estimates are read in one pass, each domain's position found once for its run of
/// rows (at 10,000 units they are millions of rows).
struct PanelLinks {
    cell: Vec<Option<usize>>,
    ses: Vec<Vec<Option<f64>>>,
}

impl PanelLinks {
    fn new(
        panel: &[PanelCell],
        cells: &[CellEstimate],
        est: &DomainEstimates,
        ids: &[&str],
    ) -> Self {
        let at: HashMap<(&str, Period), usize> = panel
            .iter()
            .enumerate()
            .map(|(i, p)| ((p.unit_code.as_str(), p.period), i))
            .collect();
        let mut cell = vec![None; panel.len()];
        for (k, c) in cells.iter().enumerate() {
            if let Some(&i) = at.get(&(c.unit_code.as_str(), c.period)) {
                cell[i] = Some(k);
            }
        }
        // Each panel cell's domain is looked up once, the cells in parallel.
        let index = crate::design::RowIndex::new(&est.rows);
        let by_cell: Vec<Vec<Option<f64>>> = panel
            .par_iter()
            .map(|p| {
                let dom = index.domain(DomainType::Unit, &p.unit_code, p.period);
                ids.iter()
                    .map(|id| dom.as_ref()?.get(id, CiMethod::Normal)?.se)
                    .collect()
            })
            .collect();
        let ses = (0..ids.len())
            .map(|k| by_cell.iter().map(|s| s[k]).collect())
            .collect();
        PanelLinks { cell, ses }
    }
}

/// The rollout panel of a part or an element: the cells of the SIPAS rollout `panel` (the same
/// units and periods) with the value of the reported group at position `group` of
/// [`crate::Indices::group_ids`] from `cells`, and its SE from the unit × period domain of
/// the group in the design estimates (`links.ses[group]`: the SE every table shows; none for a
/// cell of one response, as for SIPAS). A cell whose value is undefined is left out.
fn panel_of_group(
    panel: &[PanelCell],
    cells: &[CellEstimate],
    links: &PanelLinks,
    group: usize,
) -> Vec<PanelCell> {
    panel
        .iter()
        .zip(&links.cell)
        .zip(&links.ses[group])
        .filter_map(|((p, c), se)| {
            let v = cells[(*c)?].groups[group]?;
            Some(PanelCell {
                value: v,
                se: se.filter(|_| p.n > 1),
                ..p.clone()
            })
        })
        .collect()
}

/// The staggered estimates of a run, one per index: SIPAS, then each part and element.
#[derive(Debug, Clone)]
pub struct RunRollout {
    /// `(index, its estimates, its Goodman-Bacon decomposition when the panel allows one)`,
    /// SIPAS first.
    pub indices: Vec<(String, Rollout, Option<Bacon>)>,
    /// The period of each period index of the estimates.
    pub periods: BTreeMap<i64, Period>,
    /// Parts and elements without an estimate, with the reason.
    pub skipped: Vec<(String, String)>,
}

/// Callaway–Sant'Anna estimates of SIPAS on the rollout `panel` ([`crate::panel::select_panel_for`]
/// with [`crate::arms::Comparison::AllWaves`]), then of every part and element of `indices` on
/// the same units and periods (each with its value in `indices.cells` and its unit × period SE
/// from `est`, the SE every table shows): one estimate per index, the same way.
///
/// # Errors
/// Why SIPAS has no estimate (then no index has one); a part or element without one is listed
/// in [`RunRollout::skipped`].
pub fn of_run(
    panel: &[PanelCell],
    indices: &Indices,
    est: &DomainEstimates,
    pilots: &PilotSet,
    weighting: Weighting,
    opts: &RolloutOptions,
) -> crate::Result<RunRollout> {
    use rayon::prelude::*;
    let ids: Vec<&str> = indices.group_ids.iter().map(String::as_str).collect();
    let links = PanelLinks::new(panel, &indices.cells, est, &ids);
    // Each index's panel and estimates are independent: made in parallel, then
    // taken in order (SIPAS first), as one after the other.
    let estimates: Vec<(&str, crate::Result<Estimated>)> = std::iter::once(("sipas", None))
        .chain(ids.iter().enumerate().map(|(k, id)| (*id, Some(k))))
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|(id, group)| {
            let own;
            let p = match group {
                None => panel,
                Some(k) => {
                    own = panel_of_group(panel, &indices.cells, &links, k);
                    own.as_slice()
                }
            };
            (id, estimate(p, pilots, weighting, opts))
        })
        .collect();
    let mut run = RunRollout {
        indices: Vec::new(),
        periods: BTreeMap::new(),
        skipped: Vec::new(),
    };
    for (id, e) in estimates {
        match e {
            Ok(e) => run.add(id, e),
            Err(e) if run.indices.is_empty() => return Err(e),
            Err(e) => run.skipped.push((id.to_string(), e.to_string())),
        }
    }
    Ok(run)
}

/// One index's staggered estimates, its Goodman-Bacon decomposition (when the panel allows
/// one) and the period of each period index of its panel.
type Estimated = (Rollout, Option<Bacon>, BTreeMap<i64, Period>);

fn estimate(
    panel: &[PanelCell],
    pilots: &PilotSet,
    weighting: Weighting,
    opts: &RolloutOptions,
) -> crate::Result<Estimated> {
    let (units, periods) = series_of_cells(panel, pilots, weighting);
    let r = callaway_santanna(&units, opts)?;
    Ok((r, bacon(&units).ok(), periods))
}

impl RunRollout {
    /// Adds the estimates of index `id` on its rollout `panel` (e.g. the commune PAR total on
    /// the panel [`crate::panel::select_panel_for`] selects from its own cells, by the rule
    /// of SIPAS's).
    ///
    /// # Errors
    /// Why the panel gives no estimate (nothing is added).
    pub fn push(
        &mut self,
        id: &str,
        panel: &[PanelCell],
        pilots: &PilotSet,
        weighting: Weighting,
        opts: &RolloutOptions,
    ) -> crate::Result<()> {
        self.add(id, estimate(panel, pilots, weighting, opts)?);
        Ok(())
    }

    fn add(&mut self, id: &str, (r, bacon, periods): Estimated) {
        self.periods.extend(periods);
        self.indices.push((id.to_string(), r, bacon));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(u: &str, p: &str, v: f64, n: usize) -> PanelCell {
        PanelCell {
            unit_code: u.into(),
            period: p.parse().unwrap(),
            pilot: false,
            value: v,
            se: Some(0.5),
            n,
        }
    }

    #[test]
    fn units_get_the_start_of_their_wave_and_their_mean_responses() {
        let pilots = PilotSet::from_toml_str(
            "program = \"x\"\n[[wave]]\nstart = \"2024Q2\"\nunits = [\"A\"]\n\
             [[wave]]\nstart = \"2024Q3\"\nunits = [\"B\"]\n",
            "t",
        )
        .unwrap();
        let cells = [
            cell("A", "2024Q1", 70.0, 10),
            cell("A", "2024Q2", 75.0, 30),
            cell("B", "2024Q1", 60.0, 4),
            cell("C", "2024Q1", 50.0, 8),
        ];
        let (u, periods) = series_of_cells(&cells, &pilots, Weighting::N);
        let q2: Period = "2024Q2".parse().unwrap();
        let q3: Period = "2024Q3".parse().unwrap();
        assert_eq!(u.len(), 3);
        assert_eq!((u[0].group, u[0].weight), (Some(q2.index()), 20.0));
        assert_eq!((u[1].group, u[1].weight), (Some(q3.index()), 4.0));
        assert_eq!((u[2].group, u[2].weight), (None, 8.0));
        assert_eq!(u[0].values[&q2.index()], 75.0);
        assert_eq!(u[0].variances[&q2.index()], 0.25);
        assert_eq!(periods.len(), 2);
        let (e, _) = series_of_cells(&cells, &pilots, Weighting::Equal);
        assert!(e.iter().all(|u| u.weight == 1.0));
    }
}
