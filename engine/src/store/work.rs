//! Self-hosted environments' rows: the work queue (items, their state and leases), the sessions
//! tokens poll hands out (one per held item, by hash), and environment keys (by hash, with their
//! last four characters). What a claim writes runs in its transaction (`tx`).

use sqlx::{Sqlite, Transaction};

use super::Store;
use crate::ApiResult;

/// An environment key's row: never its value.
#[derive(sqlx::FromRow)]
pub struct KeyRow {
    pub id: String,
    pub environment_id: String,
    pub hint: Option<String>,
    pub created_at: String,
    pub last_used_us: Option<i64>,
    pub revoked_at: Option<String>,
}

const KEY_COLUMNS: &str = "id, environment_id, hint, created_at, last_used_us, revoked_at";

/// A live key's row as a request's credential finds it.
#[derive(sqlx::FromRow)]
pub struct LiveKey {
    pub id: String,
    pub environment_id: String,
    pub last_used_us: Option<i64>,
}

/// A live sessions token's item.
#[derive(sqlx::FromRow)]
pub struct LiveToken {
    pub work_id: String,
    pub session_id: String,
    pub environment_id: String,
}

/// An item's row: its state, its last heartbeat and its JSON.
#[derive(sqlx::FromRow)]
pub struct WorkRow {
    pub state: String,
    pub last_heartbeat: Option<String>,
    pub body: String,
}

/// An item a poll claimed.
#[derive(sqlx::FromRow)]
pub struct Claimed {
    pub id: String,
    pub session_id: String,
    pub body: String,
}

/// A new sessions token, by its hash, for the item it holds and the key that polled it.
pub struct NewToken<'a> {
    pub hash: &'a str,
    pub work_id: &'a str,
    pub session_id: &'a str,
    pub environment_id: &'a str,
    pub key_id: &'a str,
}

