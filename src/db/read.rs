//! Executes read statements: the tenant's time zone, the count, and the page query as a stream
//! of rows that flows from PostgreSQL as they arrive. A stream dropped before its end (the
//! client went away) cancels its statement on the server.

use crate::odata::sql::{SqlQuery, TenantScope};
use deadpool_postgres::{Object, Pool};
use futures_util::Stream;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::{NoTls, Row, RowStream};

/// How a read can fail, as far as the client is concerned.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The statement ran past the configured statement timeout.
    #[error("the query did not finish within the statement timeout")]
    Timeout,
    /// PostgreSQL could not evaluate an expression for some row (division by zero, overflow,
    /// a string that does not cast).
    #[error("{0}")]
    Evaluation(String),
    /// No connection could be had in time.
    #[error("the database is not available")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<tokio_postgres::Error> for ReadError {
    fn from(error: tokio_postgres::Error) -> ReadError {
        match error.code() {
            Some(code) if *code == SqlState::QUERY_CANCELED => ReadError::Timeout,
            Some(code) if code.code().starts_with("22") => {
                let message = error.as_db_error().map_or_else(|| error.to_string(), |db| db.message().to_owned());
                ReadError::Evaluation(message)
            }
            _ => ReadError::Internal(anyhow::Error::new(error).context("a read statement failed")),
        }
    }
}

/// A pooled connection for one request.
pub async fn connection(pool: &Pool) -> Result<Object, ReadError> {
    pool.get().await.map_err(|e| ReadError::Unavailable(e.to_string()))
}

/// The tenant a request reads, with its time zone: the given one, or, when none is given, the
/// only tenant of the database. `None` when there is no such (single) tenant.
pub async fn tenant(client: &Object, id: Option<&str>) -> Result<Option<TenantScope>, ReadError> {
    let rows = match id {
        Some(id) => client.query_typed("SELECT id, time_zone FROM tenants WHERE id = $1", &[(&id, Type::TEXT)]).await?,
        None => client.query_typed("SELECT id, time_zone FROM tenants ORDER BY id LIMIT 2", &[]).await?,
    };
    Ok(match rows.as_slice() {
        [row] => Some(TenantScope { id: row.get(0), time_zone: row.get(1) }),
        _ => None,
    })
}

fn text_params(query: &SqlQuery) -> Vec<(&(dyn tokio_postgres::types::ToSql + Sync), Type)> {
    query.params.iter().map(|p| (p as &(dyn tokio_postgres::types::ToSql + Sync), Type::TEXT)).collect()
}

/// Runs a `count(*)` statement.
pub async fn count(client: &Object, query: &SqlQuery) -> Result<i64, ReadError> {
    let rows = client.query_typed(&query.text, &text_params(query)).await?;
    Ok(rows.first().map_or(0, |r| r.get(0)))
}

/// Whether a statement returns any row.
pub async fn exists(client: &Object, query: &SqlQuery) -> Result<bool, ReadError> {
    Ok(!client.query_typed(&query.text, &text_params(query)).await?.is_empty())
}

/// Starts the page query; rows are read from the returned stream as PostgreSQL sends them.
pub async fn stream(client: Object, query: &SqlQuery) -> Result<Rows, ReadError> {
    let rows = client.query_typed_raw(&query.text, text_params(query)).await?;
    let cancel = client.cancel_token();
    Ok(Rows { rows: Box::pin(rows), client: Some(client), cancel: Some(cancel), finished: false })
}

/// The rows of a running page query. Holds its connection until the end; dropped early, it
/// cancels the statement so the server stops producing rows nobody reads, and retires the
/// connection rather than returning it to the pool (where the late cancel could hit the next
/// request's statement).
pub struct Rows {
    rows: Pin<Box<RowStream>>,
    client: Option<Object>,
    cancel: Option<tokio_postgres::CancelToken>,
    /// Set once the statement ended (or failed): later polls answer `None`.
    finished: bool,
}

impl Stream for Rows {
    type Item = Result<Row, ReadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.finished {
            return Poll::Ready(None);
        }
        match self.rows.as_mut().poll_next(cx) {
            Poll::Ready(None) => {
                self.cancel = None;
                self.finished = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => {
                self.cancel = None;
                self.finished = true;
                Poll::Ready(Some(Err(e.into())))
            }
            Poll::Ready(Some(Ok(row))) => Poll::Ready(Some(Ok(row))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Rows {
    fn drop(&mut self) {
        if let Some(cancel) = self.cancel.take()
            && let Some(client) = self.client.take()
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            let connection = Object::take(client);
            handle.spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(5), cancel.cancel_query(NoTls)).await;
                drop(connection);
                tracing::debug!("cancelled an unfinished read");
            });
        }
    }
}
