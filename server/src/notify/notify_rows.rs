//! What the notifier keeps: spent link nonces, people's email addresses, the team's channels, and
//! the calls it told people of (so that a replica taking the notifier over tells nobody twice).
//! [`NotifyRows`] is the seam another database's store goes behind, [`SqlNotifyRows`] SQLite's
//! `link_uses`, `notify_email` and `notify_channels` tables. A channel's URL and signing secret
//! are stored as the notifier hands them over (sealed when a key is set). [`suite`] is what every
//! implementation must do.

use domain::upstream::client::BoxFuture;
use sqlx::{AnyPool, Row};

use crate::support::StoreError;

/// A channel as it is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelRecord {
    pub id: i64,
    pub kind: String,
    pub name: String,
    /// The workspace whose calls it gets.
    pub workspace: String,
    /// As stored: sealed (`sealed:…`) or in plain text.
    pub url: String,
    pub secret: Option<String>,
    pub created_by: String,
    pub created_at: String,
}

/// A call the notifier told people of, as kept.
#[derive(Debug, Clone, PartialEq)]
pub struct ToldRow {
    pub event_id: String,
    /// When its first message went out, milliseconds since 1970.
    pub told_ms: i64,
    /// The escalation step told last.
    pub step: i64,
    /// Who was emailed of it, space-separated usernames.
    pub people: String,
    /// The call (`PendingCall` as JSON).
    pub call: String,
}

/// Gives a channel's URL and secret as they are to be stored, from its id (sealed values are
/// bound to it) and, for a channel written before, its plain values.
pub type Fill<'a> = &'a (dyn Fn(i64) -> (String, Option<String>) + Send + Sync);

/// Seals a stored channel's plain URL and secret: `(id, url, secret)` to the sealed pair.
pub type Seal<'a> = &'a (dyn Fn(i64, &str, Option<&str>) -> (String, Option<String>) + Send + Sync);

pub trait NotifyRows: Send + Sync + 'static {
    /// Spends link `nonce` for `username` at `at`. `None`: this was its first use; otherwise when
    /// it was used first (of two at once, exactly one is first).
    fn use_link<'a>(
        &'a self,
        nonce: &'a str,
        username: &'a str,
        at: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, StoreError>>;
    /// When link `nonce` was spent, if it was; spends nothing.
    fn link_used<'a>(&'a self, nonce: &'a str) -> BoxFuture<'a, Result<Option<String>, StoreError>>;
    /// Makes link `nonce` unspent again: the decision it was spent on was never made.
    fn unspend_link<'a>(&'a self, nonce: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    fn email<'a>(&'a self, username: &'a str) -> BoxFuture<'a, Result<Option<String>, StoreError>>;
    /// Sets (or, with `None`, removes) `username`'s address.
    fn set_email<'a>(
        &'a self,
        username: &'a str,
        address: Option<&'a str>,
        at: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Every (username, address).
    fn emails(&self) -> BoxFuture<'_, Result<Vec<(String, String)>, StoreError>>;
    /// Every channel, oldest first.
    fn channels(&self) -> BoxFuture<'_, Result<Vec<ChannelRecord>, StoreError>>;
    /// Adds a channel, in one transaction: written with neither URL nor secret, then given what
    /// `fill` makes of its id, so that no stored page ever holds a sealed value in plain text.
    /// `what` is the channel's kind, name and workspace.
    fn add_channel<'a>(
        &'a self,
        what: (&'a str, &'a str, &'a str),
        created_by: &'a str,
        at: &'a str,
        fill: Fill<'a>,
    ) -> BoxFuture<'a, Result<ChannelRecord, StoreError>>;
    /// Removes channel `id`; false when there was none.
    fn delete_channel(&self, id: i64) -> BoxFuture<'_, Result<bool, StoreError>>;
    /// How many channels have a sealed URL.
    fn sealed_channels(&self) -> BoxFuture<'_, Result<i64, StoreError>>;
    /// Seals, in one transaction, every channel whose URL is in plain text; answers how many, and
    /// when any were, leaves no freed page holding the plain values.
    fn seal_plain<'a>(&'a self, seal: Seal<'a>) -> BoxFuture<'a, Result<usize, StoreError>>;
    /// Records (or updates: its step, who was emailed) a call told of.
    fn record_told<'a>(&'a self, told: &'a ToldRow) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Every call told of and not forgotten.
    fn told(&self) -> BoxFuture<'_, Result<Vec<ToldRow>, StoreError>>;
    /// Forgets the calls told of that were decided and said so.
    fn forget_told<'a>(&'a self, event_ids: &'a [String]) -> BoxFuture<'a, Result<(), StoreError>>;
}

