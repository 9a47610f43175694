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
//! Every section of the page is covered: the evaluation detail, methods,
//! data-quality, survey-mode and today's-units sections too. Their headings
//! stay bilingual in the Vietnamese report; a `_gloss` label is the English
//! gloss the Vietnamese page shows, empty in English. Channel and reason
//! labels are keyed tables ([`Labels::channel`], [`Labels::reason`]); element
//! names come from the instrument (`name_vi` / `name_en`). A few labels hold
//! `{name}` holes for markup (`{survey}`, `{model}`): the page escapes the
//! label first, then fills those holes with its own HTML.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};

use sipas_core::Level;

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
    /// The label catalogue of this language at the default confidence level
    /// (see [`Lang::labels_at`]).
    #[must_use]
    pub fn labels(self) -> &'static Labels {
        self.labels_at(Level::DEFAULT)
    }

    /// The label catalogue of this language with every `{level}` written
    /// as `level` (`95%`, `90%`): the level the results were computed at.
    /// Built once per language and level.
    #[must_use]
    pub fn labels_at(self, level: Level) -> &'static Labels {
        type Cache = Mutex<HashMap<(Lang, u64), &'static Labels>>;
        static CACHE: OnceLock<Cache> = OnceLock::new();
        let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
        let mut cache = cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .entry((self, level.value().to_bits()))
            .or_insert_with(|| Box::leak(Box::new(self.templates().at_level(level))))
    }

    /// [`Lang::labels_at`] for results whose headline index is not SIPAS: every label that
    /// names SIPAS names the headline instead (`name`, this language's name of the index, on
    /// its `scale`, e.g. `3–30`), and its differences are in the index's points, not percentage
    /// points. `None` or a SIPAS headline: [`Lang::labels_at`]. Built once per headline.
    #[must_use]
    pub fn labels_for(self, level: Level, headline: Option<(&str, &str)>) -> &'static Labels {
        type Cache = Mutex<HashMap<(Lang, u64, String, String), &'static Labels>>;
        static CACHE: OnceLock<Cache> = OnceLock::new();
        let Some((name, scale)) = headline else {
            return self.labels_at(level);
        };
        let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
        let mut cache = cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let base = self.labels_at(level);
        cache
            .entry((
                self,
                level.value().to_bits(),
                name.to_string(),
                scale.to_string(),
            ))
            .or_insert_with(|| Box::leak(Box::new(base.for_index(self, name, scale))))
    }

    /// The catalogue with its `{level}` holes unfilled.
    fn templates(self) -> &'static Labels {
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
    // The headline indices (`indices.csv`) and the commune PAR ranking.
    pub pilots_pooled_legend: &'static str,
    pub index_axis: &'static str,
    pub indices_title: &'static str,
    pub indices_text: &'static str,
    pub col_index: &'static str,
    pub col_scale: &'static str,
    pub col_did: &'static str,
    pub col_twfe: &'static str,
    pub col_pretrend: &'static str,
    pub col_uncertainty: &'static str,
    pub uncertainty_survey: &'static str,
    pub uncertainty_par: &'static str,
    pub par_ranking_title: &'static str,
    pub par_ranking_text: &'static str,
    pub col_rank: &'static str,
    pub col_unit: &'static str,
    pub col_total: &'static str,
    pub col_rank_interval: &'static str,
    pub col_att: &'static str,
    /// `{index}`: the index's name.
    pub index_event_title: &'static str,
    pub index_effect_axis: &'static str,
    /// `{level}`: the confidence level.
    pub index_event_caption: &'static str,
    /// `{name}`, `{id}`, `{scale}`.
    pub index_section_heading: &'static str,
    pub index_quadrants: &'static str,
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
    pub ci_label: &'static str,
    pub units_heading: &'static str,
    pub units_note: &'static str,
    pub unit: &'static str,
    pub charts_heading: &'static str,
    pub pilots_alt: &'static str,
    pub pilots_caption: &'static str,
    /// `{name}`.
    pub trend_alt: &'static str,
    // Today's units (after a crosswalk).
    /// Bilingual in Vietnamese, as the page always had it.
    pub todays_heading: &'static str,
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
    // Survey modes and data quality.
    /// Bilingual in Vietnamese.
    pub modes_heading: &'static str,
    /// Bilingual in Vietnamese.
    pub quality_heading: &'static str,
    pub modes_intro: &'static str,
    pub mode_a: &'static str,
    pub mode_b: &'static str,
    /// After ✗ when an identity does not hold.
    pub mismatch: &'static str,
    pub code: &'static str,
    pub responses: &'static str,
    pub ingest_heading: &'static str,
    /// `{read}`, `{accepted}`, `{quarantined}`.
    pub ingest_summary: &'static str,
    /// `{read}`, `{accepted}`, `{quarantined}`, `{sum}`, `{check1}`, `{check2}`.
    pub ingest_identity: &'static str,
    pub quarantine_reasons: &'static str,
    pub clean_heading: &'static str,
    /// `{rows_in}`, `{kept}`, `{excluded}`.
    pub clean_summary: &'static str,
    /// `{rows_in}`, `{kept}`, `{excluded}`, `{sum}`, `{check1}`, `{check2}`.
    pub clean_identity: &'static str,
    pub exclusion_reasons: &'static str,
    pub flagged_note: &'static str,
    pub flagged_caption: &'static str,
    /// `{accepted}`, `{rows_in}`, `{check}`.
    pub ingest_clean_link: &'static str,
    pub aggregate_heading: &'static str,
    /// `{read}`, `{used}`, `{channel}`, `{other}`.
    pub aggregate_summary: &'static str,
    pub channel: &'static str,
    pub used: &'static str,
    pub set_apart: &'static str,
    /// `{read}`, `{used}`, `{other}`, `{sum}`, `{cells}`, `{check1}`, `{check2}`, `{check3}`.
    pub aggregate_identity: &'static str,
    /// `{kept}`, `{read}`, `{check}`.
    pub clean_aggregate_link: &'static str,
    /// `{steps}`, `{check}`.
    pub chain: &'static str,
    /// `{n}`.
    pub chain_read: &'static str,
    /// `{n}`.
    pub chain_accepted: &'static str,
    /// `{n}`.
    pub chain_clean_in: &'static str,
    /// `{n}`.
    pub chain_kept: &'static str,
    /// `{n}`.
    pub chain_aggregate_in: &'static str,
    /// `{n}`.
    pub chain_used: &'static str,
    // The evaluation detail.
    /// Bilingual in Vietnamese.
    pub eval_heading: &'static str,
    pub eval_intro: &'static str,
    pub method: &'static str,
    pub standard_error: &'static str,
    pub note: &'static str,
    pub did_pooled: &'static str,
    pub did_pooled_note: &'static str,
    pub twfe_cr1: &'static str,
    /// `{clusters}`, `{treated}`, `{cells}`.
    pub twfe_note: &'static str,
    pub twfe_wild: &'static str,
    /// `{weights}`, `{replicates}`, `{seed}`.
    pub wild_note: &'static str,
    /// `{cells}`, `{pilots}`, `{baseline}`, `{set}`, `{weighting}`, `{dropped}`, `{outside}`, `{undefined}`.
    pub selection_note: &'static str,
    /// `{later}`, `{later_cells}`: units of later waves, not in the first wave's comparison.
    pub selection_later_wave: &'static str,
    pub twfe_reading: &'static str,
    pub pretrend_heading: &'static str,
    /// `{q}`, `{df1}`, `{df2}`, `{f}`, `{p}`, `{wild}` (the filled [`Labels::pretrend_wild`] or nothing).
    pub pretrend_text: &'static str,
    pub event_caption: &'static str,
    pub reference: &'static str,
    pub forest_caption: &'static str,
    pub unit_effects_heading: &'static str,
    pub unit_effects_text: &'static str,
    /// An English gloss shown after the Vietnamese text; empty in English.
    pub unit_effects_gloss: &'static str,
    pub did_survey_se: &'static str,
    pub before: &'static str,
    pub after: &'static str,
    // The methods section.
    /// Bilingual in Vietnamese.
    pub methods_heading: &'static str,
    pub index_heading: &'static str,
    pub index_text: &'static str,
    /// `{pilot_units}`, `{baseline}`, `{periods}`, `{first}`, `{last}`, `{start}`, `{pre}`, `{post}`.
    pub data_text: &'static str,
    pub se_heading: &'static str,
    /// `{survey}`: the R package's name (set in italics).
    pub se_text: &'static str,
    /// `{design}`: the declared design (English).
    pub design_text: &'static str,
    pub did22_heading: &'static str,
    /// `{start}`, `{per_unit}` (the filled [`Labels::did22_per_unit`] or nothing).
    pub did22_text: &'static str,
    pub did22_per_unit: &'static str,
    pub twfe_heading: &'static str,
    /// `{model}`, `{alpha}`, `{lambda}`, `{d}` (formulas), `{start}`, `{clusters}`, `{treated}`, `{cells}`.
    pub twfe_text: &'static str,
    /// `{treated}`, `{weights}`, `{replicates}`, `{seed}`.
    pub wcr_text: &'static str,
    pub webb_weights: &'static str,
    pub event_heading: &'static str,
    /// `{beta_k}` (formula), `{start}`, `{reference}`, `{wild}` (the filled [`Labels::event_wild`] or nothing).
    pub event_text: &'static str,
    /// `{k}`, `{period}`.
    pub ref_k: &'static str,
    pub ref_default: &'static str,
    pub event_wild: &'static str,
    pub assumptions_heading: &'static str,
    pub assume_parallel: &'static str,
    /// `{start}`.
    pub assume_anticipation: &'static str,
    pub assume_spillover: &'static str,
    /// `{pilot_units}`.
    pub assume_few: &'static str,
    // The parts-and-elements table.
    /// `{period}`.
    pub elements_heading: &'static str,
    pub part_element: &'static str,
    pub difference: &'static str,
    // The staggered rollout.
    /// Bilingual in Vietnamese.
    pub rollout_heading: &'static str,
    /// `{estimate}`, `{ci}`, `{waves}`.
    pub rollout_headline: &'static str,
    /// `{estimator}`, `{control}`, `{base}`.
    pub rollout_method: &'static str,
    pub rollout_estimator: &'static str,
    pub control_never: &'static str,
    pub control_not_yet: &'static str,
    pub base_varying: &'static str,
    pub base_universal: &'static str,
    pub rollout_design_variance: &'static str,
    /// `{twfe}`, `{forbidden}`.
    pub rollout_twfe: &'static str,
    pub rollout_title: &'static str,
    pub rollout_x: &'static str,
    pub rollout_y: &'static str,
    /// `{start}`.
    pub rollout_wave: &'static str,
    pub rollout_pooled: &'static str,
    pub rollout_caption: &'static str,
    /// Response channel key → label.
    pub channels: &'static [(&'static str, &'static str)],
    /// Ingest / clean reason key → label.
    pub reasons: &'static [(&'static str, &'static str)],
}

