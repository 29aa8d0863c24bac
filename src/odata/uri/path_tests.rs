//! Table-driven tests of `parse_path`: raw path in, `ResourcePath` (or an error) out.

use super::*;

fn s(text: &str) -> Literal {
    Literal::String(text.to_owned())
}

fn path(set: &str, key: Option<KeyPredicate>, tail: PathTail) -> ResourcePath {
    ResourcePath { set: set.to_owned(), key, tail }
}

fn single(lit: Literal) -> Option<KeyPredicate> {
    Some(KeyPredicate::Single(lit))
}

fn named(pairs: &[(&str, Literal)]) -> Option<KeyPredicate> {
    Some(KeyPredicate::Named(pairs.iter().map(|(n, l)| ((*n).to_owned(), l.clone())).collect()))
}

#[track_caller]
fn check(input: &str, expected: ResourcePath) {
    match parse_path(input) {
        Ok(p) => assert_eq!(p, expected, "input: {input}"),
        Err(e) => panic!("`{input}` failed: {e}"),
    }
}

/// Expects an error with `code` whose message contains `fragment`.
#[track_caller]
fn check_err(input: &str, code: &str, fragment: &str) {
    match parse_path(input) {
        Ok(p) => panic!("`{input}` parsed as {p:?}, expected {code} containing `{fragment}`"),
        Err(e) => {
            assert_eq!(e.code(), code, "`{input}`: {e}");
            assert!(e.to_string().contains(fragment), "`{input}`: `{e}` lacks `{fragment}`");
        }
    }
}

#[test]
fn an_entity_set_parses_with_or_without_slashes_around_it() {
    for input in ["Calls", "/Calls", "Calls/", "/Calls/", "Calls%2F"] {
        check(input, path("Calls", None, PathTail::None));
    }
    check("_under_score1", path("_under_score1", None, PathTail::None));
    check("Zählungen", path("Zählungen", None, PathTail::None));
}

#[test]
fn names_are_kept_as_written() {
    check("calls", path("calls", None, PathTail::None));
    check(
        "CALLS('a')/DurationInSeconds",
        path("CALLS", single(s("a")), PathTail::Property("DurationInSeconds".into())),
    );
}

#[test]
fn a_single_key_takes_every_primitive_literal_form() {
    let cases = [
        ("Calls('abc')", s("abc")),
        ("Calls('')", s("")),
        ("Calls('O''Neil')", s("O'Neil")),
        ("Calls('a%27%27b')", s("a'b")),
        ("Calls(%27O%27%27Neil%27)", s("O'Neil")),
        ("Calls%28%27x%27%29", s("x")),
        ("Calls('a/b')", s("a/b")),
        ("Calls('a%2Fb')", s("a/b")),
        ("Calls('a)b,c(')", s("a)b,c(")),
        ("Calls('a+b')", s("a+b")),
        ("Calls('a%20b')", s("a b")),
        ("Calls('%CE%94')", s("Δ")),
        ("Calls('a?b')", s("a?b")),
        ("Calls('%2527')", s("%27")),
        ("Agents(5)", Literal::Int(5)),
        ("Agents(-5)", Literal::Int(-5)),
        ("Agents(+5)", Literal::Int(5)),
        ("Agents(99999999999999999999)", Literal::Decimal("99999999999999999999".into())),
        ("Agents(1.5)", Literal::Decimal("1.5".into())),
        ("Agents(-1.5e3)", Literal::Double("-1.5e3".into())),
        ("Agents(true)", Literal::Boolean(true)),
        ("Agents(false)", Literal::Boolean(false)),
        ("Agents(01234567-89ab-cdef-0123-456789ABCDEF)", Literal::Guid("01234567-89ab-cdef-0123-456789ABCDEF".into())),
        ("Days(2024-02-29)", Literal::Date("2024-02-29".into())),
        ("Calls(2024-01-01T10:00:00Z)", Literal::DateTimeOffset("2024-01-01T10:00:00Z".into())),
        ("Calls(2024-01-01T10:00:00%2B01:00)", Literal::DateTimeOffset("2024-01-01T10:00:00+01:00".into())),
        ("Calls(2024-01-01T10:00:00+01:00)", Literal::DateTimeOffset("2024-01-01T10:00:00+01:00".into())),
        ("Calls(2024-01-01T10%3A00%3A00.123-05:30)", Literal::DateTimeOffset("2024-01-01T10:00:00.123-05:30".into())),
        ("Slots(23:59:59)", Literal::TimeOfDay("23:59:59".into())),
        ("Spans(duration'PT1H')", Literal::Duration("PT1H".into())),
        ("Blobs(binary'AAEC')", Literal::Binary("AAEC".into())),
        (
            "Items(Sales.Pattern'Yellow,Blue')",
            Literal::Enum { type_name: "Sales.Pattern".into(), value: "Yellow,Blue".into() },
        ),
    ];
    for (input, lit) in cases {
        let set = input.split(['(', '%']).next().unwrap();
        check(input, path(set, single(lit), PathTail::None));
    }
}

