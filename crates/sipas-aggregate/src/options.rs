//! What to aggregate and how: the options every estimator takes.

use sipas_core::{Level, PilotSet, UnitRegistry, bundled, schema};

use crate::channels::ChannelClasses;

/// What to aggregate and how.
#[derive(Debug, Clone)]
pub struct AggregateOptions {
    /// Unit metadata (names, districts, kinds); every unit code in the data must be here.
    pub units: UnitRegistry,
    /// Pilot units and the first period of the pilot.
    pub pilots: PilotSet,
    /// The channel estimated: `survey` (default) pools every survey mode of
    /// [`AggregateOptions::channels`]; any other value uses the rows of that
    /// channel alone. Rows of other channels are counted as excluded; rating
    /// channels are never pooled.
    pub channel: String,
    /// How channel values are classified (survey modes, rating channels);
    /// an unclassified value in the data is an error.
    pub channels: ChannelClasses,
    /// The comparison units (the evaluation's `baseline`): with the
    /// pre-period rule of [`crate::arms`], it decides which units pool into
    /// the baseline of `groups.csv`, the 2×2 DiD and the panel.
    pub baseline: crate::Baseline,
    /// Confidence level of every interval (default 95 %).
    pub level: Level,
}

impl AggregateOptions {
    /// Options with the `survey` channel.
    pub fn new(units: UnitRegistry, pilots: PilotSet) -> Self {
        AggregateOptions {
            units,
            pilots,
            channel: schema::DEFAULT_CHANNEL.to_string(),
            channels: ChannelClasses::default(),
            baseline: crate::Baseline::All,
            level: Level::DEFAULT,
        }
    }

    /// The bundled Thái Nguyên units and pilots, `survey` channel.
    pub fn bundled() -> Self {
        Self::new(bundled::units(), bundled::pilots())
    }
}
