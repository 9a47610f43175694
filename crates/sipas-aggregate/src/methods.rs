//! `methods.txt` of `sipas aggregate`: how every estimate, interval and test of the results
//! folder was computed, assembled here from the paragraphs each estimate writes, in the order
//! the estimates are made. The command only adds the pieces it computed and writes the file.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use sipas_core::{Level, Period};

use crate::AggregateReport;
use crate::panel::{Evaluation, MergedDid, Treatment, UnitTreatment};
use crate::rollout::{Bacon, Labels, Rollout};

/// The text of `methods.txt`, paragraph by paragraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Methods {
    text: String,
}

impl Methods {
    /// The pilot evaluation's methods, then the survey design in words (`report.design`).
    pub fn evaluation(ev: &Evaluation, report: &AggregateReport) -> Self {
        Methods {
            text: format!(
                "{}\n\n{}\n",
                crate::panel::methods_text(ev).trim_end(),
                report.design
            ),
        }
    }

    /// Without a pilot evaluation (no 2×2 DiD): the survey design in words (`report.design`).
    pub fn design(report: &AggregateReport) -> Self {
        Methods {
            text: format!("{}\n", report.design),
        }
    }

    /// The data: which submissions count once, which channels were pooled and which left out.
    #[must_use]
    pub fn data(mut self, report: &AggregateReport) -> Self {
        self.text
            .push_str(&crate::channels::data_methods_text(report));
        self
    }

    /// The units left out of the pilot / baseline comparison (nothing when none is).
    #[must_use]
    pub fn left_out(mut self, report: &AggregateReport, start: Period) -> Self {
        self.text
            .push_str(&crate::arms::methods_text(&report.left_out, start));
        self
    }

    /// The DiD on today's units under the three treatment definitions (`m`), with each unit's
    /// treatment intensity (`intensity`, of population when `by_population`) and the number
    /// of units without a period before the start (`no_pre`).
    pub fn treatment(
        &mut self,
        m: &MergedDid,
        intensity: &BTreeMap<String, UnitTreatment>,
        by_population: bool,
        no_pre: usize,
        level: Level,
    ) {
        let mixed: Vec<String> = intensity
            .values()
            .filter(|u| u.contains_pilot())
            .map(|u| format!("{} {:.2}", u.unit_code, u.intensity))
            .collect();
        let _ = write!(
            self.text,
            "\nTreatment on today's units. The communes were reorganised (01/12/2024 and 01/07/2025) and the \
             analysis uses today's units, so a unit may hold pilot and non-pilot communes. Each unit's \
             treatment intensity is the share of its {} before the first reorganisation that come from \
             pilot communes (units with a pilot commune: {}). The two-way fixed-effects DiD is estimated three \
             ways (did_twfe.csv, scope treatment): contains_pilot counts every unit with a pilot commune as \
             treated (diluted where the unit is mostly non-pilot); {} uses the share as the treatment \
             (the effect on a fully treated unit if the effect scales with the share); contains_pilot_unmixed \
             leaves the mixed units out. Results: {}. {} units have no period before the start (e.g. former \
             Bắc Kạn, surveyed from 2025Q3) and are left out of these comparisons.\n\n\
             Đơn vị hiện nay. Các xã đã được sắp xếp lại (01/12/2024 và 01/07/2025) nên một đơn vị có thể gồm cả \
             xã thí điểm và xã không thí điểm. Mức độ can thiệp của mỗi đơn vị là tỷ lệ {} trước lần sắp xếp \
             đầu tiên thuộc các xã thí điểm. Khác biệt kép được ước lượng theo ba cách: có chứa xã thí điểm, \
             theo mức độ can thiệp, và bỏ các đơn vị hỗn hợp. {} đơn vị không có kỳ nào trước khi thí điểm bắt \
             đầu (như tỉnh Bắc Kạn cũ) không được đưa vào so sánh.\n",
            if by_population {
                "population (the job's population file, summed over the old units with responses)"
            } else {
                "responses"
            },
            mixed.join(", "),
            Treatment::Intensity.label(by_population),
            m.summary(by_population, level).join("; "),
            no_pre,
            if by_population {
                "dân số"
            } else {
                "phiếu"
            },
            no_pre,
        );
    }

    /// The staggered-rollout evaluation (Callaway–Sant'Anna, and the Goodman-Bacon
    /// decomposition of the TWFE when there is one).
    pub fn staggered(&mut self, r: &Rollout, bacon: Option<&Bacon>, label: Labels<'_>) {
        self.text.push_str("\n\n");
        self.text
            .push_str(crate::rollout::methods_text(r, bacon, label).trim_end());
        self.text.push('\n');
    }

    /// Appends a paragraph (its text begins with its own blank line).
    pub fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Writes `methods.txt` into `dir`, atomically.
    ///
    /// # Errors
    /// The I/O error of writing; the file is then left as it was.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        sipas_core::results::write_methods(dir, &self.text)
    }
}