/// Vietnamese labels (default).
pub const VI: Labels = Labels {
    pilots_pooled_legend: "Các đơn vị thí điểm (gộp)",
    index_axis: "Điểm chỉ số",
    indices_title: "Các chỉ số: đơn vị thí điểm so với nhóm đối chứng",
    indices_text: "Mỗi chỉ số của bộ công cụ được ước lượng theo cùng một cách như SIPAS: giá trị từng đơn vị × kỳ, nhóm thí điểm và nhóm đối chứng gộp theo kỳ với khoảng tin cậy theo thiết kế khảo sát, khác biệt kép 2×2 và ước lượng hai chiều cố định (TWFE) trên bảng đơn vị × kỳ. Mỗi chỉ số giữ thang điểm của nó (SIPAS 0–100, mỗi chỉ số nội dung PAPI 1–10, Chỉ số CCHC 0–100).",
    col_index: "Chỉ số",
    col_scale: "Thang điểm",
    col_did: "Khác biệt kép 2×2 (khoảng tin cậy)",
    col_twfe: "TWFE (khoảng tin cậy)",
    col_pretrend: "p kiểm định xu hướng trước",
    col_uncertainty: "Khoảng tin cậy phản ánh",
    uncertainty_survey: "sai số chọn mẫu của khảo sát",
    uncertainty_par: "chỉ sai số của phần khảo sát (điểm thẩm định không có sai số chọn mẫu)",
    par_ranking_title: "Xếp hạng Chỉ số CCHC cấp xã, kỳ {period}",
    par_ranking_text: "Tổng điểm = điểm thẩm định các tiêu chí + điểm từ khảo sát (SIPAS và các chỉ số nội dung PAPI quy đổi theo quy tắc trong tệp công cụ). Khoảng tin cậy chỉ phản ánh sai số của phần khảo sát. Khoảng hạng: hạng của đơn vị trong các lần rút ngẫu nhiên tổng điểm của mọi đơn vị theo phân phối chuẩn (ước lượng, sai số chuẩn).",
    col_rank: "Hạng",
    col_unit: "Đơn vị",
    col_total: "Tổng điểm (khoảng tin cậy)",
    col_rank_interval: "Khoảng hạng",
    col_att: "Tác động chung theo đợt, Callaway–Sant'Anna (khoảng tin cậy)",
    index_event_title: "{index}: tác động theo số kỳ kể từ khi bắt đầu",
    index_effect_axis: "Tác động (điểm chỉ số)",
    index_event_caption: "Tác động theo số kỳ kể từ khi bắt đầu (nghiên cứu sự kiện Callaway–Sant'Anna, cùng nhóm so sánh và kỳ gốc như đánh giá theo đợt của lần chạy); các kỳ âm kiểm tra xu hướng song song trước khi bắt đầu; đường mảnh là từng đợt; dải xám là KTC {level} từng điểm.",
    index_section_heading: "{name} ({id}, thang {scale})",
    index_quadrants: "Giá trị gộp của nhóm thí điểm và nhóm đối chứng trước và từ kỳ bắt đầu; khác biệt kép 2×2 là thay đổi của nhóm thí điểm trừ thay đổi của nhóm đối chứng.",
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
xanh: từng đơn vị, DiD 2×2, KTC {level} từ sai số khảo sát",
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
    did_headline: "{estimate} điểm phần trăm (khoảng tin cậy {level}: {ci}; sai số chuẩn {se})",
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
điểm tăng nhanh hơn nhóm đối chứng. Nếu khoảng tin cậy {level} chứa 0 thì số liệu chưa đủ \
để khẳng định có khác biệt. Kết quả chỉ đáng tin khi hai nhóm có xu hướng giống nhau \
trước thí điểm: hãy xem các biểu đồ bên dưới.",
    did_no_rows: "did.csv không có dòng nào",
    did_unavailable: "Chưa ước lượng được khác biệt kép: \
cần số liệu cả trước và từ kỳ bắt đầu thí điểm ({start}).",
    groups_heading: "Thí điểm và đối chứng theo kỳ",
    period: "Kỳ",
    sipas_column: "SIPAS (0–100)",
    ci_label: "KTC {level}",
    units_heading: "Các đơn vị thí điểm theo kỳ",
    units_note: "Mỗi ô: điểm SIPAS (0–100), khoảng tin cậy {level} và số phiếu n. \
Cột tô màu: từ khi thí điểm.",
    unit: "Đơn vị",
    charts_heading: "Biểu đồ",
    pilots_alt: "Điểm SIPAS của các đơn vị thí điểm và nhóm đối chứng, cùng một trục tung",
    pilots_caption: "Đường xanh: đơn vị thí điểm; đường cam: nhóm đối chứng; \
vùng tô: khoảng tin cậy {level}; đường nét đứt: kỳ bắt đầu thí điểm.",
    trend_alt: "Điểm SIPAS theo kỳ: {name}",
    todays_heading: "Đơn vị hiện nay và thí điểm / Pilots on today's units",
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
    modes_heading: "SIPAS theo hình thức khảo sát / By survey mode",
    quality_heading: "Chất lượng dữ liệu / Data quality",
    modes_intro: "Các hình thức khảo sát (giấy, trực tuyến, điện thoại…) là các phần của cùng một mẫu: chỉ số chung gộp tất cả. Bảng so sánh từng cặp hình thức trong mỗi kỳ; chênh lệch có khoảng tin cậy {level} tính theo thiết kế mẫu (hai hình thức chung tầng nên không độc lập). Chênh lệch lớn gợi ý hiệu ứng hình thức khảo sát.",
    mode_a: "Hình thức A",
    mode_b: "Hình thức B",
    mismatch: "không khớp",
    code: "Mã",
    responses: "Số phiếu",
    ingest_heading: "Nhập số liệu (ingest)",
    ingest_summary: "Đọc {read} phiếu: nhận {accepted}, cách ly {quarantined}.",
    ingest_identity: "Đối chiếu: {read} đọc = {accepted} nhận + {quarantined} cách ly {check1}; {quarantined} cách ly = tổng theo lý do {sum} {check2}",
    quarantine_reasons: "Lý do cách ly",
    clean_heading: "Làm sạch (clean)",
    clean_summary: "Vào {rows_in} phiếu: giữ {kept}, loại {excluded}.",
    clean_identity: "Đối chiếu: {rows_in} vào = {kept} giữ + {excluded} loại {check1}; {excluded} loại = tổng theo lý do {sum} {check2}",
    exclusion_reasons: "Lý do loại",
    flagged_note: "Phiếu được đánh dấu vẫn được giữ (trừ khi cấu hình loại chúng); một phiếu có thể mang nhiều dấu.",
    flagged_caption: "Phiếu giữ lại có đánh dấu",
    ingest_clean_link: "Nối hai bước: {accepted} nhận ở bước nhập = {rows_in} vào bước làm sạch {check}",
    aggregate_heading: "Tổng hợp (aggregate)",
    aggregate_summary: "Đọc {read} phiếu sau làm sạch: dùng {used} phiếu của kênh “{channel}”, để riêng {other} phiếu của các kênh khác (không bao giờ gộp chung).",
    channel: "Kênh",
    used: "Dùng",
    set_apart: "Để riêng",
    aggregate_identity: "Đối chiếu: {read} đọc = {used} dùng + {other} kênh khác {check1}; {other} kênh khác = tổng theo kênh {sum} {check2}; {used} dùng = tổng n các ô đơn vị × kỳ {cells} {check3}",
    clean_aggregate_link: "Nối hai bước: {kept} giữ ở bước làm sạch = {read} đọc ở bước tổng hợp {check}",
    chain: "Chuỗi số phiếu: {steps} {check}",
    chain_read: "{n} đọc",
    chain_accepted: "{n} nhận",
    chain_clean_in: "{n} vào làm sạch",
    chain_kept: "{n} giữ",
    chain_aggregate_in: "{n} vào tổng hợp",
    chain_used: "{n} dùng",
    eval_heading: "Đánh giá thí điểm / Pilot evaluation",
    eval_intro: "Ba cách ước lượng cùng một câu hỏi: chỉ số SIPAS ở các đơn vị thí điểm tăng thêm bao nhiêu điểm so với nhóm đối chứng kể từ khi thí điểm.",
    method: "Phương pháp",
    standard_error: "Sai số chuẩn",
    note: "Ghi chú",
    did_pooled: "DiD 2×2 gộp",
    did_pooled_note: "sai số theo phiếu, bỏ qua biến động giữa các đơn vị",
    twfe_cr1: "DiD hai chiều cố định (TWFE), sai số cụm CR1",
    twfe_note: "{clusters} đơn vị ({treated} thí điểm), {cells} ô đơn vị × kỳ; t với G − 1 bậc tự do",
    twfe_wild: "TWFE, bootstrap cụm hoang dã (WCR)",
    wild_note: "trọng số {weights}, {replicates} lần lặp, hạt giống {seed}",
    selection_note: "Bảng số liệu: {cells} ô của {pilots} đơn vị thí điểm và {baseline} đơn vị đối chứng (nhóm so sánh: {set}; trọng số: {weighting}); bỏ {dropped} đơn vị, {outside} ô ngoài nhóm so sánh, {undefined} ô không có chỉ số; {no_pre} đơn vị ({no_pre_cells} ô) không có kỳ nào trước khi thí điểm bắt đầu nên không đưa vào so sánh (xem methods.txt).",
    selection_later_wave: "{later} đơn vị ({later_cells} ô) thuộc các đợt thí điểm sau không nằm trong so sánh của đợt đầu vì từ kỳ bắt đầu của mình chúng đã được thí điểm; ước lượng theo từng đợt có dùng chúng.",
    twfe_reading: "Cách đọc: mô hình hai chiều cố định so sánh mỗi đơn vị với chính nó theo thời gian và loại bỏ biến động chung của từng kỳ. Sai số cụm CR1 cho phép sai số của một đơn vị tương quan giữa các kỳ; vì chỉ có ít đơn vị thí điểm, khoảng tin cậy bootstrap cụm hoang dã là cách suy luận nên ưu tiên.",
    pretrend_heading: "Kiểm định xu hướng trước thí điểm",
    pretrend_text: "Kiểm định đồng thời {q} hệ số trước thí điểm bằng 0: F({df1}, {df2}) = {f}, p = {p}{wild}. p lớn nghĩa là không phát hiện được khác biệt về xu hướng trước thí điểm, chứ không chứng minh hai nhóm có xu hướng song song.",
    event_caption: "Hệ số theo kỳ so với kỳ bắt đầu (k = 0); kỳ k = −1 là kỳ tham chiếu (điểm rỗng, bằng 0); thanh dọc: khoảng tin cậy {level} (sai số cụm CR1).",
    reference: "tham chiếu",
    forest_caption: "Hàng đầu (tím): ước lượng chung của mô hình hai chiều cố định với khoảng tin cậy cụm CR1 và bootstrap hoang dã. Sau đó (xanh) từng đơn vị thí điểm theo mã đơn vị: DiD 2×2 so với nhóm đối chứng, khoảng tin cậy {level} từ sai số khảo sát của các ô.",
    unit_effects_heading: "Từng đơn vị thí điểm",
    unit_effects_text: "Mỗi đơn vị thí điểm được so sánh riêng với nhóm đối chứng. Khoảng tin cậy {level} là của DiD 2×2, tính từ sai số khảo sát của các ô (coi các đơn vị là cố định). Ước lượng TWFE của từng đơn vị được ghi để đối chiếu (trên bảng số liệu cân đối, nó bằng DiD 2×2) nhưng không kèm khoảng tin cậy: với một đơn vị thí điểm, sai số chuẩn theo cụm không đáng tin cậy, vì nó chỉ phản ánh biến động của nhóm đối chứng và thường quá nhỏ (MacKinnon & Webb 2017).",
    unit_effects_gloss: "(With a single pilot unit, cluster-robust standard errors are not reliable: they reflect only the baseline's variation and are far too small.)",
    did_survey_se: "DiD 2×2 (sai số khảo sát)",
    before: "Trước",
    after: "Sau",
    methods_heading: "Phương pháp / Methods",
    index_heading: "Chỉ số",
    index_text: "Chỉ số của một câu hỏi là tỷ lệ hài lòng: 100 × (số câu trả lời 4 “Hài lòng” hoặc 5 “Rất hài lòng”) / (số câu trả lời hợp lệ), tính bằng phần trăm. Câu bỏ trống hoặc không hợp lệ là thiếu: không được tính vào mẫu số và không bao giờ được coi là 0. Chỉ số của một yếu tố là trung bình chỉ số các câu hỏi của yếu tố đó, chỉ số của một phần là trung bình các yếu tố, và chỉ số SIPAS là trung bình các phần (bộ câu hỏi 2017–2021: trung bình năm yếu tố).",
    data_text: "Số liệu gồm {pilot_units} đơn vị thí điểm và {baseline} đơn vị đối chứng (không thí điểm), {periods} kỳ khảo sát từ {first} đến {last}. Thí điểm bắt đầu từ kỳ {start}: {pre} kỳ trước thí điểm và {post} kỳ từ khi thí điểm.",
    se_heading: "Sai số chuẩn và khoảng tin cậy",
    se_text: "Sai số chuẩn của mỗi chỉ số được tính theo thiết kế khảo sát (mặc định: mỗi đơn vị × kỳ là một tầng, phương pháp tuyến tính hóa Taylor), có tính trọng số của phiếu nếu có, cho cùng kết quả với gói {survey} của R. Khoảng tin cậy {level} là ước lượng ± {z} × sai số chuẩn. Nhóm đối chứng là ước lượng gộp các phiếu của mọi đơn vị không thí điểm trong từng kỳ. Ô trống (—) nghĩa là không đủ số liệu để tính, không phải bằng 0.",
    design_text: "Thiết kế khảo sát và phương pháp tính phương sai dùng cho mọi sai số chuẩn, khoảng tin cậy và dải trên biểu đồ (kể cả khác biệt kép 2×2): {design}",
    did22_heading: "Khác biệt kép 2×2",
    did22_text: "Ước lượng khác biệt kép (DiD) đơn giản nhất so sánh bốn trung bình: mức thay đổi của chỉ số ở các đơn vị thí điểm (trung bình từ kỳ {start} trở đi trừ trung bình các kỳ trước) trừ đi mức thay đổi cùng thời gian của nhóm đối chứng. Sai số chuẩn được tính từ sai số khảo sát theo cùng thiết kế (hiệp phương sai đầy đủ của bốn nhóm), coi các đơn vị là cố định: nó phản ánh sai số chọn mẫu phiếu nhưng không phản ánh biến động ngẫu nhiên giữa các đơn vị.{per_unit}",
    did22_per_unit: " Bảng “Từng đơn vị thí điểm” dùng cách này cho từng đơn vị.",
    twfe_heading: "Mô hình hai chiều cố định (TWFE) và sai số theo cụm",
    twfe_text: "Mô hình hồi quy trên các ô đơn vị × kỳ: {model}, trong đó {alpha} là mức riêng của từng đơn vị, {lambda} là biến động chung của từng kỳ và {d} = 1 ở đơn vị thí điểm từ kỳ {start}. Hệ số β là tác động của thí điểm. Sai số chuẩn theo cụm CR1 (mỗi đơn vị là một cụm: {clusters} cụm, trong đó {treated} cụm thí điểm, {cells} ô) cho phép sai số của một đơn vị tương quan giữa các kỳ; khoảng tin cậy dùng phân phối t với G − 1 bậc tự do.",
    wcr_text: "Chỉ có {treated} đơn vị được thí điểm; khi có ít cụm được thí điểm, sai số theo cụm thường quá nhỏ. Vì vậy cách suy luận nên ưu tiên là bootstrap cụm hoang dã có ràng buộc (WCR): giả định tác động bằng 0, nhân phần dư của mỗi đơn vị với một trọng số ngẫu nhiên theo phân phối {weights}, lặp lại {replicates} lần (hạt giống {seed}), rồi so sánh thống kê t quan sát được với các lần lặp. Khoảng tin cậy bootstrap gồm các giá trị tác động mà kiểm định này không bác bỏ ở mức 5%.",
    webb_weights: "Webb (sáu giá trị ±√0.5, ±1, ±√1.5)",
    event_heading: "Nghiên cứu sự kiện và kiểm định xu hướng trước thí điểm",
    event_text: "Nghiên cứu sự kiện thay hệ số β bằng một hệ số {beta_k} cho mỗi kỳ k tính từ kỳ bắt đầu (k = 0 là kỳ {start}); {reference} là kỳ tham chiếu, cố định bằng 0. Nếu hai nhóm có xu hướng song song trước thí điểm thì các hệ số trước thí điểm phải gần 0. Kiểm định xu hướng trước thí điểm kiểm định đồng thời các hệ số này bằng 0 (kiểm định Wald với ma trận hiệp phương sai theo cụm CR1, báo cáo dạng F với G − 1 bậc tự do ở mẫu số{wild}). p lớn không chứng minh xu hướng song song, chỉ cho thấy không phát hiện được khác biệt với số đơn vị hiện có.",
    ref_k: "kỳ k = {k} ({period})",
    ref_default: "kỳ ngay trước thí điểm (k = −1)",
    event_wild: ", kèm p bootstrap hoang dã",
    assumptions_heading: "Giả định",
    assume_parallel: "Xu hướng song song: nếu không có thí điểm, chỉ số của các đơn vị thí điểm sẽ thay đổi giống như nhóm đối chứng.",
    assume_anticipation: "Không có tác động đón trước: thí điểm không làm thay đổi sự hài lòng trước kỳ {start}.",
    assume_spillover: "Không lan tỏa: thí điểm không làm thay đổi sự hài lòng ở các đơn vị đối chứng.",
    assume_few: "Ít cụm được thí điểm: chỉ có {pilot_units} đơn vị thí điểm, nên mọi khoảng tin cậy chỉ là gần đúng. Các đơn vị thí điểm được lựa chọn chứ không chọn ngẫu nhiên, nên kết quả là tác động tại chính các đơn vị này.",
    elements_heading: "Các phần và yếu tố: thí điểm và đối chứng, kỳ {period}",
    part_element: "Phần / yếu tố",
    difference: "Chênh lệch",
    rollout_heading: "Đánh giá triển khai theo đợt (staggered rollout)",
    rollout_headline: "Tác động trung bình chung của mô hình ở {waves} đợt triển khai: {estimate} điểm SIPAS (KTC {level}: {ci}).",
    rollout_method: "Ước lượng: {estimator}; nhóm so sánh: {control}; kỳ gốc: {base}.",
    rollout_estimator: "Callaway–Sant'Anna (2021), so sánh hiệu của hiệu 2×2 từng đợt với từng kỳ, không có biến kiểm soát",
    control_never: "các đơn vị chưa bao giờ áp dụng mô hình",
    control_not_yet: "các đơn vị chưa áp dụng mô hình ở kỳ được so sánh (kể cả các đơn vị chưa bao giờ áp dụng)",
    base_varying: "thay đổi (kỳ ngay trước khi đợt bắt đầu cho các kỳ sau đó; kỳ liền trước cho các kỳ trước khi bắt đầu)",
    base_universal: "cố định (kỳ ngay trước khi đợt bắt đầu, cho mọi kỳ)",
    rollout_design_variance: "Sai số chuẩn có cộng thêm phương sai mẫu khảo sát của từng ô đơn vị × kỳ.",
    rollout_twfe: "Hồi quy hiệu ứng cố định hai chiều (TWFE) cho {twfe} điểm, với {forbidden}% trọng số đặt vào các so sánh lấy đơn vị đã áp dụng làm đối chứng. Khi các đợt bắt đầu vào những thời điểm khác nhau và tác động tăng dần theo thời gian, con số TWFE bị lệch; ước lượng Callaway–Sant'Anna ở trên là con số nên dùng.",
    rollout_title: "Tác động theo số kỳ kể từ khi bắt đầu: từng đợt và chung",
    rollout_x: "Số kỳ kể từ kỳ bắt đầu của đợt (e)",
    rollout_y: "Tác động lên điểm SIPAS (điểm)",
    rollout_wave: "Đợt bắt đầu {start}",
    rollout_pooled: "Chung, KTC {level}",
    rollout_caption: "Mỗi đường mảnh là một đợt, ATT(g, t) theo số kỳ kể từ khi đợt bắt đầu; đường đậm là tác động chung theo số kỳ (nghiên cứu sự kiện), dải xám là KTC {level} từng điểm.",
    channels: &[
        ("survey", "Phiếu khảo sát"),
        ("paper", "Phiếu giấy"),
        ("online", "Trực tuyến"),
        ("web", "Trực tuyến"),
        ("phone", "Điện thoại"),
        ("cati", "Điện thoại"),
        ("face_to_face", "Phỏng vấn trực tiếp"),
        ("capi", "Phỏng vấn trực tiếp"),
        ("interview", "Phỏng vấn trực tiếp"),
        ("mail", "Qua bưu điện"),
        ("qr", "Đánh giá qua mã QR"),
        ("kiosk", "Đánh giá tại ki-ốt"),
        ("sms", "Đánh giá qua tin nhắn"),
    ],
    reasons: &[
        ("duplicate_response_id", "Trùng mã phiếu"),
        ("invalid_answer", "Câu trả lời không hợp lệ"),
        ("invalid_period", "Kỳ khảo sát không hợp lệ"),
        ("invalid_weight", "Trọng số không hợp lệ"),
        ("malformed_row", "Dòng sai cấu trúc"),
        ("missing_response_id", "Thiếu mã phiếu"),
        ("missing_unit", "Thiếu đơn vị"),
        ("mixed_granularity", "Lẫn loại kỳ (năm, quý, tháng)"),
        ("superseded_by_edit", "Đã được thay bằng bản sửa"),
        ("review_rejected", "Người duyệt đã từ chối"),
        (
            "review_not_approved",
            "Chưa được duyệt (chỉ giữ phiếu đã duyệt)",
        ),
        ("ambiguous_unit", "Tên đơn vị không xác định được duy nhất"),
        ("unknown_unit", "Đơn vị không có trong danh mục"),
        (
            "duplicate_resent",
            "Bản gửi lại của một phiếu (mọi trường trùng, kể cả thời điểm nộp)",
        ),
        ("flag_resent_copy", "Bản gửi lại, giữ theo cấu hình"),
        (
            "flag_same_answers",
            "Cùng câu trả lời với phiếu khác, không có thời điểm nộp",
        ),
        (
            "duplicate_id_superseded",
            "Trùng mã phiếu, đã có bản thay thế",
        ),
        ("flag_missing", "Bỏ trống quá nhiều câu"),
        ("flag_speeder", "Trả lời quá nhanh"),
        ("flag_straightline", "Chọn cùng một mức cho mọi câu"),
        ("flag_recoded", "Có giá trị được mã hóa lại"),
    ],
};

