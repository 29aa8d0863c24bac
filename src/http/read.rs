//! Reading the feed: `/{Set}`, `/{Set}(key)`, `/{Set}/$count`, `/{Set}(key)/{property}` and
//! its `/$value`. The handler reads like the pipeline: parse → bind → plan → SQL → stream →
//! serialize. Collection pages stream: rows go out as PostgreSQL sends them, in chunks of about
//! 32 KB, and the next link follows the last row.

use super::negotiate::{self, Preferences};
use super::{ApiError, AppState};
use crate::db::read::{self as db, ReadError, Rows};
use crate::odata::bind::{self, Node, Target};
use crate::odata::plan::{self, Cursor, ReadPlan};
use crate::odata::sql::{self, Layout, SortColumn};
use crate::odata::uri::{self, ResourcePath};
use crate::serialize::json::{self, EntityWriter, JsonOptions, MetadataLevel};
use actix_web::http::{Method, header};
use actix_web::{HttpRequest, HttpResponse, web, web::Bytes};
use futures_util::{Stream, StreamExt};
use tokio_postgres::Row;

/// Flush the response buffer when it holds this much.
const CHUNK: usize = 32 * 1024;

/// Any request under the service root other than the service document and `$metadata`.
pub async fn resource(
    req: HttpRequest,
    state: web::Data<AppState>,
    pool: web::Data<deadpool_postgres::Pool>,
) -> Result<HttpResponse, ApiError> {
    let length = req.uri().to_string().len();
    if length > state.read.max_url_length {
        return Err(ApiError::UriTooLong { length, limit: state.read.max_url_length });
    }
    let relative = req.uri().path().strip_prefix(super::SERVICE_PATH).unwrap_or(req.uri().path());
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let service = matches!(relative, "" | "/" | "/$metadata");
        let known = uri::parse_path(relative).is_ok_and(|p| state.model.entity_set(&p.set).is_some());
        if service || known {
            return Err(ApiError::MethodNotAllowed(req.method().to_string()));
        }
        return Err(ApiError::NotFound(req.path().to_owned()));
    }
    let path = uri::parse_path(relative)?;
    let options = uri::parse_query(req.query_string())?;
    let prefer = negotiate::preferences(req.headers().get_all("Prefer").filter_map(|v| v.to_str().ok()));
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let query = bind::bind(&state.model, &path, &options)?;
    let json = match query.target {
        Target::Count | Target::PropertyValue(_) => None,
        _ => Some(negotiate::json_options(options.format.as_deref(), accept, prefer.omit_nulls)?),
    };

    let client = db::connection(&pool).await?;
    let tenant = db::tenant(&client, state.read.default_tenant.as_deref()).await?.ok_or_else(|| {
        ApiError::UnknownTenant(state.read.default_tenant.clone().unwrap_or_else(|| "(none configured)".into()))
    })?;
    let page_size = plan::page_size(&state.read.limits, prefer.max_page_size);
    let scope = plan::scope_of(&tenant.id, &path.set, &options);
    let plan = plan::read_plan(query, &state.read.limits, page_size, scope, &state.read.signing_key)?;

    if plan.target == Target::Count {
        let count = db::count(&client, &sql::count(&plan, &tenant)).await?;
        return Ok(HttpResponse::Ok().content_type("text/plain;charset=utf-8").body(count.to_string()));
    }
    let count = match plan.count {
        true => Some(db::count(&client, &sql::count(&plan, &tenant)).await?),
        false => None,
    };
    let root = state.service_root(&req);
    let time_zone: chrono_tz::Tz = tenant
        .time_zone
        .parse()
        .map_err(|_| anyhow::anyhow!("the tenant's time zone `{}` is not in the tz database", tenant.time_zone))?;
    let (statement, layout) = sql::select(&plan, &tenant);
    let key_columns: Vec<SortColumn> = plan
        .set
        .key
        .iter()
        .map(|k| {
            let index = plan.set.properties.iter().position(|p| &p.name == k).expect("keys are properties");
            let at =
                plan.order.iter().position(|o| o.expr.node == Node::Property(index)).expect("the key is in the order");
            layout.sort_values[at]
        })
        .collect();
    let options_json = json.unwrap_or(JsonOptions { metadata: MetadataLevel::None, ieee754: false, omit_nulls: false });
    let writer = EntityWriter::new(plan.set, &plan.columns, &layout, options_json, time_zone, &root, &key_columns);
    let mut rows = db::stream(client, &statement).await?;
    let first = rows.next().await.transpose()?;

    match plan.target {
        Target::Collection => {
            let page = Page::new(plan, layout, writer, rows, first, &req, &root, &state, count, options_json);
            let mut response = HttpResponse::Ok();
            response.content_type(options_json.content_type());
            if let Some(applied) = applied(prefer, page_size) {
                response.insert_header(("Preference-Applied", applied));
            }
            Ok(response.streaming(page.into_stream()))
        }
        Target::Entity => {
            let row = first.ok_or_else(|| ApiError::NoSuchEntity(req.path().to_owned()))?;
            let mut writer = writer;
            let mut out = Vec::with_capacity(1024);
            writer.write_entity(&mut out, &row).map_err(anyhow::Error::new)?;
            drain(rows).await?;
            let context = context_url(&root, &plan, &path, options_json, "/$entity");
            let body = with_context(out, context.as_deref());
            let mut response = HttpResponse::Ok();
            response.content_type(options_json.content_type());
            if let Some(applied) = applied(Preferences { max_page_size: None, ..prefer }, page_size) {
                response.insert_header(("Preference-Applied", applied));
            }
            Ok(response.body(body))
        }
        Target::Property(_) => {
            let row = first.ok_or_else(|| ApiError::NoSuchEntity(req.path().to_owned()))?;
            let mut writer = writer;
            let mut value = Vec::new();
            let present = writer.write_value(&mut value, &row, 0).map_err(anyhow::Error::new)?;
            drain(rows).await?;
            if !present {
                return Ok(HttpResponse::NoContent().finish());
            }
            let context = context_url(&root, &plan, &path, options_json, "");
            let mut out = Vec::with_capacity(value.len() + 128);
            out.push(b'{');
            if let Some(context) = context {
                out.extend_from_slice(b"\"@odata.context\":");
                crate::serialize::primitive::write_string(&mut out, &context);
                out.push(b',');
            }
            out.extend_from_slice(b"\"value\":");
            out.extend_from_slice(&value);
            out.push(b'}');
            Ok(HttpResponse::Ok().content_type(options_json.content_type()).body(out))
        }
        Target::PropertyValue(_) => {
            let row = first.ok_or_else(|| ApiError::NoSuchEntity(req.path().to_owned()))?;
            let mut writer = writer;
            let mut out = Vec::new();
            let present = writer.write_raw(&mut out, &row, 0).map_err(anyhow::Error::new)?;
            drain(rows).await?;
            if !present {
                return Ok(HttpResponse::NoContent().finish());
            }
            Ok(HttpResponse::Ok().content_type("text/plain;charset=utf-8").body(out))
        }
        Target::Count => unreachable!("answered above"),
    }
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