#[test]
fn a_composite_key_with_an_offset_timestamp_parses() {
    check(
        "QueueSegments(conversationID='c',queueID='q',queuedAtUTC=2024-01-01T10:00:00%2B01:00)",
        path(
            "QueueSegments",
            named(&[
                ("conversationID", s("c")),
                ("queueID", s("q")),
                ("queuedAtUTC", Literal::DateTimeOffset("2024-01-01T10:00:00+01:00".into())),
            ]),
            PathTail::None,
        ),
    );
}

#[test]
fn named_keys_keep_their_order_and_a_single_name_is_allowed() {
    check("Calls(id='a')", path("Calls", named(&[("id", s("a"))]), PathTail::None));
    check(
        "Rows(b=2,a='x,y)',c=-1)/n",
        path(
            "Rows",
            named(&[("b", Literal::Int(2)), ("a", s("x,y)")), ("c", Literal::Int(-1))]),
            PathTail::Property("n".into()),
        ),
    );
}

#[test]
fn count_property_and_value_tails_parse_where_they_are_legal() {
    check("Calls/$count", path("Calls", None, PathTail::Count));
    check("/Calls/$count/", path("Calls", None, PathTail::Count));
    check(
        "Calls('a')/QueueSegments/$count",
        path(
            "Calls",
            Some(KeyPredicate::Single(Literal::String("a".into()))),
            PathTail::PropertyCount("QueueSegments".into()),
        ),
    );
    check(
        "Calls('x')/durationInSeconds",
        path("Calls", single(s("x")), PathTail::Property("durationInSeconds".into())),
    );
    check(
        "Calls('x')/durationInSeconds/$value",
        path("Calls", single(s("x")), PathTail::PropertyValue("durationInSeconds".into())),
    );
    check("Calls('x')/", path("Calls", single(s("x")), PathTail::None));
    check("Calls('a/b')/p", path("Calls", single(s("a/b")), PathTail::Property("p".into())));
    // The path is decoded once, before it is split: outside quotes `%2F` separates segments.
    check("Calls%2F%24count", path("Calls", None, PathTail::Count));
}

#[test]
fn segments_in_the_wrong_place_are_rejected_with_a_reason() {
    let cases = [
        ("Calls/abc", "SYNTAX119", "keys as segments are not supported"),
        ("Calls/1", "SYNTAX119", "only `$count` may follow the entity set `Calls`"),
        ("Calls/$value", "SYNTAX119", "only `$count` may follow the entity set `Calls`"),
        ("Calls/$ref", "SYNTAX119", "only `$count`"),
        ("Calls/Model.Cast", "SYNTAX119", "type casts, functions and actions are not supported"),
        ("Calls/Model.Func()", "SYNTAX119", "type casts, functions and actions are not supported"),
        ("Calls('a')/$count", "SYNTAX119", "`$count` counts a collection"),
        ("Calls('a')/$value", "SYNTAX119", "no media stream"),
        ("Calls('a')/$ref", "SYNTAX119", "only a property name may follow a key predicate"),
        ("Calls('a')/prop/other", "SYNTAX119", "only `$value` or `$count` may follow `prop`"),
        ("Calls('a')/prop/$count/x", "SYNTAX119", "nothing may follow `$count`"),
        ("Calls('a')/prop/$value/x", "SYNTAX119", "nothing may follow `$value`"),
        ("Calls/$count/x", "SYNTAX119", "nothing may follow `$count`"),
        ("Calls/$count/$count", "SYNTAX119", "nothing may follow `$count`"),
        ("Calls('a')/Model.Cast", "SYNTAX119", "type casts"),
        ("Calls('a')/Items(1)", "SYNTAX119", "keys after a property"),
        ("Calls('a')/9lives", "SYNTAX119", "identifier"),
        ("Calls//$count", "SYNTAX119", "the segment is empty"),
        ("Calls('a')//", "SYNTAX119", "the segment is empty"),
        ("Calls('a')('b')", "SYNTAX113", "`/` or the end of the path after the key predicate"),
        ("Calls('a')x", "SYNTAX113", "found `x`"),
        ("Calls x", "SYNTAX113", "at position 5"),
        ("Model.Rejection", "SYNTAX119", "no dots"),
        ("Products.('foo')", "SYNTAX119", "`Products.`"),
    ];
    for (input, code, fragment) in cases {
        check_err(input, code, fragment);
    }
}

