//! Properties: idempotence, reconciliation, order independence.

use proptest::prelude::*;
use sipas_clean::io::{by_cell_csv, quarantine_csv, report_json};
use sipas_clean::{
    CleanOptions, Crosswalk, ExtraColumn, ExtraType, Flags, Response, ResponseTable, Value, clean,
};

use crate::common::{instrument, units};

const N_ITEMS: usize = 22;

fn answers() -> impl Strategy<Value = Vec<Option<u8>>> {
    let code = prop_oneof![
        3 => (1u8..=5).prop_map(Some),
        1 => Just(None),
        1 => prop_oneof![Just(9u8), Just(99), Just(0), Just(7)].prop_map(Some),
    ];
    prop_oneof![
        // A few fixed patterns make content duplicates and straight-lines likely.
        Just(vec![Some(4); N_ITEMS]),
        Just((0..N_ITEMS).map(|i| Some((i % 5) as u8 + 1)).collect()),
        Just(vec![None; N_ITEMS]),
        proptest::collection::vec(code, N_ITEMS),
    ]
}

fn response() -> impl Strategy<Value = Response> {
    let unit = prop_oneof![
        Just("05443"),
        Just("05536"),
        Just("05569"),
        Just("P. Trưng Vương"),
        Just("Tân Long"),
        Just("Xa Phu Dinh"),
        Just("Nowhere"),
        // Duplicated names: resolved, or not, by the district.
        Just("Tân Thịnh"),
        Just("Xã Tân Thịnh"),
    ];
    let district = prop_oneof![
        Just(None),
        Just(Some("Huyện Định Hóa")),
        Just(Some("Thành phố Thái Nguyên")),
        Just(Some("Huyện Đồng Hỷ")),
        Just(Some("Nowhere")),
    ];
    // Design columns passed through: a text cluster and a numeric fpc.
    let village = prop_oneof![
        Just(Value::Null),
        Just(Value::Str("Thôn 1".into())),
        Just(Value::Str("Tổ 2".into())),
    ];
    let fpc = prop_oneof![
        Just(Value::Null),
        Just(Value::Float(120.0)),
        Just(Value::Float(0.25)),
    ];
    let submitted = prop_oneof![
        Just(None),
        Just(Some("2024-01-10T08:00:00+07:00")),
        Just(Some("2024-01-10T01:00:00Z")),
        Just(Some("2024-01-11")),
        Just(Some("not a date")),
    ];
    (
        0u8..12,
        unit,
        prop_oneof![Just("2024Q1"), Just("2024Q2")],
        submitted,
        prop_oneof![4 => Just("survey"), 1 => Just("qr")],
        prop_oneof![Just(1.0), Just(2.5)],
        answers(),
        prop_oneof![Just("a.csv"), Just("b.csv")],
        prop_oneof![Just(None), Just(Some(60.0)), Just(Some(300.0))],
        (district, village, fpc),
    )
        .prop_map(
            |(id, unit, period, sub, ch, w, answers, file, dur, (district, village, fpc))| {
                Response {
                    response_id: format!("r{id}"),
                    unit_code: unit.to_string(),
                    period: period.to_string(),
                    submitted_at: sub.map(str::to_string),
                    channel: ch.to_string(),
                    weight: w,
                    answers,
                    source_file: file.to_string(),
                    source_line: 0,
                    duration_s: dur,
                    flags: Flags::default(),
                    district: district.map(str::to_string),
                    unit_text: None,
                    extra: vec![village, fpc],
                }
            },
        )
}

fn table() -> impl Strategy<Value = ResponseTable> {
    proptest::collection::vec(response(), 0..40).prop_map(|mut rows| {
        for (i, r) in rows.iter_mut().enumerate() {
            r.source_line = i as u64 + 2;
        }
        ResponseTable {
            items: instrument()
                .item_ids()
                .iter()
                .map(|s| (*s).to_string())
                .collect(),
            has_duration: true,
            has_district: true,
            has_unit_text: false,
            extra: vec![
                ExtraColumn {
                    name: "village".into(),
                    dtype: ExtraType::String,
                },
                ExtraColumn {
                    name: "fpc".into(),
                    dtype: ExtraType::Float64,
                },
            ],
            rows,
        }
    })
}

