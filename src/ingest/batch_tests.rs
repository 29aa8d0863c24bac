use super::*;
use crate::odata::model::Model;

/// The header of a valid Calls CSV: every non-nullable property, and `customerFirstName`.
const CALLS_HEADER: &str =
    "id,channelId,channelType,isChannelClosed,isChannelOpen,isOutbound,startedAtUTC,customerFirstName";

fn shape(set: &str) -> Shape {
    let model = Model::load().expect("the embedded model loads");
    Shape::new(model.entity_set(set).expect("the set exists"))
}

/// One valid Calls CSV line (its id `call-N`, a first name unless `None`).
fn call(n: u64, first_name: Option<&str>) -> String {
    format!("call-{n},ch-1,Voice,0,1,false,2026-11-20T08:01:00Z,{}\n", first_name.unwrap_or(""))
}

/// A Calls CSV of `rows` valid lines, with `bad` lines (by row number) replaced by one whose
/// `isOutbound` is not a boolean.
fn calls_csv(rows: u64, bad: &[u64]) -> String {
    let mut csv = format!("{CALLS_HEADER}\n");
    for n in 1..=rows {
        match bad.contains(&n) {
            true => csv.push_str(&format!("call-{n},ch-1,Voice,0,1,maybe,2026-11-20T08:01:00Z,\n")),
            false => csv.push_str(&call(n, None)),
        }
    }
    csv
}

/// Splits `input` and returns the report and everything sent, the writer taking it all.
fn split_all(shape: &Shape, format: Format, input: &str, batch_rows: u64) -> (Report, Vec<Chunk>) {
    let mut sent = Vec::new();
    let report = split(shape, format, input.as_bytes(), batch_rows, &mut |chunk| {
        sent.push(chunk);
        true
    });
    (report, sent)
}

/// What was sent, with each `Rows` chunk as its row count only.
#[derive(Debug, PartialEq)]
enum Sent {
    Rows(u64),
    End(u64),
}

fn outline(sent: &[Chunk]) -> Vec<Sent> {
    sent.iter()
        .map(|chunk| match chunk {
            Chunk::Rows { rows, .. } => Sent::Rows(*rows),
            Chunk::End { rows } => Sent::End(*rows),
        })
        .collect()
}

/// The COPY text lines of every `Rows` chunk, in order.
fn lines(sent: &[Chunk]) -> Vec<String> {
    let text: Vec<u8> = sent
        .iter()
        .flat_map(|chunk| match chunk {
            Chunk::Rows { text, .. } => text.clone(),
            Chunk::End { .. } => Vec::new(),
        })
        .collect();
    let text = String::from_utf8(text).expect("COPY text is UTF-8");
    text.lines().map(str::to_owned).collect()
}

/// `(row, property, reason)` of each problem.
fn problems(report: &Report) -> Vec<(u64, String, String)> {
    report.problems.iter().map(|p| (p.row, p.property.clone().unwrap_or_default(), p.reason.clone())).collect()
}

#[test]
fn a_valid_row_becomes_a_copy_line_with_its_row_number_first_and_nulls_as_backslash_n_in_column_order() {
    let calls = shape("Calls");
    let input = format!("{CALLS_HEADER}\n{}{}", call(1, Some("Zoë")), call(2, None));
    let (report, sent) = split_all(&calls, Format::Csv, &input, 1_000);
    assert_eq!(report, Report { rows: 2, ..Report::default() });
    let names = calls.columns().names();
    assert!(names.windows(2).all(|w| w[0] < w[1]), "table order, by column name: {names:?}");
    let expected = |row: u64, first_name: &str| {
        let fields = names.iter().map(|column| match column.as_str() {
            "id" => format!("call-{row}"),
            "channel_id" => "ch-1".into(),
            "channel_type" | "media" => "Voice".into(),
            "channel_closed_seconds" => "0".into(),
            "channel_open_seconds" => "1".into(),
            "is_outbound" => "false".into(),
            "started_at_utc" => "2026-11-20T08:01:00Z".into(),
            "customer_first_name" => first_name.into(),
            _ => "\\N".into(),
        });
        std::iter::once(row.to_string()).chain(fields).collect::<Vec<_>>().join("\t")
    };
    assert_eq!(lines(&sent), [expected(1, "Zoë"), expected(2, "\\N")]);
    assert_eq!(outline(&sent), [Sent::Rows(2), Sent::End(2)]);
}

