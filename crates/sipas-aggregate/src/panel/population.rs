//! Treatment intensity from a population column: the share of a unit's
//! population (summed over the old units behind it) living in pilot
//! communes, instead of the share of its pre-merge responses.
//!
//! The population file is a CSV with a `code` column (the old unit's GSO
//! code, as in `old_unit_code`; `old_unit_code` or `unit_code` are read as
//! the same column) and a `population` column (a number ≥ 0). Other columns
//! (names, years) are read past.

use std::collections::BTreeMap;
use std::path::Path;

use sipas_core::Period;

use super::merged::{UnitTreatment, treatment_intensity};
use crate::{Error, Result};

/// Population per old unit code.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Population {
    /// Where it was read from (for messages).
    pub origin: String,
    /// Old unit code → population.
    pub by_code: BTreeMap<String, f64>,
}

impl Population {
    /// Reads a population CSV (see the module documentation).
    pub fn from_path(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_csv_str(&text, &path.display().to_string())
    }

    /// Parses a population CSV; `origin` names it in errors (row numbers
    /// count data rows, the header not included).
    pub fn from_csv_str(text: &str, origin: &str) -> Result<Self> {
        let data = |message: String| Error::Data {
            origin: origin.to_string(),
            message,
        };
        let (mut rdr, header) = crate::csv_in::with_header(text, origin)?;
        let find = |names: &[&str]| header.iter().position(|h| names.contains(&h.trim()));
        let code_col = find(&["code", "old_unit_code", "unit_code"])
            .ok_or_else(|| data("missing column `code` (the old unit's GSO code)".into()))?;
        let pop_col =
            find(&["population"]).ok_or_else(|| data("missing column `population`".into()))?;
        let mut by_code = BTreeMap::new();
        for (i, rec) in rdr.records().enumerate() {
            let row = i + 1;
            let rec = rec.map_err(|e| data(format!("row {row}: {e}")))?;
            let value = |column: &str, message: String| Error::Value {
                origin: origin.to_string(),
                row,
                column: column.to_string(),
                message,
            };
            let code = rec.get(code_col).unwrap_or_default().trim();
            if code.len() != 5 || !code.bytes().all(|b| b.is_ascii_digit()) {
                return Err(value("code", format!("`{code}` is not a 5-digit GSO code")));
            }
            let raw = rec.get(pop_col).unwrap_or_default().trim();
            let pop: f64 = raw
                .parse()
                .ok()
                .filter(|p: &f64| p.is_finite() && *p >= 0.0)
                .ok_or_else(|| value("population", format!("`{raw}` is not a number ≥ 0")))?;
            if by_code.insert(code.to_string(), pop).is_some() {
                return Err(value("code", format!("{code} is listed twice")));
            }
        }
        if by_code.is_empty() {
            return Err(data("no rows".into()));
        }
        Ok(Population {
            origin: origin.to_string(),
            by_code,
        })
    }
}

