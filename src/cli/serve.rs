//! `serve` and `demo`: bind the port, open and migrate the database, optionally load the demo
//! data, then serve until Ctrl-C or SIGTERM, and stop the private cluster on the way out.

use super::{ServeArgs, database};
use crate::auth::{self, AuthConfig, Authenticator, dev::DevIssuer};
use crate::jobs::{self, Jobs, clock::SystemClock, config::JobsConfig};
use crate::{db, http, odata::model::Model, odata::plan::Limits};
use anyhow::Context;
use std::{net::TcpListener, sync::Arc};

/// What `demo` adds to `serve`.
pub struct DemoLoad {
    pub scale: u32,
    pub seed: u64,
    pub load_only: bool,
}

/// Who may sign in: the configured issuers, and the development issuer when asked for.
struct SignIn {
    config: AuthConfig,
    dev: Option<Arc<DevIssuer>>,
}

impl SignIn {
    fn load(args: &ServeArgs) -> anyhow::Result<SignIn> {
        let config = args.auth_config.as_deref().map(AuthConfig::load).transpose()?;
        let dev = match &args.dev_issuer_key {
            Some(path) => Some(Arc::new(DevIssuer::load_or_create(path)?)),
            None => None,
        };
        anyhow::ensure!(
            config.is_some() || dev.is_some(),
            "no token issuer is configured: pass --auth-config FILE (see docs/sign-in.md), or --dev-issuer-key FILE for development"
        );
        if let Some(path) = &args.dev_issuer_key {
            tracing::warn!(key = %path.display(), "the development issuer is trusted: anyone with this key file can read every tenant");
        }
        Ok(SignIn { config: config.unwrap_or_else(AuthConfig::empty), dev })
    }

    fn authenticator(&self) -> anyhow::Result<Arc<Authenticator>> {
        let mut authenticator = Authenticator::new(&self.config, auth::http_client()?);
        if let Some(dev) = &self.dev {
            authenticator = authenticator.with_issuer(dev.issuer());
        }
        Ok(Arc::new(authenticator))
    }
}

pub fn serve(args: ServeArgs, demo: Option<DemoLoad>) -> anyhow::Result<()> {
    let model = Arc::new(Model::load()?);
    let sign_in = SignIn::load(&args)?;
    let jobs_config = args.jobs_config.as_deref().map(JobsConfig::load).transpose()?.unwrap_or_default();
    // Bind first: a taken port should fail before PostgreSQL starts.
    let listener = match &demo {
        Some(d) if d.load_only => None,
        _ => Some(TcpListener::bind(args.listen).with_context(|| format!("cannot listen on {}", args.listen))?),
    };
    let metrics = match (&listener, args.metrics_listen) {
        (Some(_), Some(address)) => {
            Some(TcpListener::bind(address).with_context(|| format!("cannot listen on {address} for metrics"))?)
        }
        _ => None,
    };
    let database = database::open(&args.database)?;
    let outcome = serve_on(&args, &database.url, (listener, metrics), demo, model, sign_in, jobs_config);
    let closed = database.close();
    outcome.and(closed)
}

fn serve_on(
    args: &ServeArgs,
    database_url: &str,
    (listener, metrics): (Option<TcpListener>, Option<TcpListener>),
    demo: Option<DemoLoad>,
    model: Arc<Model>,
    sign_in: SignIn,
    jobs_config: JobsConfig,
) -> anyhow::Result<()> {
    let applied = db::migrate::run(database_url)?;
    if applied > 0 {
        tracing::info!(applied, "migrations applied");
    }
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async {
        if let Some(demo) = &demo {
            let pool = db::pool::connect(database_url, 2).await?;
            crate::demo::load_once(&pool, demo.scale, demo.seed).await?;
        }
        let Some(listener) = listener else { return Ok(()) };
        let timeout = std::time::Duration::from_secs(args.statement_timeout);
        let key = {
            let owner = db::pool::connect(database_url, 1).await?;
            db::secrets::skiptoken_key(&owner).await?
        };
        let pool = db::pool::connect_reader(database_url, args.pool_size, timeout).await?;
        let mut read = http::ReadSettings::new(key);
        read.max_expand_depth = args.max_expand_depth as usize;
        read.limits = Limits {
            page_size: args.page_size,
            max_page_size: args.max_page_size.max(args.page_size),
            max_top: args.max_top,
            ..Limits::default()
        };
        let address = listener.local_addr()?;
        let scheduler = match args.no_scheduler {
            true => None,
            false => {
                let owner = db::pool::connect(database_url, 4).await?;
                let jobs = Jobs::new(owner, model.clone(), jobs_config, Arc::new(SystemClock))?;
                Some(jobs::scheduler::Scheduler::start(Arc::new(jobs), jobs::scheduler::TICK)?)
            }
        };
        let mut state = http::AppState::new(model, pool, args.public_url.clone(), read, sign_in.authenticator()?);
        state.dev_issuer = sign_in.dev.clone();
        state.ingest = Some(http::ingest::IngestSettings {
            pool: db::pool::connect_writer(database_url, args.ingest_connections as usize).await?,
            max_body_bytes: args.ingest_max_body_mib << 20,
        });
        let (url, size) = (database_url.to_owned(), args.pool_size);
        state.worker_pools = Some(std::sync::Arc::new(move || {
            db::pool::build_reader(&url, size, timeout).expect("the URL was checked when the first pool was built").0
        }));
        let server = http::server(listener, state)?;
        let root = args.public_url.clone().unwrap_or_else(|| format!("http://{address}"));
        tracing::info!(%address, "listening");
        println!("OData feed: {root}{}/", http::SERVICE_PATH);
        if let (Some(dev), Some(_)) = (&sign_in.dev, &demo) {
            print_demo_token(dev, &root)?;
        }
        let served = match metrics {
            Some(metrics) => {
                tracing::info!(address = %metrics.local_addr()?, "metrics at /metrics");
                let metrics = http::metrics::server(metrics)?;
                futures_util::future::try_join(server, metrics).await.map(|_| ())
            }
            None => server.await,
        };
        drop(scheduler);
        served.context("the HTTP server failed")
    })
}

/// What `demo` prints so that the feed can be tried at once: a token and a curl command.
fn print_demo_token(dev: &DevIssuer, root: &str) -> anyhow::Result<()> {
    let hours = 8;
    let token = dev.mint(super::DEMO_TENANT, "demo-user", std::time::Duration::from_secs(hours * 3600))?;
    let tenant = super::DEMO_TENANT;
    println!(
        "Access token for the tenant `{tenant}` (valid {hours} hours; `odata-feed token --tenant {tenant}` mints another):"
    );
    println!("{token}");
    println!("Try it:");
    println!("  curl -H 'Authorization: Bearer {token}' '{root}{}/Calls?$top=3'", http::SERVICE_PATH);
    println!(
        "Ingest rows (CSV or NDJSON) with a token of `odata-feed token --ingest --tenant {tenant}`: POST {root}{}/{{EntitySet}}",
        http::INGEST_PATH
    );
    Ok(())
}
