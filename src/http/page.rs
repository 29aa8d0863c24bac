//! A collection page streamed as OData JSON: the context and count first, entities in chunks
//! of about 32 KB as PostgreSQL sends their rows, and `@odata.nextLink` after the last one,
//! carrying a signed skiptoken built from the last row's sort values.

use super::context::context_url;
use super::{ApiError, AppState};
use crate::db::read::Rows;
use crate::odata::plan::{self, Cursor, ReadPlan};
use crate::odata::sql::{Layout, SortColumn};
use crate::odata::uri::{self, ResourcePath};
use crate::serialize::expanded::EntityTree;
use crate::serialize::json::{self, JsonOptions};
use actix_web::{HttpRequest, web::Bytes};
use futures_util::{Stream, StreamExt};
use tokio_postgres::Row;

/// Flush the response buffer when it holds this much.
const CHUNK: usize = 32 * 1024;

/// A collection page being streamed.
pub struct Page {
    rows: Rows,
    writer: EntityTree,
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
    /// A page of `plan` whose rows come from `rows` (`first` already read), for `req` on
    /// `path`; `count` is `@odata.count` when asked for.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        plan: ReadPlan,
        layout: Layout,
        writer: EntityTree,
        rows: Rows,
        first: Option<Row>,
        req: &HttpRequest,
        path: &ResourcePath,
        root: &str,
        state: &AppState,
        count: Option<i64>,
        json: JsonOptions,
    ) -> Page {
        let mut buffer = Vec::with_capacity(CHUNK + 4096);
        let context = context_url(root, &plan, path, json, "");
        json::page_start(&mut buffer, context.as_deref(), count);
        let kept: Vec<&str> = req.query_string().split('&').filter(|p| !p.is_empty() && !is_skiptoken(p)).collect();
        let relative = req.uri().path().strip_prefix(super::SERVICE_PATH).unwrap_or(req.uri().path());
        let mut next_base = format!("{root}{relative}?");
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

    /// The response body.
    pub fn into_stream(self) -> impl Stream<Item = Result<Bytes, actix_web::Error>> {
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
                self.writer.close(&mut self.buffer);
                json::page_end(&mut self.buffer, None);
                self.done = true;
                return Ok(());
            };
            if !self.writer.starts_entity(&row).map_err(anyhow::Error::new)? {
                // A related entity of the entity being written.
                self.writer.write(&mut self.buffer, &row).map_err(anyhow::Error::new)?;
                continue;
            }
            self.writer.close(&mut self.buffer);
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
            self.writer.write(&mut self.buffer, &row).map_err(anyhow::Error::new)?;
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