/// Treatment intensity per unit from population: the old units behind each
/// unit are those of its rows in the periods `before` accepts (as for the
/// response share), each counted once with its population. `None` when the
/// table has no `old_unit_code` column; an error names an old unit the
/// population file lacks.
pub fn intensity_from_population(
    responses: &crate::Responses,
    before: impl Fn(Period) -> bool,
    is_pilot: impl Fn(&str, &str) -> bool,
    population: &Population,
) -> Option<Result<BTreeMap<String, UnitTreatment>>> {
    let rows = super::merged::old_unit_rows(responses, before)?;
    let mut pairs: BTreeMap<(&str, &str), f64> = BTreeMap::new();
    for (unit, old) in rows {
        if pairs.contains_key(&(unit, old)) {
            continue;
        }
        let Some(&p) = population.by_code.get(old) else {
            return Some(Err(Error::Data {
                origin: population.origin.clone(),
                message: format!(
                    "no population for old unit {old} (part of unit {unit}); every old unit with responses before the first reorganisation needs one"
                ),
            }));
        };
        pairs.insert((unit, old), p);
    }
    Some(Ok(treatment_intensity(
        pairs.into_iter().map(|((u, o), p)| (u, o, p)),
        is_pilot,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_codes_and_populations_and_names_bad_rows() {
        let p = Population::from_csv_str(
            "code,name,population\n05506,Lương Sơn,900\n05527,Tân Quang,400.5\n",
            "pop.csv",
        )
        .unwrap();
        assert_eq!(p.by_code["05506"], 900.0);
        assert_eq!(p.by_code["05527"], 400.5);
        let err = |t: &str| {
            Population::from_csv_str(t, "pop.csv")
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("code,population\n05506,900\n05527,-3\n"),
            "pop.csv: row 2, column `population`: `-3` is not a number ≥ 0"
        );
        assert_eq!(
            err("code,population\n5506,900\n"),
            "pop.csv: row 1, column `code`: `5506` is not a 5-digit GSO code"
        );
        assert_eq!(
            err("code,population\n05506,900\n05506,1\n"),
            "pop.csv: row 2, column `code`: 05506 is listed twice"
        );
        assert!(err("code,pop\n05506,900\n").contains("missing column `population`"));
        assert!(err("code,population\n").contains("no rows"));
    }

    /// Hand-computed shares. Bách Quang 05528: Lương Sơn 05506 (pilot, 900
    /// people, 2 rows), Tân Quang 05527 (pilot, 400, 1 row), Bách Quang
    /// 05528 (1300, 5 rows): population share (900 + 400) / 2600 = 0.5,
    /// response share 3 / 8 = 0.375. Định Hóa 05569: Chợ Chu 05536 (pilot,
    /// 1600, 1 row), Bảo Linh 05554 (500, 3 rows), Phúc Chu 05560 (450, 1
    /// row): 1600 / 2550, against 1 / 5 by responses. Rows after the cut
    /// (2025Q3, old code = new code) and 05602 (no pilot) add nothing.
    #[test]
    fn population_share_against_response_share_by_hand() {
        let inst = sipas_core::Instrument::from_toml_str(
            include_str!("../../../../fixtures/reference/survey/instrument.toml"),
            "instrument",
        )
        .unwrap();
        let mut b = crate::Responses::builder(inst);
        let mut old = Vec::new();
        let rows: &[(&str, &str, &str, usize)] = &[
            ("05528", "05506", "2024Q3", 2),
            ("05528", "05527", "2024Q3", 1),
            ("05528", "05528", "2024Q3", 5),
            ("05569", "05536", "2024Q3", 1),
            ("05569", "05554", "2024Q3", 3),
            ("05569", "05560", "2024Q3", 1),
            ("05602", "05602", "2024Q3", 2),
            ("05528", "05528", "2025Q3", 4),
            ("05569", "05569", "2025Q3", 4),
            ("05602", "05602", "2025Q3", 2),
        ];
        for &(unit, o, period, n) in rows {
            for _ in 0..n {
                b.push(unit, period, "survey", 1.0, &[Some(4); 5]).unwrap();
                old.push(o);
            }
        }
        let r = b
            .build()
            .unwrap()
            .with_text_column(sipas_core::schema::OLD_UNIT_CODE, &old)
            .unwrap();
        let pop = Population::from_csv_str(
            "code,population\n05506,900\n05527,400\n05528,1300\n05536,1600\n05554,500\n05560,450\n05602,700\n",
            "pop.csv",
        )
        .unwrap();
        let cut: Period = "2025Q1".parse().unwrap();
        let pilots = ["05506", "05527", "05536"];
        let by_pop = intensity_from_population(&r, |p| p < cut, |_, o| pilots.contains(&o), &pop)
            .unwrap()
            .unwrap();
        let by_resp =
            super::super::intensity_from_responses(&r, |p| p < cut, |_, o| pilots.contains(&o))
                .unwrap();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-15;
        assert!(close(by_pop["05528"].intensity, 0.5));
        assert!(close(by_pop["05528"].basis, 2600.0));
        assert!(close(by_resp["05528"].intensity, 0.375));
        assert!(close(by_pop["05569"].intensity, 1600.0 / 2550.0));
        assert!(close(by_resp["05569"].intensity, 0.2));
        assert!(close(by_pop["05602"].intensity, 0.0));
        assert_eq!(by_pop["05569"].parts.len(), 3);
        // An old unit missing from the file is an error naming it.
        let short = Population::from_csv_str("code,population\n05506,900\n", "pop.csv").unwrap();
        let err = intensity_from_population(&r, |p| p < cut, |_, o| pilots.contains(&o), &short)
            .unwrap()
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("pop.csv: no population for old unit 05527"),
            "{err}"
        );
    }
}
