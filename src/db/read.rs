//! Executes read statements inside one read-only transaction per request (`Session`), scoped
//! to the caller's tenant for row-level security: the tenant's time zone, the count, and the
//! page query as a stream of rows that flows from PostgreSQL as they arrive. A stream dropped
//! before its end (the client went away) cancels its statement on the server.
//!
//! Invariant: a connection goes back to the pool only after its transaction ended (committed
//! at the end of the stream, rolled back when a request stops early); otherwise it is closed.

use crate::odata::sql::{SqlQuery, TenantScope};
use deadpool_postgres::{Object, Pool};
use futures_util::Stream;
use std::future::Future;
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

/// A read-only transaction for one request, in which row-level security admits only the rows
/// of one tenant. Statements run in it see one snapshot (the count and the page agree).
pub struct Session {
    client: Option<Object>,
}

/// Opens a request's transaction for `tenant` and reads the tenant's time zone: one round trip
/// (the three statements are pipelined). `None` when the database has no such tenant.
pub async fn begin(pool: &Pool, tenant: &str) -> Result<(Session, Option<TenantScope>), ReadError> {
    let client = pool.get().await.map_err(|e| ReadError::Unavailable(e.to_string()))?;
    let begin = client.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    // set_config(..., true) is SET LOCAL with the value as a bind parameter.
    let param: [(&(dyn tokio_postgres::types::ToSql + Sync), Type); 1] = [(&tenant, Type::TEXT)];
    let scope = client.query_typed("SELECT set_config('app.tenant_id', $1, true)", &param);
    let lookup = client.query_typed("SELECT id, time_zone FROM tenants WHERE id = $1", &param);
    let outcome = futures_util::future::try_join3(begin, scope, lookup).await;
    let session = Session { client: Some(client) };
    let (_, _, rows) = outcome?;
    let tenant = rows.first().map(|row| TenantScope::new(row.get::<_, String>(0), row.get::<_, String>(1)));
    Ok((session, tenant))
}

impl Session {
    fn client(&self) -> &Object {
        self.client.as_ref().expect("a session holds its connection until it is consumed")
    }

    /// Runs a `count(*)` statement.
    pub async fn count(&self, query: &SqlQuery) -> Result<i64, ReadError> {
        let rows = self.client().query_typed(&query.text, &text_params(query)).await?;
        Ok(rows.first().map_or(0, |r| r.get(0)))
    }

    /// Whether a statement returns any row.
    pub async fn exists(&self, query: &SqlQuery) -> Result<bool, ReadError> {
        Ok(!self.client().query_typed(&query.text, &text_params(query)).await?.is_empty())
    }

    /// Ends the transaction and returns the connection to the pool.
    pub async fn finish(mut self) -> Result<(), ReadError> {
        let client = self.client.take().expect("a session is finished once");
        client.batch_execute("COMMIT").await?;
        Ok(())
    }

    /// Starts the page query; rows are read from the returned stream as PostgreSQL sends
    /// them, and the transaction ends with the stream.
    pub async fn stream(mut self, query: &SqlQuery) -> Result<Rows, ReadError> {
        let client = self.client.take().expect("a session streams once");
        let rows = match client.query_typed_raw(&query.text, text_params(query)).await {
            Ok(rows) => rows,
            Err(error) => {
                retire(client);
                return Err(error.into());
            }
        };
        let cancel = client.cancel_token();
        Ok(Rows { rows: Box::pin(rows), client: Some(client), cancel: Some(cancel), ending: None, finished: false })
    }
}

impl Drop for Session {
    /// A request that stopped early (an error, a 404) rolls its transaction back before the
    /// connection is reused.
    fn drop(&mut self) {
        let Some(client) = self.client.take() else { return };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move {
                    if client.batch_execute("ROLLBACK").await.is_err() {
                        retire(client);
                    }
                });
            }
            Err(_) => retire(client),
        }
    }
}

/// Closes a connection instead of returning it to the pool.
fn retire(client: Object) {
    drop(Object::take(client));
}

fn text_params(query: &SqlQuery) -> Vec<(&(dyn tokio_postgres::types::ToSql + Sync), Type)> {
    query.params.iter().map(|p| (p as &(dyn tokio_postgres::types::ToSql + Sync), Type::TEXT)).collect()
}

/// The rows of a running page query. Holds its connection until the end, when it commits the
/// request's transaction; dropped early, it cancels the statement so the server stops producing rows nobody reads, and retires the
/// connection rather than returning it to the pool (where the late cancel could hit the next
/// request's statement).
pub struct Rows {
    rows: Pin<Box<RowStream>>,
    client: Option<Object>,
    cancel: Option<tokio_postgres::CancelToken>,
    /// The commit that follows the last row, while it runs.
    ending: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    /// Set once the statement ended (or failed): later polls answer `None`.
    finished: bool,
}

impl Stream for Rows {
    type Item = Result<Row, ReadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(ending) = self.ending.as_mut() {
            return match ending.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.ending = None;
                    Poll::Ready(None)
                }
                Poll::Pending => Poll::Pending,
            };
        }
        if self.finished {
            return Poll::Ready(None);
        }
        match self.rows.as_mut().poll_next(cx) {
            Poll::Ready(None) => {
                self.cancel = None;
                self.finished = true;
                let Some(client) = self.client.take() else { return Poll::Ready(None) };
                self.ending = Some(Box::pin(async move {
                    if let Err(error) = client.batch_execute("COMMIT").await {
                        tracing::warn!(error = %error, "a read transaction did not commit");
                        retire(client);
                    }
                }));
                self.poll_next(cx)
            }
            Poll::Ready(Some(Err(e))) => {
                self.cancel = None;
                self.finished = true;
                if let Some(client) = self.client.take() {
                    retire(client);
                }
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
