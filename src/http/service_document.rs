//! The service document (`/odata` and `/odata/`): one entry per entity set, with an absolute
//! `@odata.context` as its first member.

use super::{AppState, ODATA_JSON};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

/// `GET /odata` and `GET /odata/`.
pub async fn service_document(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let root = state.service_root(&req);
    HttpResponse::Ok()
        .content_type(ODATA_JSON)
        .body(render(&root, state.model.entity_sets().iter().map(|s| s.name.as_str())))
}

/// Renders the document, `@odata.context` first (serde_json keeps insertion order here).
fn render<'a>(service_root: &str, set_names: impl Iterator<Item = &'a str>) -> String {
    let entries: Vec<Value> = set_names.map(|name| json!({ "name": name, "kind": "EntitySet", "url": name })).collect();
    json!({ "@odata.context": format!("{service_root}/$metadata"), "value": entries }).to_string()
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn the_context_comes_first_and_every_set_is_an_entry() {
        let body = render("http://h/odata", ["Calls", "Chats"].into_iter());
        assert_eq!(
            body,
            r#"{"@odata.context":"http://h/odata/$metadata","value":[{"name":"Calls","kind":"EntitySet","url":"Calls"},{"name":"Chats","kind":"EntitySet","url":"Chats"}]}"#
        );
    }
}
