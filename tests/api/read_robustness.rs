//! No input makes the server fail: every input of the OASIS ABNF test cases (valid or not),
//! sent where it fits (resource path, query string, `$filter`, a literal in a comparison), and
//! a batch of random junk, is answered with data or an OData JSON error, never with a 5xx
//! other than 501 Not Implemented.

use crate::support::demo::spawn_demo_app;
use futures_util::{StreamExt, stream};
use rand::{Rng, SeedableRng};
use serde_json::Value;

const CASES: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/conformance/abnf/odata-abnf-testcases.json"));

/// Where a case's input goes, relative to the service root.
fn placements(rule: &str, input: &str) -> Vec<String> {
    let query = |q: &str| format!("Calls?{q}");
    match rule {
        "odataUri" | "serviceRoot" => Vec::new(),
        "odataRelativeUri" | "resourcePath" | "entitySetName" | "odataIdentifier" | "keyPredicate" => {
            vec![input.trim_start_matches('/').to_owned(), format!("Calls{input}")]
        }
        r if r.ends_with("Option")
            || r.contains("query")
            || ["filter", "orderby", "select", "skiptoken"].contains(&r) =>
        {
            vec![query(input)]
        }
        _ => vec![
            query(&format!("$filter={input}")),
            query(&format!("$filter=durationInSeconds eq {input}")),
            query(&format!("$orderby={input}")),
            format!("Calls({input})"),
        ],
    }
}

/// Makes `text` usable in a URL without changing what the server decodes (`#` and a `%` that
/// starts no escape are encoded; reqwest encodes spaces and non-ASCII itself).
fn url_safe(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::new();
    for (i, &b) in bytes.iter().enumerate() {
        let escape_start = b == b'%' && bytes.get(i + 1..i + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
        match b {
            b'#' => out.push_str("%23"),
            b'%' if !escape_start => out.push_str("%25"),
            _ => out.push(b as char),
        }
    }
    // Multi-byte characters were pushed byte by byte above; rebuild them.
    String::from_utf8(out.chars().map(|c| c as u8).collect()).unwrap_or_else(|_| text.replace('#', "%23"))
}

fn junk(rng: &mut impl Rng) -> String {
    const PIECES: [&str; 24] = [
        "(",
        ")",
        "'",
        "''",
        ",",
        "/",
        "$",
        "%2B",
        "%",
        "eq",
        " ",
        "not",
        "any(",
        "x:",
        "@a",
        "=",
        "&",
        "1e999",
        "-",
        "2024-02-30T25:61:61Z",
        "duration'P'",
        "Calls",
        "null",
        "\u{1F600}",
    ];
    (0..rng.random_range(1..30)).map(|_| PIECES[rng.random_range(0..PIECES.len())]).collect()
}

#[tokio::test]
async fn no_input_gets_a_server_error() {
    let demo = spawn_demo_app().await;
    let cases: Value = serde_json::from_str(CASES).expect("the OASIS cases are JSON");
    let mut paths: Vec<String> = cases["TestCases"]
        .as_array()
        .expect("TestCases")
        .iter()
        .filter_map(|c| Some((c["Rule"].as_str()?, c["Input"].as_str()?)))
        .flat_map(|(rule, input)| placements(rule, input))
        .collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
    for _ in 0..400 {
        let text = junk(&mut rng);
        paths.push(format!("Calls?$filter={text}"));
        paths.push(format!("Calls({text})"));
        paths.push(format!("Calls?$orderby={text}&$select={text}"));
    }
    assert!(paths.len() > 3_000, "{} requests", paths.len());

    let failures: Vec<String> = stream::iter(paths)
        .map(|path| {
            let url = demo.url(&url_safe(&path));
            let client = demo.app.client.clone();
            async move {
                let Ok(response) = client.get(&url).send().await else {
                    return Some(format!("{path}: no answer"));
                };
                let status = response.status().as_u16();
                let body = response.bytes().await.unwrap_or_default();
                if status >= 500 && status != 501 {
                    return Some(format!("{path}: {status} {}", String::from_utf8_lossy(&body)));
                }
                if status >= 400 {
                    let error: Option<Value> = serde_json::from_slice(&body).ok();
                    let coded = error
                        .as_ref()
                        .is_some_and(|e| e["error"]["code"].is_string() && e["error"]["message"].is_string());
                    if !coded {
                        return Some(format!("{path}: {status} without an OData error body"));
                    }
                }
                None
            }
        })
        .buffer_unordered(8)
        .filter_map(|failure| async move { failure })
        .collect()
        .await;
    assert!(
        failures.is_empty(),
        "{} failures, e.g.:\n{}",
        failures.len(),
        failures[..failures.len().min(20)].join("\n")
    );
}
