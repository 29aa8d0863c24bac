//! Table-driven tests of the syntax layer: text in, canonical text (or error) out.

use super::*;

/// Parses `input` as a filter and compares its canonical rendering.
#[track_caller]
fn check(input: &str, expected: &str) {
    match parse_filter(input) {
        Ok(e) => assert_eq!(e.to_string(), expected, "input: {input}"),
        Err(err) => panic!("`{input}` failed: {err}"),
    }
}

/// Parses `input` as a filter and expects an error whose message contains `fragment`.
#[track_caller]
fn check_err(input: &str, fragment: &str) {
    match parse_filter(input) {
        Ok(e) => panic!("`{input}` parsed as {e}, expected an error containing `{fragment}`"),
        Err(err) => assert!(err.to_string().contains(fragment), "`{input}`: `{err}` lacks `{fragment}`"),
    }
}

#[test]
fn operators_follow_odata_precedence() {
    check("a eq 1 and b ne 'x'", "((a eq 1) and (b ne 'x'))");
    check("a or b and c", "(a or (b and c))");
    check("a and b or c", "((a and b) or c)");
    check("a add b mul c eq d", "((a add (b mul c)) eq d)");
    check("a sub b sub c", "((a sub b) sub c)");
    check("a div b divby c mod d", "(((a div b) divby c) mod d)");
    check("(a add b) mul c", "((a add b) mul c)");
    check("a gt 1 or a lt 0 and b ge 2 or b le 3", "(((a gt 1) or ((a lt 0) and (b ge 2))) or (b le 3))");
    check("style has Sales.Pattern'Yellow'", "(style has Sales.Pattern'Yellow')");
}

#[test]
fn not_and_negation_bind_tighter_than_binary_operators() {
    check("not a eq b", "((not a) eq b)");
    check("not (a eq b)", "(not (a eq b))");
    check("not(a eq b)", "(not (a eq b))");
    check("not contains(Name,'x')", "(not contains(Name, 'x'))");
    check("-Price", "(-Price)");
    check("- Price mul 2", "((-Price) mul 2)");
    check("not not a", "(not (not a))");
}

#[test]
fn a_sign_written_directly_before_a_number_is_part_of_the_literal() {
    check("a eq -1", "(a eq -1)");
    check("a eq +42", "(a eq 42)");
    check("a eq -1.5", "(a eq -1.5)");
    check("a eq -INF", "(a eq -INF)");
    check("a eq - 1", "(a eq (-1))");
    check("a sub -9223372036854775808", "(a sub -9223372036854775808)");
}

#[test]
fn every_primitive_literal_is_recognised() {
    check("null", "null");
    check("true", "true");
    check("false", "false");
    check("42", "42");
    check("1.5", "1.5");
    check("1e10", "1e10");
    check("-0.314E-1", "-0.314E-1");
    check("INF", "INF");
    check("NaN", "NaN");
    check("99999999999999999999", "99999999999999999999");
    check("'O''Neil'", "'O''Neil'");
    check("''", "''");
    check("01234567-89ab-cdef-0123-456789ABCDEF", "01234567-89ab-cdef-0123-456789ABCDEF");
    check("2024-01-31", "2024-01-31");
    check("2024-02-29", "2024-02-29");
    check("2024-01-31T10:00:00Z", "2024-01-31T10:00:00Z");
    check("2024-01-31T10:00Z", "2024-01-31T10:00Z");
    check("2024-01-31T10:00:00.1234567+01:00", "2024-01-31T10:00:00.1234567+01:00");
    check("2024-01-31T10:00:00-05:30", "2024-01-31T10:00:00-05:30");
    check("10:00:00", "10:00:00");
    check("10:00", "10:00");
    check("23:59:59.999", "23:59:59.999");
    check("duration'P1DT2H'", "duration'P1DT2H'");
    check("duration'-PT0.5S'", "duration'-PT0.5S'");
    check("binary'Zm9v'", "binary'Zm9v'");
    check("Sales.Pattern'Solid,Yellow'", "Sales.Pattern'Solid,Yellow'");
}

