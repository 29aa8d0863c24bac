//! `serve` and `demo`: bind the port, open and migrate the database, optionally load the demo
//! data, then serve until Ctrl-C or SIGTERM, and stop the private cluster on the way out.

use super::{ServeArgs, database};
use crate::{db, http, odata::model::Model, odata::plan::Limits};
use anyhow::Context;
use std::{net::TcpListener, sync::Arc};

/// What `demo` adds to `serve`.
pub struct DemoLoad {
    pub scale: u32,
    pub seed: u64,
    pub load_only: bool,
}

pub fn serve(args: ServeArgs, demo: Option<DemoLoad>) -> anyhow::Result<()> {
    let model = Arc::new(Model::load()?);
    // Bind first: a taken port should fail before PostgreSQL starts.
    let listener = match &demo {
        Some(d) if d.load_only => None,
        _ => Some(TcpListener::bind(args.listen).with_context(|| format!("cannot listen on {}", args.listen))?),
    };
    let database = database::open(&args.database)?;
    let outcome = serve_on(&args, &database.url, listener, demo, model);
    let closed = database.close();
    outcome.and(closed)
}

fn serve_on(
    args: &ServeArgs,
    database_url: &str,
    listener: Option<TcpListener>,
    demo: Option<DemoLoad>,
    model: Arc<Model>,
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
        let pool = db::pool::connect_reader(database_url, args.pool_size, timeout).await?;
        let mut read = http::ReadSettings::new(db::secrets::skiptoken_key(&pool).await?);
        read.default_tenant = args.default_tenant.clone();
        read.max_expand_depth = args.max_expand_depth as usize;
        read.limits = Limits {
            page_size: args.page_size,
            max_page_size: args.max_page_size.max(args.page_size),
            max_top: args.max_top,
            ..Limits::default()
        };
        let address = listener.local_addr()?;
        let mut state = http::AppState::new(model, pool, args.public_url.clone(), read);
        let (url, size) = (database_url.to_owned(), args.pool_size);
        state.worker_pools = Some(std::sync::Arc::new(move || {
            db::pool::build_reader(&url, size, timeout).expect("the URL was checked when the first pool was built").0
        }));
        let server = http::server(listener, state)?;
        let root = args.public_url.clone().unwrap_or_else(|| format!("http://{address}"));
        tracing::info!(%address, "listening");
        println!("OData feed: {root}{}/", http::SERVICE_PATH);
        server.await.context("the HTTP server failed")
    })
}
