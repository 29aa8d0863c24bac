//! The command line: `serve`, `demo` and `migrate`, each a small function over shared
//! arguments. Every failure comes back as one `anyhow` chain that `main` prints on one line.

mod database;
mod import;
mod jobs;
mod serve;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::{net::SocketAddr, path::PathBuf};

/// A contact center's statistics as an OData v4 feed, backed by PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "odata-feed", version, about)]
pub struct Cli {
    /// Log line format on standard error.
    #[arg(long, global = true, env = "ODATA_FEED_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the feed from the configured database.
    Serve(ServeArgs),
    /// Load the demo data set once (reused on later starts), then serve it.
    Demo(DemoArgs),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Print `$metadata` (XML CSDL), or write both CSDL documents into a directory.
    Metadata(MetadataArgs),
    /// Print an access token of the development issuer (for `demo`, or `serve --dev-issuer-key`):
    /// a read token, or with `--ingest` an ingest token.
    Token(TokenArgs),
    /// Run a nightly job by hand, or list recent runs.
    Jobs(JobsArgs),
    /// Import CSV or NDJSON files (gzip-compressed or not) into an entity set of one tenant,
    /// upserted by key in batches: running it again after an interruption converges.
    Import(ImportArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The tenant the rows belong to.
    #[arg(long)]
    pub tenant: String,
    /// The entity set the rows are for, e.g. `Calls`.
    #[arg(long, value_name = "NAME")]
    pub set: String,
    /// The files, imported in order (`-` reads standard input, which needs --format).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The files' format [default: from the name: .csv, .ndjson or .jsonl, optionally .gz].
    /// gzip is recognized by the first bytes, whatever the name.
    #[arg(long, value_enum)]
    pub format: Option<import::FileFormat>,
    /// Records per transaction: each batch commits when its last record has been read and
    /// every record so far was valid.
    #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "snapshot")]
    pub batch_rows: u64,
    /// Batches written at the same time, each on its own database connection (the next batch
    /// is copied while the previous one merges).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub connections: u64,
    /// Lookup sets only: the file is the complete list of the set's objects, written as one
    /// batch; objects it does not name are removed from the lookup source.
    #[arg(long)]
    pub snapshot: bool,
    /// Only read and validate the files, without a database; nothing is written.
    #[arg(long)]
    pub check: bool,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Clone, Args)]
