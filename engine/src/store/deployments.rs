//! Deployments' and their runs' rows: a deployment's JSON with its status, archive flag and
//! schedule (which are due, when the next one is), and the runs a fire writes. What runs in a
//! fire's transaction (its runs, its deployment's next time) takes it as `tx`.

use sqlx::{QueryBuilder, Sqlite, Transaction, sqlite::SqliteRow};

use super::Store;
use crate::ApiResult;

/// A deployment whose time has come.
#[derive(sqlx::FromRow)]
pub struct Due {
    pub id: String,
    /// When it was to fire, in microseconds since the epoch.
    pub next_fire_us: i64,
    /// The deployment's JSON.
    pub body: String,
}

impl Store {
    /// Up to `limit` deployments due at `now_us`, the earliest first.
    pub async fn deployments_due(&self, now_us: i64, limit: i64) -> ApiResult<Vec<Due>> {
        Ok(sqlx::query_as(
            "SELECT id, next_fire_us, body FROM deployments WHERE next_fire_us <= ? ORDER BY next_fire_us LIMIT ?",
        )
        .bind(now_us)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// When the next deployment fires, in microseconds since the epoch; `None` without any.
    pub async fn next_deployment_fire(&self) -> ApiResult<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT MIN(next_fire_us) FROM deployments").fetch_one(&self.pool).await?)
    }
}

/// A deployment's row: its JSON and the columns beside it.
#[derive(sqlx::FromRow)]
pub struct DeploymentRow {
    pub body: String,
    pub archived: bool,
    pub last_run_us: Option<i64>,
}

impl DeploymentRow {
    /// The row from a list's page, read by its columns' names.
    pub fn read(row: &SqliteRow) -> ApiResult<DeploymentRow> {
        Ok(<DeploymentRow as sqlx::FromRow<SqliteRow>>::from_row(row)?)
    }
}

/// What a deployment's write stores beside its JSON.
pub struct DeploymentColumns<'a> {
    pub id: &'a str,
    pub body: String,
    pub agent_id: &'a str,
    pub status: &'a str,
    /// When it fires next, in microseconds; `None` when paused, archived or unscheduled.
    pub next_fire_us: Option<i64>,
}

/// A run to write: its JSON and the columns lists and the once-per-cron-time rule read.
pub struct RunColumns<'a> {
    pub id: &'a str,
    pub deployment_id: &'a str,
    pub body: &'a str,
    pub has_error: bool,
    pub trigger_type: &'a str,
    /// The cron time a scheduled run fired for; `None` for a manual one.
    pub scheduled_us: Option<i64>,
}

impl Store {
    /// A deployment's row; `None` when there is no such deployment.
    pub async fn deployment_row(&self, id: &str) -> ApiResult<Option<DeploymentRow>> {
        Ok(sqlx::query_as("SELECT body, archived, last_run_us FROM deployments WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// A deployment run's JSON; `None` when there is no such run.
    pub async fn deployment_run_body(&self, id: &str) -> ApiResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT body FROM deployment_runs WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Writes a deployment's columns; `archive` archives it (an archived one stays archived).
    pub async fn update_deployment(&self, row: DeploymentColumns<'_>, archive: bool) -> ApiResult<()> {
        sqlx::query(
            "UPDATE deployments SET body = ?, agent_id = ?, status = ?, archived = archived OR ?, next_fire_us = ? WHERE id = ?",
        )
        .bind(row.body)
        .bind(row.agent_id)
        .bind(row.status)
        .bind(archive)
        .bind(row.next_fire_us)
        .bind(row.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn insert_deployment(&self, row: DeploymentColumns<'_>, created_us: i64) -> ApiResult<()> {
        sqlx::query(
            "INSERT INTO deployments (id, body, created_us, agent_id, status, next_fire_us) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(row.id)
        .bind(row.body)
        .bind(created_us)
        .bind(row.agent_id)
        .bind(row.status)
        .bind(row.next_fire_us)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Writes `runs` created at `created_us` in `tx`, leaving out a scheduled run whose (deployment,
/// cron time) has one already; answers the ids written.
pub async fn insert_runs(
    tx: &mut Transaction<'_, Sqlite>,
    runs: &[RunColumns<'_>],
    created_us: i64,
) -> ApiResult<Vec<String>> {
    Ok(QueryBuilder::<Sqlite>::new(
        "INSERT INTO deployment_runs (id, deployment_id, body, created_us, has_error, trigger_type, scheduled_us) ",
    )
    .push_values(runs, |mut row, run| {
        row.push_bind(run.id)
            .push_bind(run.deployment_id)
            .push_bind(run.body)
            .push_bind(created_us)
            .push_bind(run.has_error)
            .push_bind(run.trigger_type)
            .push_bind(run.scheduled_us);
    })
    .push(" ON CONFLICT (deployment_id, scheduled_us) DO NOTHING RETURNING id")
    .build_query_scalar()
    .fetch_all(&mut **tx)
    .await?)
}

/// Pauses the deployment for `reason` (its JSON) at `at`, in `tx`, if it still waits for `due`;
/// says whether it did.
pub async fn pause_for_error(
    tx: &mut Transaction<'_, Sqlite>,
    id: &str,
    reason: &str,
    at: &str,
    due: i64,
) -> ApiResult<bool> {
    let paused = sqlx::query(
        "UPDATE deployments SET status = 'paused', next_fire_us = NULL, \
         body = json_set(body, '$.status', 'paused', '$.paused_reason', json(?), '$.updated_at', ?) \
         WHERE id = ? AND next_fire_us = ?",
    )
    .bind(reason)
    .bind(at)
    .bind(id)
    .bind(due)
    .execute(&mut **tx)
    .await?;
    Ok(paused.rows_affected() > 0)
}

/// Moves the deployment's next fire to `next` (and its last run to `started`, when one started),
/// in `tx`, if it still waits for `due`.
pub async fn advance(
    tx: &mut Transaction<'_, Sqlite>,
    id: &str,
    next: Option<i64>,
    started: Option<i64>,
    due: i64,
) -> ApiResult<()> {
    sqlx::query(
        "UPDATE deployments SET next_fire_us = ?, last_run_us = COALESCE(?, last_run_us) \
         WHERE id = ? AND next_fire_us = ?",
    )
    .bind(next)
    .bind(started)
    .bind(id)
    .bind(due)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
