//! The report's label catalogue: every chart title, axis title, legend and
//! marker label, and the headings, table headers and figure captions of the
//! page, in Vietnamese (the default) and English (`sipas report --lang en`).
//!
//! The strings live here and nowhere else, so that a translation is one
//! edit and a test can check that an English report carries no Vietnamese
//! label ([`Labels::all`]). Placeholders are named in braces (`{n}`,
//! `{start}`) and filled by [`fill`]. Vietnamese strings are NFC with their
//! diacritics (checked by the tests).
//!
//! Not covered yet: the evaluation, methods, data-quality, survey-mode and
//! today's-units sections, whose headings are already bilingual ("Phương
//! pháp / Methods") and whose prose stays Vietnamese.

use std::fmt;
use std::str::FromStr;

/// The language of the report's labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Lang {
    /// Vietnamese (default).
    #[default]
    Vi,
    /// English.
    En,
}

impl Lang {
    /// The label catalogue of this language.
    #[must_use]
    pub fn labels(self) -> &'static Labels {
        match self {
            Lang::Vi => &VI,
            Lang::En => &EN,
        }
    }

    /// The BCP 47 tag (`vi`, `en`), as in `<html lang>` and `--lang`.
    #[must_use]
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

impl FromStr for Lang {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "vi" => Ok(Lang::Vi),
            "en" => Ok(Lang::En),
            other => Err(format!("unknown report language `{other}` (vi or en)")),
        }
    }
}

/// Every label of the report in one language.
#[derive(Debug)]
#[allow(missing_docs)] // the field names say what each label is
pub struct Labels {
    // Charts.
    pub period_axis: &'static str,
    /// The y axis of the trend charts and small multiples (and the unit of the tables).
    pub sipas_axis: &'static str,
    pub unit_legend: &'static str,
    /// `{n}`: number of comparison units.
    pub baseline_legend: &'static str,
    /// `{start}`: the first pilot period.
    pub start_marker: &'static str,
    /// `{date}`: DD/MM/YYYY.
    pub reorganisation_marker: &'static str,
    pub pilots_title: &'static str,
    pub event_title: &'static str,
    pub event_x: &'static str,
    pub event_y: &'static str,
    pub event_marker: &'static str,
    /// `{df1}`, `{df2}`, `{f}`, `{p}`.
    pub pretrend_subtitle: &'static str,
    /// `{p}`.
    pub pretrend_wild: &'static str,
    pub forest_title: &'static str,
    pub forest_subtitle: &'static str,
    pub forest_x: &'static str,
    pub overall_cr1: &'static str,
    pub overall_wild: &'static str,
    // The page.
    pub page_title: &'static str,
    pub programme_heading: &'static str,
    /// `{program}`, `{pilots}`, `{with_data}`, `{start}`, `{baseline}`, `{periods}`, `{first}`, `{last}`.
    pub programme_text: &'static str,
    /// `{n}`.
    pub with_data: &'static str,
    pub did_heading: &'static str,
    /// `{estimate}`, `{ci}`, `{se}`.
    pub did_headline: &'static str,
    pub before_pilot: &'static str,
    pub since_pilot: &'static str,
    pub change: &'static str,
    pub pilot_units: &'static str,
    pub comparison_group: &'static str,
    /// `{start}`.
    pub did_reading: &'static str,
    pub did_no_rows: &'static str,
    /// `{start}`, `{reason}`.
    pub did_unavailable: &'static str,
    pub groups_heading: &'static str,
    pub period: &'static str,
    pub sipas_column: &'static str,
    pub ci95: &'static str,
    pub units_heading: &'static str,
    pub units_note: &'static str,
    pub unit: &'static str,
    pub charts_heading: &'static str,
    pub pilots_alt: &'static str,
    pub pilots_caption: &'static str,
    /// `{name}`.
    pub trend_alt: &'static str,
    // Today's units (after a crosswalk).
    pub todays_intro: &'static str,
    /// An English gloss shown after the Vietnamese text; empty in English.
    pub todays_intro_gloss: &'static str,
    pub former_communes: &'static str,
    pub pilot_communes: &'static str,
    pub intensity: &'static str,
    pub todays_population_note: &'static str,
    /// An English gloss shown after the Vietnamese text; empty in English.
    pub todays_population_gloss: &'static str,
    pub treatment_definition: &'static str,
    pub estimate: &'static str,
    pub treated_of_total: &'static str,
    pub def_contains_pilot: &'static str,
    pub def_intensity: &'static str,
    pub def_intensity_population: &'static str,
    pub def_contains_pilot_unmixed: &'static str,
}

