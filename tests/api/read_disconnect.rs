//! A client that goes away in the middle of a page stops its statement: the server cancels it
//! and retires the connection instead of letting PostgreSQL produce rows nobody reads.

use crate::support::app::{skiptoken_key, spawn_for, token_for};
use crate::support::database::{fresh_database, query_rows};
use odata_feed::{db, http::ReadSettings};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// Enough wide rows that one page (50,000 of them) overflows every socket buffer on the way.
const ROWS: u32 = 60_000;

async fn backend_running(url: &str) -> Option<i32> {
    let rows = query_rows(
        url,
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'odata-feed' \
         AND state = 'active' AND wait_event = 'ClientWrite' AND query LIKE 'SELECT t.%FROM conversations t%'",
    )
    .await;
    rows.first().map(|r| r.get(0))
}

async fn backend_exists(url: &str, pid: i32) -> bool {
    !query_rows(url, &format!("SELECT 1 FROM pg_stat_activity WHERE pid = {pid}")).await.is_empty()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_disconnects_mid_page_cancels_its_statement() {
    let db = fresh_database().await;
    query_rows(&db.url, "INSERT INTO tenants (id, name, time_zone, retention_days) VALUES ('t', 'T', 'UTC', 30)").await;
    query_rows(
        &db.url,
        &format!(
            "INSERT INTO conversations (tenant_id, id, channel_id, channel_type, channel_closed_seconds, \
             channel_open_seconds, is_outbound, started_at_utc, media, subject) \
             SELECT 't', lpad(n::text, 12, '0'), 'channel', 'Email', 0, 0, false, \
             timestamptz '2024-01-01' + n * interval '1 second', 'Email', repeat('x', 1000) \
             FROM generate_series(1, {ROWS}) n"
        ),
    )
    .await;
    let pool = db::pool::connect_reader(&db.url, 2, Duration::from_secs(600)).await.expect("pool");
    let settings = ReadSettings::new(skiptoken_key(&db.url).await);
    let app = spawn_for(pool, settings, "t");

    let address = app.address.trim_start_matches("http://").to_owned();
    let mut socket = std::net::TcpStream::connect(&address).expect("connect");
    let request = format!(
        "GET /odata/Conversations HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\nPrefer: odata.maxpagesize=50000\r\n\r\n",
        token_for("t")
    );
    socket.write_all(request.as_bytes()).expect("request sent");
    let mut start = vec![0u8; 64 * 1024];
    socket.read_exact(&mut start).expect("the page starts");
    assert!(String::from_utf8_lossy(&start).contains("\"value\":["), "a page is being streamed");

    // The client stops reading: the statement stays active, blocked on the full socket.
    let deadline = Instant::now() + Duration::from_secs(20);
    let pid = loop {
        if let Some(pid) = backend_running(&db.url).await {
            break pid;
        }
        assert!(Instant::now() < deadline, "the page statement should still be running");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    drop(socket);
    let deadline = Instant::now() + Duration::from_secs(20);
    while backend_exists(&db.url, pid).await {
        assert!(Instant::now() < deadline, "the backend {pid} still runs 20 s after the client left");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