/// English labels (`--lang en`).
pub const EN: Labels = Labels {
    pilots_pooled_legend: "Pilot units (pooled)",
    index_axis: "Index score",
    indices_title: "The indices: pilot units against the baseline",
    indices_text: "Every index of the instrument is estimated the way SIPAS is: its value per unit × period, the pilot and baseline units pooled per period with design-based intervals, the 2×2 difference-in-differences and the two-way fixed effects (TWFE) estimate on the unit × period panel. Each index keeps its own scale (SIPAS 0–100, each PAPI-style dimension 1–10, the PAR index 0–100).",
    col_index: "Index",
    col_scale: "Scale",
    col_did: "2×2 DiD (interval)",
    col_twfe: "TWFE (interval)",
    col_pretrend: "Pre-trend test p",
    col_uncertainty: "Intervals carry",
    uncertainty_survey: "the survey's sampling error",
    uncertainty_par: "the survey part's sampling error only (appraised points carry none)",
    par_ranking_title: "Commune PAR index ranking, {period}",
    par_ranking_text: "Total = appraised criteria points + survey points (SIPAS and the PAPI-style dimensions mapped by the rule in the instrument file). The interval carries the survey part's uncertainty only. Rank interval: the unit's rank over normal draws of every unit's total (estimate, standard error).",
    col_rank: "Rank",
    col_unit: "Unit",
    col_total: "Total (interval)",
    col_rank_interval: "Rank interval",
    col_att: "Staggered overall ATT, Callaway–Sant'Anna (interval)",
    index_event_title: "{index}: effect by periods since the start",
    index_effect_axis: "Effect (index points)",
    index_event_caption: "Effect by periods since the start (the Callaway–Sant'Anna event study, with the comparison group and base period of the run's staggered evaluation); negative periods check parallel trends before the start; thin lines are the waves; the grey band is the pointwise {level} CI.",
    index_section_heading: "{name} ({id}, scale {scale})",
    index_quadrants: "The pilot and baseline units pooled before and from the start; the 2×2 difference-in-differences is the pilots' change minus the baseline's.",
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
    forest_subtitle: "Purple: overall (TWFE), cluster CR1 and wild bootstrap CI; \
blue: each unit, 2×2 DiD, {level} CI from survey standard errors",
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
    did_headline: "{estimate} percentage points ({level} confidence interval: {ci}; standard error {se})",
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
units rose faster than in the comparison group. When the {level} confidence interval contains 0 \
the data do not establish a difference. The result is trustworthy only when both groups \
moved alike before the pilot: see the charts below.",
    did_no_rows: "did.csv has no rows",
    did_unavailable: "The difference-in-differences could not be estimated: it needs data \
both before and from the pilot's first period ({start}).",
    groups_heading: "Pilot and comparison units by period",
    period: "Period",
    sipas_column: "SIPAS (0–100)",
    ci_label: "{level} CI",
    units_heading: "The pilot units by period",
    units_note: "Each cell: SIPAS score (0–100), {level} confidence interval and number of \
responses n. Shaded columns: since the pilot.",
    unit: "Unit",
    charts_heading: "Charts",
    pilots_alt: "SIPAS score of the pilot units and the comparison group, on one shared y axis",
    pilots_caption: "Blue line: pilot unit; orange line: comparison group; shaded: {level} \
confidence interval; dashed line: first pilot period.",
    trend_alt: "SIPAS score by period: {name}",
    todays_heading: "Pilots on today's units",
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
    modes_heading: "SIPAS by survey mode",
    quality_heading: "Data quality",
    modes_intro: "The survey modes (paper, online, telephone…) are parts of one sample: the overall index pools them all. The table compares each pair of modes within each period; the difference has a {level} confidence interval from the survey design (the two modes share strata, so they are not independent). A large difference suggests a mode effect.",
    mode_a: "Mode A",
    mode_b: "Mode B",
    mismatch: "does not match",
    code: "Code",
    responses: "Responses",
    ingest_heading: "Ingest",
    ingest_summary: "Read {read} responses: {accepted} accepted, {quarantined} quarantined.",
    ingest_identity: "Reconciliation: {read} read = {accepted} accepted + {quarantined} quarantined {check1}; {quarantined} quarantined = sum over reasons {sum} {check2}",
    quarantine_reasons: "Reason for quarantine",
    clean_heading: "Cleaning (clean)",
    clean_summary: "{rows_in} responses in: {kept} kept, {excluded} excluded.",
    clean_identity: "Reconciliation: {rows_in} in = {kept} kept + {excluded} excluded {check1}; {excluded} excluded = sum over reasons {sum} {check2}",
    exclusion_reasons: "Reason for exclusion",
    flagged_note: "Flagged responses are kept (unless the configuration excludes them); one response can carry several flags.",
    flagged_caption: "Kept responses with a flag",
    ingest_clean_link: "Linking the steps: {accepted} accepted at ingest = {rows_in} entering cleaning {check}",
    aggregate_heading: "Aggregation (aggregate)",
    aggregate_summary: "Read {read} cleaned responses: {used} responses of the channel “{channel}” used, {other} responses of other channels set apart (never pooled).",
    channel: "Channel",
    used: "Used",
    set_apart: "Set apart",
    aggregate_identity: "Reconciliation: {read} read = {used} used + {other} other channels {check1}; {other} other channels = sum over channels {sum} {check2}; {used} used = sum of n over the unit × period cells {cells} {check3}",
    clean_aggregate_link: "Linking the steps: {kept} kept at cleaning = {read} read at aggregation {check}",
    chain: "Responses through the steps: {steps} {check}",
    chain_read: "{n} read",
    chain_accepted: "{n} accepted",
    chain_clean_in: "{n} into cleaning",
    chain_kept: "{n} kept",
    chain_aggregate_in: "{n} into aggregation",
    chain_used: "{n} used",
    eval_heading: "Pilot evaluation",
    eval_intro: "Three estimators of one question: by how many points the SIPAS index of the pilot units rose beyond that of the comparison group since the pilot began.",
    method: "Method",
    standard_error: "Standard error",
    note: "Note",
    did_pooled: "Pooled 2×2 DiD",
    did_pooled_note: "response-level standard error; ignores variation between units",
    twfe_cr1: "Two-way fixed-effects DiD (TWFE), CR1 cluster standard error",
    twfe_note: "{clusters} units ({treated} pilots), {cells} unit × period cells; t with G − 1 degrees of freedom",
    twfe_wild: "TWFE, wild cluster bootstrap (WCR)",
    wild_note: "{weights} weights, {replicates} replicates, seed {seed}",
    selection_note: "Panel: {cells} cells of {pilots} pilot units and {baseline} comparison units (comparison set: {set}; weighting: {weighting}); {dropped} units left out, {outside} cells outside the comparison set, {undefined} cells without an index; {no_pre} units ({no_pre_cells} cells) have no period before the pilot start and are not compared (see methods.txt).",
    selection_later_wave: "{later} units ({later_cells} cells) of later waves are not in this first-wave comparison: from their own start they are treated themselves; the staggered estimates use them.",
    twfe_reading: "How to read it: the two-way fixed-effects model compares each unit with itself over time and removes the movement common to each period. CR1 cluster standard errors allow a unit's errors to be correlated across periods; as there are few pilot units, the wild cluster bootstrap interval is the inference to prefer.",
    pretrend_heading: "Pre-trend test",
    pretrend_text: "Joint test that the {q} pre-pilot coefficients are 0: F({df1}, {df2}) = {f}, p = {p}{wild}. A large p means that no difference in pre-pilot trends was detected; it does not prove that the two groups trended in parallel.",
    event_caption: "Coefficient of each period relative to the pilot's first period (k = 0); k = −1 is the reference period (hollow point, fixed at 0); vertical bars: {level} confidence interval (CR1 cluster standard errors).",
    reference: "reference",
    forest_caption: "Top row (purple): the overall estimate of the two-way fixed-effects model with its CR1 cluster and wild bootstrap confidence intervals. Below it (blue), each pilot unit by unit code: the 2×2 DiD against the comparison group, {level} confidence interval from the survey standard errors of the cells.",
    unit_effects_heading: "Each pilot unit",
    unit_effects_text: "Each pilot unit is compared on its own with the comparison group. The {level} confidence interval is that of the 2×2 DiD, from the survey standard errors of the cells (units taken as fixed). The unit's own TWFE estimate is shown for comparison (on a balanced panel it equals the 2×2 DiD) but without an interval: with a single pilot unit, cluster-robust standard errors are not reliable, as they reflect only the comparison group's variation and are usually far too small (MacKinnon & Webb 2017).",
    unit_effects_gloss: "",
    did_survey_se: "2×2 DiD (survey standard errors)",
    before: "Before",
    after: "After",
    methods_heading: "Methods",
    index_heading: "The index",
    index_text: "The index of a question is its satisfaction rate: 100 × (answers 4 “Satisfied” or 5 “Very satisfied”) / (valid answers), in percent. A blank or invalid answer is missing: it is left out of the denominator and never counted as 0. The index of an element is the mean of the indices of its questions, that of a part the mean of its elements, and the SIPAS index the mean of the parts (2017–2021 questionnaire: the mean of the five elements).",
    data_text: "The data hold {pilot_units} pilot units and {baseline} comparison units (without the pilot), {periods} survey periods from {first} to {last}. The pilot starts in period {start}: {pre} periods before the pilot and {post} since.",
    se_heading: "Standard errors and confidence intervals",
    se_text: "The standard error of each index follows the survey design (by default each unit × period is a stratum, Taylor linearisation), with the response weights when given, and agrees with R's {survey} package. The {level} confidence interval is the estimate ± {z} × standard error. The comparison group is one estimate pooling the responses of every unit without the pilot in each period. An empty cell (—) means too few data to compute, not 0.",
    design_text: "Survey design and variance method behind every standard error, confidence interval and chart band (the 2×2 difference-in-differences included): {design}",
    did22_heading: "2×2 difference-in-differences",
    did22_text: "The simplest difference-in-differences (DiD) estimate compares four means: the change of the index in the pilot units (mean from period {start} on minus the mean of the periods before) minus the change of the comparison group over the same time. Its standard error comes from the survey errors under the same design (the full covariance of the four groups), taking the units as fixed: it reflects the sampling of responses but not random variation between units.{per_unit}",
    did22_per_unit: " The table “Each pilot unit” applies it to each unit.",
    twfe_heading: "Two-way fixed effects (TWFE) and cluster standard errors",
    twfe_text: "A regression on the unit × period cells: {model}, where {alpha} is each unit's own level, {lambda} the movement common to each period and {d} = 1 in a pilot unit from period {start} on. The coefficient β is the effect of the pilot. CR1 cluster standard errors (each unit a cluster: {clusters} clusters, {treated} of them pilots, {cells} cells) allow a unit's errors to be correlated across periods; the confidence interval uses the t distribution with G − 1 degrees of freedom.",
    wcr_text: "Only {treated} units are piloted; with few treated clusters, cluster standard errors are usually too small. The inference to prefer is therefore the restricted wild cluster bootstrap (WCR): impose an effect of 0, multiply each unit's residuals by a random weight drawn from the {weights} distribution, repeat {replicates} times (seed {seed}), and compare the observed t statistic with the replicates. The bootstrap confidence interval holds the effect values this test does not reject at the 5% level.",
    webb_weights: "Webb (six values ±√0.5, ±1, ±√1.5)",
    event_heading: "Event study and pre-trend test",
    event_text: "The event study replaces the coefficient β with one coefficient {beta_k} for each period k counted from the pilot's first period (k = 0 is period {start}); {reference} is the reference period, fixed at 0. If the two groups trended in parallel before the pilot, the pre-pilot coefficients should be near 0. The pre-trend test tests jointly that these coefficients are 0 (a Wald test with the CR1 cluster covariance matrix, reported as an F with G − 1 denominator degrees of freedom{wild}). A large p does not prove parallel trends; it only shows that no difference was detected with the units at hand.",
    ref_k: "period k = {k} ({period})",
    ref_default: "the period just before the pilot (k = −1)",
    event_wild: ", with a wild bootstrap p",
    assumptions_heading: "Assumptions",
    assume_parallel: "Parallel trends: without the pilot, the index of the pilot units would have changed as the comparison group's did.",
    assume_anticipation: "No anticipation: the pilot does not change satisfaction before period {start}.",
    assume_spillover: "No spillover: the pilot does not change satisfaction in the comparison units.",
    assume_few: "Few treated clusters: there are only {pilot_units} pilot units, so every confidence interval is approximate. The pilot units were chosen, not drawn at random, so the result is the effect in these units themselves.",
    elements_heading: "Parts and elements: pilot and comparison units, period {period}",
    part_element: "Part / element",
    difference: "Difference",
    rollout_heading: "Staggered rollout",
    rollout_headline: "Overall average effect of the model over its {waves} waves: {estimate} SIPAS points ({level} CI {ci}).",
    rollout_method: "Estimator: {estimator}; comparison group: {control}; base period: {base}.",
    rollout_estimator: "Callaway–Sant'Anna (2021), a 2×2 difference in differences of each wave in each period, without covariates",
    control_never: "units never treated",
    control_not_yet: "units not yet treated in the periods compared (the never treated included)",
    base_varying: "varying (the period just before the wave's start for later periods; the previous period before the start)",
    base_universal: "universal (the period just before the wave's start, for every period)",
    rollout_design_variance: "The standard errors include the survey sampling variance of every unit × period cell.",
    rollout_twfe: "The two-way fixed-effects regression (TWFE) gives {twfe} points, with {forbidden}% of its weight on comparisons that use already-treated units as controls. When waves start at different dates and the effect grows over time, the TWFE figure is biased; the Callaway–Sant'Anna estimate above is the one to use.",
    rollout_title: "Effect by periods since the start: each wave and pooled",
    rollout_x: "Periods since the wave's start (e)",
    rollout_y: "Effect on the SIPAS score (points)",
    rollout_wave: "Wave starting {start}",
    rollout_pooled: "Pooled, {level} CI",
    rollout_caption: "Each thin line is a wave, ATT(g, t) by periods since the wave's start; the thick line is the pooled effect by exposure (the event study), the grey band its pointwise {level} CI.",
    channels: &[
        ("survey", "Survey form"),
        ("paper", "Paper form"),
        ("online", "Online"),
        ("web", "Online"),
        ("phone", "Telephone"),
        ("cati", "Telephone"),
        ("face_to_face", "Face-to-face interview"),
        ("capi", "Face-to-face interview"),
        ("interview", "Face-to-face interview"),
        ("mail", "By post"),
        ("qr", "Rating by QR code"),
        ("kiosk", "Rating at a kiosk"),
        ("sms", "Rating by text message"),
    ],
    reasons: &[
        ("duplicate_response_id", "Duplicate response ID"),
        ("invalid_answer", "Invalid answer"),
        ("invalid_period", "Invalid survey period"),
        ("invalid_weight", "Invalid weight"),
        ("malformed_row", "Malformed row"),
        ("missing_response_id", "Missing response ID"),
        ("missing_unit", "Missing unit"),
        (
            "mixed_granularity",
            "Mixed period types (year, quarter, month)",
        ),
        ("superseded_by_edit", "Superseded by an edited version"),
        ("review_rejected", "Rejected by the reviewer"),
        (
            "review_not_approved",
            "Not approved (only approved responses are kept)",
        ),
        ("ambiguous_unit", "Unit name matches more than one unit"),
        ("unknown_unit", "Unit not in the unit list"),
        (
            "duplicate_resent",
            "Resent copy of a response (every field equal, submission time included)",
        ),
        ("flag_resent_copy", "Resent copy, kept by the configuration"),
        (
            "flag_same_answers",
            "Same answers as another response, no submission time",
        ),
        (
            "duplicate_id_superseded",
            "Duplicate response ID, superseded by a replacement",
        ),
        ("flag_missing", "Too many questions left blank"),
        ("flag_speeder", "Answered too fast"),
        ("flag_straightline", "Same level chosen for every question"),
        ("flag_recoded", "Has recoded values"),
    ],
};

