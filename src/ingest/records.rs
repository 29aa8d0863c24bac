//! Reads input records one at a time from NDJSON or CSV, without holding more than one record.
//!
//! Pure: it reads from any `BufRead` (the caller may wrap a gzip decoder) and returns owned
//! records or per-row problems; what the values mean is `validate`'s business.
//!
//! Row numbers are 1-based: for NDJSON the line number (blank lines count, so a problem
//! points at the line in the file); for CSV the data record number, header excluded (a quoted
//! cell may span lines). Problems with the CSV header are reported as row 0.

use crate::ingest::validate::{Problem, RawValue};
use std::collections::HashSet;
use std::io::BufRead;

/// The longest NDJSON line or CSV record accepted, in bytes (the newline excluded).
const MAX_LINE_BYTES: usize = 1 << 20;

/// The formats a batch can come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    NdJson,
    Csv,
}

/// One record read from the input, with owned storage.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub row: u64,
    pub values: Vec<(String, RecordValue)>,
}

/// One owned input value.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordValue {
    Json(serde_json::Value),
    Text(String),
}

impl Record {
    /// The fields as `validate::record` takes them.
    pub fn fields(&self) -> impl Iterator<Item = (&str, RawValue<'_>)> {
        self.values.iter().map(|(name, value)| {
            let raw = match value {
                RecordValue::Json(v) => RawValue::Json(v),
                RecordValue::Text(s) => RawValue::Text(s),
            };
            (name.as_str(), raw)
        })
    }
}

/// Reads records one at a time from any `BufRead`, so memory stays bounded by the longest
/// record.
pub struct Records<R> {
    inner: Inner<R>,
    row: u64,
    done: bool,
}

enum Inner<R> {
    NdJson { input: R, line: Vec<u8> },
    Csv { reader: csv::Reader<RecordGuard<R>>, header: Option<Vec<String>>, cells: csv::ByteRecord },
}

/// Fails the input once a CSV record (quoted line breaks included) passes `MAX_LINE_BYTES`,
/// so that one endless field cannot fill memory: RFC 4180 quoting is tracked by toggling on
/// every `"` (an escaped `""` toggles twice), and a line break outside quotes ends a record.
struct RecordGuard<R> {
    inner: R,
    quoted: bool,
    record_bytes: usize,
    /// Set once the limit was passed: every later read fails.
    failed: bool,
}

impl<R: std::io::Read> std::io::Read for RecordGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let too_long = || std::io::Error::other(format!("a CSV record is longer than {MAX_LINE_BYTES} bytes"));
        if self.failed {
            return Err(too_long());
        }
        let n = self.inner.read(buf)?;
        for (i, &byte) in buf[..n].iter().enumerate() {
            match byte {
                b'"' => self.quoted = !self.quoted,
                b'\n' if !self.quoted => {
                    self.record_bytes = 0;
                    continue;
                }
                _ => {}
            }
            self.record_bytes += 1;
            if self.record_bytes > MAX_LINE_BYTES {
                // The records before the long one are handed over; the next read fails, so
                // the problem names the long record's row.
                self.failed = true;
                return if i > 0 { Ok(i) } else { Err(too_long()) };
            }
        }
        Ok(n)
    }
}

/// A problem with a whole line or row (no property, no value).
fn row_problem(row: u64, reason: impl Into<String>) -> Problem {
    Problem { row, property: None, value: None, reason: reason.into() }
}

impl<R: BufRead> Records<R> {
    pub fn new(format: Format, input: R) -> Records<R> {
        let inner = match format {
            Format::NdJson => Inner::NdJson { input, line: Vec::new() },
            Format::Csv => {
                let guarded = RecordGuard { inner: input, quoted: false, record_bytes: 0, failed: false };
                let reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(guarded);
                Inner::Csv { reader, header: None, cells: csv::ByteRecord::new() }
            }
        };
        Records { inner, row: 0, done: false }
    }

    /// The CSV header's names, once the first record (or the end) has been read.
    pub fn header(&self) -> Option<&[String]> {
        match &self.inner {
            Inner::Csv { header, .. } => header.as_deref(),
            Inner::NdJson { .. } => None,
        }
    }