fn options() -> impl Strategy<Value = CleanOptions> {
    (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(fallback, cw, flagged, content)| CleanOptions {
            allow_ascii_fallback: fallback,
            crosswalk: cw.then(Crosswalk::thai_nguyen_2024_12),
            exclude_flagged: flagged,
            exclude_resent_copies: content,
            ..CleanOptions::default()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn clean_is_idempotent(t in table(), opts in options()) {
        let (inst, reg) = (instrument(), units());
        let once = clean(&t, &inst, &reg, &opts).unwrap();
        let twice = clean(&once.table, &inst, &reg, &opts).unwrap();
        prop_assert_eq!(&twice.table, &once.table);
        prop_assert!(twice.quarantine.is_empty());
        prop_assert_eq!(twice.report.totals.rows_in, once.report.totals.kept);
    }

    #[test]
    fn counts_reconcile(t in table(), opts in options()) {
        let o = clean(&t, &instrument(), &units(), &opts).unwrap();
        let tot = &o.report.totals;
        prop_assert_eq!(tot.rows_in, t.rows.len() as u64);
        prop_assert_eq!(tot.rows_in, tot.kept + tot.excluded);
        prop_assert_eq!(tot.kept, o.table.rows.len() as u64);
        prop_assert_eq!(tot.excluded, o.quarantine.len() as u64);
        prop_assert_eq!(tot.excluded_by_reason.values().sum::<u64>(), tot.excluded);
        let mut sum_in = 0;
        for c in o.cells.values() {
            prop_assert_eq!(c.rows_in, c.kept + c.excluded);
            sum_in += c.rows_in;
        }
        prop_assert_eq!(sum_in, tot.rows_in);
        // Every kept unit is a code, ids are unique.
        let mut ids: Vec<&str> = o.table.rows.iter().map(|r| r.response_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        prop_assert_eq!(ids.len(), o.table.rows.len());
        prop_assert!(o.table.rows.iter().all(|r| r.unit_code.len() == 5));
        // Kept rows matched by name keep their text; design columns pass through.
        for r in &o.table.rows {
            let given = t.rows.iter().find(|x| {
                x.response_id == r.response_id
                    && x.source_file == r.source_file
                    && x.source_line == r.source_line
            });
            let given = given.expect("a kept row comes from the input");
            prop_assert_eq!(&r.extra[..given.extra.len()], &given.extra[..]);
            // With a crosswalk, `old_unit_code` follows: the code at the row's date.
            if opts.crosswalk.is_some() {
                prop_assert_eq!(r.extra.len(), given.extra.len() + 1);
                prop_assert!(
                    matches!(r.extra.last(), Some(sipas_clean::Value::Str(c)) if c.len() == 5)
                );
            } else {
                prop_assert_eq!(r.extra.len(), given.extra.len());
            }
            prop_assert_eq!(&r.district, &given.district);
            let by_name = given.unit_code.len() != 5;
            prop_assert_eq!(r.unit_text.as_ref(), by_name.then_some(&given.unit_code));
        }
        prop_assert_eq!(
            o.table.has_unit_text,
            o.table.rows.iter().any(|r| r.unit_text.is_some())
        );
    }

    #[test]
    fn input_order_changes_nothing(
        (t, shuffled) in table().prop_flat_map(|t| {
            let rows = t.rows.clone();
            (Just(t), Just(rows).prop_shuffle())
        }),
        opts in options(),
    ) {
        let (inst, reg) = (instrument(), units());
        let a = clean(&t, &inst, &reg, &opts).unwrap();
        let t2 = ResponseTable { rows: shuffled, ..t.clone() };
        let b = clean(&t2, &inst, &reg, &opts).unwrap();
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(quarantine_csv(&a).unwrap(), quarantine_csv(&b).unwrap());
        prop_assert_eq!(by_cell_csv(&a.cells).unwrap(), by_cell_csv(&b.cells).unwrap());
        prop_assert_eq!(report_json(&a.report).unwrap(), report_json(&b.report).unwrap());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Cleaning in groups of any size gives the whole-table outputs. Lines
    /// repeat (so equal submissions are decided on the whole rows), and
    /// the input has or lacks the provenance columns.
    #[test]
    fn groups_equal_whole_table(
        mut t in table(),
        opts in options(),
        lines in proptest::collection::vec(2u64..5, 40),
        (group_rows, chunk_rows) in (1usize..6, 1usize..6),
        (by_period_in, by_period_out, provenance) in (any::<bool>(), any::<bool>(), any::<bool>()),
        sorted in any::<bool>(),
    ) {
        use sipas_clean::FolderOptions;
        use sipas_dataset::Layout;
        let layout = |p: bool| if p { Layout::ByPeriod } else { Layout::File };
        for (r, l) in t.rows.iter_mut().zip(lines) {
            r.source_line = l;
        }
        // Sorted as `sipas ingest` writes it, the groups are cut as the
        // rows are read; otherwise they are spilled first.
        if sorted {
            t.sort_canonical();
        }
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        crate::stream::write_input(&data, &t, layout(by_period_in), provenance);
        let run = FolderOptions { layout: layout(by_period_out), group_rows, chunk_rows };
        crate::stream::assert_same(
            &data,
            &dir.path().join("want"),
            &dir.path().join("got"),
            &opts,
            &run,
        );
    }
}

/// A row of a table as `sipas ingest` writes it: codes, a submission time
/// (a few shared, a few missing), no design columns. Groups of such rows
/// are cleaned column by column unless a rule needs the rows (a name, an
/// unknown code, a repeated id, a copy, a missing time, an excluded row).
fn plain_response() -> impl Strategy<Value = Response> {
    let unit = prop_oneof![
        16 => prop_oneof![Just("05443"), Just("05536"), Just("05569")],
        1 => prop_oneof![Just("Tân Long"), Just("Nowhere"), Just("05443 ")],
    ];
    let submitted = prop_oneof![
        40 => (1u8..4, 10u8..30, 0u8..60).prop_map(|(m, d, s)| {
            Some(format!("2024-0{m}-{d}T08:00:{s:02}+07:00"))
        }),
        1 => Just(None),
    ];
    (
        0u16..5000,
        unit,
        prop_oneof![Just("2024Q1"), Just("2024Q2")],
        submitted,
        prop_oneof![4 => Just("survey"), 1 => Just("qr")],
        prop_oneof![Just(1.0), Just(2.5)],
        answers(),
        prop_oneof![Just(None), Just(Some(60.0)), Just(Some(300.0))],
    )
        .prop_map(|(id, unit, period, sub, ch, w, answers, dur)| Response {
            response_id: format!("r{id:04}"),
            unit_code: unit.to_string(),
            period: period.to_string(),
            submitted_at: sub,
            channel: ch.to_string(),
            weight: w,
            answers,
            source_file: "a.csv".into(),
            source_line: 0,
            duration_s: dur,
            flags: Flags::default(),
            district: None,
            unit_text: None,
            extra: Vec::new(),
        })
}

/// Options for plain tables: mostly those under which a group can be
/// cleaned column by column.
fn plain_options() -> impl Strategy<Value = CleanOptions> {
    let rare = || prop_oneof![3 => Just(false), 1 => Just(true)];
    (rare(), rare(), any::<bool>()).prop_map(|(cw, flagged, copies)| CleanOptions {
        crosswalk: cw.then(Crosswalk::thai_nguyen_2024_12),
        exclude_flagged: flagged,
        exclude_resent_copies: copies,
        ..CleanOptions::default()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Tables as ingest writes them (sorted, codes, submission times):
    /// cleaning in groups, column by column where no rule needs the rows,
    /// gives the whole-table outputs.
    #[test]
    fn plain_groups_equal_whole_table(
        rows in proptest::collection::vec(plain_response(), 0..60),
        opts in plain_options(),
        (group_rows, chunk_rows) in (1usize..40, 1usize..30),
        (has_duration, sorted, provenance) in (any::<bool>(), prop_oneof![4 => Just(true), 1 => Just(false)], any::<bool>()),
        copied in proptest::collection::vec(0usize..60, 0..4),
    ) {
        use sipas_clean::FolderOptions;
        use sipas_dataset::Layout;
        // Re-sent copies (every field but the id), among rows cleaned column
        // by column or not.
        let mut rows = rows;
        for (k, &c) in copied.iter().enumerate() {
            if let Some(r) = rows.get(c) {
                let mut copy = r.clone();
                copy.response_id = format!("c{k}{}", r.response_id);
                rows.push(copy);
            }
        }
        let mut t = ResponseTable {
            items: instrument().item_ids().iter().map(|s| (*s).to_string()).collect(),
            has_duration,
            has_district: false,
            has_unit_text: false,
            extra: Vec::new(),
            rows,
        };
        for (i, r) in t.rows.iter_mut().enumerate() {
            r.source_line = i as u64 + 2;
        }
        if sorted {
            t.sort_canonical();
        }
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        crate::stream::write_input(&data, &t, Layout::File, provenance);
        let run = FolderOptions { layout: Layout::File, group_rows, chunk_rows };
        crate::stream::assert_same(
            &data,
            &dir.path().join("want"),
            &dir.path().join("got"),
            &opts,
            &run,
        );
    }
}