pub struct SqlNotifyRows {
    pool: AnyPool,
}

impl SqlNotifyRows {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }
}

fn channel_of(row: &sqlx::any::AnyRow) -> Result<ChannelRecord, sqlx::Error> {
    Ok(ChannelRecord {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        name: row.try_get("name")?,
        workspace: row.try_get("workspace")?,
        url: row.try_get("url")?,
        secret: row.try_get("secret")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
    })
}

impl NotifyRows for SqlNotifyRows {
    fn use_link<'a>(
        &'a self,
        nonce: &'a str,
        username: &'a str,
        at: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
        Box::pin(async move {
            let inserted = sqlx::query(
                "INSERT INTO link_uses (nonce, username, used_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(nonce)
            .bind(username)
            .bind(at)
            .execute(&self.pool)
            .await?;
            if inserted.rows_affected() == 1 {
                return Ok(None);
            }
            let used: String = sqlx::query_scalar("SELECT used_at FROM link_uses WHERE nonce = $1")
                .bind(nonce)
                .fetch_one(&self.pool)
                .await?;
            Ok(Some(used))
        })
    }

    fn link_used<'a>(&'a self, nonce: &'a str) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
        Box::pin(async move {
            Ok(sqlx::query_scalar("SELECT used_at FROM link_uses WHERE nonce = $1")
                .bind(nonce)
                .fetch_optional(&self.pool)
                .await?)
        })
    }

    fn unspend_link<'a>(&'a self, nonce: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query("DELETE FROM link_uses WHERE nonce = $1").bind(nonce).execute(&self.pool).await?;
            Ok(())
        })
    }

    fn email<'a>(&'a self, username: &'a str) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
        Box::pin(async move {
            Ok(sqlx::query_scalar("SELECT address FROM notify_email WHERE username = $1")
                .bind(username)
                .fetch_optional(&self.pool)
                .await?)
        })
    }

    fn set_email<'a>(
        &'a self,
        username: &'a str,
        address: Option<&'a str>,
        at: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            match address {
                None => {
                    sqlx::query("DELETE FROM notify_email WHERE username = $1").bind(username).execute(&self.pool).await?
                }
                Some(address) => {
                    sqlx::query(
                        "INSERT INTO notify_email (username, address, updated_at) VALUES ($1, $2, $3)
                         ON CONFLICT (username) DO UPDATE SET address = excluded.address, updated_at = excluded.updated_at",
                    )
                    .bind(username)
                    .bind(address)
                    .bind(at)
                    .execute(&self.pool)
                    .await?
                }
            };
            Ok(())
        })
    }

    fn emails(&self) -> BoxFuture<'_, Result<Vec<(String, String)>, StoreError>> {
        Box::pin(async move {
            Ok(sqlx::query_as("SELECT username, address FROM notify_email").fetch_all(&self.pool).await?)
        })
    }

    fn channels(&self) -> BoxFuture<'_, Result<Vec<ChannelRecord>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query("SELECT * FROM notify_channels ORDER BY id").fetch_all(&self.pool).await?;
            Ok(rows.iter().map(channel_of).collect::<Result<_, _>>()?)
        })
    }

    fn add_channel<'a>(
        &'a self,
        (kind, name, workspace): (&'a str, &'a str, &'a str),
        created_by: &'a str,
        at: &'a str,
        fill: Fill<'a>,
    ) -> BoxFuture<'a, Result<ChannelRecord, StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO notify_channels (kind, name, workspace, url, secret, created_by, created_at)
                 VALUES ($1, $2, $5, '', NULL, $3, $4) RETURNING id",
            )
            .bind(kind)
            .bind(name)
            .bind(created_by)
            .bind(at)
            .bind(workspace)
            .fetch_one(&mut *tx)
            .await?;
            let (url, secret) = fill(id);
            let row = sqlx::query("UPDATE notify_channels SET url = $1, secret = $2 WHERE id = $3 RETURNING *")
                .bind(url)
                .bind(secret)
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(channel_of(&row)?)
        })
    }

    fn delete_channel(&self, id: i64) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            let deleted = sqlx::query("DELETE FROM notify_channels WHERE id = $1").bind(id).execute(&self.pool).await?;
            Ok(deleted.rows_affected() > 0)
        })
    }

    fn sealed_channels(&self) -> BoxFuture<'_, Result<i64, StoreError>> {
        Box::pin(async move {
            Ok(sqlx::query_scalar("SELECT COUNT(*) FROM notify_channels WHERE url LIKE 'sealed:%'")
                .fetch_one(&self.pool)
                .await?)
        })
    }

    fn seal_plain<'a>(&'a self, seal: Seal<'a>) -> BoxFuture<'a, Result<usize, StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            let plain: Vec<(i64, String, Option<String>)> =
                sqlx::query_as("SELECT id, url, secret FROM notify_channels WHERE url NOT LIKE 'sealed:%'")
                    .fetch_all(&mut *tx)
                    .await?;
            for (id, url, secret) in &plain {
                let (url, secret) = seal(*id, url, secret.as_deref());
                sqlx::query("UPDATE notify_channels SET url = $1, secret = $2 WHERE id = $3")
                    .bind(url)
                    .bind(secret)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            if !plain.is_empty() {
                crate::support::db::scrub(&self.pool, "notify_channels").await?;
            }
            Ok(plain.len())
        })
    }

    fn record_told<'a>(&'a self, told: &'a ToldRow) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query(
                "INSERT INTO notified_calls (event_id, told_ms, step, people, call) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (event_id) DO UPDATE SET step = excluded.step, people = excluded.people",
            )
            .bind(&told.event_id)
            .bind(told.told_ms)
            .bind(told.step)
            .bind(&told.people)
            .bind(&told.call)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
    }

    fn told(&self) -> BoxFuture<'_, Result<Vec<ToldRow>, StoreError>> {
        Box::pin(async move {
            let rows: Vec<(String, i64, i64, String, String)> =
                sqlx::query_as("SELECT event_id, told_ms, step, people, call FROM notified_calls ORDER BY told_ms")
                    .fetch_all(&self.pool)
                    .await?;
            Ok(rows
                .into_iter()
                .map(|(event_id, told_ms, step, people, call)| ToldRow { event_id, told_ms, step, people, call })
                .collect())
        })
    }

    fn forget_told<'a>(&'a self, event_ids: &'a [String]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            for id in event_ids {
                sqlx::query("DELETE FROM notified_calls WHERE event_id = $1").bind(id).execute(&self.pool).await?;
            }
            Ok(())
        })
    }
}