pub struct JobsArgs {
    #[command(subcommand)]
    pub command: JobsCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum JobsCommand {
    /// Run a job now (unless another instance is running it), for every tenant or one.
    Run {
        #[arg(value_enum)]
        job: crate::jobs::Job,
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        database: DatabaseArgs,
        /// The jobs configuration (sources of the lookup tables, retries, batch size).
        #[arg(long, env = "ODATA_FEED_JOBS_CONFIG", value_name = "FILE")]
        jobs_config: Option<PathBuf>,
    },
    /// List the most recent runs of the jobs.
    Status {
        /// How many runs to list.
        #[arg(long, default_value_t = 20)]
        limit: i64,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// The feed tenant the token reads (or, with `--ingest`, writes to).
    #[arg(long)]
    pub tenant: String,
    /// The user the token names (`oid`); with `--ingest`, the client application (`oid`, `azp`).
    #[arg(long, default_value = "developer")]
    pub user: String,
    /// Mint an app-only ingest token (app role `Feed.Ingest`) for `POST /ingest/{EntitySet}`
    /// instead of a read token: it can write data but cannot read the feed.
    #[arg(long)]
    pub ingest: bool,
    /// Minutes the token stays valid.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=1440))]
    pub minutes: u64,
    /// The development issuer's key [default: `dev-issuer.pem` in the data directory].
    #[arg(long, env = "ODATA_FEED_DEV_ISSUER_KEY", value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// The data directory `demo` uses (where its key is kept).
    #[arg(long, env = "ODATA_FEED_DATA_DIR", default_value = ".odata-feed")]
    pub data_dir: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct MetadataArgs {
    /// Write `metadata.xml` and `metadata.json` into this directory (e.g. `edmx/`) instead of
    /// printing the XML.
    #[arg(long, value_name = "DIR")]
    pub write: Option<PathBuf>,
}

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL URL. When absent, a private PostgreSQL cluster is started under --data-dir.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Directory of the private PostgreSQL cluster (used only without DATABASE_URL).
    #[arg(long, env = "ODATA_FEED_DATA_DIR", default_value = ".odata-feed")]
    pub data_dir: PathBuf,
    /// Directory holding PostgreSQL's `initdb` and `postgres` for the private cluster
    /// [default: `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin].
    #[arg(long, env = "ODATA_FEED_PG_BINDIR")]
    pub pg_bindir: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Address to listen on.
    #[arg(long, env = "ODATA_FEED_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The nightly jobs' configuration (TOML): where each tenant's lookup objects come from,
    /// upstream retries, purge batch size (see the README) [default: no lookup sources].
    #[arg(long, env = "ODATA_FEED_JOBS_CONFIG", value_name = "FILE")]
    pub jobs_config: Option<PathBuf>,
    /// Do not run the nightly jobs in this instance (another instance or `odata-feed jobs run`
    /// does).
    #[arg(long, env = "ODATA_FEED_NO_SCHEDULER")]
    pub no_scheduler: bool,
    /// Serve Prometheus metrics at `/metrics` on this address (keep it private: the metrics
    /// name tenants and users) [default: no metrics endpoint].
    #[arg(long, env = "ODATA_FEED_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// The externally visible `scheme://host:port` used in absolute URLs; by default taken
    /// from each request's Host header.
    #[arg(long, env = "ODATA_FEED_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Maximum number of pooled database connections.
    #[arg(long, env = "ODATA_FEED_POOL_SIZE", default_value_t = 16)]
    pub pool_size: usize,
    /// The sign-in configuration (TOML): trusted token issuers, audiences, scopes and the
    /// mapping of their tenants to the feed's (see docs/sign-in.md).
    #[arg(long, env = "ODATA_FEED_AUTH_CONFIG", value_name = "FILE")]
    pub auth_config: Option<PathBuf>,
    /// Development only: also trust tokens of the built-in development issuer, whose key is
    /// kept in FILE (created when missing); `odata-feed token` mints them.
    #[arg(long, env = "ODATA_FEED_DEV_ISSUER_KEY", value_name = "FILE")]
    pub dev_issuer_key: Option<PathBuf>,
    /// Entities per page when the client states no `Prefer: odata.maxpagesize`.
    #[arg(long, env = "ODATA_FEED_PAGE_SIZE", default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub page_size: u64,
    /// The largest page a client may ask for with `Prefer: odata.maxpagesize`.
    #[arg(long, env = "ODATA_FEED_MAX_PAGE_SIZE", default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_page_size: u64,
    /// The largest `$top` accepted.
    #[arg(long, env = "ODATA_FEED_MAX_TOP", default_value_t = 1_000_000_000)]
    pub max_top: u64,
    /// How many levels `$expand` may nest (`$levels=max` expands this deep).
    #[arg(long, env = "ODATA_FEED_MAX_EXPAND_DEPTH", default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=8))]
    pub max_expand_depth: u64,
    /// The largest ingestion request body, in MiB (counted on the wire and again after gzip
    /// decompression); a larger batch is refused with 413.
    #[arg(long, env = "ODATA_FEED_INGEST_MAX_BODY_MIB", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub ingest_max_body_mib: u64,
    /// Database connections for ingestion (one per batch being written).
    #[arg(long, env = "ODATA_FEED_INGEST_CONNECTIONS", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub ingest_connections: u64,
    /// Seconds a read statement may run (a streamed page included) before it is cancelled.
    #[arg(long, env = "ODATA_FEED_STATEMENT_TIMEOUT", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..))]
    pub statement_timeout: u64,
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Number of conversations of the main demo tenant; the other tenant gets a tenth.
    #[arg(long, env = "ODATA_FEED_DEMO_SCALE", default_value_t = 200_000)]
    pub scale: u32,
    /// Seed of the demo data generator: the same seed and scale give the same data.
    #[arg(long, env = "ODATA_FEED_DEMO_SEED", default_value_t = 42)]
    pub seed: u64,
    /// Load the demo data (if not loaded yet) and exit without serving.
    #[arg(long)]
    pub load_only: bool,
}

/// The tenant whose token `demo` prints.
pub const DEMO_TENANT: &str = "contoso";

/// Runs a parsed command line to completion.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::serve(args, None),
        Command::Demo(args) => {
            let demo = serve::DemoLoad { scale: args.scale, seed: args.seed, load_only: args.load_only };
            let mut serve_args = args.serve;
            let key = serve_args.database.data_dir.join(crate::auth::dev::KEY_FILE);
            serve_args.dev_issuer_key.get_or_insert(key);
            serve::serve(serve_args, Some(demo))
        }
        Command::Token(args) => {
            let key = args.key.unwrap_or_else(|| args.data_dir.join(crate::auth::dev::KEY_FILE));
            let issuer = crate::auth::dev::DevIssuer::load(&key)?;
            let lifetime = std::time::Duration::from_secs(args.minutes * 60);
            let token = if args.ingest {
                issuer.mint_ingest(&args.tenant, &args.user, lifetime)?
            } else {
                issuer.mint(&args.tenant, &args.user, lifetime)?
            };
            println!("{token}");
            Ok(())
        }
        Command::Metadata(args) => metadata(&args),
        Command::Jobs(args) => jobs::jobs(args),
        Command::Import(args) => import::import(args),
        Command::Migrate(args) => {
            let database = database::open(&args)?;
            let applied = crate::db::migrate::run(&database.url)?;
            tracing::info!(applied, "migrations applied");
            Ok(())
        }
    }
}

/// `odata-feed metadata [--write DIR]`: the CSDL the server publishes, from the same model.
fn metadata(args: &MetadataArgs) -> anyhow::Result<()> {
    use anyhow::Context;
    let model = crate::odata::model::Model::load()?;
    let csdl = crate::odata::csdl::render(&model, &crate::odata::capabilities::IMPLEMENTED);
    let Some(dir) = &args.write else {
        print!("{}", csdl.xml);
        return Ok(());
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, text) in [(crate::odata::csdl::XML_FILE, &csdl.xml), (crate::odata::csdl::JSON_FILE, &csdl.json)] {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        tracing::info!(path = %path.display(), "written");
    }
    Ok(())
}