    /// The next record as (1-based data row number, its fields), or a Problem (row number,
    /// reason) for a malformed line/row; None at the end. After a read error or a bad CSV
    /// header the reader stops.
    pub fn next_record(&mut self) -> Option<Result<Record, Problem>> {
        if self.done {
            return None;
        }
        let next = match &mut self.inner {
            Inner::NdJson { input, line } => next_ndjson(input, line, &mut self.row),
            Inner::Csv { reader, header, cells } => next_csv(reader, header, cells, &mut self.row),
        };
        match next {
            Step::Record(record) => Some(Ok(record)),
            Step::Problem(problem) => Some(Err(problem)),
            Step::Fatal(problem) => {
                self.done = true;
                Some(Err(problem))
            }
            Step::End => {
                self.done = true;
                None
            }
        }
    }
}

impl<R: BufRead> Iterator for Records<R> {
    type Item = Result<Record, Problem>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record()
    }
}

/// The outcome of one read.
enum Step {
    Record(Record),
    /// A bad line or row; reading goes on.
    Problem(Problem),
    /// Reading cannot go on.
    Fatal(Problem),
    End,
}

fn next_ndjson<R: BufRead>(input: &mut R, line: &mut Vec<u8>, row: &mut u64) -> Step {
    loop {
        line.clear();
        *row += 1;
        let read = std::io::Read::take(&mut *input, MAX_LINE_BYTES as u64 + 1).read_until(b'\n', line);
        match read {
            Err(e) => return Step::Fatal(row_problem(*row, format!("cannot read the input: {e}"))),
            Ok(0) => return Step::End,
            Ok(_) => {}
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        } else if line.len() > MAX_LINE_BYTES {
            if let Err(e) = skip_line(input) {
                return Step::Fatal(row_problem(*row, format!("cannot read the input: {e}")));
            }
            return Step::Problem(row_problem(*row, format!("the line is longer than {MAX_LINE_BYTES} bytes")));
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let text = match std::str::from_utf8(line) {
            Ok(text) => text,
            Err(e) => return Step::Problem(row_problem(*row, format!("not valid UTF-8: {e}"))),
        };
        return match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(object)) => {
                let values = object.into_iter().map(|(k, v)| (k, RecordValue::Json(v))).collect();
                Step::Record(Record { row: *row, values })
            }
            Ok(other) => Step::Problem(row_problem(*row, format!("expected a JSON object, found {}", kind(&other)))),
            Err(e) => Step::Problem(row_problem(*row, format!("not valid JSON: {e}"))),
        };
    }
}

/// Discards the rest of the current line, newline included, without buffering it.
fn skip_line(input: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(i) => {
                input.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = buf.len();
                input.consume(n);
            }
        }
    }
}

fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn next_csv<R: std::io::Read>(
    reader: &mut csv::Reader<R>,
    header: &mut Option<Vec<String>>,
    cells: &mut csv::ByteRecord,
    row: &mut u64,
) -> Step {
    if header.is_none() {
        match reader.read_byte_record(cells) {
            Err(e) => return Step::Fatal(row_problem(0, format!("cannot read the CSV header: {e}"))),
            Ok(false) => return Step::End,
            Ok(true) => {}
        }
        match header_names(cells) {
            Ok(names) => *header = Some(names),
            Err(reason) => return Step::Fatal(row_problem(0, reason)),
        }
    }
    let names = header.as_deref().unwrap_or_default();
    *row += 1;
    match reader.read_byte_record(cells) {
        Err(e) if e.is_io_error() => return Step::Fatal(row_problem(*row, format!("cannot read the input: {e}"))),
        Err(e) => return Step::Problem(row_problem(*row, format!("not valid CSV: {e}"))),
        Ok(false) => return Step::End,
        Ok(true) => {}
    }
    if cells.len() != names.len() {
        let reason = format!("{} cells, but the header has {} names", cells.len(), names.len());
        return Step::Problem(row_problem(*row, reason));
    }
    let mut values = Vec::with_capacity(names.len());
    for (i, (name, cell)) in names.iter().zip(cells.iter()).enumerate() {
        match std::str::from_utf8(cell) {
            Ok(text) => values.push((name.clone(), RecordValue::Text(text.to_string()))),
            Err(e) => {
                let reason = format!("cell {} ({name}) is not valid UTF-8: {e}", i + 1);
                return Step::Problem(row_problem(*row, reason));
            }
        }
    }
    Step::Record(Record { row: *row, values })
}

