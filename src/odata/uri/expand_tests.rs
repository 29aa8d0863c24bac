//! Table-driven tests of `parse_expand`: decoded `$expand` text in, canonical text (or an error)
//! out; every accepted input must also parse back from its canonical text to the same tree.

use super::*;

fn canonical(items: &[ExpandItem]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}

/// Parses each input and compares its canonical rendering, then re-parses that rendering.
#[track_caller]
fn check_all(cases: &[(&str, &str)]) {
    for (input, expected) in cases {
        let items = parse_expand(input).unwrap_or_else(|e| panic!("`{input}` failed: {e}"));
        let text = canonical(&items);
        assert_eq!(text, *expected, "input: {input}");
        assert_eq!(parse_expand(&text).as_ref(), Ok(&items), "canonical text of `{input}` parses differently");
    }
}

/// Expects each input to fail with the code and a message containing the fragment.
#[track_caller]
fn check_errors(cases: &[(&str, &str, &str)]) {
    for (input, code, fragment) in cases {
        match parse_expand(input) {
            Ok(items) => panic!("`{input}` parsed as {}, expected {code}", canonical(&items)),
            Err(e) => {
                assert_eq!(e.code(), *code, "`{input}`: {e}");
                assert!(e.to_string().contains(fragment), "`{input}`: `{e}` lacks `{fragment}`");
            }
        }
    }
}

#[test]
fn navigation_properties_and_their_options_render_canonically() {
    check_all(&[
        ("QueueSegments", "QueueSegments"),
        (
            "QueueSegments($filter=durationInSeconds gt 5;$select=queueId;$top=3)",
            "QueueSegments($filter=(durationInSeconds gt 5);$select=queueId;$top=3)",
        ),
        (
            "QueueSegments($top=3;$select=queueId;$filter=durationInSeconds gt 5)",
            "QueueSegments($filter=(durationInSeconds gt 5);$select=queueId;$top=3)",
        ),
        ("Customer,Items", "Customer,Items"),
        (
            "Items($orderby=Name desc,Price;$skip=10;$count=false)",
            "Items($orderby=Name desc,Price asc;$skip=10;$count=false)",
        ),
        ("Items($select=*)", "Items($select=*)"),
        ("Items($select=Address/City,Name)", "Items($select=Address/City,Name)"),
        ("Sales($compute=Amount mul Product/TaxRate as Tax)", "Sales($compute=Amount mul Product/TaxRate as Tax)"),
        ("Manager($search=blue OR green)", "Manager($search=blue OR green)"),
        ("Manager($search=(green))", "Manager($search=(green))"),
        (
            "Items($filter=contains(Name,'x') and (Price lt 10 or Price gt 20))",
            "Items($filter=(contains(Name, 'x') and ((Price lt 10) or (Price gt 20))))",
        ),
    ]);
}

#[test]
fn option_names_are_case_insensitive_and_the_dollar_is_optional() {
    check_all(&[
        ("A(filter=x eq 1;TOP=2;$Skip=1;COUNT=true)", "A($filter=(x eq 1);$top=2;$skip=1;$count=true)"),
        ("Customer,Items(expand=Product)", "Customer,Items($expand=Product)"),
        ("Customer(levels=4)", "Customer($levels=4)"),
        ("A($SELECT=b;OrderBy=c;$Search=d;compute=e as f)", "A($select=b;$orderby=c asc;$search=d;$compute=e as f)"),
    ]);
}

#[test]
fn the_power_bi_form_of_select_with_expand_parses_from_the_query_string() {
    for query in [
        "$select=id,QueueSegments&$expand=QueueSegments($select=queueId,durationInSeconds)",
        "$select=id%2CQueueSegments&$expand=QueueSegments(%24select%3DqueueId%2CdurationInSeconds)",
    ] {
        let o = parse_query(query).unwrap();
        let select: Vec<String> = o.select.unwrap().iter().map(ToString::to_string).collect();
        assert_eq!(select, ["id", "QueueSegments"], "{query}");
        assert_eq!(canonical(&o.expand.unwrap()), "QueueSegments($select=queueId,durationInSeconds)", "{query}");
    }
}

#[test]
fn a_nested_expand_recurses_with_its_own_options() {
    check_all(&[
        (
            "Customers($expand=Orders($expand=Items($select=name;$top=1);$orderby=date desc);$filter=active eq true)",
            "Customers($filter=(active eq true);$expand=Orders($orderby=date desc;$expand=Items($select=name;$top=1)))",
        ),
        ("A($expand=B,C;$top=1)", "A($top=1;$expand=B,C)"),
        ("A($expand=B($expand=C),D($top=1);$skip=2),E", "A($skip=2;$expand=B($expand=C),D($top=1)),E"),
        ("Customer,Items($expand=Product/$ref)", "Customer,Items($expand=Product/$ref)"),
    ]);
}

