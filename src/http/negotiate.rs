//! Content negotiation for data responses: JSON chosen by `$format` or by q-value from
//! `Accept` (Power Query lists Atom and XML too, at lower q), its `odata.metadata` and
//! `IEEE754Compatible` parameters, and the `Prefer` preferences the feed honours.

use super::ApiError;
use crate::serialize::json::{JsonOptions, MetadataLevel};

/// The preferences of a `Prefer` header this server acts on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Preferences {
    pub max_page_size: Option<u64>,
    pub omit_nulls: bool,
}

/// Reads every `Prefer` header value (comma-separated, case-insensitive names).
pub fn preferences<'a>(headers: impl Iterator<Item = &'a str>) -> Preferences {
    let mut out = Preferences::default();
    for value in headers {
        for item in value.split(',') {
            let item = item.split(';').next().unwrap_or("").trim();
            let (name, arg) = match item.split_once('=') {
                Some((n, a)) => (n.trim(), a.trim().trim_matches('"')),
                None => (item, ""),
            };
            if name.eq_ignore_ascii_case("odata.maxpagesize") || name.eq_ignore_ascii_case("maxpagesize") {
                out.max_page_size = arg.parse().ok().filter(|n| *n > 0);
            } else if name.eq_ignore_ascii_case("omit-values") && arg.eq_ignore_ascii_case("nulls") {
                out.omit_nulls = true;
            }
        }
    }
    out
}

/// One media range of an Accept header.
struct MediaRange<'a> {
    kind: String,
    q: f32,
    params: Vec<(String, &'a str)>,
}

fn media_ranges(accept: &str) -> Vec<MediaRange<'_>> {
    accept
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let kind = parts.next()?.trim().to_ascii_lowercase();
            let mut q = 1.0;
            let mut params = Vec::new();
            for part in parts {
                let Some((name, value)) = part.split_once('=') else { continue };
                let name = name.trim().to_ascii_lowercase();
                if name == "q" {
                    q = value.trim().parse().unwrap_or(0.0);
                } else {
                    params.push((name, value.trim()));
                }
            }
            Some(MediaRange { kind, q, params })
        })
        .collect()
}

/// Picks JSON options from `$format` (which wins) or `Accept`; anything that excludes JSON is 406.
pub fn json_options(format: Option<&str>, accept: Option<&str>, omit_nulls: bool) -> Result<JsonOptions, ApiError> {
    let mut options = JsonOptions { metadata: MetadataLevel::Minimal, ieee754: false, omit_nulls };
    let chosen = match format {
        Some(f) => {
            let ranges = media_ranges(f);
            let first = ranges.into_iter().next();
            match first {
                Some(r) if r.kind == "json" || r.kind == "application/json" => r.params,
                _ => return Err(ApiError::UnsupportedFormat(f.to_owned())),
            }
        }
        None => match accept.filter(|a| !a.trim().is_empty()) {
            None => Vec::new(),
            Some(accept) => {
                let mut ranges: Vec<MediaRange> = media_ranges(accept)
                    .into_iter()
                    .filter(|r| r.q > 0.0 && matches!(r.kind.as_str(), "application/json" | "application/*" | "*/*"))
                    .collect();
                // The highest q wins; among equals, the first listed.
                ranges.sort_by(|a, b| b.q.partial_cmp(&a.q).unwrap_or(std::cmp::Ordering::Equal));
                match ranges.into_iter().next() {
                    Some(r) => r.params,
                    None => return Err(ApiError::NotAcceptable(accept.to_owned())),
                }
            }
        },
    };
    for (name, value) in chosen {
        match name.as_str() {
            "odata.metadata" | "metadata" => {
                options.metadata = match value.to_ascii_lowercase().as_str() {
                    "minimal" => MetadataLevel::Minimal,
                    "full" => MetadataLevel::Full,
                    "none" => MetadataLevel::None,
                    _ => return Err(ApiError::UnsupportedFormat(format!("odata.metadata={value}"))),
                }
            }
            "ieee754compatible" => options.ieee754 = value.eq_ignore_ascii_case("true"),
            _ => {}
        }
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POWER_QUERY: &str = "application/json;odata.metadata=minimal;q=1.0,application/json;odata=minimalmetadata;q=0.9,\
        application/atomsvc+xml;q=0.8,application/atom+xml;q=0.8,application/xml;q=0.7,text/plain;q=0.7";

    #[test]
    fn power_query_gets_minimal_json() {
        let o = json_options(None, Some(POWER_QUERY), false).unwrap();
        assert_eq!(o.metadata, MetadataLevel::Minimal);
        assert!(!o.ieee754);
    }

    #[test]
    fn json_wins_by_q_value_even_when_listed_after_xml() {
        let o = json_options(None, Some("application/xml;q=0.9, application/json;odata.metadata=full"), false).unwrap();
        assert_eq!(o.metadata, MetadataLevel::Full);
    }

    #[test]
    fn accept_without_json_is_not_acceptable() {
        assert!(json_options(None, Some("application/atom+xml"), false).is_err());
        assert!(json_options(None, Some("application/json;q=0"), false).is_err());
        assert!(json_options(None, Some("*/*"), false).is_ok());
    }

    #[test]
    fn format_overrides_accept() {
        let o = json_options(
            Some("application/json;odata.metadata=none;IEEE754Compatible=true"),
            Some("application/xml"),
            false,
        )
        .unwrap();
        assert_eq!((o.metadata, o.ieee754), (MetadataLevel::None, true));
        assert!(json_options(Some("xml"), None, false).is_err());
        assert!(json_options(Some("atom"), None, false).is_err());
    }

    #[test]
    fn prefer_reads_max_page_size_and_omit_nulls() {
        let p = preferences(["odata.maxpagesize=100, omit-values=nulls"].into_iter());
        assert_eq!(p, Preferences { max_page_size: Some(100), omit_nulls: true });
        assert_eq!(preferences(["odata.maxpagesize=abc"].into_iter()).max_page_size, None);
        assert_eq!(preferences(["return=minimal"].into_iter()), Preferences::default());
    }
}
