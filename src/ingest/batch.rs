//! Turns one input (NDJSON or CSV) into batches for the writer: every valid record becomes a
//! line of PostgreSQL COPY text (its row number first), sent in chunks, and a batch is closed
//! by `Chunk::End` only when every record of the input so far was valid.
//!
//! Invariants: after the first problem nothing more is sent, so the writer never sees the end
//! of a batch that holds (or follows) a bad row and commits nothing of it; an input that
//! cannot be read to its end (a read error, a body over the limit) never ends its batch
//! either. Problems are collected up to `MAX_PROBLEMS`; the reader stops at the one after.
//! Memory is bounded by one chunk plus one record.

use super::records::{Format, Records};
use super::validate::{Columns, Problem, record};
use crate::odata::edm::EdmType;
use crate::odata::model::{EntitySet, SetKind};
use std::io::BufRead;

/// The most problems one answer lists.
pub const MAX_PROBLEMS: usize = 100;
/// COPY text is handed over in chunks of about this size.
const CHUNK_BYTES: usize = 256 * 1024;

/// What the writer receives.
#[derive(Debug, PartialEq)]
pub enum Chunk {
    /// COPY text lines of `rows` records.
    Rows { text: Vec<u8>, rows: u64 },
    /// The batch so far is complete and valid: `rows` records in all.
    End { rows: u64 },
}

/// How the records of one entity set are staged.
#[derive(Debug, Clone)]
pub struct Shape {
    columns: Columns,
    /// For a lookup set, the column of its key (`id`): its objects go to the lookup source
    /// as (id, attributes) rather than into the table's columns.
    lookup_key: Option<usize>,
}

impl Shape {
    pub fn new(set: &EntitySet) -> Shape {
        let columns = Columns::new(set);
        let lookup_key = match set.kind {
            SetKind::Lookup => {
                set.key_properties().next().and_then(|key| columns.names().iter().position(|c| c == key.column()))
            }
            SetKind::Statistic => None,
        };
        Shape { columns, lookup_key }
    }

    pub fn columns(&self) -> &Columns {
        &self.columns
    }

    /// Whether records go to the lookup source.
    pub fn is_lookup(&self) -> bool {
        self.lookup_key.is_some()
    }

    /// Appends one valid record as a COPY text line.
    fn encode(&self, row: u64, values: &[Option<String>], out: &mut Vec<u8>) {
        out.extend_from_slice(row.to_string().as_bytes());
        match self.lookup_key {
            None => {
                for value in values {
                    out.push(b'\t');
                    copy_field(value.as_deref(), out);
                }
            }
            Some(key) => {
                out.push(b'\t');
                copy_field(values[key].as_deref(), out);
                out.push(b'\t');
                let attributes = self.attributes(key, values);
                copy_field(Some(&attributes), out);
            }
        }
        out.push(b'\n');
    }

    /// A lookup object's attributes by property name, typed as JSON (the form the lookup
    /// source and the upstream API share); every property but the key, nulls included.
    fn attributes(&self, key: usize, values: &[Option<String>]) -> String {
        let mut object = serde_json::Map::new();
        for (index, value) in values.iter().enumerate() {
            let Some((name, edm_type)) = self.columns.property(index).filter(|_| index != key) else { continue };
            let json = match (value, edm_type) {
                (None, _) => serde_json::Value::Null,
                (Some(text), EdmType::Boolean) => serde_json::Value::Bool(text == "true"),
                (Some(text), EdmType::Int16 | EdmType::Int32 | EdmType::Int64) => {
                    text.parse::<i64>().map_or_else(|_| text.clone().into(), serde_json::Value::from)
                }
                (Some(text), _) => serde_json::Value::String(text.clone()),
            };
            object.insert(name.to_owned(), json);
        }
        serde_json::Value::Object(object).to_string()
    }
}

/// What reading one input found.
#[derive(Debug, Default, PartialEq)]
pub struct Report {
    /// Valid records read.
    pub rows: u64,
    /// The first `MAX_PROBLEMS` problems, in input order.
    pub problems: Vec<Problem>,
    /// True when there were more problems than listed.
    pub truncated: bool,
    /// True when the writer went away before the input was read to its end.
    pub abandoned: bool,
}

/// Reads `input` to its end (or to the problem after `MAX_PROBLEMS`), sending batches of at
/// most `batch_rows` records to `send`, which returns false when the writer is gone.
pub fn split<R: BufRead>(
    shape: &Shape,
    format: Format,
    input: R,
    batch_rows: u64,
    send: &mut dyn FnMut(Chunk) -> bool,
) -> Report {
    let mut report = Report::default();
    let mut records = Records::new(format, input);
    let mut text = Vec::with_capacity(CHUNK_BYTES + 4096);
    let (mut in_chunk, mut in_batch) = (0u64, 0u64);
    let mut header_checked = format != Format::Csv;
    let mut failed = false;
    let add = |report: &mut Report, problems: Vec<Problem>| {
        for problem in problems {
            if report.problems.len() == MAX_PROBLEMS {
                report.truncated = true;
                return false;
            }
            report.problems.push(problem);
        }
        true
    };
    loop {
        let next = records.next_record();
        if !header_checked && let Some(header) = records.header() {
            header_checked = true;
            let problems = shape.columns.check_header(header);
            if !problems.is_empty() {
                add(&mut report, problems);
                return report;
            }
        }
        let Some(next) = next else { break };
        let values =
            match next.map_err(|p| vec![p]).and_then(|r| record(&shape.columns, r.row, r.fields()).map(|v| (r.row, v)))
            {
                Ok(values) => values,
                Err(problems) => {
                    failed = true;
                    if !add(&mut report, problems) {
                        return report;
                    }
                    continue;
                }
            };
        report.rows += 1;
        if failed {
            continue; // nothing more is sent; the rest is only checked
        }
        shape.encode(values.0, &values.1, &mut text);
        in_chunk += 1;
        in_batch += 1;
        if text.len() >= CHUNK_BYTES || in_batch == batch_rows {
            let rows = std::mem::take(&mut in_chunk);
            if !send(Chunk::Rows { text: std::mem::replace(&mut text, Vec::with_capacity(CHUNK_BYTES + 4096)), rows }) {
                report.abandoned = true;
                return report;
            }
        }
        if in_batch == batch_rows && !send(Chunk::End { rows: std::mem::take(&mut in_batch) }) {
            report.abandoned = true;
            return report;
        }
    }
    // An input that could not be read to its end (a read error) was reported as a problem.
    if !failed && (in_batch > 0 || report.rows == 0) {
        if !text.is_empty() && !send(Chunk::Rows { text, rows: in_chunk }) {
            report.abandoned = true;
            return report;
        }
        if !send(Chunk::End { rows: in_batch }) {
            report.abandoned = true;
        }
    }
    report
}

/// One field in COPY's text format: `\N` for null, backslash escapes for the separators.
fn copy_field(value: Option<&str>, out: &mut Vec<u8>) {
    let Some(value) = value else {
        out.extend_from_slice(b"\\N");
        return;
    };
    for byte in value.bytes() {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            other => out.push(other),
        }
    }
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