impl Store {
    /// Keeps a new key of `environment_id` by its hash and last four characters.
    pub async fn insert_environment_key(
        &self,
        id: &str,
        environment_id: &str,
        key_hash: &str,
        created_at: &str,
        hint: &str,
    ) -> ApiResult<()> {
        sqlx::query(
            "INSERT INTO environment_keys (id, environment_id, key_hash, created_at, hint) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(environment_id)
        .bind(key_hash)
        .bind(created_at)
        .bind(hint)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The keys of `environment_id` (revoked ones too), oldest first.
    pub async fn environment_keys(&self, environment_id: &str) -> ApiResult<Vec<KeyRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {KEY_COLUMNS} FROM environment_keys WHERE environment_id = ? ORDER BY created_at, rowid"
        ))
        .bind(environment_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Key `key_id` (of `environment_id`, when one is named); `None` when there is no such key.
    pub async fn environment_key(&self, key_id: &str, environment_id: Option<&str>) -> ApiResult<Option<KeyRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {KEY_COLUMNS} FROM environment_keys WHERE id = ?1 AND (?2 IS NULL OR environment_id = ?2)"
        ))
        .bind(key_id)
        .bind(environment_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Revokes key `key_id` at `at` (a revoked key keeps its first time), with the sessions tokens
    /// it was handed, all or none.
    pub async fn revoke_environment_key(&self, key_id: &str, at: &str) -> ApiResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE environment_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(at)
            .bind(key_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM work_tokens WHERE key_id = ?").bind(key_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Revokes every key of `environment_id` at `at`, with the tokens they were handed.
    pub async fn revoke_environment_keys(&self, environment_id: &str, at: &str) -> ApiResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE environment_keys SET revoked_at = ? WHERE environment_id = ? AND revoked_at IS NULL")
            .bind(at)
            .bind(environment_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM work_tokens WHERE environment_id = ?").bind(environment_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets every key of `environment_id` and the tokens they were handed.
    pub async fn delete_environment_keys(&self, environment_id: &str) -> ApiResult<()> {
        let mut tx = self.pool.begin().await?;
        for table in ["environment_keys", "work_tokens"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE environment_id = ?"))
                .bind(environment_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The live key whose hash is `key_hash`: not revoked, its environment there and not archived.
    pub async fn live_environment_key(&self, key_hash: &str) -> ApiResult<Option<LiveKey>> {
        Ok(sqlx::query_as(
            "SELECT k.id, k.environment_id, k.last_used_us FROM environment_keys k
               JOIN environments e ON e.id = k.environment_id
             WHERE k.key_hash = ? AND k.revoked_at IS NULL AND e.archived = 0",
        )
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Notes that key `key_id` was used at `at_us`.
    pub async fn key_used(&self, key_id: &str, at_us: i64) -> ApiResult<()> {
        sqlx::query("UPDATE environment_keys SET last_used_us = ? WHERE id = ?")
            .bind(at_us)
            .bind(key_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The item whose live sessions token hashes to `token_hash`. A token is live while its item
    /// is held (not stopped), its environment is there and not archived, and the key that polled
    /// it (if one did) is there and not revoked.
    pub async fn live_token(&self, token_hash: &str) -> ApiResult<Option<LiveToken>> {
        Ok(sqlx::query_as(
            "SELECT t.work_id, t.session_id, t.environment_id FROM work_tokens t
               JOIN work w ON w.id = t.work_id
               JOIN environments e ON e.id = t.environment_id AND e.archived = 0
               LEFT JOIN environment_keys k ON k.id = t.key_id
             WHERE t.token_hash = ? AND w.state != 'stopped'
               AND (t.key_id IS NULL OR (k.id IS NOT NULL AND k.revoked_at IS NULL))",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The self-hosted environment session `session_id` runs on, if it runs on one.
    pub async fn self_hosted_environment(&self, session_id: &str) -> ApiResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT s.environment_id FROM sessions s JOIN environments e ON e.id = s.environment_id
             WHERE s.id = ? AND json_extract(e.body, '$.config.type') = 'self_hosted'",
        )
        .bind(session_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Queues item `id` (its JSON `body`) for the session, unless one of the session's is live
    /// already (queued, starting or active) or the session is archived: one statement, so two
    /// requests at once queue one item. Says whether it queued.
    pub async fn queue_work(
        &self,
        id: &str,
        environment_id: &str,
        session_id: &str,
        body: &str,
        created_us: i64,
    ) -> ApiResult<bool> {
        let queued = sqlx::query(
            "INSERT INTO work (id, environment_id, session_id, state, body, created_us)
             SELECT ?, ?, ?, 'queued', ?, ? WHERE NOT EXISTS
               (SELECT 1 FROM work WHERE session_id = ? AND state IN ('queued', 'starting', 'active'))
             AND NOT EXISTS (SELECT 1 FROM sessions WHERE id = ? AND archived = 1)",
        )
        .bind(id)
        .bind(environment_id)
        .bind(session_id)
        .bind(body)
        .bind(created_us)
        .bind(session_id)
        .bind(session_id)
        .execute(&self.pool)
        .await?;
        Ok(queued.rows_affected() > 0)
    }

    /// Stops every item of the session that has not stopped, at `at`.
    pub async fn stop_session_work(&self, session_id: &str, at: &str) -> ApiResult<()> {
        sqlx::query(
            "UPDATE work SET state = 'stopped', lease_until_us = NULL,
               body = json_set(body, '$.state', 'stopped', '$.stopped_at', ?)
             WHERE session_id = ? AND state != 'stopped'",
        )
        .bind(at)
        .bind(session_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Puts the environment's starting or active items whose lease ran out before `now_us` back
    /// in the queue, their poll, worker and heartbeat cleared; answers each one's (item, session).
    pub async fn requeue_expired(&self, environment_id: &str, now_us: i64) -> ApiResult<Vec<(String, String)>> {
        Ok(sqlx::query_as(
            "UPDATE work SET state = 'queued', polled_us = NULL, worker_id = NULL, last_heartbeat = NULL,
               lease_until_us = NULL, reclaims = reclaims + 1,
               body = json_set(body, '$.state', 'queued', '$.acknowledged_at', NULL, '$.started_at', NULL,
                 '$.latest_heartbeat_at', NULL)
             WHERE environment_id = ? AND state IN ('starting', 'active') AND lease_until_us < ?
             RETURNING id, session_id",
        )
        .bind(environment_id)
        .bind(now_us)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Stops the environment's stopping items whose lease ran out before `now_us`, at `at`; says
    /// how many.
    pub async fn stop_expired(&self, environment_id: &str, at: &str, now_us: i64) -> ApiResult<u64> {
        let stopped = sqlx::query(
            "UPDATE work SET state = 'stopped', lease_until_us = NULL,
               body = json_set(body, '$.state', 'stopped', '$.stopped_at', ?)
             WHERE environment_id = ? AND state = 'stopping' AND lease_until_us < ?",
        )
        .bind(at)
        .bind(environment_id)
        .bind(now_us)
        .execute(&self.pool)
        .await?;
        Ok(stopped.rows_affected())
    }

    /// Drops the tokens of the environment's items that are queued and not polled (their lease
    /// was lost); answers each one's (token hash, item).
    pub async fn drop_requeued_tokens(&self, environment_id: &str) -> ApiResult<Vec<(String, String)>> {
        Ok(sqlx::query_as(
            "DELETE FROM work_tokens WHERE environment_id = ?
               AND work_id IN (SELECT id FROM work WHERE state = 'queued' AND polled_us IS NULL)
             RETURNING token_hash, work_id",
        )
        .bind(environment_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Drops the tokens of the stopped items whose `column` (`work_id`, `session_id` or
    /// `environment_id`) is `value`.
    pub async fn forget_stopped_tokens(&self, column: &'static str, value: &str) -> ApiResult<()> {
        debug_assert!(["work_id", "session_id", "environment_id"].contains(&column));
        let sql = format!(
            "DELETE FROM work_tokens WHERE {column} = ? AND work_id IN (SELECT id FROM work WHERE state = 'stopped')"
        );
        sqlx::query(&sql).bind(value).execute(&self.pool).await?;
        Ok(())
    }

    /// Item `work_id` of `environment_id`; `None` when it has no such item.
    pub async fn work_row(&self, environment_id: &str, work_id: &str) -> ApiResult<Option<WorkRow>> {
        Ok(sqlx::query_as("SELECT state, last_heartbeat, body FROM work WHERE id = ? AND environment_id = ?")
            .bind(work_id)
            .bind(environment_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Acks a queued item at `at` under a lease until `lease_until_us`; answers its JSON, or
    /// `None` when it is not queued (or not there).
    pub async fn ack_work(
        &self,
        environment_id: &str,
        work_id: &str,
        at: &str,
        lease_until_us: i64,
    ) -> ApiResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "UPDATE work SET state = 'starting', lease_until_us = ?,
               body = json_set(body, '$.state', 'starting', '$.acknowledged_at', ?)
             WHERE id = ? AND environment_id = ? AND state = 'queued' RETURNING body",
        )
        .bind(lease_until_us)
        .bind(at)
        .bind(work_id)
        .bind(environment_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Moves the item's lease to `until_us`.
    pub async fn extend_lease(&self, work_id: &str, until_us: i64) -> ApiResult<()> {
        sqlx::query("UPDATE work SET lease_until_us = ? WHERE id = ?")
            .bind(until_us)
            .bind(work_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A heartbeat at `at` renewing the lease until `until_us`, if the item is starting or active
    /// and its last heartbeat is `expected` (`None`: it has had none); says whether it renewed.
    pub async fn renew_lease(&self, work_id: &str, expected: Option<&str>, at: &str, until_us: i64) -> ApiResult<bool> {
        let renewed = sqlx::query(
            "UPDATE work SET state = 'active', last_heartbeat = ?, lease_until_us = ?,
               body = json_set(body, '$.state', 'active', '$.latest_heartbeat_at', ?,
                 '$.started_at', coalesce(json_extract(body, '$.started_at'), ?))
             WHERE id = ? AND state IN ('starting', 'active') AND last_heartbeat IS ?",
        )
        .bind(at)
        .bind(until_us)
        .bind(at)
        .bind(at)
        .bind(work_id)
        .bind(expected)
        .execute(&self.pool)
        .await?;
        Ok(renewed.rows_affected() > 0)
    }

    /// Asks the item to stop at `at` (it is `stopping` until its worker stops it; the first
    /// request's time stays), or with `at_once` stops it; answers its JSON.
    pub async fn stop_work(&self, work_id: &str, at: &str, at_once: bool) -> ApiResult<String> {
        let query = if at_once {
            "UPDATE work SET state = 'stopped', lease_until_us = NULL,
               body = json_set(body, '$.state', 'stopped', '$.stopped_at', ?1)
             WHERE id = ?2 RETURNING body"
        } else {
            "UPDATE work SET state = 'stopping',
               body = json_set(body, '$.state', 'stopping', '$.stop_requested_at',
                 coalesce(json_extract(body, '$.stop_requested_at'), ?1))
             WHERE id = ?2 RETURNING body"
        };
        Ok(sqlx::query_scalar(query).bind(at).bind(work_id).fetch_one(&self.pool).await?)
    }

    /// Replaces the item's metadata (JSON).
    pub async fn set_work_metadata(&self, work_id: &str, metadata: &str) -> ApiResult<()> {
        sqlx::query("UPDATE work SET body = json_set(body, '$.metadata', json(?)) WHERE id = ?")
            .bind(metadata)
            .bind(work_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The environment's queue: items waiting unpolled, polled and not acked, and when the oldest
    /// queued one was created (RFC 3339).
    pub async fn queue_stats(&self, environment_id: &str) -> ApiResult<(i64, i64, Option<String>)> {
        Ok(sqlx::query_as(
            "SELECT coalesce(sum(polled_us IS NULL), 0), coalesce(sum(polled_us IS NOT NULL), 0),
               min(json_extract(body, '$.created_at'))
             FROM work WHERE environment_id = ? AND state = 'queued'",
        )
        .bind(environment_id)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Items queued and items under a lease, across every environment: two counts over
    /// `work_by_state`, which reads the live items only.
    pub async fn work_counts(&self) -> ApiResult<(i64, i64)> {
        Ok(sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM work WHERE state = 'queued'),
               (SELECT COUNT(*) FROM work WHERE state IN ('starting', 'active', 'stopping'))",
        )
        .fetch_one(&self.pool)
        .await?)
    }
}

/// Claims the environment's oldest queued item no one polled (or polled at or before
/// `older_than_us`, not acked) for `worker_id` at `at_us`, in `tx`.
pub async fn claim_work(
    tx: &mut Transaction<'_, Sqlite>,
    environment_id: &str,
    worker_id: Option<&str>,
    at_us: i64,
    older_than_us: i64,
) -> ApiResult<Option<Claimed>> {
    Ok(sqlx::query_as(
        "UPDATE work SET polled_us = ?, worker_id = ?
         WHERE seq = (SELECT seq FROM work WHERE environment_id = ? AND state = 'queued'
                      AND (polled_us IS NULL OR polled_us <= ?) ORDER BY seq LIMIT 1)
         RETURNING id, session_id, body",
    )
    .bind(at_us)
    .bind(worker_id)
    .bind(environment_id)
    .bind(older_than_us)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Gives the item `token` in place of the one it had, in `tx`; answers the hash of that one.
pub async fn replace_token(tx: &mut Transaction<'_, Sqlite>, token: NewToken<'_>) -> ApiResult<Option<String>> {
    let previous: Option<String> = sqlx::query_scalar("SELECT token_hash FROM work_tokens WHERE work_id = ?")
        .bind(token.work_id)
        .fetch_optional(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO work_tokens (token_hash, work_id, session_id, environment_id, key_id) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (work_id) DO UPDATE SET token_hash = excluded.token_hash, key_id = excluded.key_id",
    )
    .bind(token.hash)
    .bind(token.work_id)
    .bind(token.session_id)
    .bind(token.environment_id)
    .bind(token.key_id)
    .execute(&mut **tx)
    .await?;
    Ok(previous)
}
