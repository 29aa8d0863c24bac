//! Secrets shared by every instance serving one database (table `feed_secrets`), generated
//! from the operating system's random source the first time they are needed.

use crate::odata::plan::SigningKey;
use anyhow::Context;
use deadpool_postgres::Pool;
use rand::TryRngCore;

/// The key that signs skiptokens: read, or created once and then read by every instance.
pub async fn skiptoken_key(pool: &Pool) -> anyhow::Result<SigningKey> {
    let client = pool.get().await.context("cannot reach the database for the skiptoken key")?;
    let mut fresh = [0u8; 32];
    rand::rngs::OsRng.try_fill_bytes(&mut fresh).context("the operating system has no random source")?;
    client
        .execute(
            "INSERT INTO feed_secrets (name, value) VALUES ('skiptoken', $1) ON CONFLICT (name) DO NOTHING",
            &[&fresh.as_slice()],
        )
        .await
        .context("cannot store the skiptoken key")?;
    let row = client
        .query_one("SELECT value FROM feed_secrets WHERE name = 'skiptoken'", &[])
        .await
        .context("cannot read the skiptoken key")?;
    let value: Vec<u8> = row.get(0);
    let bytes: [u8; 32] =
        value.get(..32).and_then(|v| v.try_into().ok()).context("the stored skiptoken key is too short")?;
    Ok(SigningKey::new(bytes))
}