/// Reads what is left of a stream so its connection goes back to the pool cleanly.
async fn drain(mut rows: Rows) -> Result<(), ReadError> {
    while let Some(row) = rows.next().await {
        row?;
    }
    Ok(())
}

/// Puts `"@odata.context":"..."` first into an already written object.
fn with_context(object: Vec<u8>, context: Option<&str>) -> Vec<u8> {
    let Some(context) = context else { return object };
    let mut out = Vec::with_capacity(object.len() + context.len() + 24);
    out.extend_from_slice(b"{\"@odata.context\":");
    crate::serialize::primitive::write_string(&mut out, context);
    if object.len() > 2 {
        out.push(b',');
    }
    out.extend_from_slice(&object[1..]);
    out
}

/// The absolute context URL, or `None` under `odata.metadata=none`.
fn context_url(root: &str, plan: &ReadPlan, path: &ResourcePath, json: JsonOptions, suffix: &str) -> Option<String> {
    if json.metadata == MetadataLevel::None {
        return None;
    }
    let set = &plan.set.name;
    Some(match plan.target {
        Target::Property(i) | Target::PropertyValue(i) => {
            let key = key_text(path);
            format!("{root}/$metadata#{set}({key})/{}", plan.set.properties[i].name)
        }
        _ => match &plan.selected {
            Some(selected) => {
                let names: Vec<&str> = selected.iter().map(|&i| plan.set.properties[i].name.as_str()).collect();
                format!("{root}/$metadata#{set}({}){suffix}", names.join(","))
            }
            None => format!("{root}/$metadata#{set}{suffix}"),
        },
    })
}

/// The key predicate of a path in canonical URL form.
fn key_text(path: &ResourcePath) -> String {
    use crate::odata::uri::KeyPredicate;
    let encode = |lit: &uri::Literal| {
        let text = lit.to_string();
        let mut out = Vec::new();
        for &b in text.as_bytes() {
            if b.is_ascii_alphanumeric() || b"-._~':".contains(&b) {
                out.push(b);
            } else {
                out.extend_from_slice(format!("%{b:02X}").as_bytes());
            }
        }
        String::from_utf8(out).expect("ASCII")
    };
    match &path.key {
        Some(KeyPredicate::Single(lit)) => encode(lit),
        Some(KeyPredicate::Named(pairs)) => {
            pairs.iter().map(|(n, l)| format!("{n}={}", encode(l))).collect::<Vec<_>>().join(",")
        }
        None => String::new(),
    }
}