/// Vietnamese labels (default).
pub const VI: Labels = Labels {
    period_axis: "Kỳ khảo sát",
    sipas_axis: "Điểm SIPAS (0–100)",
    unit_legend: "Đơn vị thí điểm",
    baseline_legend: "Nhóm đối chứng ({n} đơn vị)",
    start_marker: "Bắt đầu thí điểm {start}",
    reorganisation_marker: "Sắp xếp xã {date}",
    pilots_title: "Điểm SIPAS (0–100) của các đơn vị thí điểm và nhóm đối chứng",
    event_title: "Nghiên cứu sự kiện: chênh lệch SIPAS so với nhóm đối chứng",
    event_x: "Số kỳ so với kỳ bắt đầu thí điểm (k)",
    event_y: "Chênh lệch điểm SIPAS (điểm)",
    event_marker: "Bắt đầu thí điểm",
    pretrend_subtitle: "Kiểm định xu hướng trước thí điểm: F({df1}, {df2}) = {f}, p = {p}",
    pretrend_wild: "; p bootstrap hoang dã = {p}",
    forest_title: "Tác động của thí điểm: chung và theo từng đơn vị",
    forest_subtitle: "Tím: chung (TWFE), KTC cụm CR1 và bootstrap hoang dã; \
xanh: từng đơn vị, DiD 2×2, KTC 95% từ sai số khảo sát",
    forest_x: "Chênh lệch điểm SIPAS so với nhóm đối chứng (điểm)",
    overall_cr1: "Chung — KTC cụm (CR1)",
    overall_wild: "Chung — KTC bootstrap hoang dã",
    page_title: "Chỉ số SIPAS: đánh giá mô hình thí điểm",
    programme_heading: "Mô hình thí điểm",
    programme_text: "Mô hình “{program}” được thí điểm tại {pilots} đơn vị cấp xã{with_data}, \
bắt đầu từ kỳ {start}. Nhóm đối chứng gồm {baseline} đơn vị không thí điểm. \
Số liệu gồm {periods} kỳ khảo sát ({first}–{last}).",
    with_data: " (có số liệu: {n} đơn vị)",
    did_heading: "Ước lượng khác biệt kép (DiD)",
    did_headline: "{estimate} điểm phần trăm (khoảng tin cậy 95%: {ci}; sai số chuẩn {se})",
    before_pilot: "Trước thí điểm",
    since_pilot: "Từ khi thí điểm",
    change: "Thay đổi",
    pilot_units: "Đơn vị thí điểm",
    comparison_group: "Nhóm đối chứng",
    did_reading: "Cách đọc: ước lượng khác biệt kép lấy mức thay đổi của chỉ số SIPAS \
ở các đơn vị thí điểm (trung bình từ kỳ {start} trở đi so với trung bình các kỳ trước) \
trừ đi mức thay đổi cùng thời gian của nhóm đối chứng. Nhờ vậy, những biến động chung \
của cả tỉnh (ví dụ một kỳ khảo sát mà mọi nơi đều tăng) bị loại ra, phần còn lại là \
mức tăng thêm gắn với thí điểm. Giá trị dương nghĩa là sự hài lòng ở các đơn vị thí \
điểm tăng nhanh hơn nhóm đối chứng. Nếu khoảng tin cậy 95% chứa 0 thì số liệu chưa đủ \
để khẳng định có khác biệt. Kết quả chỉ đáng tin khi hai nhóm có xu hướng giống nhau \
trước thí điểm: hãy xem các biểu đồ bên dưới.",
    did_no_rows: "did.csv không có dòng nào",
    did_unavailable: "Chưa ước lượng được khác biệt kép: \
cần số liệu cả trước và từ kỳ bắt đầu thí điểm ({start}).",
    groups_heading: "Thí điểm và đối chứng theo kỳ",
    period: "Kỳ",
    sipas_column: "SIPAS (0–100)",
    ci95: "KTC 95%",
    units_heading: "Các đơn vị thí điểm theo kỳ",
    units_note: "Mỗi ô: điểm SIPAS (0–100), khoảng tin cậy 95% và số phiếu n. \
Cột tô màu: từ khi thí điểm.",
    unit: "Đơn vị",
    charts_heading: "Biểu đồ",
    pilots_alt: "Điểm SIPAS của các đơn vị thí điểm và nhóm đối chứng, cùng một trục tung",
    pilots_caption: "Đường xanh: đơn vị thí điểm; đường cam: nhóm đối chứng; \
vùng tô: khoảng tin cậy 95%; đường nét đứt: kỳ bắt đầu thí điểm.",
    trend_alt: "Điểm SIPAS theo kỳ: {name}",
    todays_intro: "Sau các lần sắp xếp đơn vị hành chính cấp xã (01/12/2024, 01/07/2025), \
mỗi đơn vị hiện nay gồm một hoặc nhiều xã cũ. Mức độ can thiệp: tỷ lệ phiếu (hoặc dân số, \
khi có) trước lần sắp xếp đầu tiên thuộc các xã thí điểm.",
    todays_intro_gloss: "After the reorganisations each unit of today holds one or more \
former communes; its treatment intensity is the share of its responses (or of its population, \
when given) before the first reorganisation from pilot communes.",
    former_communes: "Các xã cũ",
    pilot_communes: "Xã thí điểm",
    intensity: "Mức độ can thiệp",
    todays_population_note: "Mức độ can thiệp tính theo dân số: tỷ lệ dân số của đơn vị \
sống ở các xã thí điểm.",
    todays_population_gloss: "Intensity here is the share of the unit's population living in \
pilot communes (from the population file given to the job).",
    treatment_definition: "Định nghĩa can thiệp / treatment",
    estimate: "Ước lượng",
    treated_of_total: "Đơn vị can thiệp / tổng",
    def_contains_pilot: "Có chứa xã thí điểm (contains_pilot)",
    def_intensity: "Theo mức độ can thiệp (intensity)",
    def_intensity_population: "Theo mức độ can thiệp, tính theo dân số (intensity_population)",
    def_contains_pilot_unmixed: "Bỏ đơn vị hỗn hợp (contains_pilot_unmixed)",
};

