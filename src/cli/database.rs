//! Chooses the database: the server named by DATABASE_URL, or a private cluster started under
//! the data directory (stopped when the returned handle is dropped).

use super::DatabaseArgs;
use crate::db::cluster::{Cluster, ClusterOptions};
use anyhow::Context;

/// The database name used inside the private cluster.
const PRIVATE_DATABASE: &str = "odata_feed";

/// A database to use, keeping the private cluster (if any) alive as long as it lives.
pub struct Database {
    pub url: String,
    cluster: Option<Cluster>,
}

impl Database {
    /// Stops the private cluster now, if there is one.
    pub fn close(mut self) -> anyhow::Result<()> {
        if let Some(mut cluster) = self.cluster.take() {
            cluster.stop().context("stopping the private PostgreSQL cluster failed")?;
        }
        Ok(())
    }
}

/// Opens the configured database. Blocking: starts PostgreSQL when no URL is given.
pub fn open(args: &DatabaseArgs) -> anyhow::Result<Database> {
    if let Some(url) = &args.database_url {
        return Ok(Database { url: url.clone(), cluster: None });
    }
    let started = std::time::Instant::now();
    let cluster = Cluster::start(&ClusterOptions { data_dir: args.data_dir.clone(), bindir: args.pg_bindir.clone() })
        .context("cannot start the private PostgreSQL cluster")?;
    cluster.create_database_if_missing(PRIVATE_DATABASE).context("cannot create the feed's database")?;
    tracing::info!(
        data_dir = %args.data_dir.display(),
        port = cluster.port(),
        millis = started.elapsed().as_millis() as u64,
        "private PostgreSQL cluster started"
    );
    Ok(Database { url: cluster.url(PRIVATE_DATABASE), cluster: Some(cluster) })
}