/// What every [`NotifyRows`] must do, whatever keeps it: each check takes a fresh, empty store.
#[cfg(test)]
pub mod suite {
    use super::*;

    /// A link is spent once: its first use answers nothing, every later one when it was first
    /// used; reading whether it was spends nothing, and a spend undone leaves it unspent.
    pub async fn a_link_is_spent_once(rows: &dyn NotifyRows) {
        assert_eq!(rows.link_used("n1").await.unwrap(), None);
        assert_eq!(rows.link_used("n1").await.unwrap(), None, "reading spends nothing");
        assert_eq!(rows.use_link("n1", "ann", "2026-11-26T10:00:00Z").await.unwrap(), None);
        assert_eq!(rows.link_used("n1").await.unwrap().as_deref(), Some("2026-11-26T10:00:00Z"));
        let again = rows.use_link("n1", "bob", "2026-11-26T10:05:00Z").await.unwrap();
        assert_eq!(again.as_deref(), Some("2026-11-26T10:00:00Z"));
        assert_eq!(rows.use_link("n2", "ann", "2026-11-26T10:06:00Z").await.unwrap(), None);
        rows.unspend_link("n2").await.unwrap();
        assert_eq!(rows.link_used("n2").await.unwrap(), None);
        assert_eq!(rows.use_link("n2", "ann", "2026-11-26T10:07:00Z").await.unwrap(), None);
        assert_eq!(rows.link_used("n1").await.unwrap().as_deref(), Some("2026-11-26T10:00:00Z"), "others stay spent");
    }