impl Labels {
    /// These labels naming the index `name` on `scale` where they name SIPAS (see
    /// [`Lang::labels_for`]).
    fn for_index(&self, lang: Lang, name: &str, scale: &str) -> Labels {
        let rules: Vec<(String, String)> = match lang {
            Lang::En => vec![
                (
                    "SIPAS score (0–100)".into(),
                    format!("{name} score ({scale})"),
                ),
                ("SIPAS (0–100)".into(), format!("{name} ({scale})")),
                ("the SIPAS index".into(), format!("the {name}")),
                ("SIPAS index".into(), name.to_string()),
                ("SIPAS points".into(), format!("points of the {name}")),
                ("SIPAS".into(), name.to_string()),
                ("percentage points".into(), "points".into()),
            ],
            Lang::Vi => vec![
                (
                    "Điểm SIPAS (0–100)".into(),
                    format!("Điểm {name} ({scale})"),
                ),
                (
                    "điểm SIPAS (0–100)".into(),
                    format!("điểm {name} ({scale})"),
                ),
                ("SIPAS (0–100)".into(), format!("{name} ({scale})")),
                ("Chỉ số SIPAS".into(), name.to_string()),
                ("chỉ số SIPAS".into(), name.to_string()),
                ("điểm SIPAS".into(), format!("điểm {name}")),
                ("SIPAS".into(), name.to_string()),
                ("điểm phần trăm".into(), "điểm".into()),
            ],
        };
        let put = |t: &'static str| -> &'static str {
            let mut out = t.to_string();
            for (from, to) in &rules {
                out = out.replace(from.as_str(), to);
            }
            if out == t {
                t
            } else {
                Box::leak(out.into_boxed_str())
            }
        };
        let t = self;
        Labels {
            sipas_axis: put(t.sipas_axis),
            pilots_title: put(t.pilots_title),
            event_title: put(t.event_title),
            event_y: put(t.event_y),
            forest_x: put(t.forest_x),
            page_title: put(t.page_title),
            did_headline: put(t.did_headline),
            did_reading: put(t.did_reading),
            sipas_column: put(t.sipas_column),
            units_note: put(t.units_note),
            pilots_alt: put(t.pilots_alt),
            trend_alt: put(t.trend_alt),
            modes_heading: put(t.modes_heading),
            eval_intro: put(t.eval_intro),
            rollout_headline: put(t.rollout_headline),
            rollout_y: put(t.rollout_y),
            ..*self
        }
    }