#[test]
fn an_error_names_the_segment_and_its_position_in_the_decoded_path() {
    let err = parse_path("/Calls('a%2Fb')/x/y").unwrap_err();
    assert_eq!(
        err.to_string(),
        "the path segment `y` at position 16 is not allowed here: only `$value` or `$count` may follow `x` \
         (navigation beyond one step, complex property paths, casts and `$ref` are not supported)"
    );
    let err = parse_path("Calls/abc").unwrap_err();
    assert_eq!(
        err.to_string(),
        "the path segment `abc` at position 6 is not allowed here: only `$count` may follow the entity set \
         `Calls`; address one entity with its key in parentheses, `Calls(key)` (keys as segments are not supported)"
    );
}

#[test]
fn the_first_segment_must_be_an_entity_set() {
    let cases = [
        ("$metadata", "`$metadata` is not an entity set: the metadata document has a route of its own"),
        ("/$batch", "`$batch` is not an entity set: batch requests are not supported"),
        ("$entity", "`$entity` is not an entity set: resolving entity ids"),
        ("$crossjoin(Calls,Chats)", "`$crossjoin` is not an entity set: cross joins are not supported"),
        ("$all", "`$all` is not an entity set: addressing all entities"),
        ("$count", "`$count` is not an entity set: the resource path must start"),
        ("$", "`$` is not an entity set"),
    ];
    for (input, fragment) in cases {
        check_err(input, "SYNTAX118", fragment);
    }
    for input in ["", "/", "//"] {
        check_err(input, "SYNTAX117", "the resource path is empty");
    }
    check_err("0time", "SYNTAX113", "expected an entity set name at position 0, found `0`");
    check_err(".Calls", "SYNTAX113", "found `.`");
    check_err("(1)", "SYNTAX113", "found `(`");
}

#[test]
fn bad_keys_are_rejected_with_their_position() {
    let cases = [
        ("Calls()", "SYNTAX120", "the key predicate at position 5 is empty"),
        ("Calls(null)", "SYNTAX121", "`null` at position 6 is not a valid key value"),
        ("Calls(id=null)", "SYNTAX121", "position 9"),
        ("Calls(a=1,a=2)", "SYNTAX122", "the key property `a` is given more than once (at position 10)"),
        ("Calls('abc", "SYNTAX111", "unterminated string literal starting at position 6"),
        ("Calls('O'Neil')", "SYNTAX111", "unterminated string literal starting at position 13"),
        ("Calls('O%27Neil')", "SYNTAX111", "position 13"),
        ("Calls('O'Neil'')", "SYNTAX110", "unexpected character `'` at position 13"),
        ("Calls(abc)", "SYNTAX113", "expected a literal key value at position 6, found `abc`"),
        ("Calls(ID=wrong)", "SYNTAX113", "found `wrong`"),
        ("Calls(1,2)", "SYNTAX113", "a composite key names its properties"),
        ("Calls(a=1;b=2)", "SYNTAX110", "unexpected character `;` at position 9"),
        ("Calls(a=1,b)", "SYNTAX113", "`=` after the key property name at position 11"),
        ("Calls(a=1,)", "SYNTAX113", "a key property name at position 10"),
        ("Calls(a=)", "SYNTAX113", "a key value at position 8"),
        ("Calls(a=1", "SYNTAX113", "`,` or `)` in the key predicate at position 9"),
        ("Calls(1", "SYNTAX113", "`)` closing the key predicate at position 7, found the end of the path"),
        ("Calls(=1)", "SYNTAX110", "`=` at position 6"),
        ("Calls( 1)", "SYNTAX110", "` ` at position 6"),
        ("Calls(1%20)", "SYNTAX110", "` ` at position 7"),
        ("Calls(- 1)", "SYNTAX113", "a literal key value"),
        ("Calls(1 add 2)", "SYNTAX113", "a literal key value"),
        ("Calls((1))", "SYNTAX113", "position 8"),
        ("Calls(@key)", "SYNTAX114", "a parameter alias as a key value at position 6 is not supported"),
        ("Calls(2024-13-01)", "SYNTAX112", "invalid Date literal `2024-13-01` at position 6"),
        ("Calls(a=2024-02-30T00:00:00Z)", "SYNTAX112", "at position 8"),
        ("Calls(duration'P1Y')", "SYNTAX112", "Duration"),
        ("Calls(geography'SRID=0;Point(1 2)')", "SYNTAX114", "geographic"),
        ("Calls(x'1')", "SYNTAX110", "position 7"),
    ];
    for (input, code, fragment) in cases {
        check_err(input, code, fragment);
    }
}