#[test]
fn values_given_in_another_form_are_sent_in_their_canonical_text() {
    let calls = shape("Calls");
    let input = format!("{CALLS_HEADER}\ncall-1,ch-1,Voice,+007,1,FALSE,2026-11-20T09:01:00+01:00,\n");
    let (_, sent) = split_all(&calls, Format::Csv, &input, 1_000);
    let fields: Vec<String> = lines(&sent)[0].split('\t').map(str::to_owned).collect();
    let at = |column: &str| &fields[1 + calls.columns().names().iter().position(|c| c == column).unwrap()];
    assert_eq!(at("channel_closed_seconds"), "7");
    assert_eq!(at("is_outbound"), "false");
    assert_eq!(at("started_at_utc"), "2026-11-20T08:01:00Z");
}

#[test]
fn tabs_newlines_carriage_returns_and_backslashes_in_values_are_escaped_for_copy_text() {
    let calls = shape("Calls");
    let input = format!("{CALLS_HEADER}\n{}", call(1, Some("\"a\tb\nc\rd\\e\\N\"")));
    let (report, sent) = split_all(&calls, Format::Csv, &input, 1_000);
    assert_eq!(report.rows, 1, "{report:?}");
    let lines = lines(&sent);
    assert_eq!(lines.len(), 1, "one record is one line: {lines:?}");
    let column = calls.columns().names().iter().position(|c| c == "customer_first_name").unwrap();
    assert_eq!(lines[0].split('\t').nth(1 + column), Some("a\\tb\\nc\\rd\\\\e\\\\N"));
}

#[test]
fn ndjson_records_are_sent_like_csv_rows_with_their_line_numbers() {
    let calls = shape("Calls");
    let record = |id: &str| {
        format!(
            "{{\"id\":\"{id}\",\"channelId\":\"ch-1\",\"channelType\":\"Voice\",\"isChannelClosed\":0,\
             \"isChannelOpen\":1,\"isOutbound\":false,\"startedAtUTC\":\"2026-11-20T08:01:00Z\"}}\n"
        )
    };
    let ndjson = format!("{}\n{}", record("call-1"), record("call-2"));
    let (report, from_ndjson) = split_all(&calls, Format::NdJson, &ndjson, 1_000);
    assert_eq!(report.rows, 2, "{report:?}");
    let csv = format!("{CALLS_HEADER}\n{}{}", call(1, None), call(2, None));
    let (_, from_csv) = split_all(&calls, Format::Csv, &csv, 1_000);
    let from_csv = lines(&from_csv);
    // The blank line counts: the second record is line 3.
    assert_eq!(lines(&from_ndjson), [from_csv[0].clone(), from_csv[1].replacen('2', "3", 1)]);
}

#[test]
fn a_batch_ends_every_batch_rows_rows_and_the_rest_ends_at_the_end_of_the_input() {
    let calls = shape("Calls");
    let (report, sent) = split_all(&calls, Format::Csv, &calls_csv(5, &[]), 2);
    assert_eq!(report, Report { rows: 5, ..Report::default() });
    assert_eq!(outline(&sent), [Sent::Rows(2), Sent::End(2), Sent::Rows(2), Sent::End(2), Sent::Rows(1), Sent::End(1)]);
    let rows: Vec<String> = lines(&sent).iter().map(|l| l.split('\t').next().unwrap().to_owned()).collect();
    assert_eq!(rows, ["1", "2", "3", "4", "5"]);
}

#[test]
fn an_input_that_fills_its_last_batch_exactly_sends_no_empty_batch_after_it() {
    let (report, sent) = split_all(&shape("Calls"), Format::Csv, &calls_csv(4, &[]), 2);
    assert_eq!(report.rows, 4);
    assert_eq!(outline(&sent), [Sent::Rows(2), Sent::End(2), Sent::Rows(2), Sent::End(2)]);
}