#[test]
fn star_ref_count_and_levels_are_recognised() {
    check_all(&[
        ("*", "*"),
        ("*/$ref", "*/$ref"),
        ("*($levels=2)", "*($levels=2)"),
        ("*($levels=max),Category", "*($levels=max),Category"),
        ("Items/$ref", "Items/$ref"),
        (
            "Items/$ref($top=2;$filter=a eq 1;$skip=1;$count=true;$orderby=a;$search=blue)",
            "Items/$ref($filter=(a eq 1);$orderby=a asc;$top=2;$skip=1;$count=true;$search=blue)",
        ),
        ("Items/$count", "Items/$count"),
        ("Items/$count($filter=Name eq 'Hugo')", "Items/$count($filter=(Name eq 'Hugo'))"),
        ("Items/$count(search=Hugo)", "Items/$count($search=Hugo)"),
        ("Category($levels=4),Category($levels=MAX)", "Category($levels=4),Category($levels=max)"),
        ("Category($levels=18446744073709551615)", "Category($levels=18446744073709551615)"),
    ]);
}

#[test]
fn paths_keep_casts_and_complex_segments_as_written() {
    check_all(&[
        ("Products/Model.BestSellingProduct($select=Name)", "Products/Model.BestSellingProduct($select=Name)"),
        ("Model.BestSellingProduct/Sales", "Model.BestSellingProduct/Sales"),
        ("Address/Country,Addresses/Country", "Address/Country,Addresses/Country"),
        ("Zählungen", "Zählungen"),
    ]);
    let items = parse_expand("ns.Type/Nav/$ref,Other/$count,*($levels=3)").unwrap();
    let nav = |segments: &[&str], is_ref, count| ExpandPath::Navigation {
        segments: segments.iter().map(|s| (*s).to_owned()).collect(),
        is_ref,
        count,
    };
    assert_eq!(items[0].path, nav(&["ns.Type", "Nav"], true, false));
    assert_eq!(items[1].path, nav(&["Other"], false, true));
    assert_eq!(items[2].path, ExpandPath::Star { is_ref: false });
    assert_eq!(items[2].options.levels, Some(Levels::Count(3)));
    assert!(items[0].options.is_empty());
}