/// English labels (`--lang en`).
pub const EN: Labels = Labels {
    period_axis: "Survey period",
    sipas_axis: "SIPAS score (0–100)",
    unit_legend: "Pilot unit",
    baseline_legend: "Comparison group ({n} units)",
    start_marker: "Pilot starts {start}",
    reorganisation_marker: "Communes reorganised {date}",
    pilots_title: "SIPAS score (0–100) of the pilot units and the comparison group",
    event_title: "Event study: SIPAS difference from the comparison group",
    event_x: "Periods since the pilot start (k)",
    event_y: "Difference in SIPAS score (points)",
    event_marker: "Pilot starts",
    pretrend_subtitle: "Pre-trend test: F({df1}, {df2}) = {f}, p = {p}",
    pretrend_wild: "; wild bootstrap p = {p}",
    forest_title: "Effect of the pilot: overall and per unit",
    forest_subtitle: "Purple: overall (TWFE), cluster CR1 and wild bootstrap 95% CI; \
blue: each unit, 2×2 DiD, 95% CI from survey standard errors",
    forest_x: "Difference in SIPAS score from the comparison group (points)",
    overall_cr1: "Overall — cluster CI (CR1)",
    overall_wild: "Overall — wild bootstrap CI",
    page_title: "SIPAS index: evaluation of the pilot",
    programme_heading: "The pilot",
    programme_text: "The model “{program}” is piloted in {pilots} commune-level units{with_data}, \
starting in period {start}. The comparison group holds {baseline} units without the pilot. \
The data cover {periods} survey periods ({first}–{last}).",
    with_data: " (with data: {n} units)",
    did_heading: "Difference-in-differences estimate (DiD)",
    did_headline: "{estimate} percentage points (95% confidence interval: {ci}; standard error {se})",
    before_pilot: "Before the pilot",
    since_pilot: "Since the pilot",
    change: "Change",
    pilot_units: "Pilot units",
    comparison_group: "Comparison group",
    did_reading: "How to read it: the difference-in-differences estimate takes the change \
of the SIPAS index in the pilot units (mean from period {start} on against the mean of the \
periods before) minus the change of the comparison group over the same time. Movements \
common to the whole province (a period in which every place rises) cancel out; what remains \
is the extra gain that goes with the pilot. A positive value means satisfaction in the pilot \
units rose faster than in the comparison group. When the 95% confidence interval contains 0 \
the data do not establish a difference. The result is trustworthy only when both groups \
moved alike before the pilot: see the charts below.",
    did_no_rows: "did.csv has no rows",
    did_unavailable: "The difference-in-differences could not be estimated: it needs data \
both before and from the pilot's first period ({start}).",
    groups_heading: "Pilot and comparison units by period",
    period: "Period",
    sipas_column: "SIPAS (0–100)",
    ci95: "95% CI",
    units_heading: "The pilot units by period",
    units_note: "Each cell: SIPAS score (0–100), 95% confidence interval and number of \
responses n. Shaded columns: since the pilot.",
    unit: "Unit",
    charts_heading: "Charts",
    pilots_alt: "SIPAS score of the pilot units and the comparison group, on one shared y axis",
    pilots_caption: "Blue line: pilot unit; orange line: comparison group; shaded: 95% \
confidence interval; dashed line: first pilot period.",
    trend_alt: "SIPAS score by period: {name}",
    todays_intro: "After the reorganisations of the commune-level units (01/12/2024, \
01/07/2025), each unit of today holds one or more former communes. Treatment intensity: the \
share of its responses (or of its population, when given) before the first reorganisation \
that come from pilot communes.",
    todays_intro_gloss: "",
    former_communes: "Former communes",
    pilot_communes: "Pilot communes",
    intensity: "Treatment intensity",
    todays_population_note: "Intensity by population: the share of the unit's population \
living in pilot communes (from the population file given to the job).",
    todays_population_gloss: "",
    treatment_definition: "Treatment definition",
    estimate: "Estimate",
    treated_of_total: "Treated units / total",
    def_contains_pilot: "Contains a pilot commune (contains_pilot)",
    def_intensity: "By treatment intensity (intensity)",
    def_intensity_population: "By treatment intensity, population-based (intensity_population)",
    def_contains_pilot_unmixed: "Mixed units left out (contains_pilot_unmixed)",
};