#[test]
fn malformed_literals_are_rejected_with_their_position() {
    check_err("a eq 'open", "unterminated string literal starting at position 5");
    check_err("a eq 2024-13-01", "invalid Date literal `2024-13-01` at position 5");
    check_err("a eq 2023-02-29", "invalid Date literal");
    check_err("a eq 2024-01-31T24:00Z", "invalid DateTimeOffset literal");
    check_err("a eq 2024-01-31T10:00", "invalid DateTimeOffset literal `2024-01-31T10:00` at position 5");
    check_err("a eq 25:00:00", "invalid TimeOfDay literal `25:00:00` at position 5");
    check_err("a eq duration'P1Y'", "invalid Duration literal `P1Y` at position 5");
    check_err("a eq duration'PT'", "invalid Duration literal");
    check_err("a eq 42.", "invalid Decimal literal `42.` at position 5");
    check_err("a eq .5", "unexpected character `.` at position 5");
    check_err("a eq X'1a'", "unexpected character `'` at position 6");
    check_err("a eq binary'Z'", "invalid Binary literal");
    check_err("a eq geography'SRID=0;Point(1 2)'", "geographic literal at position 5 is not supported");
    check_err("a eq [1,2]", "JSON array or object at position 5 is not supported");
}

#[test]
fn member_paths_calls_and_aliases_keep_their_names() {
    check("Address/City", "Address/City");
    check("Address/Model.AddressWithLocation/Street", "Address/Model.AddressWithLocation/Street");
    check("Products/$count gt 0", "(Products/$count gt 0)");
    check("$it/Name eq $this", "($it/Name eq $this)");
    check("contains(Name,'x')", "contains(Name, 'x')");
    check("substring( Name , 1 , 2 )", "substring(Name, 1, 2)");
    check("now()", "now()");
    check("concat(concat(a,'-'),b)", "concat(concat(a, '-'), b)");
    check("cast(Price,Edm.Decimal)", "cast(Price, Edm.Decimal)");
    check("Title eq @title", "(Title eq @title)");
    check("contains(Title,@word)", "contains(Title, @word)");
}

#[test]
fn in_takes_a_list_of_literals_or_another_expression() {
    check("Name in ('Milk', 'Cheese')", "(Name in ('Milk', 'Cheese'))");
    check("Name in ()", "(Name in ())");
    check("Name in (Other)", "(Name in (Other))");
    check("Name in @list", "(Name in @list)");
    check("a in (1, @p) and b", "((a in (1, @p)) and b)");
    check_err("Name in (A, B)", "expected a literal (a list after `in` holds only literals) at position 9");
    check_err("a eq ('x','y')", "expected `)` at position 9, found `,`");
}

#[test]
fn lambdas_take_a_variable_and_a_body() {
    check("Items/any(i:i/Qty gt 1)", "Items/any(i:(i/Qty gt 1))");
    check("Items/any( i : i/Qty gt 1 )", "Items/any(i:(i/Qty gt 1))");
    check("Items/any()", "Items/any()");
    check("Items/all(i:i/Qty gt 1)", "Items/all(i:(i/Qty gt 1))");
    check(
        "A/B/any(x:x/C/any(y:y eq x/D))",
        "A/B/any(x:C_PLACEHOLDER)".replace("C_PLACEHOLDER", "x/C/any(y:(y eq x/D))").as_str(),
    );
    check_err("Items/all()", "expected a lambda variable and expression in `all(...)` at position 10");
    check_err("any()", "expected a collection path before `any` or `all` at position 0");
    check_err("Items/any(i eq 1)", "expected `:` after the lambda variable at position 12");
}

#[test]
fn keywords_are_case_sensitive_and_need_whitespace() {
    check_err("a EQ 1", "expected an operator or the end of the expression at position 2, found `EQ`");
    check_err("a eq 1 AND b", "found `AND`");
    check_err("a eq(1)", "found `eq`");
    check_err("a eq", "expected an expression at position 4, found end of input");
    check_err("", "expected an expression at position 0, found end of input");
    check("a\teq\t1", "(a eq 1)");
    check("( a eq 1 )", "(a eq 1)");
}

