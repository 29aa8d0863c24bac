//! The OASIS ABNF conformance cases (../shared/conformance/abnf) for the rules this layer parses.
//! Positive cases must parse, negative ones (with `FailAt`) must be rejected; the cases we
//! deliberately do not support are named in `abnf_allowlist.txt`, and a stale entry fails too.
//! Resource paths are checked as relative URIs: the path by `parse_path`, the query string after
//! `?` by `parse_query`. Absolute URIs (`odataUri`) are not checked: their service root is unknown.

use super::query::percent_decode;
use super::*;

const CASES: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/conformance/abnf/odata-abnf-testcases.json"));
const ALLOWLIST: &str = include_str!("abnf_allowlist.txt");

/// How a rule's input is checked.
#[derive(Clone, Copy)]
enum Mode {
    /// A whole query string.
    Query,
    /// One query option: a query string that must hold a single option.
    Option,
    /// A percent-encoded expression.
    Expr,
    /// A lambda operator (`any(...)`, `all(...)`) as it follows a collection path.
    Lambda,
    /// A percent-encoded literal: must parse as an expression that is a literal.
    UrlLiteral,
    /// A literal as written in a payload: no percent-decoding.
    PayloadLiteral,
    /// The ISO 8601 text of a duration, checked inside `duration'...'`.
    PayloadDuration,
    /// A resource path relative to the service root, optionally followed by `?` and a query string.
    RelativeUri,
}

fn mode(rule: &str) -> Option<Mode> {
    Some(match rule {
        "queryOptions" | "systemQueryOption" | "customQueryOption" => Mode::Query,
        "filter" | "orderby" | "orderBy" | "select" | "skiptoken" | "expand" => Mode::Option,
        "boolCommonExpr" | "boolcommonExpr" | "commonExpr" | "firstMemberExpr" | "isofExpr" | "notExpr"
        | "propertyPathExpr" => Mode::Expr,
        "anyExpr" | "allExpr" => Mode::Lambda,
        "primitiveLiteral"
        | "boolean"
        | "null"
        | "guid"
        | "date"
        | "stringLiteral"
        | "enumLiteral"
        | "binaryLiteral"
        | "durationLiteral"
        | "dateTimeOffsetLiteral"
        | "dateTimeOffsetValueInUrl"
        | "timeOfDayLiteral"
        | "decimalLiteral"
        | "doubleLiteral"
        | "singleLiteral"
        | "sbyteLiteral"
        | "int16Literal"
        | "int32Literal"
        | "int64Literal" => Mode::UrlLiteral,
        "booleanValue"
        | "dateValue"
        | "dateTimeOffsetValue"
        | "timeOfDayValue"
        | "decimalValue"
        | "doubleValue"
        | "singleValue"
        | "byteValue"
        | "sbyteValue"
        | "int16Value"
        | "int32Value"
        | "int64Value" => Mode::PayloadLiteral,
        "durationValue" => Mode::PayloadDuration,
        "odataRelativeUri" | "resourcePath" | "entitySetName" | "odataIdentifier" => Mode::RelativeUri,
        _ => return None,
    })
}

/// Whether a literal is of the kind the rule describes.
fn literal_fits(rule: &str, lit: &Literal) -> bool {
    use Literal as L;
    let r = rule.to_ascii_lowercase();
    match lit {
        _ if r == "primitiveliteral" => true,
        L::Null => r == "null",
        L::Boolean(_) => r.starts_with("boolean"),
        L::Int(_) | L::Decimal(_) | L::Double(_) => {
            ["decimal", "double", "single", "byte", "sbyte", "int"].iter().any(|p| r.starts_with(p))
        }
        L::String(_) => r == "stringliteral" || r == "enumliteral" || r == "durationliteral",
        L::Guid(_) => r == "guid",
        L::Date(_) => r.starts_with("date") && !r.starts_with("datetime"),
        L::DateTimeOffset(_) => r.starts_with("datetimeoffset"),
        L::TimeOfDay(_) => r.starts_with("timeofday"),
        L::Duration(_) => r.starts_with("duration"),
        L::Binary(_) => r.starts_with("binary"),
        L::Enum { .. } => r == "enumliteral",
    }
}