#[test]
fn semicolons_and_parentheses_inside_quotes_do_not_split_options() {
    check_all(&[
        ("A($filter=Name eq 'a;b)c';$top=1)", "A($filter=(Name eq 'a;b)c');$top=1)"),
        (
            "A($filter=Name eq 'it''s;)' and (b eq 1 or c eq 2))",
            "A($filter=((Name eq 'it''s;)') and ((b eq 1) or (c eq 2))))",
        ),
        ("A($filter=Name in ('(',')',';'))", "A($filter=(Name in ('(', ')', ';')))"),
        ("Manager($search='gr(een')", "Manager($search='gr(een')"),
        ("Manager($search='a;b')", "Manager($search='a;b')"),
        (r#"Manager($search="a;b)\"c")"#, r#"Manager($search="a;b)\"c")"#),
    ]);
}

#[test]
fn whitespace_around_separators_is_tolerated() {
    check_all(&[
        (" A , B( $top=1 ; $skip=2 ) ", "A,B($top=1;$skip=2)"),
        ("A ($filter= x eq 1 ;$expand= B , C )", "A($filter=(x eq 1);$expand=B,C)"),
        ("A(\t$top=1\t)", "A($top=1)"),
    ]);
}

#[test]
fn malformed_expands_are_errors_with_positions_in_the_expand_value() {
    check_errors(&[
        // unbalanced parentheses
        (
            "A($top=1",
            "SYNTAX113",
            "expected `;` or `)` closing the options of the $expand item at position 8, found end",
        ),
        ("A($expand=B($top=1)", "SYNTAX113", "at position 19, found end of input"),
        ("A)", "SYNTAX113", "expected `,` or the end of $expand at position 1, found `)`"),
        ("A($top=1))", "SYNTAX113", "position 9, found `)`"),
        ("Manager($search=gr(een)", "SYNTAX113", "position 23, found end of input"),
        ("A(($top=1))", "SYNTAX113", "expected a query option name at position 2, found `(`"),
        // unknown, duplicate and misplaced options
        ("A($frobnicate=1)", "SYNTAX125", "`$frobnicate` at position 2 is not a query option allowed inside $expand"),
        ("A($skiptoken=x)", "SYNTAX125", "`$skiptoken`"),
        ("A($format=json)", "SYNTAX125", "`$format`"),
        (
            "A($top=1;top=2)",
            "SYNTAX126",
            "the option `$top` is given more than once in one $expand item (at position 9)",
        ),
        ("A($expand=B;$expand=C)", "SYNTAX126", "`$expand`"),
        ("Customer/$ref($select=Name)", "SYNTAX127", "`$select` at position 14 is not allowed after `/$ref`"),
        ("Customer/$ref($levels=4)", "SYNTAX127", "`$levels` at position 14 is not allowed after `/$ref`"),
        ("Customer,Items/$ref($expand=Product)", "SYNTAX127", "`$expand` at position 20"),
        ("Customer/$ref($compute=a as b)", "SYNTAX127", "`$compute`"),
        ("Items/$count($count=true)", "SYNTAX127", "`$count` at position 13 is not allowed after `/$count`"),
        ("Items/$count($top=1)", "SYNTAX127", "after `/$count`"),
        ("*($filter=a eq 1)", "SYNTAX127", "after `*` (only `$levels` is)"),
        ("*/$ref($levels=1)", "SYNTAX127", "after `*/$ref`"),
        // empty items and options
        ("", "SYNTAX113", "expected a navigation property or `*` at position 0, found end of input"),
        ("A,,B", "SYNTAX113", "at position 2, found `,`"),
        ("A,", "SYNTAX113", "at position 2, found end of input"),
        (",A", "SYNTAX113", "at position 0, found `,`"),
        ("A()", "SYNTAX113", "expected a query option name at position 2, found `)`"),
        ("A($top=1;)", "SYNTAX113", "expected a query option name at position 9, found `)`"),
        ("A($expand=)", "SYNTAX113", "a navigation property or `*` at position 10"),
        ("A($top)", "SYNTAX113", "expected `=` after the option name at position 6"),
        ("A($search=)", "SYNTAX113", "expected a search expression at position 10"),
        // paths
        ("A/", "SYNTAX113", "at position 2, found end of input"),
        ("A B", "SYNTAX113", "at position 2, found `B`"),
        ("A/$ref/B", "SYNTAX113", "at position 6, found `/`"),
        ("$ref", "SYNTAX113", "found `$ref`"),
        ("A/$links", "SYNTAX113", "found `$links`"),
        ("*/B", "SYNTAX113", "expected `$ref` after `*/` at position 2, found `B`"),
        ("A..B", "SYNTAX113", "at position 1, found `.`"),
        (&"x".repeat(129), "SYNTAX112", "invalid identifier literal"),
        // values
        ("A($levels=0)", "SYNTAX128", "found `0` at position 10"),
        ("Category($levels=04)", "SYNTAX128", "found `04`"),
        ("A($levels=-1)", "SYNTAX128", "`-1`"),
        ("A($levels=)", "SYNTAX128", "found ``"),
        ("A($levels=99999999999999999999)", "SYNTAX128", "99999999999999999999"),
        ("A($top=x)", "SYNTAX106", "the value of `$top` must be a non-negative integer, found `x`"),
        ("A($skip=-1)", "SYNTAX106", "`$skip`"),
        ("A($count=yes)", "SYNTAX107", "found `yes`"),
        ("A($filter=Name eq 'abc)", "SYNTAX111", "unterminated string literal starting at position 18"),
        // errors from the expression parsers are moved to their place in the $expand value
        ("A($filter=a eq)", "SYNTAX113", "in $filter: expected an expression at position 14, found end of input"),
        (
            "B,A($top=1;$orderby=a desc desc)",
            "SYNTAX113",
            "in $orderby: expected an operator or the end of the expression at position 27",
        ),
        ("A($expand=B($select=c/))", "SYNTAX113", "in $select: expected a property name at position 22"),
        ("A($select=B($top=1))", "SYNTAX114", "a $select item with options at position 11 is not supported"),
        ("A($filter=1 eq #)", "SYNTAX110", "unexpected character `#` at position 15"),
        // deliberately unsupported
        ("A(@c=15)", "SYNTAX114", "a parameter alias in the options of $expand at position 2"),
        ("$value,Thumbnail", "SYNTAX114", "expanding `$value`"),
        ("@Namespace.EntityTerm", "SYNTAX114", "an annotation"),
        ("Address/*", "SYNTAX114", "`*` after a path"),
    ]);
}

#[test]
fn an_expand_error_in_the_query_string_names_its_option() {
    let err = parse_query("$top=1&$expand=A($filter=a%20eq)").unwrap_err();
    assert_eq!(err.to_string(), "in $expand: in $filter: expected an expression at position 14, found end of input");
    assert_eq!((err.code(), err.option()), ("SYNTAX113", Some("$expand")));
    assert_eq!(parse_query("$expand=A&expand=B").unwrap_err().code(), "SYNTAX103");
    assert_eq!(parse_query("$expand").unwrap_err().code(), "SYNTAX105");
}

#[test]
fn expand_nesting_is_bounded() {
    let nested = |levels: usize| format!("{}X{}", "A($expand=".repeat(levels - 1), ")".repeat(levels - 1));
    let items = parse_expand(&nested(MAX_DEPTH)).unwrap();
    assert_eq!(parse_expand(&canonical(&items)).unwrap(), items);
    let err = parse_expand(&nested(MAX_DEPTH + 1)).unwrap_err();
    assert_eq!(err.code(), "SYNTAX115");
    assert_eq!(
        err.to_string(),
        format!("the expression is nested more than {MAX_DEPTH} levels deep (at position 1000)")
    );
    assert_eq!(parse_expand(&nested(100_000)).unwrap_err().code(), "SYNTAX115");
    // The deepest $expand may still hold a filter as deep as the expression parser allows.
    let deep_filter = format!("{}A($filter={}x{})", "A($expand=".repeat(MAX_DEPTH - 1), "(".repeat(40), ")".repeat(40));
    assert!(parse_expand(&format!("{deep_filter}{}", ")".repeat(MAX_DEPTH - 1))).is_ok());
}

#[test]
fn odd_inputs_never_panic_and_what_parses_round_trips() {
    let mut inputs: Vec<String> = [
        "",
        "(",
        ")",
        ",",
        ";",
        "=",
        "/",
        "*",
        "**",
        "*(",
        "*)",
        "*/",
        "*/$",
        "*/$ref(",
        "*($levels",
        "$",
        "$$",
        "@",
        "'",
        "\"",
        "A(",
        "A((",
        "A(()",
        "A($",
        "A($=1)",
        "A(=1)",
        "A($top=",
        "A($top=1;",
        "A($filter='",
        "A($filter=\"",
        "A($filter='')",
        "A($filter=''')",
        "A($search=\"\\",
        "A($search=\\\")",
        "A($expand=",
        "A($expand=(",
        "A($expand=;)",
        "A/$count/$ref",
        "A/$ref/$count",
        "A/$count(",
        "A/.",
        "A.",
        ".A",
        "A/ B",
        "A\t",
        "\t",
        " ",
        "A(\0)",
        "\0",
        "🎉",
        "A(🎉=1)",
        "A($filter=🎉)",
        "Ä($levels=max)",
        "A($levels=MaX)",
        "A($levels=1e3)",
        "A($levels=+1)",
        "A($top=+1)",
        "A($count=TRUE)",
        "A($select=)",
        "A($orderby=)",
        "A($compute=)",
        "A($select=*,*)",
        "A/\u{301}",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    inputs.push("(".repeat(10_000));
    inputs.push(format!("A($filter={})", "(".repeat(10_000)));
    inputs.push(format!("A($filter={}x{})", "(".repeat(10_000), ")".repeat(10_000)));
    inputs.push(format!("A($search='{})", "''".repeat(50_000)));
    inputs.push(format!("A($select={})", vec!["x"; 10_000].join(",")));
    inputs.push(vec!["A"; 10_000].join(","));
    inputs.push("A/".repeat(10_000) + "B");
    inputs.push("A($expand=".repeat(10_000));
    inputs.push(format!("{}{}", "A($expand=B;$top=1".repeat(200), ")".repeat(200)));
    inputs.push("x".repeat(129));
    inputs.push(format!("A({}=1)", "x".repeat(10_000)));
    // A small deterministic fuzz over the characters that matter to this grammar.
    let alphabet: Vec<char> = "A*/$()'\";,= \tx1trefcounlvsmapk@.".chars().collect();
    let words = ["$ref", "$count", "$levels=", "$filter=", "$expand=", "$select=", "$top=", "$search=", "max", " eq "];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..20_000 {
        let mut s = String::new();
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        for _ in 0..(seed >> 59) + 1 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let r = (seed >> 33) as usize;
            if r.is_multiple_of(4) {
                s.push_str(words[r / 4 % words.len()]);
            } else {
                s.push(alphabet[r / 4 % alphabet.len()]);
            }
        }
        inputs.push(s);
    }
    let mut parsed = 0;
    for input in &inputs {
        let outcome = std::panic::catch_unwind(|| parse_expand(input));
        let shown = || input.chars().take(60).collect::<String>();
        let Ok(result) = outcome else { panic!("`{}` panicked", shown()) };
        if let Ok(items) = result {
            parsed += 1;
            let text = canonical(&items);
            assert_eq!(parse_expand(&text).as_ref(), Ok(&items), "`{}` does not round-trip via `{text}`", shown());
        }
    }
    assert!(parsed > 100, "the fuzz should reach valid inputs too, reached {parsed}");
}