    /// An address is set, replaced and removed per person.
    pub async fn an_address_is_set_replaced_and_removed(rows: &dyn NotifyRows) {
        rows.set_email("ann", Some("ann@example.com"), "2026-11-26T10:00:00Z").await.unwrap();
        rows.set_email("ann", Some("ann@example.org"), "2026-11-26T10:01:00Z").await.unwrap();
        rows.set_email("bob", Some("bob@example.com"), "2026-11-26T10:02:00Z").await.unwrap();
        assert_eq!(rows.email("ann").await.unwrap().as_deref(), Some("ann@example.org"));
        let mut all = rows.emails().await.unwrap();
        all.sort();
        assert_eq!(all.len(), 2);
        rows.set_email("ann", None, "2026-11-26T10:03:00Z").await.unwrap();
        assert!(rows.email("ann").await.unwrap().is_none());
    }

    /// A channel is given what `fill` makes of its own id; plain channels are sealed once; a
    /// removed channel is gone.
    /// A call told of is kept with its step and people, updated in place, and forgotten.
    pub async fn told_calls_are_kept_until_forgotten(rows: &dyn NotifyRows) {
        let told = |id: &str, step: i64, people: &str| ToldRow {
            event_id: id.to_owned(),
            told_ms: 1_000,
            step,
            people: people.to_owned(),
            call: "{}".to_owned(),
        };
        rows.record_told(&told("sevt_1", 0, "ann")).await.unwrap();
        rows.record_told(&told("sevt_2", 0, "")).await.unwrap();
        rows.record_told(&told("sevt_1", 1, "ann bob")).await.unwrap();
        let kept = rows.told().await.unwrap();
        assert_eq!(kept.len(), 2);
        assert_eq!(kept.iter().find(|t| t.event_id == "sevt_1"), Some(&told("sevt_1", 1, "ann bob")));
        rows.forget_told(&["sevt_1".to_owned()]).await.unwrap();
        assert_eq!(rows.told().await.unwrap(), vec![told("sevt_2", 0, "")]);
    }

    pub async fn channels_are_filled_by_id_and_sealed_once(rows: &dyn NotifyRows) {
        let fill = |id: i64| (format!("https://hooks.example/{id}"), Some(format!("whsec_{id}")));
        let a = rows.add_channel(("webhook", "Ops", "default"), "ann", "2026-11-26T10:00:00Z", &fill).await.unwrap();
        assert_eq!((a.url.clone(), a.secret.clone()), fill(a.id));
        let sealed = |id: i64| (format!("sealed:{id}"), None);
        let b = rows.add_channel(("slack", "Team", "staging"), "ann", "2026-11-26T10:01:00Z", &sealed).await.unwrap();
        assert_eq!((a.workspace.as_str(), b.workspace.as_str()), ("default", "staging"));
        assert_eq!(rows.sealed_channels().await.unwrap(), 1);
        let seal = |id: i64, url: &str, secret: Option<&str>| {
            (format!("sealed:{id}:{url}"), secret.map(|s| format!("sealed:{s}")))
        };
        assert_eq!(rows.seal_plain(&seal).await.unwrap(), 1);
        assert_eq!(rows.seal_plain(&seal).await.unwrap(), 0, "sealed ones are left alone");
        assert_eq!(rows.sealed_channels().await.unwrap(), 2);
        let stored = rows.channels().await.unwrap();
        assert_eq!(stored[0].url, format!("sealed:{}:https://hooks.example/{}", a.id, a.id));
        assert!(rows.delete_channel(a.id).await.unwrap());
        assert!(!rows.delete_channel(a.id).await.unwrap());
        assert_eq!(rows.channels().await.unwrap().len(), 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_and_postgres_keep_links_addresses_and_channels() {
        for check in 0..4 {
            for db in crate::support::db::testing::databases("notify").await {
                let rows = SqlNotifyRows::new(db.pool.clone());
                match check {
                    0 => suite::a_link_is_spent_once(&rows).await,
                    1 => suite::an_address_is_set_replaced_and_removed(&rows).await,
                    2 => suite::told_calls_are_kept_until_forgotten(&rows).await,
                    _ => suite::channels_are_filled_by_id_and_sealed_once(&rows).await,
                }
            }
        }
    }
}