fn literal(rule: &str, text: &str) -> Result<(), String> {
    match parse_filter(text) {
        Ok(Expr::Literal(l)) if literal_fits(rule, &l) => Ok(()),
        Ok(other) => Err(format!("parsed as {other}, not a literal of this rule")),
        Err(e) => Err(e.to_string()),
    }
}

/// Whether `input` is accepted under `mode` (Err carries the reason it was not).
fn accepts(mode: Mode, rule: &str, input: &str) -> Result<(), String> {
    let decoded = || percent_decode(input, 0).map_err(|e| e.to_string());
    match mode {
        Mode::Query => parse_query(input).map(drop).map_err(|e| e.to_string()),
        Mode::Option if input.contains('&') => Err("a single option cannot contain `&`".into()),
        Mode::Option => parse_query(input).map(drop).map_err(|e| e.to_string()),
        Mode::Expr => parse_filter(&decoded()?).map(drop).map_err(|e| e.to_string()),
        Mode::Lambda => parse_filter(&format!("Items/{}", decoded()?)).map(drop).map_err(|e| e.to_string()),
        Mode::UrlLiteral => literal(rule, &decoded()?),
        Mode::PayloadLiteral => literal(rule, input),
        Mode::PayloadDuration => literal(rule, &format!("duration'{input}'")),
        Mode::RelativeUri => {
            let (path, query) = input.split_once('?').unwrap_or((input, ""));
            parse_path(path).map_err(|e| e.to_string())?;
            parse_query(query).map(drop).map_err(|e| e.to_string())
        }
    }
}

/// Allow-list entries: `Name` (every case of that name) or `Name => Input`, then `  # reason`.
fn allowlist() -> Vec<(String, Option<String>)> {
    ALLOWLIST
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let entry = l.rsplit_once("  # ").map_or(l, |(e, _)| e).trim_end();
            match entry.split_once(" => ") {
                Some((name, input)) => (name.to_owned(), Some(input.to_owned())),
                None => (entry.to_owned(), None),
            }
        })
        .collect()
}

#[test]
fn the_oasis_abnf_cases_for_the_rules_we_parse_behave_as_specified() {
    let json: serde_json::Value = serde_json::from_str(CASES).unwrap();
    let allow = allowlist();
    let mut used = vec![false; allow.len()];
    let (mut positive, mut negative, mut allowed) = (0, 0, 0);
    let mut unexpected = Vec::new();
    let mut per_rule: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for case in json["TestCases"].as_array().unwrap() {
        let rule = case["Rule"].as_str().unwrap();
        let Some(mode) = mode(rule) else { continue };
        let name = case["Name"].as_str().unwrap();
        let input = case["Input"].as_str().unwrap();
        let should_fail = case.get("FailAt").is_some();
        let outcome = accepts(mode, rule, input);
        let as_expected = outcome.is_ok() != should_fail;
        let counts = per_rule.entry(rule).or_default();
        let entry = allow.iter().position(|(n, i)| n == name && i.as_deref().is_none_or(|i| i == input));
        match (as_expected, entry) {
            (true, None) if should_fail => {
                negative += 1;
                counts.0 += 1;
            }
            (true, None) => {
                positive += 1;
                counts.0 += 1;
            }
            (false, Some(k)) => {
                used[k] = true;
                allowed += 1;
                counts.1 += 1;
            }
            (true, Some(k)) => {
                // A by-name entry may cover some cases that pass; it is stale only if none fail.
                if allow[k].1.is_some() {
                    unexpected.push(format!("allow-listed but behaves as specified: {name} => {input}"));
                }
            }
            (false, None) if should_fail => unexpected.push(format!("accepted, should fail: {name} => {input}")),
            (false, None) => unexpected.push(format!("rejected: {name} => {input}: {}", outcome.unwrap_err())),
        }
    }
    for ((name, input), used) in allow.iter().zip(used) {
        if !used {
            unexpected.push(format!(
                "stale allow-list entry: {name}{}",
                input.as_ref().map(|i| format!(" => {i}")).unwrap_or_default()
            ));
        }
    }
    for (rule, (passed, allowed)) in &per_rule {
        println!("  {rule}: {passed} as specified, {allowed} allow-listed");
    }
    println!("ABNF: {positive} positive passed, {negative} negative rejected, {allowed} allow-listed");
    assert!(unexpected.is_empty(), "{} unexpected outcomes:\n{}", unexpected.len(), unexpected.join("\n"));
}
