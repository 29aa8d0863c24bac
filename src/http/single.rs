//! Responses for one entity (`Calls('x')`), one property (`Calls('x')/durationInSeconds`) and
//! its raw value (`.../$value`): small, so written whole once the row is read.

use super::ApiError;
use super::context::context_url;
use crate::db::read::{ReadError, Rows};
use crate::odata::plan::ReadPlan;
use crate::odata::uri::ResourcePath;
use crate::serialize::expanded::EntityTree;
use crate::serialize::json::{EntityWriter, JsonOptions};
use crate::serialize::primitive::write_string;
use actix_web::HttpResponse;
use futures_util::StreamExt;
use tokio_postgres::Row;

/// What a single-row answer needs besides its row.
pub struct Single<'a> {
    pub plan: &'a ReadPlan<'a>,
    pub path: &'a ResourcePath,
    pub root: &'a str,
    pub json: JsonOptions,
    /// The request path, named in a 404.
    pub request_path: &'a str,
}

impl Single<'_> {
    fn row(&self, first: Option<Row>) -> Result<Row, ApiError> {
        first.ok_or_else(|| ApiError::NoSuchEntity(self.request_path.to_owned()))
    }

    /// `{"@odata.context":"…#Set/$entity", properties…}`, with the entity's expansions.
    pub async fn entity(&self, mut tree: EntityTree, first: Option<Row>, mut rows: Rows) -> Result<Vec<u8>, ApiError> {
        let row = self.row(first)?;
        let mut out = Vec::with_capacity(1024);
        tree.write(&mut out, &row).map_err(anyhow::Error::new)?;
        while let Some(row) = rows.next().await {
            tree.write(&mut out, &row?).map_err(anyhow::Error::new)?;
        }
        tree.close(&mut out);
        let context = context_url(self.root, self.plan, self.path, self.json, "/$entity");
        Ok(with_context(out, context.as_deref()))
    }

    /// `{"@odata.context":"…#Set(key)/property","value":…}`, or 204 when the value is null.
    pub async fn property(
        &self,
        writer: EntityWriter,
        first: Option<Row>,
        rows: Rows,
    ) -> Result<HttpResponse, ApiError> {
        let Some(value) = self.value(writer, first, rows, false).await? else {
            return Ok(HttpResponse::NoContent().finish());
        };
        let mut object = Vec::with_capacity(value.len() + 16);
        object.extend_from_slice(b"{\"value\":");
        object.extend_from_slice(&value);
        object.push(b'}');
        let context = context_url(self.root, self.plan, self.path, self.json, "");
        Ok(HttpResponse::Ok().content_type(self.json.content_type()).body(with_context(object, context.as_deref())))
    }

    /// The raw value as `text/plain`, or 204 when it is null.
    pub async fn raw_value(
        &self,
        writer: EntityWriter,
        first: Option<Row>,
        rows: Rows,
    ) -> Result<HttpResponse, ApiError> {
        match self.value(writer, first, rows, true).await? {
            Some(text) => Ok(HttpResponse::Ok().content_type("text/plain;charset=utf-8").body(text)),
            None => Ok(HttpResponse::NoContent().finish()),
        }
    }

    /// The one property's value, as JSON or raw text; `None` when it is null.
    async fn value(
        &self,
        mut writer: EntityWriter,
        first: Option<Row>,
        rows: Rows,
        raw: bool,
    ) -> Result<Option<Vec<u8>>, ApiError> {
        let row = self.row(first)?;
        let mut out = Vec::new();
        let present = if raw { writer.write_raw(&mut out, &row, 0) } else { writer.write_value(&mut out, &row, 0) };
        let present = present.map_err(anyhow::Error::new)?;
        drain(rows).await?;
        Ok(present.then_some(out))
    }
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
    write_string(&mut out, context);
    if object.len() > 2 {
        out.push(b',');
    }
    out.extend_from_slice(&object[1..]);
    out
}
