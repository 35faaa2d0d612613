//! Several Switchboard replicas on one database behaving as one: [`Cluster`] is this replica's
//! part of it.
//!
//! - **Leases** ([`Cluster::lease`]): work one replica does for all (a workspace's inbox poller,
//!   the notifier) is done by whoever holds its row in `leases`; the holder renews it every
//!   [`RENEW`], and when it stops (killed, cut off) another replica takes it over once it
//!   expires, [`LEASE_TTL`] after the last renewal. Times are the database's clock, so replicas'
//!   clocks need not agree.
//! - **Signals** ([`Cluster::signal`], [`Cluster::signals`]): what one replica changed that the
//!   others hold in memory or show on open pages (an inbox list published, a share link revoked,
//!   a login ended, the grants changed). On PostgreSQL they go through `LISTEN/NOTIFY` on one
//!   channel, `switchboard`, and come back to every replica, this one included; on SQLite (one
//!   process) they go to this process's listeners directly. A signal may be lost while a
//!   replica's listening connection is down: it then gets [`Signal::Resync`], and whoever keeps
//!   a copy reads it again.
//! - **Presence**: each replica writes its id to `replicas` every [`RENEW`]; what a replica holds
//!   for someone (an open stream's slot) stops counting once its row is older than [`LEASE_TTL`].

use std::{sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};
use sqlx::AnyPool;
use tokio::sync::{broadcast, watch};

use super::db::{Dialect, dialect};

/// How often a holder renews its leases and a replica says it is there.
pub const RENEW: Duration = Duration::from_secs(2);
/// How long a lease (and a replica's presence) lasts without renewal.
pub const LEASE_TTL: Duration = Duration::from_secs(8);
/// The `LISTEN/NOTIFY` channel.
const CHANNEL: &str = "switchboard";

/// What one replica tells every replica. `workspace` is the workspace's id (`default` for the
/// default one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signal {
    /// The inbox's poller published a new list (`published_inbox`).
    InboxPublished { workspace: String },
    /// Someone looks at the inbox on a replica that does not poll: the poller should run.
    InboxWanted { workspace: String },
    /// A decision on a call reached the upstream: it leaves every replica's inbox now.
    InboxDecided { workspace: String, session_id: String, event_id: String },
    /// A session changed (a webhook came to some replica, a rule was made from its card): the
    /// poller reads it now; `every_waiting`: and every session that waits.
    SessionChanged { workspace: String, session_id: String, every_waiting: bool },
    /// A share link was revoked: its streams end everywhere.
    ShareRevoked { workspace: String, share_id: i64 },
    /// A login ended (signed out, its account disabled or given a new password): its open
    /// streams end everywhere.
    LoginEnded,
    /// The workspaces or the grants to them changed.
    WorkspacesChanged,
    /// A workspace's approval policies changed.
    PoliciesChanged { workspace: String },
    /// A workspace's rules changed.
    RulesChanged { workspace: String },
    /// Signals may have been missed (the listening connection was lost): read again what is kept.
    Resync,
}

/// A workspace's place in the cluster: what its services signal with.
#[derive(Clone)]
pub struct Replicated {
    pub cluster: Arc<Cluster>,
    /// The workspace's id.
    pub workspace: String,
}

impl Replicated {
    /// Tells every replica `signal`, made from this workspace's id.
    pub async fn signal(&self, signal: impl FnOnce(String) -> Signal) {
        self.cluster.signal(signal(self.workspace.clone())).await;
    }
}