#[test]
fn a_large_batch_is_handed_over_in_chunks_of_about_256_kib_and_ends_once() {
    let calls = shape("Calls");
    let name = "x".repeat(128);
    let mut input = format!("{CALLS_HEADER}\n");
    for n in 1..=5_000 {
        input.push_str(&call(n, Some(&name)));
    }
    let (report, sent) = split_all(&calls, Format::Csv, &input, u64::MAX);
    assert_eq!(report.rows, 5_000);
    let (last, chunks) = sent.split_last().expect("something was sent");
    assert_eq!(*last, Chunk::End { rows: 5_000 });
    assert!(chunks.len() >= 3, "{} chunks", chunks.len());
    let mut total = 0;
    for (i, chunk) in chunks.iter().enumerate() {
        let Chunk::Rows { text, rows } = chunk else { panic!("an End before the last: {:?}", outline(&sent)) };
        assert_eq!(text.iter().filter(|&&b| b == b'\n').count() as u64, *rows);
        assert!(text.len() < CHUNK_BYTES + 4096, "chunk {i} is {} bytes", text.len());
        if i + 1 < chunks.len() {
            assert!(text.len() >= CHUNK_BYTES, "chunk {i} is {} bytes", text.len());
        }
        total += rows;
    }
    assert_eq!(total, 5_000);
}

#[test]
fn an_input_without_rows_still_ends_one_empty_batch() {
    let calls = shape("Calls");
    for input in [format!("{CALLS_HEADER}\n"), String::new()] {
        let (report, sent) = split_all(&calls, Format::Csv, &input, 2);
        assert_eq!(report, Report::default(), "{input:?}");
        assert_eq!(sent, [Chunk::End { rows: 0 }], "{input:?}");
    }
    let (report, sent) = split_all(&calls, Format::NdJson, "\n\n", 2);
    assert_eq!(report, Report::default());
    assert_eq!(sent, [Chunk::End { rows: 0 }]);
}

#[test]
fn after_a_bad_row_nothing_more_is_sent_and_its_batch_never_ends() {
    let calls = shape("Calls");
    let (report, sent) = split_all(&calls, Format::Csv, &calls_csv(4, &[3]), 1_000);
    assert_eq!(sent, [], "rows 1 and 2 waited in the batch that row 3 spoiled");
    assert_eq!(report.rows, 3, "valid rows read, the one after the bad row included");
    assert_eq!(problems(&report), [(3, "isOutbound".into(), "not a valid Edm.Boolean: expected true or false".into())]);
    assert_eq!(report.problems[0].value.as_deref(), Some("maybe"));
    assert!(!report.truncated && !report.abandoned);
}

#[test]
fn a_bad_row_in_the_third_batch_leaves_the_first_two_ended_and_the_third_without_an_end() {
    let (report, sent) = split_all(&shape("Calls"), Format::Csv, &calls_csv(8, &[6]), 2);
    assert_eq!(outline(&sent), [Sent::Rows(2), Sent::End(2), Sent::Rows(2), Sent::End(2)]);
    assert_eq!(report.rows, 7);
    assert_eq!(report.problems.iter().map(|p| p.row).collect::<Vec<_>>(), [6]);
}

#[test]
fn a_bad_row_after_a_chunk_of_its_batch_was_sent_still_leaves_that_batch_without_an_end() {
    let calls = shape("Calls");
    let name = "x".repeat(128);
    let mut input = format!("{CALLS_HEADER}\n");
    for n in 1..=3_000 {
        input.push_str(&call(n, Some(&name)));
    }
    input.push_str("call-3001,ch-1,Voice,0,1,false,not a date,\n");
    let (report, sent) = split_all(&calls, Format::Csv, &input, u64::MAX);
    assert!(!sent.is_empty(), "the first chunks were sent before the bad row was read");
    assert!(sent.iter().all(|c| matches!(c, Chunk::Rows { .. })), "{:?}", outline(&sent));
    assert_eq!(problems(&report)[0].0, 3_001);
}

