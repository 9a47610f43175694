//! SIPAS by survey mode (`modes.csv` of the results folder): each pair of
//! modes per period with their difference and its interval.

use std::fmt::Write as _;
use std::path::Path;

use crate::Result;
use crate::html::escape;
use crate::labels::Labels;
use crate::table::Table;

/// The results file with SIPAS by mode and the differences between modes.
pub const MODES_CSV: &str = sipas_core::results::MODES.file;

// One row of `modes.csv`: the results contract's row type, as the design estimates wrote it.
pub use sipas_core::results::ModesRow as ModeRow;

/// Reads `modes.csv` from a results folder; empty when the file is absent
/// (older results, or a survey with one mode).
pub fn load_modes(dir: &Path) -> Result<Vec<ModeRow>> {
    let path = dir.join(MODES_CSV);
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let mut t = Table::open(dir, &sipas_core::results::MODES)?;
    let period = t.col("period")?;
    let (a, b) = (t.col("mode_a")?, t.col("mode_b")?);
    let (na, nb) = (t.col("n_a")?, t.col("n_b")?);
    let nums = [
        "sipas_a",
        "se_a",
        "sipas_b",
        "se_b",
        "difference",
        "se",
        "lo",
        "hi",
    ]
    .map(|c| t.col(c));
    let mut cols = Vec::with_capacity(nums.len());
    for c in nums {
        cols.push(c?);
    }
    let rows = t.rows()?;
    rows.iter()
        .map(|r| {
            let v = |k: usize| r.opt_f64(&path, cols[k]);
            Ok(ModeRow {
                period: r.period(&path, period)?,
                mode_a: r.text(a).to_string(),
                mode_b: r.text(b).to_string(),
                n_a: r.count(&path, na)? as usize,
                n_b: r.count(&path, nb)? as usize,
                sipas_a: v(0)?,
                se_a: v(1)?,
                sipas_b: v(2)?,
                se_b: v(3)?,
                difference: v(4)?,
                se: v(5)?,
                lo: v(6)?,
                hi: v(7)?,
            })
        })
        .collect()
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_string(), |x| format!("{x:.2}"))
}

/// The "SIPAS theo hình thức khảo sát / by survey mode" section; empty
/// without rows.
pub(crate) fn section(h: &mut String, rows: &[ModeRow], l: &Labels) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        h,
        "<h2>{}</h2>\n<p>{}</p>\n\
         <div class=\"scroll\"><table>\n<tr><th class=\"name\">{}</th>\
         <th class=\"name\">{}</th><th>n</th><th>SIPAS (SE)</th>\
         <th class=\"name\">{}</th><th>n</th><th>SIPAS (SE)</th>\
         <th>A − B</th><th>{}</th></tr>",
        escape(l.modes_heading),
        escape(l.modes_intro),
        escape(l.period),
        escape(l.mode_a),
        escape(l.mode_b),
        escape(l.ci_label)
    );
    for r in rows {
        let _ = writeln!(
            h,
            "<tr><td class=\"name\">{}</td><td class=\"name\">{}</td><td>{}</td><td>{} ({})</td>\
             <td class=\"name\">{}</td><td>{}</td><td>{} ({})</td><td>{}</td><td>{} – {}</td></tr>",
            escape(&r.period.to_string()),
            escape(l.channel(&r.mode_a)),
            r.n_a,
            num(r.sipas_a),
            num(r.se_a),
            escape(l.channel(&r.mode_b)),
            r.n_b,
            num(r.sipas_b),
            num(r.se_b),
            num(r.difference),
            num(r.lo),
            num(r.hi)
        );
    }
    h.push_str("</table></div>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_file_and_renders_each_pair() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load_modes(dir.path()).unwrap().is_empty());
        std::fs::write(
            dir.path().join(MODES_CSV),
            "period,mode_a,mode_b,n_a,n_b,sipas_a,se_a,sipas_b,se_b,difference,se,lo,hi\n\
             2024Q1,online,paper,30,50,80.000000,2.000000,84.500000,1.500000,-4.500000,2.400000,-9.204000,0.204000\n",
        )
        .unwrap();
        let rows = load_modes(dir.path()).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].difference, Some(-4.5));
        let mut h = String::new();
        section(&mut h, &rows, &crate::labels::VI);
        assert!(h.contains("<td>-4.50</td><td>-9.20 – 0.20</td>"), "{h}");
        assert!(h.contains("Trực tuyến"), "{h}");
    }
}