/// This replica's part of the cluster.
pub struct Cluster {
    /// A random id, this process's: who holds a lease, whose streams a slot is.
    pub replica: String,
    pool: AnyPool,
    signals: broadcast::Sender<Signal>,
    /// Ends the listening connection when the cluster is dropped.
    stop: tokio_util::sync::CancellationToken,
    /// Cancelled by [`Cluster::leave`]: no lease is taken again (the process is stopping, and
    /// tasks still finishing must not hold on to what another replica should take over).
    left: tokio_util::sync::CancellationToken,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Cluster {
    /// This replica, over the main database `pool`; on PostgreSQL, listening at `url`.
    pub async fn start(pool: AnyPool, url: Option<&str>) -> Result<Arc<Self>, sqlx::Error> {
        let (signals, _) = broadcast::channel(1024);
        let stop = tokio_util::sync::CancellationToken::new();
        let left = tokio_util::sync::CancellationToken::new();
        let cluster = Arc::new(Self { replica: crate::support::random_hex::<8>(), pool, signals, stop, left });
        if let Some(url) = url {
            let mut listener = sqlx::postgres::PgListener::connect(url).await?;
            listener.listen(CHANNEL).await?;
            let (signals, stop) = (cluster.signals.clone(), cluster.stop.clone());
            tokio::spawn(async move {
                tokio::select! {
                    () = listen(listener, signals) => {}
                    () = stop.cancelled() => {}
                }
            });
        }
        cluster.here().await?;
        let here = Arc::downgrade(&cluster);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(RENEW).await;
                let Some(cluster) = here.upgrade() else { return };
                if let Err(error) = cluster.here().await {
                    tracing::warn!("this replica could not say it is there: {error}");
                }
            }
        });
        Ok(cluster)
    }

    /// One process on SQLite: signals stay in the process; leases are taken at once.
    pub async fn single(pool: AnyPool) -> Result<Arc<Self>, sqlx::Error> {
        Self::start(pool, None).await
    }

    pub fn dialect(&self) -> Dialect {
        dialect(&self.pool)
    }

    /// Whether other replicas may share the database (PostgreSQL); on SQLite this process is
    /// alone.
    pub fn shared(&self) -> bool {
        self.dialect() == Dialect::Postgres
    }

    /// Tells every replica (this one too).
    pub async fn signal(&self, signal: Signal) {
        match self.dialect() {
            Dialect::Sqlite => {
                let _ = self.signals.send(signal);
            }
            Dialect::Postgres => {
                let payload = serde_json::to_string(&signal).unwrap_or_default();
                let sent =
                    sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(payload).execute(&self.pool).await;
                if let Err(error) = sent {
                    // The others catch up at their next poll or resync; this one at once.
                    tracing::warn!("a signal to the other replicas was not sent: {error}");
                    let _ = self.signals.send(signal);
                }
            }
        }
    }

    /// Every signal from now on.
    pub fn signals(&self) -> broadcast::Receiver<Signal> {
        self.signals.subscribe()
    }

    /// The lease `name`: whether this replica holds it, kept up to date until the cluster is
    /// dropped. Taken as soon as nobody holds it.
    pub fn lease(self: &Arc<Self>, name: &str) -> watch::Receiver<bool> {
        if !self.shared() {
            // Alone: held for good (the sender stays, so the value never closes).
            let (held, receiver) = watch::channel(true);
            std::mem::forget(held);
            return receiver;
        }
        let (held, receiver) = watch::channel(false);
        let cluster = Arc::downgrade(self);
        let name = name.to_owned();
        tokio::spawn(async move {
            loop {
                let Some(this) = cluster.upgrade() else { return };
                if this.left.is_cancelled() {
                    // A renewal under way as it left may have taken the lease again.
                    let _ = this.release(&name).await;
                    held.send_if_modified(|was| std::mem::replace(was, false));
                    return;
                }
                let holds = match this.try_hold(&name).await {
                    Ok(holds) => holds,
                    Err(error) => {
                        // Cut off from the database: whoever can reach it takes over.
                        tracing::warn!(lease = %name, "the lease could not be renewed: {error}");
                        false
                    }
                };
                if *held.borrow() != holds {
                    tracing::info!(lease = %name, replica = %this.replica, "{}", if holds { "lease taken" } else { "lease lost" });
                }
                held.send_if_modified(|was| std::mem::replace(was, holds) != holds);
                if held.is_closed() {
                    let _ = this.release(&name).await;
                    return;
                }
                drop(this);
                tokio::time::sleep(RENEW).await;
            }
        });
        receiver
    }

    /// Takes or renews the lease `name` unless another replica holds it unexpired.
    async fn try_hold(&self, name: &str) -> Result<bool, sqlx::Error> {
        let now = now_ms(self.dialect());
        let sql = format!(
            "INSERT INTO leases (name, holder, expires_ms) VALUES ($1, $2, {now} + $3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms
             WHERE leases.holder = excluded.holder OR leases.expires_ms < {now}
             RETURNING holder"
        );
        let row = sqlx::query(&sql)
            .bind(name)
            .bind(&self.replica)
            .bind(LEASE_TTL.as_millis() as i64)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    async fn release(&self, name: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(&self.replica)
            .execute(&self.pool)
            .await
            .map(drop)
    }

    /// Says this replica is there, and forgets replicas gone for long.
    async fn here(&self) -> Result<(), sqlx::Error> {
        let now = now_ms(self.dialect());
        let upsert = format!(
            "INSERT INTO replicas (id, seen_ms) VALUES ($1, {now}) ON CONFLICT (id) DO UPDATE SET seen_ms = excluded.seen_ms"
        );
        sqlx::query(&upsert).bind(&self.replica).execute(&self.pool).await?;
        let gone = format!("DELETE FROM replicas WHERE seen_ms < {now} - $1");
        sqlx::query(&gone).bind(10 * LEASE_TTL.as_millis() as i64).execute(&self.pool).await?;
        Ok(())
    }

    /// The main database.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Gives up this replica's leases and presence at once (a graceful shutdown), so that
    /// another replica takes over now rather than when they expire.
    pub async fn leave(&self) {
        self.left.cancel();
        let _ = sqlx::query("DELETE FROM leases WHERE holder = $1").bind(&self.replica).execute(&self.pool).await;
        let _ = sqlx::query("DELETE FROM replicas WHERE id = $1").bind(&self.replica).execute(&self.pool).await;
    }
}

/// The database's clock in milliseconds since 1970, as SQL.
pub fn now_ms(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
        Dialect::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
    }
}

/// Relays PostgreSQL's notifications on [`CHANNEL`] to this replica's listeners; after a lost
/// connection (the listener reconnects), [`Signal::Resync`].
async fn listen(mut listener: sqlx::postgres::PgListener, signals: broadcast::Sender<Signal>) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => match serde_json::from_str::<Signal>(notification.payload()) {
                Ok(signal) => {
                    let _ = signals.send(signal);
                }
                Err(error) => tracing::debug!("a signal this version does not read was skipped: {error}"),
            },
            Ok(None) => {
                tracing::warn!("the connection that listens to the other replicas was lost; reconnecting");
                let _ = signals.send(Signal::Resync);
            }
            Err(error) => {
                tracing::warn!("listening to the other replicas failed: {error}; trying again");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