#[test]
fn every_problem_of_a_row_is_reported_with_its_row_property_and_reason() {
    let calls = shape("Calls");
    let input = format!(
        "{CALLS_HEADER}\n{}call-2,,Chat,0,1,false,2026-11-20T08:01:00Z,\n{}call-4,ch-1,Voice,x,1,false,2026-11-20T08:01:00Z,\n",
        call(1, None),
        call(3, None)
    );
    let (report, sent) = split_all(&calls, Format::Csv, &input, 1_000);
    assert_eq!(sent, []);
    assert_eq!(
        problems(&report),
        [
            (2, "channelId".into(), "not nullable; must not be null".into()),
            (2, "channelType".into(), "not one of the allowed values: Voice".into()),
            (
                4,
                "isChannelClosed".into(),
                "not a valid Edm.Int32: expected an integer (digits with an optional sign)".into()
            )
        ]
    );
    assert_eq!(report.rows, 2);
}

#[test]
fn a_malformed_row_is_a_problem_naming_the_row_without_a_property() {
    let calls = shape("Calls");
    let input = format!("{CALLS_HEADER}\n{}call-2,ch-1\n", call(1, None));
    let (report, sent) = split_all(&calls, Format::Csv, &input, 1_000);
    assert_eq!(sent, []);
    assert_eq!(report.problems.len(), 1);
    assert_eq!((report.problems[0].row, report.problems[0].property.as_deref()), (2, None));
    assert_eq!(report.problems[0].reason, "2 cells, but the header has 8 names");
}

#[test]
fn problems_are_listed_up_to_max_problems_and_the_rest_is_only_flagged_as_truncated() {
    let bad: Vec<u64> = (1..=MAX_PROBLEMS as u64 + 50).collect();
    let (report, sent) = split_all(&shape("Calls"), Format::Csv, &calls_csv(bad.len() as u64 + 10, &bad), 1_000);
    assert_eq!(sent, []);
    assert_eq!(report.problems.len(), MAX_PROBLEMS);
    assert_eq!(report.problems.iter().map(|p| p.row).collect::<Vec<_>>(), bad[..MAX_PROBLEMS]);
    assert!(report.truncated);
    assert_eq!(report.rows, 0, "the reader stopped at the problem after the last one listed");
}

#[test]
fn exactly_max_problems_are_listed_without_truncated() {
    let bad: Vec<u64> = (1..=MAX_PROBLEMS as u64).collect();
    let (report, _) = split_all(&shape("Calls"), Format::Csv, &calls_csv(MAX_PROBLEMS as u64 + 1, &bad), 1_000);
    assert_eq!(report.problems.len(), MAX_PROBLEMS);
    assert!(!report.truncated);
    assert_eq!(report.rows, 1);
}

#[test]
fn a_csv_header_naming_what_cannot_be_sent_is_reported_once_at_row_0_and_nothing_is_sent() {
    let calls = shape("Calls");
    let header = format!("{CALLS_HEADER},colour,tenantId,startedAt");
    let mut input = format!("{header}\n");
    for n in 1..=3 {
        input.push_str(&call(n, None).replace('\n', ",blue,t-1,2026-11-20T09:01:00+01:00\n"));
    }
    for input in [input, format!("{header}\n")] {
        let (report, sent) = split_all(&calls, Format::Csv, &input, 1);
        assert_eq!(sent, [], "{input:?}");
        assert_eq!(
            problems(&report),
            [
                (0, "colour".into(), "not a property of Calls".into()),
                (0, "tenantId".into(), "the tenant comes from the token; do not send it".into()),
                (0, "startedAt".into(), "derived from startedAtUTC; send that property instead".into())
            ]
        );
        assert_eq!(report.rows, 0);
        assert!(!report.truncated && !report.abandoned);
    }
}

#[test]
fn a_lookup_row_becomes_its_row_number_its_id_and_its_other_properties_as_a_json_object() {
    let agents = shape("Agents");
    assert!(agents.is_lookup());
    let input = "name,id,customId\n\"Zoë \"\"Z\"\"\",a-1,C\\7\nBob,a-2,\n";
    let (report, sent) = split_all(&agents, Format::Csv, input, 1_000);
    assert_eq!(report, Report { rows: 2, ..Report::default() });
    assert_eq!(
        lines(&sent),
        [
            // JSON's backslashes doubled again for COPY text.
            "1\ta-1\t{\"customId\":\"C\\\\\\\\7\",\"name\":\"Zoë \\\\\"Z\\\\\"\"}",
            "2\ta-2\t{\"customId\":null,\"name\":\"Bob\"}"
        ]
    );
    assert_eq!(outline(&sent), [Sent::Rows(2), Sent::End(2)]);
}

