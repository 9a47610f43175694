//! The self-contained HTML page (inline CSS, no scripts).

use std::fmt::Write as _;

use sipas_core::PilotSet;
use sipas_core::text::nfc;

use crate::results::{Estimate, Results};
use crate::spec::{baseline_label, shown_pilots};

/// File name of a unit's trend chart.
pub fn trend_file_name(unit_code: &str) -> String {
    format!("trend_{unit_code}.png")
}

/// File name of the small-multiples chart.
pub const PILOTS_PNG: &str = "pilots.png";
/// File name of the page.
pub const INDEX_HTML: &str = "index.html";

/// Escapes text for HTML element content and attribute values, after NFC.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in nfc(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A number with `decimals` decimals, or "—" when undefined.
fn num(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "—".to_string(), |v| format!("{v:.decimals$}"))
}

/// "74.1–81.9", or "—" when a bound is undefined.
fn interval(lo: Option<f64>, hi: Option<f64>, decimals: usize) -> String {
    match (lo, hi) {
        (Some(lo), Some(hi)) => format!("{lo:.decimals$}–{hi:.decimals$}"),
        _ => "—".to_string(),
    }
}

const CSS: &str = "body{font-family:'DejaVu Sans',Arial,sans-serif;margin:2em auto;max-width:1100px;\
padding:0 1em;color:#222;line-height:1.45}\
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:1em 0;font-size:.9em}\
th,td{border:1px solid #ccc;padding:.3em .55em;text-align:right;white-space:nowrap}\
th{background:#f2f2f2}td.name,th.name{text-align:left}\
td.post,th.post,tr.post td{background:#eef5fb}small{color:#666}\
.did{font-size:1.3em;font-weight:bold}.scroll{overflow-x:auto}\
figure{margin:1.5em 0}img{max-width:100%;height:auto;border:1px solid #ddd}\
figcaption{color:#555;font-size:.9em}";