impl Labels {
    /// Every label with its field name, in declaration order (for tests and
    /// for checking that a translation is complete).
    #[must_use]
    pub fn all(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("period_axis", self.period_axis),
            ("sipas_axis", self.sipas_axis),
            ("unit_legend", self.unit_legend),
            ("baseline_legend", self.baseline_legend),
            ("start_marker", self.start_marker),
            ("reorganisation_marker", self.reorganisation_marker),
            ("pilots_title", self.pilots_title),
            ("event_title", self.event_title),
            ("event_x", self.event_x),
            ("event_y", self.event_y),
            ("event_marker", self.event_marker),
            ("pretrend_subtitle", self.pretrend_subtitle),
            ("pretrend_wild", self.pretrend_wild),
            ("forest_title", self.forest_title),
            ("forest_subtitle", self.forest_subtitle),
            ("forest_x", self.forest_x),
            ("overall_cr1", self.overall_cr1),
            ("overall_wild", self.overall_wild),
            ("page_title", self.page_title),
            ("programme_heading", self.programme_heading),
            ("programme_text", self.programme_text),
            ("with_data", self.with_data),
            ("did_heading", self.did_heading),
            ("did_headline", self.did_headline),
            ("before_pilot", self.before_pilot),
            ("since_pilot", self.since_pilot),
            ("change", self.change),
            ("pilot_units", self.pilot_units),
            ("comparison_group", self.comparison_group),
            ("did_reading", self.did_reading),
            ("did_no_rows", self.did_no_rows),
            ("did_unavailable", self.did_unavailable),
            ("groups_heading", self.groups_heading),
            ("period", self.period),
            ("sipas_column", self.sipas_column),
            ("ci95", self.ci95),
            ("units_heading", self.units_heading),
            ("units_note", self.units_note),
            ("unit", self.unit),
            ("charts_heading", self.charts_heading),
            ("pilots_alt", self.pilots_alt),
            ("pilots_caption", self.pilots_caption),
            ("trend_alt", self.trend_alt),
            ("todays_intro", self.todays_intro),
            ("todays_intro_gloss", self.todays_intro_gloss),
            ("former_communes", self.former_communes),
            ("pilot_communes", self.pilot_communes),
            ("intensity", self.intensity),
            ("todays_population_note", self.todays_population_note),
            ("todays_population_gloss", self.todays_population_gloss),
            ("treatment_definition", self.treatment_definition),
            ("estimate", self.estimate),
            ("treated_of_total", self.treated_of_total),
            ("def_contains_pilot", self.def_contains_pilot),
            ("def_intensity", self.def_intensity),
            ("def_intensity_population", self.def_intensity_population),
            (
                "def_contains_pilot_unmixed",
                self.def_contains_pilot_unmixed,
            ),
        ]
    }
}