    /// These labels with `{level}` and `{z}` (the interval's multiplier)
    /// filled in (a few strings per level and
    /// language, kept for the process: see [`Lang::labels_at`]).
    fn at_level(&self, level: Level) -> Labels {
        let (shown, z) = (level.to_string(), level.multiplier_label());
        let put = |t: &'static str| -> &'static str {
            if t.contains("{level}") || t.contains("{z}") {
                let filled = t.replace("{level}", &shown).replace("{z}", &z);
                Box::leak(filled.into_boxed_str())
            } else {
                t
            }
        };
        let t = self;
        Labels {
            ci_label: put(t.ci_label),
            did_headline: put(t.did_headline),
            did_reading: put(t.did_reading),
            event_caption: put(t.event_caption),
            forest_caption: put(t.forest_caption),
            forest_subtitle: put(t.forest_subtitle),
            modes_intro: put(t.modes_intro),
            pilots_caption: put(t.pilots_caption),
            se_text: put(t.se_text),
            unit_effects_text: put(t.unit_effects_text),
            units_note: put(t.units_note),
            rollout_headline: put(t.rollout_headline),
            rollout_pooled: put(t.rollout_pooled),
            rollout_caption: put(t.rollout_caption),
            index_event_caption: put(t.index_event_caption),
            ..*self
        }
    }

