//! A table assembled row by row in memory (tests, examples).

#[allow(clippy::wildcard_imports)]
use super::*;

/// Assembles a [`Responses`] row by row (see [`Responses::builder`]).
#[derive(Debug)]
pub struct ResponsesBuilder {
    instrument: Instrument,
    units: Coded,
    periods: Coded,
    channels: Coded,
    weights: Vec<f64>,
    states: Vec<u64>,
}

impl ResponsesBuilder {
    /// Appends one response; `answers` has one entry per item, in instrument
    /// order, `None` = missing (a code that is not valid for its item is an
    /// error).
    pub fn push(
        &mut self,
        unit_code: &str,
        period: &str,
        channel: &str,
        weight: f64,
        answers: &[Option<u8>],
    ) -> Result<&mut Self> {
        let row = self.weights.len() + 1;
        let bad = |column: &str, message: String| Error::Value {
            origin: "in-memory responses".into(),
            row,
            column: column.to_string(),
            message,
        };
        if !(weight.is_finite() && weight > 0.0) {
            return Err(bad(
                schema::WEIGHT,
                format!("weight {weight} is not finite and > 0"),
            ));
        }
        let items = self.instrument.items();
        if answers.len() != items.len() {
            return Err(bad(
                "answers",
                format!("{} answers for {} items", answers.len(), items.len()),
            ));
        }
        for (j, (a, item)) in answers.iter().zip(items).enumerate() {
            if let Some(code) = *a
                && !item.is_valid(code)
            {
                return Err(bad(&item.id, self.instrument.invalid_answer(j, code)));
            }
        }
        for (v, c) in [
            (unit_code, schema::UNIT_CODE),
            (period, schema::PERIOD),
            (channel, schema::CHANNEL),
        ] {
            if v.is_empty() {
                return Err(bad(c, "missing value".into()));
            }
        }
        self.units.push(unit_code);
        self.periods.push(period);
        self.channels.push(channel);
        self.weights.push(weight);
        let words = mask_words(self.instrument.tests().len());
        let start = self.states.len();
        self.states.resize(start + 2 * words, 0);
        let (answered, satisfied) = self.states[start..].split_at_mut(words);
        // Bit k: test k's item answered, and the answer passing test k.
        for (k, t) in self.instrument.tests().iter().enumerate() {
            if let Some(code) = answers[t.item] {
                answered[k / 64] |= 1 << (k % 64);
                satisfied[k / 64] |= u64::from(t.test.passes(code)) << (k % 64);
            }
        }
        Ok(self)
    }

    /// Finishes the table (parses and orders the periods).
    pub fn build(self) -> Result<Responses> {
        Responses::finish(
            self.instrument,
            "in-memory responses".into(),
            self.units,
            self.periods,
            self.channels,
            self.weights,
            self.states,
        )
    }
}

impl Responses {
    /// A builder for small tables assembled in memory (tests, examples).
    pub fn builder(instrument: Instrument) -> ResponsesBuilder {
        ResponsesBuilder {
            instrument,
            units: Coded::default(),
            periods: Coded::default(),
            channels: Coded::default(),
            weights: Vec::new(),
            states: Vec::new(),
        }
    }
}