#[test]
fn malformed_expressions_report_the_position() {
    check_err("a eq 1)", "at position 6, found `)`");
    check_err("(a eq 1", "expected `)` at position 7, found end of input");
    check_err("f(a,", "expected an expression at position 4");
    check_err("a eq #", "unexpected character `#` at position 5");
    check_err("a/", "expected a property name after `/` at position 2");
    check_err("a/f(1)", "function or key segment in a path at position 2 is not supported");
    check_err("$foo eq 1", "expected a property name at position 0, found `$foo`");
    check_err("Model.Available()/x", "at position 17, found `/`");
}

#[test]
fn ten_thousand_nested_parentheses_are_rejected_without_overflowing_the_stack() {
    let deep = format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000));
    let err = parse_filter(&deep).unwrap_err();
    assert_eq!(err.code(), "SYNTAX115", "{err}");
    let nots = format!("{}a", "not ".repeat(10_000));
    assert_eq!(parse_filter(&nots).unwrap_err().code(), "SYNTAX115");
    let minus = format!("{}a", "-".repeat(10_000));
    assert_eq!(parse_filter(&minus).unwrap_err().code(), "SYNTAX115");
    let calls = format!("{}a{}", "f(".repeat(10_000), ")".repeat(10_000));
    assert_eq!(parse_filter(&calls).unwrap_err().code(), "SYNTAX115");
}

#[test]
fn moderately_nested_expressions_are_accepted() {
    let nested = format!("{}a{}", "(".repeat(40), ")".repeat(40));
    check(&nested, "a");
}

#[test]
fn more_than_two_thousand_nodes_are_rejected() {
    let wide = vec!["a eq 1"; 1_000].join(" or ");
    let err = parse_filter(&wide).unwrap_err();
    assert_eq!(err.code(), "SYNTAX116", "{err}");
    let fine = vec!["a eq 1"; 100].join(" or ");
    assert!(parse_filter(&fine).is_ok());
}

#[test]
fn orderby_items_take_asc_or_desc() {
    let show = |s: &str| parse_orderby(s).map(|v| v.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", "));
    assert_eq!(show("Name").unwrap(), "Name asc");
    assert_eq!(show("Name desc,Rating,Date asc").unwrap(), "Name desc, Rating asc, Date asc");
    assert_eq!(show("Name\tdesc").unwrap(), "Name desc");
    assert_eq!(show("length(Name) desc").unwrap(), "length(Name) desc");
    assert_eq!(show("Cost ge Revenue asc").unwrap(), "(Cost ge Revenue) asc");
    assert!(show("Name descending").is_err());
    assert!(show("Name,").is_err());
    assert!(show("").is_err());
}

#[test]
fn select_items_are_star_or_paths() {
    let show = |s: &str| parse_select(s).map(|v| v.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", "));
    assert_eq!(show("*").unwrap(), "*");
    assert_eq!(show("Name,Address/City, Agent").unwrap(), "Name, Address/City, Agent");
    assert!(show("Agent($select=Name)").unwrap_err().to_string().contains("not supported"));
    assert!(show("Model.*").is_err());
    assert!(show("Name,").is_err());
    assert!(show("$count").is_err());
    assert!(show("").is_err());
}

#[test]
fn system_options_are_case_insensitive_and_the_dollar_is_optional() {
    for q in ["$filter=a eq 1", "filter=a eq 1", "$FILTER=a eq 1", "Filter=a%20eq%201"] {
        let o = parse_query(q).unwrap();
        assert_eq!(o.filter.unwrap().to_string(), "(a eq 1)", "{q}");
    }
    let o = parse_query("$top=5&SKIP=10&$Count=true&$skiptoken=abc&$format=json&$expand=Items&$select=*").unwrap();
    assert_eq!((o.top, o.skip, o.count), (Some(5), Some(10), Some(true)));
    assert_eq!(o.skiptoken.as_deref(), Some("abc"));
    assert_eq!(o.format.as_deref(), Some("json"));
    assert_eq!(o.expand.unwrap()[0].to_string(), "Items");
    assert_eq!(o.select, Some(vec![SelectItem::Star]));
}