    /// Every label with its field name, in declaration order, then the
    /// channel and reason labels under their keys (for tests and for
    /// checking that a translation is complete).
    #[must_use]
    pub fn all(&self) -> Vec<(&'static str, &'static str)> {
        let mut v = vec![
            ("pilots_pooled_legend", self.pilots_pooled_legend),
            ("index_axis", self.index_axis),
            ("indices_title", self.indices_title),
            ("indices_text", self.indices_text),
            ("col_index", self.col_index),
            ("col_scale", self.col_scale),
            ("col_did", self.col_did),
            ("col_twfe", self.col_twfe),
            ("col_pretrend", self.col_pretrend),
            ("col_uncertainty", self.col_uncertainty),
            ("uncertainty_survey", self.uncertainty_survey),
            ("uncertainty_par", self.uncertainty_par),
            ("par_ranking_title", self.par_ranking_title),
            ("par_ranking_text", self.par_ranking_text),
            ("col_rank", self.col_rank),
            ("col_unit", self.col_unit),
            ("col_total", self.col_total),
            ("col_rank_interval", self.col_rank_interval),
            ("col_att", self.col_att),
            ("index_event_title", self.index_event_title),
            ("index_effect_axis", self.index_effect_axis),
            ("index_event_caption", self.index_event_caption),
            ("index_section_heading", self.index_section_heading),
            ("index_quadrants", self.index_quadrants),
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
            ("ci_label", self.ci_label),
            ("units_heading", self.units_heading),
            ("units_note", self.units_note),
            ("unit", self.unit),
            ("charts_heading", self.charts_heading),
            ("pilots_alt", self.pilots_alt),
            ("pilots_caption", self.pilots_caption),
            ("trend_alt", self.trend_alt),
            ("todays_heading", self.todays_heading),
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
            ("modes_heading", self.modes_heading),
            ("quality_heading", self.quality_heading),
            ("modes_intro", self.modes_intro),
            ("mode_a", self.mode_a),
            ("mode_b", self.mode_b),
            ("mismatch", self.mismatch),
            ("code", self.code),
            ("responses", self.responses),
            ("ingest_heading", self.ingest_heading),
            ("ingest_summary", self.ingest_summary),
            ("ingest_identity", self.ingest_identity),
            ("quarantine_reasons", self.quarantine_reasons),
            ("clean_heading", self.clean_heading),
            ("clean_summary", self.clean_summary),
            ("clean_identity", self.clean_identity),
            ("exclusion_reasons", self.exclusion_reasons),
            ("flagged_note", self.flagged_note),
            ("flagged_caption", self.flagged_caption),
            ("ingest_clean_link", self.ingest_clean_link),
            ("aggregate_heading", self.aggregate_heading),
            ("aggregate_summary", self.aggregate_summary),
            ("channel", self.channel),
            ("used", self.used),
            ("set_apart", self.set_apart),
            ("aggregate_identity", self.aggregate_identity),
            ("clean_aggregate_link", self.clean_aggregate_link),
            ("chain", self.chain),
            ("chain_read", self.chain_read),
            ("chain_accepted", self.chain_accepted),
            ("chain_clean_in", self.chain_clean_in),
            ("chain_kept", self.chain_kept),
            ("chain_aggregate_in", self.chain_aggregate_in),
            ("chain_used", self.chain_used),
            ("eval_heading", self.eval_heading),
            ("eval_intro", self.eval_intro),
            ("method", self.method),
            ("standard_error", self.standard_error),
            ("note", self.note),
            ("did_pooled", self.did_pooled),
            ("did_pooled_note", self.did_pooled_note),
            ("twfe_cr1", self.twfe_cr1),
            ("twfe_note", self.twfe_note),
            ("twfe_wild", self.twfe_wild),
            ("wild_note", self.wild_note),
            ("selection_note", self.selection_note),
            ("selection_later_wave", self.selection_later_wave),
            ("twfe_reading", self.twfe_reading),
            ("pretrend_heading", self.pretrend_heading),
            ("pretrend_text", self.pretrend_text),
            ("event_caption", self.event_caption),
            ("reference", self.reference),
            ("forest_caption", self.forest_caption),
            ("unit_effects_heading", self.unit_effects_heading),
            ("unit_effects_text", self.unit_effects_text),
            ("unit_effects_gloss", self.unit_effects_gloss),
            ("did_survey_se", self.did_survey_se),
            ("before", self.before),
            ("after", self.after),
            ("methods_heading", self.methods_heading),
            ("index_heading", self.index_heading),
            ("index_text", self.index_text),
            ("data_text", self.data_text),
            ("se_heading", self.se_heading),
            ("se_text", self.se_text),
            ("design_text", self.design_text),
            ("did22_heading", self.did22_heading),
            ("did22_text", self.did22_text),
            ("did22_per_unit", self.did22_per_unit),
            ("twfe_heading", self.twfe_heading),
            ("twfe_text", self.twfe_text),
            ("wcr_text", self.wcr_text),
            ("webb_weights", self.webb_weights),
            ("event_heading", self.event_heading),
            ("event_text", self.event_text),
            ("ref_k", self.ref_k),
            ("ref_default", self.ref_default),
            ("event_wild", self.event_wild),
            ("assumptions_heading", self.assumptions_heading),
            ("assume_parallel", self.assume_parallel),
            ("assume_anticipation", self.assume_anticipation),
            ("assume_spillover", self.assume_spillover),
            ("assume_few", self.assume_few),
            ("elements_heading", self.elements_heading),
            ("part_element", self.part_element),
            ("difference", self.difference),
            ("rollout_heading", self.rollout_heading),
            ("rollout_headline", self.rollout_headline),
            ("rollout_method", self.rollout_method),
            ("rollout_estimator", self.rollout_estimator),
            ("control_never", self.control_never),
            ("control_not_yet", self.control_not_yet),
            ("base_varying", self.base_varying),
            ("base_universal", self.base_universal),
            ("rollout_design_variance", self.rollout_design_variance),
            ("rollout_twfe", self.rollout_twfe),
            ("rollout_title", self.rollout_title),
            ("rollout_x", self.rollout_x),
            ("rollout_y", self.rollout_y),
            ("rollout_wave", self.rollout_wave),
            ("rollout_pooled", self.rollout_pooled),
            ("rollout_caption", self.rollout_caption),
        ];
        v.extend(self.channels.iter().copied());
        v.extend(self.reasons.iter().copied());
        v
    }

