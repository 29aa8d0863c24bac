//! Reading the feed: `/{Set}`, `/{Set}(key)`, `/{Set}/$count`, `/{Set}(key)/{property}` and
//! its `/$value`. The handler reads like the pipeline: parse → bind → plan → SQL → stream →
//! serialize (`page` streams collections, `single` answers one entity or value).

use super::negotiate::{self, Preferences};
use super::page::Page;
use super::single::Single;
use super::{ApiError, AppState};
use crate::db::read as db;
use crate::odata::bind::{self, Node, Target};
use crate::odata::plan::{self, ReadPlan};
use crate::odata::sql::{self, Layout, SortColumn, TenantScope};
use crate::odata::uri;
use crate::serialize::expanded::{EntityTree, Settings};
use crate::serialize::json::{JsonOptions, MetadataLevel};
use actix_web::http::{Method, header};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;

/// Any request under the service root other than the service document and `$metadata`.
pub async fn resource(
    req: HttpRequest,
    state: web::Data<AppState>,
    pool: web::Data<deadpool_postgres::Pool>,
) -> Result<HttpResponse, ApiError> {
    let relative = check_request(&req, &state)?;
    // Parse.
    let path = uri::parse_path(relative)?;
    let options = uri::parse_query(req.query_string())?;
    let prefer = negotiate::preferences(req.headers().get_all("Prefer").filter_map(|v| v.to_str().ok()));
    // Bind.
    let query = bind::bind(&state.model, &path, &options, state.read.max_expand_depth)?;
    let json = match query.target {
        Target::Count | Target::PropertyValue(_) => {
            JsonOptions { metadata: MetadataLevel::None, ieee754: false, omit_nulls: false }
        }
        _ => {
            let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok());
            negotiate::json_options(options.format.as_deref(), accept, prefer.omit_nulls)?
        }
    };
    // Plan, for the caller's tenant, in a transaction that row-level security scopes to it.
    let caller = super::auth::caller(&req)?;
    let page_size = plan::page_size(&state.read.limits, prefer.max_page_size);
    let scope = plan::scope_of(&caller.tenant, req.uri().path(), &options);
    let plan = plan::read_plan(query, &state.read.limits, page_size, scope, &state.read.signing_key)?;
    let (session, tenant) = db::begin(&pool, &caller.tenant).await?;
    let mut tenant = tenant.ok_or_else(|| ApiError::UnknownTenant(caller.tenant.clone()))?;
    tenant.predicate = state.read.tenant_predicate;
    if let Some(via) = &plan.via
        && !session.exists(&sql::parent_exists(via, &tenant)).await?
    {
        return Err(ApiError::NoSuchEntity(req.path().to_owned()));
    }
    if plan.target == Target::Count {
        let count = session.count(&sql::count(&plan, &tenant)).await?;
        session.finish().await?;
        return Ok(HttpResponse::Ok().content_type("text/plain;charset=utf-8").body(count.to_string()));
    }
    let count = match plan.count {
        true => Some(session.count(&sql::count(&plan, &tenant)).await?),
        false => None,
    };
    // SQL and stream: wait for the first row, so a timeout or an evaluation error still gets
    // its own status.
    let (statement, layout) = sql::select(&plan, &tenant);
    let mut rows = session.stream(&statement).await?;
    let first = rows.next().await.transpose()?;
    // Serialize.
    let root = state.service_root(&req);
    let writer = entity_writer(&plan, &layout, json, &tenant, &root)?;
    let single = Single { plan: &plan, path: &path, root: &root, json, request_path: req.path() };
    match plan.target {
        Target::Entity if plan.via.is_some() && first.is_none() => {
            // A single-valued navigation property without a related entity.
            Ok(HttpResponse::NoContent().finish())
        }
        Target::Entity => {
            let body = single.entity(writer, first, rows).await?;
            let mut response = HttpResponse::Ok();
            response.content_type(json.content_type());
            if let Some(applied) = applied(Preferences { max_page_size: None, ..prefer }, page_size) {
                response.insert_header(("Preference-Applied", applied));
            }
            Ok(response.body(body))
        }
        Target::Property(_) => single.property(writer.into_root(), first, rows).await,
        Target::PropertyValue(_) => single.raw_value(writer.into_root(), first, rows).await,
        Target::Collection | Target::Count => {
            let page = Page::new(plan, layout, writer, rows, first, &req, &path, &root, &state, count, json);
            let mut response = HttpResponse::Ok();
            response.content_type(json.content_type());
            if let Some(applied) = applied(prefer, page_size) {
                response.insert_header(("Preference-Applied", applied));
            }
            Ok(response.streaming(page.into_stream()))
        }
    }
}

/// The path under the service root, once the URL's length and the method are acceptable:
/// 414 above the limit; 405 for methods other than GET and HEAD on what exists.
fn check_request<'r>(req: &'r HttpRequest, state: &AppState) -> Result<&'r str, ApiError> {
    let length = req.uri().to_string().len();
    if length > state.read.max_url_length {
        return Err(ApiError::UriTooLong { length, limit: state.read.max_url_length });
    }
    let relative = req.uri().path().strip_prefix(super::SERVICE_PATH).unwrap_or(req.uri().path());
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let service = matches!(relative, "" | "/" | "/$metadata");
        let known = uri::parse_path(relative).is_ok_and(|p| state.model.entity_set(&p.set).is_some());
        if service || known {
            return Err(ApiError::MethodNotAllowed { method: req.method().to_string(), allow: "GET, HEAD" });
        }
        return Err(ApiError::NotFound(req.path().to_owned()));
    }
    Ok(relative)
}

/// The writer of the plan's entities and their expansions, in the tenant's time zone.
fn entity_writer(
    plan: &ReadPlan,
    layout: &Layout,
    json: JsonOptions,
    tenant: &TenantScope,
    root: &str,
) -> Result<EntityTree, ApiError> {
    let time_zone: chrono_tz::Tz = tenant
        .time_zone
        .parse()
        .map_err(|_| anyhow::anyhow!("the tenant's time zone `{}` is not in the tz database", tenant.time_zone))?;
    let key_columns: Vec<SortColumn> = plan
        .set
        .key
        .iter()
        .map(|k| {
            let index = plan.set.property_index(k).expect("keys are properties");
            let at =
                plan.order.iter().position(|o| o.expr.node == Node::Property(index)).expect("the key is in the order");
            layout.sort_values[at]
        })
        .collect();
    // Full metadata links every navigation property the response could have listed.
    let links = match plan.selected {
        None => plan.set.navigation.iter().map(|n| n.name.clone()).collect(),
        Some(_) => plan.selected_navigation.clone(),
    };
    let settings = Settings { options: json, time_zone, service_root: root };
    Ok(EntityTree::new(plan.set, &plan.columns, &plan.expand, layout, &key_columns, links, &settings))
}

/// The `Preference-Applied` header for the preferences that were honoured.
fn applied(prefer: Preferences, page_size: u64) -> Option<String> {
    let mut parts = Vec::new();
    if prefer.max_page_size == Some(page_size) {
        parts.push(format!("odata.maxpagesize={page_size}"));
    }
    if prefer.omit_nulls {
        parts.push("omit-values=nulls".to_owned());
    }
    (!parts.is_empty()).then(|| parts.join(","))
}