/// The property names of a CSV header, or why they cannot be used.
fn header_names(cells: &csv::ByteRecord) -> Result<Vec<String>, String> {
    let mut names = Vec::with_capacity(cells.len());
    let mut seen = HashSet::new();
    for (i, cell) in cells.iter().enumerate() {
        let name = std::str::from_utf8(cell).map_err(|e| format!("header name {} is not valid UTF-8: {e}", i + 1))?;
        if name.is_empty() {
            return Err(format!("header name {} is empty", i + 1));
        }
        if !seen.insert(name) {
            return Err(format!("header name {name} is given more than once"));
        }
        names.push(name.to_string());
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::validate::{Columns, record};
    use crate::odata::model::Model;
    use serde_json::json;

    fn read(format: Format, input: &[u8]) -> Vec<Result<Record, Problem>> {
        Records::new(format, input).collect()
    }

    fn rows_and_reasons(results: &[Result<Record, Problem>]) -> Vec<(u64, Option<String>)> {
        results
            .iter()
            .map(|r| match r {
                Ok(record) => (record.row, None),
                Err(problem) => (problem.row, Some(problem.reason.clone())),
            })
            .collect()
    }

    fn text(record: &Record) -> Vec<(&str, &str)> {
        record
            .values
            .iter()
            .map(|(k, v)| match v {
                RecordValue::Text(s) => (k.as_str(), s.as_str()),
                RecordValue::Json(_) => panic!("a JSON value from CSV"),
            })
            .collect()
    }

    #[test]
    fn ndjson_records_carry_their_line_numbers_and_blank_lines_are_skipped() {
        let input = b"{\"id\":\"a\",\"n\":1}\n\n   \r\n{\"id\":\"b\"}\r\n{\"id\":\"c\"}";
        let results = read(Format::NdJson, input);
        let records: Vec<&Record> = results.iter().map(|r| r.as_ref().expect("a record")).collect();
        assert_eq!(records.iter().map(|r| r.row).collect::<Vec<_>>(), [1, 4, 5]);
        assert_eq!(
            records[0].values,
            [("id".into(), RecordValue::Json(json!("a"))), ("n".into(), RecordValue::Json(json!(1)))]
        );
    }

    #[test]
    fn an_ndjson_line_that_is_not_a_json_object_is_a_problem_naming_the_row() {
        let input = b"[1,2]\n{\"id\":\"a\"}\n42\n{\"id\": \n\"text\"\n";
        let results = rows_and_reasons(&read(Format::NdJson, input));
        assert_eq!(results.len(), 5);
        assert_eq!(results[0], (1, Some("expected a JSON object, found an array".into())));
        assert_eq!(results[1], (2, None));
        assert_eq!(results[2], (3, Some("expected a JSON object, found a number".into())));
        assert_eq!(results[3].0, 4);
        assert!(results[3].1.as_deref().unwrap().starts_with("not valid JSON"), "{:?}", results[3]);
        assert_eq!(results[4], (5, Some("expected a JSON object, found a string".into())));
    }

    #[test]
    fn an_ndjson_line_longer_than_one_mib_is_a_problem_and_reading_goes_on() {
        let mut input = format!("{{\"id\":\"{}\"}}\n", "x".repeat(MAX_LINE_BYTES)).into_bytes();
        input.extend_from_slice(b"{\"id\":\"a\"}\n");
        let results = rows_and_reasons(&read(Format::NdJson, &input));
        assert_eq!(results, [(1, Some(format!("the line is longer than {MAX_LINE_BYTES} bytes"))), (2, None)]);
    }

    #[test]
    fn csv_cells_may_be_quoted_with_commas_quotes_and_newlines() {
        let input = b"id,name\na-1,\"Smith, \"\"J\"\"\nJr.\"\nb-2,\n";
        let results = read(Format::Csv, input);
        let records: Vec<&Record> = results.iter().map(|r| r.as_ref().expect("a record")).collect();
        assert_eq!(records.iter().map(|r| r.row).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(text(records[0]), [("id", "a-1"), ("name", "Smith, \"J\"\nJr.")]);
        assert_eq!(text(records[1]), [("id", "b-2"), ("name", "")]);
    }

    #[test]
    fn a_csv_row_with_too_few_or_too_many_cells_is_a_problem_naming_the_row() {
        let input = b"id,name\na\nb,B\nc,C,extra\n";
        let results = rows_and_reasons(&read(Format::Csv, input));
        assert_eq!(
            results,
            [
                (1, Some("1 cells, but the header has 2 names".into())),
                (2, None),
                (3, Some("3 cells, but the header has 2 names".into()))
            ]
        );
    }

    #[test]
    fn an_empty_or_duplicate_header_name_is_one_problem_at_row_0() {
        let empty = rows_and_reasons(&read(Format::Csv, b"id,,name\n1,2,3\n4,5,6\n"));
        assert_eq!(empty, [(0, Some("header name 2 is empty".into()))]);
        let duplicate = rows_and_reasons(&read(Format::Csv, b"id,name,id\n1,2,3\n"));
        assert_eq!(duplicate, [(0, Some("header name id is given more than once".into()))]);
    }

    #[test]
    fn a_utf8_bom_at_the_start_of_a_csv_is_ignored() {
        let results = read(Format::Csv, b"\xEF\xBB\xBFid,name\na,A\n");
        assert_eq!(text(results[0].as_ref().expect("a record")), [("id", "a"), ("name", "A")]);
    }

    #[test]
    fn invalid_utf8_is_a_problem_not_a_panic() {
        let csv = rows_and_reasons(&read(Format::Csv, b"id,name\na,\xFF\xFE\nb,B\n"));
        assert_eq!(csv.len(), 2);
        assert_eq!(csv[0].0, 1);
        assert!(csv[0].1.as_deref().unwrap().starts_with("cell 2 (name) is not valid UTF-8"), "{csv:?}");
        assert_eq!(csv[1], (2, None));
        let header = rows_and_reasons(&read(Format::Csv, b"id,n\xFF\na,b\n"));
        assert_eq!(header.len(), 1);
        assert_eq!(header[0].0, 0);
        let ndjson = rows_and_reasons(&read(Format::NdJson, b"{\"id\":\"\xFF\"}\n{}\n"));
        assert_eq!(ndjson.len(), 2);
        assert!(ndjson[0].1.as_deref().unwrap().starts_with("not valid UTF-8"), "{ndjson:?}");
        assert_eq!(ndjson[1], (2, None));
    }

    #[test]
    fn empty_input_has_no_records() {
        assert!(read(Format::NdJson, b"").is_empty());
        assert!(read(Format::Csv, b"").is_empty());
        assert!(read(Format::Csv, b"id,name\n").is_empty());
    }

    #[test]
    fn the_same_record_from_ndjson_and_from_csv_validates_to_the_same_values() {
        let model = Model::load().expect("the embedded model loads");
        let columns = Columns::new(model.entity_set("Agents").expect("the set exists"));
        let ndjson = read(Format::NdJson, "{\"id\":\"a-1\",\"name\":\"Zoë, \\\"Z\\\"\"}\n".as_bytes());
        let csv = read(Format::Csv, "id,name\na-1,\"Zoë, \"\"Z\"\"\"\n".as_bytes());
        let (ndjson, csv) = (ndjson[0].as_ref().expect("a record"), csv[0].as_ref().expect("a record"));
        let from_json = record(&columns, ndjson.row, ndjson.fields()).expect("valid");
        let from_csv = record(&columns, csv.row, csv.fields()).expect("valid");
        assert_eq!(from_json, from_csv);
        assert!(from_json.contains(&Some("Zoë, \"Z\"".to_string())), "{from_json:?}");
    }

    #[test]
    fn a_csv_record_longer_than_the_limit_stops_the_input_at_its_row() {
        let mut input = b"id,name\na,\"one\ntwo\"\nb,x\n".to_vec();
        input.extend_from_slice(b"c,\"");
        input.extend(std::iter::repeat_n(b'y', MAX_LINE_BYTES + 10));
        input.extend_from_slice(b"\"\nd,z\n");
        let results = read(Format::Csv, &input);
        let rows = rows_and_reasons(&results);
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert_eq!((rows[0].0, rows[1].0), (1, 2), "the records before the long one are read: {rows:?}");
        let (row, reason) = &rows[2];
        assert_eq!(*row, 3);
        assert!(reason.as_deref().is_some_and(|r| r.contains("longer than 1048576 bytes")), "{reason:?}");
    }

    #[test]
    fn quoted_line_breaks_and_escaped_quotes_do_not_confuse_the_record_limit() {
        let mut input = b"id,name\n".to_vec();
        for n in 0..3000 {
            // Each record is about 700 bytes; together far more than the limit.
            input.extend_from_slice(format!("r{n},\"{}\"\"\n{}\"\n", "q".repeat(350), "w".repeat(340)).as_bytes());
        }
        let results = read(Format::Csv, &input);
        assert_eq!(results.len(), 3000);
        assert!(results.iter().all(Result::is_ok), "{:?}", rows_and_reasons(&results).iter().find(|r| r.1.is_some()));
    }
}