    /// The label of a response channel; the key itself when unknown.
    #[must_use]
    pub fn channel<'a>(&self, key: &'a str) -> &'a str {
        self.channels
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(key, |(_, v)| v)
    }

    /// The label of an ingest / clean reason key; the key itself when unknown.
    #[must_use]
    pub fn reason<'a>(&self, key: &'a str) -> &'a str {
        self.reasons
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(key, |(_, v)| v)
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
                e.chars().all(|c| c.is_ascii() || "–—“”×…−±√β".contains(c)),
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
    fn the_level_is_written_into_every_label_that_names_it() {
        for lang in [Lang::Vi, Lang::En] {
            let l90 = lang.labels_at(Level::new(0.90).unwrap());
            let l95 = lang.labels();
            for ((k, a), (_, b)) in l90.all().iter().zip(l95.all()) {
                for hole in ["{level}", "{z}"] {
                    assert!(!a.contains(hole) && !b.contains(hole), "{k}");
                }
                assert!(!a.contains("95%"), "{k}: {a}");
                assert_eq!(a.contains("90%"), b.contains("95%"), "{k}");
            }
            // Built once per language and level.
            assert!(std::ptr::eq(l90, lang.labels_at(Level::new(0.90).unwrap())));
        }
        assert_eq!(
            Lang::Vi.labels_at(Level::new(0.90).unwrap()).ci_label,
            "KTC 90%"
        );
        assert_eq!(Lang::En.labels().ci_label, "95% CI");
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
