//! Context URLs (`@odata.context`): absolute, first in every JSON response, and exactly as
//! simple as OData allows (`#Calls`, `#Calls(id,startedAt)`, `#Calls/$entity`,
//! `#Calls('x')/durationInSeconds`).

use crate::odata::bind::Target;
use crate::odata::plan::ReadPlan;
use crate::odata::uri::{self, KeyPredicate, ResourcePath};
use crate::serialize::json::{JsonOptions, MetadataLevel, url_encode};

/// The absolute context URL, or `None` under `odata.metadata=none`.
pub fn context_url(
    root: &str,
    plan: &ReadPlan,
    path: &ResourcePath,
    json: JsonOptions,
    suffix: &str,
) -> Option<String> {
    if json.metadata == MetadataLevel::None {
        return None;
    }
    let set = &plan.set.name;
    Some(match plan.target {
        Target::Property(i) | Target::PropertyValue(i) => {
            let key = key_text(path);
            format!("{root}/$metadata#{set}({key})/{}", plan.set.properties[i].name)
        }
        _ => {
            // Navigation properties are listed by plain name (`#Calls(id,Channel)`), as Power
            // BI expects; with no `$select`, `*` stands for every structural property.
            let navigation = plan.selected_navigation.iter().map(String::as_str);
            match &plan.selected {
                Some(selected) => {
                    let names: Vec<&str> =
                        selected.iter().map(|&i| plan.set.properties[i].name.as_str()).chain(navigation).collect();
                    format!("{root}/$metadata#{set}({}){suffix}", names.join(","))
                }
                None if !plan.selected_navigation.is_empty() => {
                    let names: Vec<&str> = std::iter::once("*").chain(navigation).collect();
                    format!("{root}/$metadata#{set}({}){suffix}", names.join(","))
                }
                None => format!("{root}/$metadata#{set}{suffix}"),
            }
        }
    })
}

/// The key predicate of a path in canonical URL form.
fn key_text(path: &ResourcePath) -> String {
    let encode = |lit: &uri::Literal| {
        let mut out = Vec::new();
        url_encode(&mut out, &lit.to_string());
        String::from_utf8(out).expect("percent-encoding leaves ASCII")
    };
    match &path.key {
        Some(KeyPredicate::Single(lit)) => encode(lit),
        Some(KeyPredicate::Named(pairs)) => {
            pairs.iter().map(|(n, l)| format!("{n}={}", encode(l))).collect::<Vec<_>>().join(",")
        }
        None => String::new(),
    }
}
