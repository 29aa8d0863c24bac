//! The small blocking SQL runner: one short-lived connection on its own thread and runtime, for
//! the readiness check, creating a database and executing plain statements.

use std::thread;

/// What a short-lived client does on its own thread.
pub(super) enum Work {
    Ping,
    Execute(String),
    CreateDatabase(String),
}

/// Runs `work` with a fresh connection on a new thread with a current-thread runtime, so it
/// works whether or not the caller is inside a tokio runtime.
pub(super) fn run_sql(config: tokio_postgres::Config, work: Work) -> Result<(), String> {
    let worker = thread::Builder::new()
        .name("postgres-client".to_string())
        .spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| error.to_string())?;
            runtime.block_on(async move {
                let (client, connection) = config.connect(tokio_postgres::NoTls).await.map_err(|e| describe(&e))?;
                let driver = tokio::spawn(connection);
                let result = match work {
                    Work::Ping => client.simple_query("SELECT 1").await.map(drop),
                    Work::Execute(sql) => client.batch_execute(&sql).await,
                    Work::CreateDatabase(name) => create_database(&client, &name).await,
                };
                drop(client);
                let _ = driver.await;
                result.map_err(|e| describe(&e))
            })
        })
        .map_err(|error| format!("cannot start a client thread: {error}"))?;
    worker.join().map_err(|_| "the client thread panicked".to_string())?
}

async fn create_database(client: &tokio_postgres::Client, name: &str) -> Result<(), tokio_postgres::Error> {
    let existing = client.query("SELECT 1 FROM pg_database WHERE datname = $1", &[&name]).await?;
    if !existing.is_empty() {
        return Ok(());
    }
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    match client.batch_execute(&format!("CREATE DATABASE {quoted}")).await {
        Err(error) if error.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) => Ok(()),
        other => other,
    }
}

/// The error and its sources on one line.
fn describe(error: &tokio_postgres::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.replace('\n', " ")
}
