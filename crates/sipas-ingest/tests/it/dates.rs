//! Date and period checks: one reason code per failing check, counted.

use sipas_ingest::{DateChecks, IngestOptions};

use crate::common::{ITEMS_2017, header, write};

/// A row of the 2017 instrument (every answer 4) with a period and a
/// `submitted_at`.
fn dated(id: &str, period: &str, submitted: &str) -> String {
    let answers = vec!["4"; ITEMS_2017.len()].join(",");
    format!("{id},05443,{period},{submitted},,,{answers}")
}

#[test]
fn each_date_and_period_fault_is_quarantined_with_its_code() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        dated("ok1", "2024Q2", "2024-05-03T09:15:00+07:00"),
        dated("ok2", "2024Q1", ""),
        dated("ok3", "2024Q1", "15/02/2024"),
        dated("bad1", "2024Q1", "not-a-date"),
        dated("bad2", "2024Q1", "2024-13-45"),
        dated("bad3", "2024Q2", "2999-01-01"),
        dated("bad4", "2023Q1", "2022-12-31"),
        dated("bad5", "2099Q1", ""),
        dated("bad6", "2024Q2", "2024-03-15"),
    ];
    let text = format!("{}\n{}\n", header(), rows.join("\n"));
    let p = write(dir.path(), "dated.csv", &text);
    let opts = IngestOptions {
        dates: DateChecks {
            as_of: Some("2024-06-30".parse().unwrap()),
            future_tolerance_days: 1,
            survey_start: Some("2023-01-01".parse().unwrap()),
            first_period: Some("2023Q1".parse().unwrap()),
            last_period: Some("2024Q2".parse().unwrap()),
            period_grace_days: 0,
        },
        ..IngestOptions::default()
    };
    let got = sipas_ingest::ingest(std::slice::from_ref(&p), &opts).unwrap();
    let q: Vec<(&str, u64, &str, &str)> = got
        .quarantine
        .iter()
        .map(|q| {
            (
                q.record.split(',').next().unwrap(),
                q.line,
                q.reason.as_str(),
                q.column.as_str(),
            )
        })
        .collect();
    assert_eq!(
        q,
        [
            ("bad1", 5, "invalid_submitted_at", "submitted_at"),
            ("bad2", 6, "invalid_submitted_at", "submitted_at"),
            ("bad3", 7, "submitted_in_future", "submitted_at"),
            ("bad4", 8, "submitted_before_start", "submitted_at"),
            ("bad5", 9, "period_out_of_range", "period"),
            ("bad6", 10, "period_date_mismatch", "period"),
        ]
    );
    assert!(
        got.quarantine[2]
            .detail
            .contains("2999-01-01 is after the as-of date 2024-06-30"),
        "{}",
        got.quarantine[2].detail
    );
    let t = &got.report.totals;
    assert_eq!((t.rows_read, t.accepted, t.quarantined), (9, 3, 6));
    for (code, n) in [
        ("invalid_submitted_at", 2),
        ("submitted_in_future", 1),
        ("submitted_before_start", 1),
        ("period_out_of_range", 1),
        ("period_date_mismatch", 1),
    ] {
        assert_eq!(t.quarantined_by_reason[code], n, "{code}");
    }
    let json = serde_json::to_value(&got.report).unwrap();
    assert_eq!(
        json["date_checks"],
        serde_json::json!({
            "as_of": "2024-06-30",
            "future_tolerance_days": 1,
            "survey_start": "2023-01-01",
            "first_period": "2023Q1",
            "last_period": "2024Q2",
            "period_grace_days": 0
        })
    );

    // Without settings only the form of the date and the period match are
    // checked: bad5 is accepted, bad3 and bad4 (dates outside their
    // periods) join bad6 as mismatches.
    let got = sipas_ingest::ingest(&[p], &IngestOptions::default()).unwrap();
    let t = &got.report.totals;
    assert_eq!((t.accepted, t.quarantined), (4, 5));
    assert_eq!(t.quarantined_by_reason["period_date_mismatch"], 3);
    assert_eq!(t.quarantined_by_reason["invalid_submitted_at"], 2);
}