#[test]
fn values_are_percent_decoded_and_a_plus_stays_a_plus() {
    let o = parse_query("$filter=t%20gt%202024-01-31T10%3A00%3A00%2B01%3A00").unwrap();
    assert_eq!(o.filter.unwrap().to_string(), "(t gt 2024-01-31T10:00:00+01:00)");
    let o = parse_query("$filter=t gt 2024-01-31T10:00:00+01:00").unwrap();
    assert_eq!(o.filter.unwrap().to_string(), "(t gt 2024-01-31T10:00:00+01:00)");
    let o = parse_query("$filter=Name eq 'a+b%26c%3Dd'").unwrap();
    assert_eq!(o.filter.unwrap().to_string(), "(Name eq 'a+b&c=d')");
    let o = parse_query("$skiptoken=a%2Bb+c").unwrap();
    assert_eq!(o.skiptoken.as_deref(), Some("a+b+c"));
    let o = parse_query("$filter=Name%20eq%20%27%CE%94%27").unwrap();
    assert_eq!(o.filter.unwrap().to_string(), "(Name eq 'Δ')");
}

#[test]
fn bad_percent_escapes_are_errors_with_their_position() {
    let err = parse_query("$top=1&$filter=a eq %2").unwrap_err();
    assert_eq!(err.to_string(), "invalid percent-encoding at position 20 of the query string");
    assert_eq!(err.code(), "SYNTAX101");
    assert_eq!(parse_query("$filter=%zz").unwrap_err().code(), "SYNTAX101");
    assert_eq!(parse_query("$filter='%FF'").unwrap_err().code(), "SYNTAX102");
}

#[test]
fn option_values_are_validated() {
    let err = |q: &str| parse_query(q).unwrap_err().to_string();
    assert_eq!(err("$top=-1"), "the value of `$top` must be a non-negative integer, found `-1`");
    assert_eq!(err("$skip=+1"), "the value of `$skip` must be a non-negative integer, found `+1`");
    assert_eq!(
        err("$top=99999999999999999999"),
        "the value of `$top` must be a non-negative integer, found `99999999999999999999`"
    );
    assert_eq!(err("$count=yes"), "the value of `$count` must be `true` or `false`, found `yes`");
    assert_eq!(err("$count"), "the query option `$count` needs a value");
    assert_eq!(err("$frobnicate=1"), "`$frobnicate` is not an OData system query option");
    assert_eq!(err("$filter =true"), "`$filter ` is not an OData system query option");
    assert_eq!(parse_query("$top=0").unwrap().top, Some(0));
}

#[test]
fn a_system_option_given_twice_is_rejected() {
    assert_eq!(parse_query("$top=1&top=2").unwrap_err().to_string(), "the query option `$top` is given more than once");
    assert_eq!(parse_query("@p=1&@p=2").unwrap_err().code(), "SYNTAX103");
}

#[test]
fn an_expression_error_names_its_option_and_position() {
    let err = parse_query("$filter=a eq").unwrap_err();
    assert_eq!(err.to_string(), "in $filter: expected an expression at position 4, found end of input");
    assert_eq!((err.code(), err.option()), ("SYNTAX113", Some("$filter")));
    let err = parse_query("$orderby=a desc desc").unwrap_err();
    assert_eq!(err.option(), Some("$orderby"));
}

#[test]
fn aliases_are_collected_and_custom_options_ignored() {
    let o = parse_query("$filter=Title eq @title&@title='Wizard%20of%20Oz'&find=x&!special").unwrap();
    assert_eq!(o.aliases.get("title").map(String::as_str), Some("'Wizard of Oz'"));
    assert_eq!(o.aliases.len(), 1);
    assert_eq!(parse_query("&&").unwrap(), QueryOptions::default());
}

#[test]
fn unsupported_options_are_listed_for_a_501() {
    let o = parse_query("$search=blue&apply=x&$COMPUTE=a&$levels=2&$index=1&$schemaversion=1").unwrap();
    assert_eq!(o.unsupported, ["$search", "$apply", "$compute", "$levels", "$index", "$schemaversion"]);
}