/// The report page for these results and pilot set; charts are referenced
/// by relative file names ([`trend_file_name`], [`PILOTS_PNG`]).
pub fn render_html(results: &Results, pilots: &PilotSet) -> String {
    let mut h = String::new();
    let start = pilots.start;
    let codes = shown_pilots(results, pilots);
    let did = &results.did;
    let periods = &results.periods;
    let post = |p: &sipas_core::Period| *p >= start;
    let cls = |p: &sipas_core::Period| if post(p) { " class=\"post\"" } else { "" };

    let title = "Chỉ số SIPAS: đánh giá mô hình thí điểm";
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape(title),
        escape(title)
    );

    // The programme.
    let _ = write!(
        h,
        "<h2>Mô hình thí điểm</h2>\n<p>Mô hình “{}” được thí điểm tại {} đơn vị cấp xã{}, \
         bắt đầu từ kỳ {}. Nhóm đối chứng gồm {} đơn vị không thí điểm. \
         Số liệu gồm {} kỳ khảo sát ({}–{}).</p>\n",
        escape(&pilots.program),
        pilots.units.len(),
        if codes.len() == pilots.units.len() {
            String::new()
        } else {
            format!(" (có số liệu: {} đơn vị)", codes.len())
        },
        escape(&start.to_string()),
        results.baseline_unit_count(),
        periods.len(),
        periods.first().map(ToString::to_string).unwrap_or_default(),
        periods.last().map(ToString::to_string).unwrap_or_default(),
    );

    // The DiD estimate.
    let _ = write!(
        h,
        "<h2>Ước lượng khác biệt kép (DiD)</h2>\n<p class=\"did\">{} điểm phần trăm \
         (khoảng tin cậy 95%: {}; sai số chuẩn {})</p>\n\
         <table>\n<tr><th class=\"name\"></th><th>Trước thí điểm</th><th>Từ khi thí điểm</th>\
         <th>Thay đổi</th></tr>\n",
        num(did.estimate, 2),
        interval(did.lo, did.hi, 2),
        num(did.se, 2),
    );
    for (name, pre, post) in [
        ("Đơn vị thí điểm", did.pilot_pre, did.pilot_post),
        ("Nhóm đối chứng", did.baseline_pre, did.baseline_post),
    ] {
        let change = pre.zip(post).map(|(a, b)| b - a);
        let _ = writeln!(
            h,
            "<tr><td class=\"name\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(name),
            num(pre, 2),
            num(post, 2),
            num(change, 2)
        );
    }
    let _ = write!(
        h,
        "</table>\n<p>Cách đọc: ước lượng khác biệt kép lấy mức thay đổi của chỉ số SIPAS \
         ở các đơn vị thí điểm (trung bình từ kỳ {start} trở đi so với trung bình các kỳ trước) \
         trừ đi mức thay đổi cùng thời gian của nhóm đối chứng. Nhờ vậy, những biến động chung \
         của cả tỉnh (ví dụ một kỳ khảo sát mà mọi nơi đều tăng) bị loại ra, phần còn lại là \
         mức tăng thêm gắn với thí điểm. Giá trị dương nghĩa là sự hài lòng ở các đơn vị thí \
         điểm tăng nhanh hơn nhóm đối chứng. Nếu khoảng tin cậy 95% chứa 0 thì số liệu chưa đủ \
         để khẳng định có khác biệt. Kết quả chỉ đáng tin khi hai nhóm có xu hướng giống nhau \
         trước thí điểm: hãy xem các biểu đồ bên dưới.</p>\n"
    );

    // Groups table.
    let _ = write!(
        h,
        "<h2>Thí điểm và đối chứng theo kỳ</h2>\n<div class=\"scroll\"><table>\n\
         <tr><th class=\"name\" rowspan=\"2\">Kỳ</th><th colspan=\"3\">Đơn vị thí điểm</th>\
         <th colspan=\"3\">{}</th></tr>\n\
         <tr><th>SIPAS (%)</th><th>KTC 95%</th><th>n</th><th>SIPAS (%)</th><th>KTC 95%</th>\
         <th>n</th></tr>\n",
        escape(&baseline_label(results.baseline_unit_count()))
    );
    for p in periods {
        let _ = write!(h, "<tr{}><td class=\"name\">{p}</td>", cls(p));
        for series in [&results.pilot_group, &results.baseline] {
            let e = series.get(p).copied().unwrap_or_default();
            let _ = write!(
                h,
                "<td>{}</td><td>{}</td><td>{}</td>",
                num(e.sipas, 1),
                interval(e.lo, e.hi, 1),
                e.n
            );
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table></div>\n");

    // Pilot units table: one row per unit, one column per period.
    let _ = write!(
        h,
        "<h2>Các đơn vị thí điểm theo kỳ</h2>\n<p><small>Mỗi ô: SIPAS (%), khoảng tin cậy 95% \
         và số phiếu n. Cột tô màu: từ khi thí điểm.</small></p>\n\
         <div class=\"scroll\"><table>\n<tr><th class=\"name\">Đơn vị</th>\
         <th class=\"name\">Huyện</th>"
    );
    for p in periods {
        let _ = write!(h, "<th{}>{p}</th>", cls(p));
    }
    h.push_str("</tr>\n");
    for code in &codes {
        let Some(u) = results.units.get(*code) else {
            continue;
        };
        let _ = write!(
            h,
            "<tr><td class=\"name\">{} <small>({})</small></td><td class=\"name\">{}</td>",
            escape(&u.name),
            escape(code),
            escape(&u.district)
        );
        for p in periods {
            let e: Estimate = u.by_period.get(p).copied().unwrap_or_default();
            let _ = write!(
                h,
                "<td{}>{}<br><small>{} · n={}</small></td>",
                cls(p),
                num(e.sipas, 1),
                interval(e.lo, e.hi, 1),
                e.n
            );
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table></div>\n");

    // Charts.
    h.push_str("<h2>Biểu đồ</h2>\n");
    let _ = writeln!(
        h,
        "<figure><img src=\"{PILOTS_PNG}\" alt=\"{}\"><figcaption>{}</figcaption></figure>",
        escape("Chỉ số SIPAS của các đơn vị thí điểm và nhóm đối chứng, cùng một trục tung"),
        escape(
            "Đường xanh: đơn vị thí điểm; đường cam: nhóm đối chứng; vùng tô: khoảng tin cậy 95%; \
             đường nét đứt: kỳ bắt đầu thí điểm."
        )
    );
    for code in &codes {
        let Some(u) = results.units.get(*code) else {
            continue;
        };
        let name = format!("{} — {}", u.name, u.district);
        let _ = writeln!(
            h,
            "<figure><img src=\"{}\" alt=\"{}\"><figcaption>{}</figcaption></figure>",
            escape(&trend_file_name(code)),
            escape(&format!("Chỉ số SIPAS theo kỳ: {name}")),
            escape(&name)
        );
    }

    // Methods.
    let _ = write!(
        h,
        "<h2>Phương pháp</h2>\n<ul>\n\
         <li>Chỉ số của một câu hỏi = 100 × (số phiếu trả lời 4 “Hài lòng” hoặc 5 “Rất hài lòng”) \
         / (số phiếu trả lời hợp lệ); câu bỏ trống hoặc không hợp lệ không được tính. Chỉ số của \
         một nhóm là trung bình các chỉ số con; chỉ số SIPAS là trung bình các phần.</li>\n\
         <li>Sai số chuẩn được tính bằng phương pháp tuyến tính hóa (Taylor), có tính trọng số \
         nếu có.</li>\n\
         <li>Khoảng tin cậy 95% là khoảng chuẩn: ước lượng ± 1,96 × sai số chuẩn.</li>\n\
         <li>Nhóm đối chứng là ước lượng gộp của các đơn vị không thí điểm trong từng kỳ. \
         Ô trống (—) nghĩa là không đủ số liệu để tính, không phải bằng 0.</li>\n\
         </ul>\n</body>\n</html>\n"
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_normalises() {
        assert_eq!(
            escape("a<b> & \"c\" 'd'"),
            "a&lt;b&gt; &amp; &quot;c&quot; &#39;d&#39;"
        );
        assert_eq!(escape("Pho\u{302}\u{301}"), "Phố");
    }

    #[test]
    fn formats_numbers_and_undefined() {
        assert_eq!(num(Some(6.35), 2), "6.35");
        assert_eq!(num(None, 1), "—");
        assert_eq!(interval(Some(74.080_072), Some(81.919_928), 1), "74.1–81.9");
        assert_eq!(interval(None, Some(1.0), 1), "—");
    }
}