/// `template` with each `{name}` replaced by its value (NFC).
#[must_use]
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut s = template.to_string();
    for (name, value) in values {
        s = s.replace(&format!("{{{name}}}"), value);
    }
    sipas_core::text::nfc(&s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_is_translated_and_vietnamese_is_nfc() {
        let (vi, en) = (VI.all(), EN.all());
        assert_eq!(vi.len(), en.len());
        for ((k, v), (_, e)) in vi.iter().zip(&en) {
            assert_eq!(*v, sipas_core::text::nfc(v), "{k} is not NFC");
            // A gloss is the English text shown beside the Vietnamese; English needs none.
            assert!(
                !e.is_empty() || k.ends_with("_gloss"),
                "{k} has no English label"
            );
            // Same placeholders in both languages.
            let holes = |s: &str| {
                let mut h: Vec<String> = s
                    .split('{')
                    .skip(1)
                    .filter_map(|t| t.split_once('}').map(|(n, _)| n.to_string()))
                    .collect();
                h.sort();
                h
            };
            assert_eq!(holes(v), holes(e), "{k}: placeholders differ");
            // English labels use no Vietnamese letters (ASCII plus typography).
            assert!(
                e.chars().all(|c| c.is_ascii() || "–—“”×".contains(c)),
                "{k}: `{e}` has a non-English letter"
            );
        }
        // The y axis of the trend chart says what its values are, with the unit.
        assert_eq!(VI.sipas_axis, "Điểm SIPAS (0–100)");
        assert_eq!(EN.sipas_axis, "SIPAS score (0–100)");
        assert!(VI.pilots_title.starts_with(VI.sipas_axis));
        assert!(EN.pilots_title.starts_with(EN.sipas_axis));
    }

    #[test]
    fn fill_replaces_named_holes() {
        assert_eq!(
            fill(EN.baseline_legend, &[("n", "80")]),
            "Comparison group (80 units)"
        );
        assert_eq!(
            fill(VI.baseline_legend, &[("n", "80")]),
            "Nhóm đối chứng (80 đơn vị)"
        );
        assert_eq!("vi".parse::<Lang>(), Ok(Lang::Vi));
        assert_eq!("EN".parse::<Lang>(), Ok(Lang::En));
        assert!("fr".parse::<Lang>().is_err());
    }
}