#[test]
fn bad_percent_encoding_is_reported_for_the_resource_path() {
    check_err("Calls('%2')", "SYNTAX123", "invalid percent-encoding at position 7 of the resource path");
    check_err("Calls%zz", "SYNTAX123", "position 5");
    check_err("Calls('%FF')", "SYNTAX124", "in the resource path is not valid UTF-8");
}

#[test]
fn an_overlong_name_is_rejected() {
    let long = "a".repeat(129);
    check_err(&long, "SYNTAX112", "identifier");
    check_err(&format!("Calls({long}=1)"), "SYNTAX112", "identifier");
    check_err(&format!("Calls('a')/{long}"), "SYNTAX119", "at most 128");
    let ok = "a".repeat(128);
    check(&ok, path(&ok, None, PathTail::None));
}

#[test]
fn odd_inputs_never_panic() {
    let mut inputs: Vec<String> = [
        "%",
        "%%",
        "%2",
        "%G0",
        "'",
        "''",
        "(((",
        ")))",
        "(",
        ")",
        ",",
        "=",
        "/",
        "///",
        "$",
        "$$",
        "@",
        "Calls(",
        "Calls)",
        "Calls((((((",
        "Calls('",
        "Calls('')",
        "Calls(''')",
        "Calls(''''",
        "Calls(,)",
        "Calls(=)",
        "Calls(a=)",
        "Calls(a==1)",
        "Calls(a=1,,b=2)",
        "Calls(a=1)(b=2)",
        "Calls/'",
        "Calls('a')/'",
        "Calls('a')/(",
        "Calls(-)",
        "Calls(+)",
        "Calls(-INF)",
        "Calls(NaN)",
        "Calls(%00)",
        "Calls('\0')",
        "\0",
        "Calls\u{301}",
        "Ünïcödé('ß')/ñ/$value",
        "日本('東京')",
        "Calls('🎉')",
        "🎉",
        "Calls(🎉)",
        "Calls('a')/🎉",
        "Calls(\u{200b})",
        "Calls%E2%82",
        "Calls('%E2%82')",
        "Calls(1.)",
        "Calls(1e)",
        "Calls(.5)",
        "Calls(2024-)",
        "Calls(12:)",
        "Calls(T)",
        "Calls(binary'%')",
        "Calls(a.b'c')",
        "Calls(a'b')",
        "Calls(not true)",
        "Calls(1 eq 1)",
        "Calls(f(1))",
        "Calls([1])",
        "Calls({})",
        "Calls(\"a\")",
        "Calls(a=1,b=2,a=3)",
        "Calls/$count?x",
        "Calls\t",
        " Calls",
        "Calls ",
        "Calls\n",
        "Calls(\t1)",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    inputs.push("(".repeat(10_000));
    inputs.push(format!("Calls({})", "(".repeat(10_000)));
    inputs.push(format!("Calls('{}')", "x".repeat(100_000)));
    inputs.push(format!("Calls('{}", "''".repeat(50_000)));
    inputs.push(format!("Calls({})", "-".repeat(10_000)));
    inputs.push(format!("Calls({}1)", "-".repeat(10_000)));
    inputs.push(format!("Calls({})", (0..1000).map(|i| format!("k{i}={i}")).collect::<Vec<_>>().join(",")));
    inputs.push("Calls('a')/p".to_owned() + &"/x".repeat(10_000));
    inputs.push("%".repeat(1000));
    inputs.push("a/".repeat(10_000));
    for input in &inputs {
        let outcome = std::panic::catch_unwind(|| parse_path(input));
        assert!(outcome.is_ok(), "`{}` panicked", input.chars().take(60).collect::<String>());
    }
    // A composite key of many distinct names is fine.
    let many = &inputs[inputs.len() - 4];
    assert!(matches!(parse_path(many), Ok(ResourcePath { key: Some(KeyPredicate::Named(k)), .. }) if k.len() == 1000));
}