#[test]
fn lookup_attributes_keep_booleans_and_integers_as_json_values() {
    const PLACES: &str = r#"
name = "Places"
entity_type = "Place"
kind = "lookup"
table = "places"
key = ["id"]
description = "Places."

[[property]]
name = "id"
type = "Edm.String"
column = "id"
nullable = false
max_length = 64
description = "Id."

[[property]]
name = "deletedAt"
type = "Edm.DateTimeOffset"
column = "deleted_at"
description = "Deleted."

[[property]]
name = "open"
type = "Edm.Boolean"
column = "open"
description = "Open."

[[property]]
name = "seats"
type = "Edm.Int32"
column = "seats"
description = "Seats."

[[property]]
name = "size"
type = "Edm.Int64"
column = "size"
description = "Size."

[[property]]
name = "since"
type = "Edm.Date"
column = "since"
description = "Since."
"#;
    let model = Model::from_sources(&[("Places.toml", PLACES)]).expect("the test model loads");
    let places = Shape::new(model.entity_set("Places").expect("Places"));
    let ndjson = "{\"id\":\"p-1\",\"open\":true,\"seats\":12,\"size\":\"9007199254740993\",\"since\":\"2026-01-02\"}\n\
                  {\"id\":\"p-2\",\"open\":false,\"seats\":null}\n";
    let (report, sent) = split_all(&places, Format::NdJson, ndjson, 1_000);
    assert_eq!(report.rows, 2, "{report:?}");
    assert_eq!(
        lines(&sent),
        [
            "1\tp-1\t{\"open\":true,\"seats\":12,\"since\":\"2026-01-02\",\"size\":9007199254740993}",
            "2\tp-2\t{\"open\":false,\"seats\":null,\"since\":null,\"size\":null}"
        ]
    );
}

#[test]
fn a_lookup_deleted_at_is_refused_in_a_csv_header_and_in_a_record() {
    let agents = shape("Agents");
    let reason = "set by the nightly lookup refresh when an object leaves the source; do not send it";
    let (report, sent) = split_all(&agents, Format::Csv, "id,deletedAt\na-1,2026-11-20T08:01:00Z\n", 1_000);
    assert_eq!(sent, []);
    assert_eq!(problems(&report), [(0, "deletedAt".into(), reason.into())]);
    let ndjson = "{\"id\":\"a-1\",\"deletedAt\":null}\n";
    let (report, sent) = split_all(&agents, Format::NdJson, ndjson, 1_000);
    assert_eq!(sent, []);
    assert_eq!(problems(&report), [(1, "deletedAt".into(), reason.into())]);
}

#[test]
fn when_the_writer_goes_away_the_split_stops_as_abandoned() {
    let calls = shape("Calls");
    let input = calls_csv(6, &[]);
    // Refusing the first chunk.
    let mut calls_made = 0;
    let report = split(&calls, Format::Csv, input.as_bytes(), 2, &mut |_| {
        calls_made += 1;
        false
    });
    assert_eq!((calls_made, report.abandoned, report.rows), (1, true, 2));
    // Refusing the end of the first batch.
    let mut sent = Vec::new();
    let report = split(&calls, Format::Csv, input.as_bytes(), 2, &mut |chunk| {
        let refuse = matches!(chunk, Chunk::End { .. });
        sent.push(chunk);
        !refuse
    });
    assert_eq!(outline(&sent), [Sent::Rows(2), Sent::End(2)]);
    assert!(report.abandoned);
    assert_eq!(report.rows, 2, "nothing was read after the writer went away");
    assert!(report.problems.is_empty());
    // Refusing the last batch, sent at the end of the input.
    let mut calls_made = 0;
    let report = split(&calls, Format::Csv, calls_csv(1, &[]).as_bytes(), 2, &mut |_| {
        calls_made += 1;
        false
    });
    assert_eq!((calls_made, report.abandoned), (1, true));
    let report =
        split(&calls, Format::Csv, calls_csv(1, &[]).as_bytes(), 2, &mut |chunk| matches!(chunk, Chunk::Rows { .. }));
    assert!(report.abandoned, "the refused end of the last batch");
}