/// A collection page being streamed.
struct Page {
    rows: Rows,
    writer: EntityWriter,
    buffer: Vec<u8>,
    pending: Option<Row>,
    /// The last row written, for the next skiptoken.
    last: Option<Row>,
    written: u64,
    page_rows: u64,
    paged: bool,
    delivered: u64,
    sort_values: Vec<SortColumn>,
    next_base: String,
    scope: String,
    signing_key: plan::SigningKey,
    done: bool,
}

impl Page {
    #[allow(clippy::too_many_arguments)]
    fn new(
        plan: ReadPlan,
        layout: Layout,
        writer: EntityWriter,
        rows: Rows,
        first: Option<Row>,
        req: &HttpRequest,
        root: &str,
        state: &AppState,
        count: Option<i64>,
        json: JsonOptions,
    ) -> Page {
        let mut buffer = Vec::with_capacity(CHUNK + 4096);
        let context = context_url(root, &plan, &uri::parse_path(&plan.set.name).expect("a set name parses"), json, "");
        json::page_start(&mut buffer, context.as_deref(), count);
        let kept: Vec<&str> = req.query_string().split('&').filter(|p| !p.is_empty() && !is_skiptoken(p)).collect();
        let mut next_base = format!("{root}/{}?", plan.set.name);
        for part in kept {
            next_base.push_str(part);
            next_base.push('&');
        }
        Page {
            rows,
            writer,
            buffer,
            pending: first,
            last: None,
            written: 0,
            page_rows: plan.page_rows,
            paged: plan.paged,
            delivered: plan.delivered,
            sort_values: layout.sort_values,
            next_base,
            scope: plan.scope,
            signing_key: state.read.signing_key.clone(),
            done: false,
        }
    }

    fn into_stream(self) -> impl Stream<Item = Result<Bytes, actix_web::Error>> {
        futures_util::stream::unfold(self, |mut page| async move {
            if page.done {
                return None;
            }
            match page.fill().await {
                Ok(()) => {
                    let chunk = Bytes::from(std::mem::replace(&mut page.buffer, Vec::with_capacity(CHUNK + 4096)));
                    Some((Ok(chunk), page))
                }
                Err(error) => {
                    // Headers are out: the only honest signal left is to break the connection.
                    tracing::error!(error = %error, "a streamed page failed");
                    page.done = true;
                    Some((Err(actix_web::error::ErrorInternalServerError("the page could not be completed")), page))
                }
            }
        })
    }

    /// Writes rows into the buffer until it holds a chunk or the page ends.
    async fn fill(&mut self) -> Result<(), ApiError> {
        while self.buffer.len() < CHUNK {
            let row = match self.pending.take() {
                Some(row) => Some(row),
                None => self.rows.next().await.transpose()?,
            };
            let Some(row) = row else {
                json::page_end(&mut self.buffer, None);
                self.done = true;
                return Ok(());
            };
            if self.written == self.page_rows {
                // One row more than the page holds: another page follows.
                let link = self.next_link()?;
                while let Some(rest) = self.rows.next().await {
                    rest?;
                }
                json::page_end(&mut self.buffer, link.as_deref());
                self.done = true;
                return Ok(());
            }
            if self.written > 0 {
                self.buffer.push(b',');
            }
            self.writer.write_entity(&mut self.buffer, &row).map_err(anyhow::Error::new)?;
            self.written += 1;
            self.last = Some(row);
        }
        Ok(())
    }

    fn next_link(&self) -> Result<Option<String>, ApiError> {
        if !self.paged {
            return Ok(None);
        }
        let Some(last) = &self.last else { return Ok(None) };
        let mut values = Vec::with_capacity(self.sort_values.len());
        for &column in &self.sort_values {
            values.push(json::sort_text(last, column).map_err(anyhow::Error::new)?);
        }
        let cursor = Cursor { delivered: self.delivered + self.written, values };
        let token = plan::skiptoken::encode(&cursor, &self.scope, &self.signing_key);
        Ok(Some(format!("{}$skiptoken={token}", self.next_base)))
    }
}

/// Whether a raw query string part is a `$skiptoken` option (any case, with or without `$`).
fn is_skiptoken(part: &str) -> bool {
    let name = part.split('=').next().unwrap_or("");
    let name = uri::percent_decode(name, 0).unwrap_or_default();
    name.strip_prefix('$').unwrap_or(&name).eq_ignore_ascii_case("skiptoken")
}
