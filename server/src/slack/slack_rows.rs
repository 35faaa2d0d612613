//! What deciding in Slack keeps (migration `0021_slack.sql`): each workspace's Slack app, the
//! message posted for each waiting call, who each Slack user is here, and the signatures of the
//! requests taken (to refuse a replay). [`SlackRows`] is the seam, [`SqlSlackRows`] its SQL over
//! either database; [`suite`] is what every implementation must do. A token and a secret are
//! stored as the service hands them over (sealed where a key is set).

use domain::upstream::client::BoxFuture;
use sqlx::{AnyPool, Row};

use crate::support::StoreError;

/// A workspace's Slack app as it is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct AppRecord {
    pub workspace: String,
    pub channel: String,
    /// As stored: sealed (`sealed:…`) or in plain text.
    pub bot_token: String,
    pub signing_secret: String,
    pub created_by: String,
    pub created_at: String,
}

/// The message of a waiting call.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRecord {
    pub workspace: String,
    pub event_id: String,
    pub session_id: String,
    /// The call as the inbox listed it (`PendingCall` as JSON).
    pub call: String,
    /// Where Slack put it; `None` while it is being posted (or if posting failed).
    pub channel: Option<String>,
    pub ts: Option<String>,
    /// What it was last updated to say once its call was decided; `None` while it waits.
    pub settled: Option<String>,
}

/// A linked Slack user: (team, user, username, linked at).
pub type PersonRow = (String, String, String, String);

pub trait SlackRows: Send + Sync + 'static {
    fn apps(&self) -> BoxFuture<'_, Result<Vec<AppRecord>, StoreError>>;
    /// Sets (replaces) a workspace's app.
    fn set_app<'a>(&'a self, app: &'a AppRecord) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Removes a workspace's app; false when it had none.
    fn remove_app<'a>(&'a self, workspace: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Claims the posting of `event_id`'s message: true for the one claim of it that wins.
    fn claim_message<'a>(
        &'a self,
        workspace: &'a str,
        event_id: &'a str,
        session_id: &'a str,
        call: &'a str,
        at: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Gives back the claim of a message that was not posted (Slack refused it), so that it is
    /// claimed and posted again later.
    fn unclaim<'a>(&'a self, workspace: &'a str, event_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Where a claimed message was posted.
    fn posted<'a>(
        &'a self,
        workspace: &'a str,
        event_id: &'a str,
        channel: &'a str,
        ts: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    fn message<'a>(
        &'a self,
        workspace: &'a str,
        event_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<MessageRecord>, StoreError>>;
    /// The workspace's messages whose calls are not known to be decided.
    fn unsettled<'a>(&'a self, workspace: &'a str) -> BoxFuture<'a, Result<Vec<MessageRecord>, StoreError>>;
    /// Marks a message settled with `text`: true for the first to do so.
    fn settle<'a>(
        &'a self,
        workspace: &'a str,
        event_id: &'a str,
        text: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// The Switchboard username of a Slack user.
    fn person<'a>(&'a self, team: &'a str, user: &'a str) -> BoxFuture<'a, Result<Option<String>, StoreError>>;
    /// Links a Slack user to `username`, unless they are linked already: true when this linked them.
    fn link_person<'a>(
        &'a self,
        team: &'a str,
        user: &'a str,
        username: &'a str,
        at: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Every linked Slack user, by username.
    fn people(&self) -> BoxFuture<'_, Result<Vec<PersonRow>, StoreError>>;
    /// Unlinks a Slack user; false when they were not linked.
    fn unlink_person<'a>(&'a self, team: &'a str, user: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Leaves no freed page holding the apps' secrets as they were before they were sealed.
    fn scrub(&self) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Takes a request's signature, forgetting those received before `forget_before_ms`: false
    /// when it was taken before (a replay).
    fn take_request<'a>(
        &'a self,
        signature: &'a str,
        now_ms: i64,
        forget_before_ms: i64,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
}

pub struct SqlSlackRows {
    pool: AnyPool,
}

impl SqlSlackRows {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }
}

fn message_of(row: &sqlx::any::AnyRow) -> Result<MessageRecord, sqlx::Error> {
    Ok(MessageRecord {
        workspace: row.try_get("workspace")?,
        event_id: row.try_get("event_id")?,
        session_id: row.try_get("session_id")?,
        call: row.try_get("call")?,
        channel: row.try_get("channel")?,
        ts: row.try_get("ts")?,
        settled: row.try_get("settled")?,
    })
}

const MESSAGE_COLUMNS: &str = "workspace, event_id, session_id, call, channel, ts, settled";

impl SlackRows for SqlSlackRows {
    fn apps(&self) -> BoxFuture<'_, Result<Vec<AppRecord>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT workspace, channel, bot_token, signing_secret, created_by, created_at FROM slack_apps ORDER BY workspace",
            )
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(AppRecord {
                        workspace: row.try_get("workspace")?,
                        channel: row.try_get("channel")?,
                        bot_token: row.try_get("bot_token")?,
                        signing_secret: row.try_get("signing_secret")?,
                        created_by: row.try_get("created_by")?,
                        created_at: row.try_get("created_at")?,
                    })
                })
                .collect::<Result<_, sqlx::Error>>()
                .map_err(Into::into)
        })
    }

    fn set_app<'a>(&'a self, app: &'a AppRecord) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query(
                "INSERT INTO slack_apps (workspace, channel, bot_token, signing_secret, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (workspace) DO UPDATE SET channel = excluded.channel, bot_token = excluded.bot_token,
                   signing_secret = excluded.signing_secret, created_by = excluded.created_by, created_at = excluded.created_at",
            )
            .bind(&app.workspace)
            .bind(&app.channel)
            .bind(&app.bot_token)
            .bind(&app.signing_secret)
            .bind(&app.created_by)
            .bind(&app.created_at)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
    }

    fn remove_app<'a>(&'a self, workspace: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let done =
                sqlx::query("DELETE FROM slack_apps WHERE workspace = $1").bind(workspace).execute(&self.pool).await?;
            Ok(done.rows_affected() > 0)
        })
    }

    fn claim_message<'a>(
        &'a self,
        workspace: &'a str,
        event_id: &'a str,
        session_id: &'a str,
        call: &'a str,
        at: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let done = sqlx::query(
                "INSERT INTO slack_messages (workspace, event_id, session_id, call, claimed_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT DO NOTHING",
            )
            .bind(workspace)
            .bind(event_id)
            .bind(session_id)
            .bind(call)
            .bind(at)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    fn unclaim<'a>(&'a self, workspace: &'a str, event_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query("DELETE FROM slack_messages WHERE workspace = $1 AND event_id = $2 AND ts IS NULL")
                .bind(workspace)
                .bind(event_id)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
    }

    fn posted<'a>(
        &'a self,
        workspace: &'a str,
        event_id: &'a str,
        channel: &'a str,
        ts: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query("UPDATE slack_messages SET channel = $3, ts = $4 WHERE workspace = $1 AND event_id = $2")
                .bind(workspace)
                .bind(event_id)
                .bind(channel)
                .bind(ts)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
    }

    fn message<'a>(
        &'a self,
        workspace: &'a str,
        event_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<MessageRecord>, StoreError>> {
        Box::pin(async move {
            let row = sqlx::query(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM slack_messages WHERE workspace = $1 AND event_id = $2"
            ))
            .bind(workspace)
            .bind(event_id)
            .fetch_optional(&self.pool)
            .await?;
            Ok(row.as_ref().map(message_of).transpose()?)
        })
    }

    fn unsettled<'a>(&'a self, workspace: &'a str) -> BoxFuture<'a, Result<Vec<MessageRecord>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM slack_messages WHERE workspace = $1 AND settled IS NULL ORDER BY claimed_at"
            ))
            .bind(workspace)
            .fetch_all(&self.pool)
            .await?;
            Ok(rows.iter().map(message_of).collect::<Result<_, _>>()?)
        })
    }

    fn settle<'a>(
        &'a self,
        workspace: &'a str,
        event_id: &'a str,
        text: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let done = sqlx::query(
                "UPDATE slack_messages SET settled = $3 WHERE workspace = $1 AND event_id = $2 AND settled IS NULL",
            )
            .bind(workspace)
            .bind(event_id)
            .bind(text)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    fn person<'a>(&'a self, team: &'a str, user: &'a str) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
        Box::pin(async move {
            Ok(sqlx::query_scalar("SELECT username FROM slack_people WHERE team_id = $1 AND user_id = $2")
                .bind(team)
                .bind(user)
                .fetch_optional(&self.pool)
                .await?)
        })
    }

    fn link_person<'a>(
        &'a self,
        team: &'a str,
        user: &'a str,
        username: &'a str,
        at: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let done = sqlx::query(
                "INSERT INTO slack_people (team_id, user_id, username, linked_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
            )
            .bind(team)
            .bind(user)
            .bind(username)
            .bind(at)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    fn people(&self) -> BoxFuture<'_, Result<Vec<PersonRow>, StoreError>> {
        Box::pin(async move {
            Ok(sqlx::query_as(
                "SELECT team_id, user_id, username, linked_at FROM slack_people ORDER BY username, team_id, user_id",
            )
            .fetch_all(&self.pool)
            .await?)
        })
    }

    fn unlink_person<'a>(&'a self, team: &'a str, user: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let done = sqlx::query("DELETE FROM slack_people WHERE team_id = $1 AND user_id = $2")
                .bind(team)
                .bind(user)
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected() > 0)
        })
    }

    fn scrub(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            crate::support::db::scrub(&self.pool, "slack_apps").await?;
            Ok(())
        })
    }

    fn take_request<'a>(
        &'a self,
        signature: &'a str,
        now_ms: i64,
        forget_before_ms: i64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            sqlx::query("DELETE FROM slack_requests WHERE received_ms < $1")
                .bind(forget_before_ms)
                .execute(&self.pool)
                .await?;
            let done = sqlx::query(
                "INSERT INTO slack_requests (signature, received_ms) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(signature)
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }
}

#[cfg(test)]
pub mod suite {
    use super::*;

    fn app(workspace: &str, channel: &str) -> AppRecord {
        AppRecord {
            workspace: workspace.into(),
            channel: channel.into(),
            bot_token: format!("token of {workspace}"),
            signing_secret: format!("secret of {workspace}"),
            created_by: "ann".into(),
            created_at: "2026-11-28T10:00:00Z".into(),
        }
    }

    /// A workspace has one app: set, replaced, removed; others keep theirs.
    pub async fn a_workspace_has_one_app(rows: &dyn SlackRows) {
        rows.set_app(&app("default", "C0000000001")).await.unwrap();
        rows.set_app(&app("staging", "C0000000002")).await.unwrap();
        rows.set_app(&app("default", "C0000000003")).await.unwrap();
        let apps = rows.apps().await.unwrap();
        assert_eq!(apps.len(), 2);
        assert_eq!(apps[0].channel, "C0000000003", "replaced, not added");
        assert!(rows.remove_app("default").await.unwrap());
        assert!(!rows.remove_app("default").await.unwrap(), "removed already");
        assert_eq!(rows.apps().await.unwrap(), vec![app("staging", "C0000000002")]);
    }

    /// A call's message is claimed once, posted, and settled once; each workspace has its own.
    pub async fn a_message_is_claimed_and_settled_once(rows: &dyn SlackRows) {
        let at = "2026-11-28T10:00:00Z";
        assert!(rows.claim_message("default", "sevt_1", "sesn_1", "{}", at).await.unwrap());
        assert!(!rows.claim_message("default", "sevt_1", "sesn_1", "{}", at).await.unwrap(), "claimed already");
        assert!(rows.claim_message("staging", "sevt_1", "sesn_9", "{}", at).await.unwrap(), "another workspace's");
        rows.unclaim("staging", "sevt_1").await.unwrap();
        assert!(
            rows.claim_message("staging", "sevt_1", "sesn_9", "{}", at).await.unwrap(),
            "given back, claimed again"
        );
        rows.posted("default", "sevt_1", "C0000000001", "1700000000.000100").await.unwrap();
        let message = rows.message("default", "sevt_1").await.unwrap().unwrap();
        assert_eq!(message.ts.as_deref(), Some("1700000000.000100"));
        assert_eq!(rows.unsettled("default").await.unwrap(), vec![message]);
        assert!(rows.settle("default", "sevt_1", "Allowed by ann").await.unwrap());
        assert!(!rows.settle("default", "sevt_1", "Denied by bob").await.unwrap(), "settled already");
        assert!(rows.unsettled("default").await.unwrap().is_empty());
        let settled = rows.message("default", "sevt_1").await.unwrap().unwrap().settled;
        assert_eq!(settled.as_deref(), Some("Allowed by ann"));
        assert!(rows.message("default", "sevt_2").await.unwrap().is_none());
    }

    /// A Slack user is linked once; a request's signature is taken once until it is forgotten.
    pub async fn people_are_linked_once_and_requests_taken_once(rows: &dyn SlackRows) {
        assert!(rows.person("T1", "U1").await.unwrap().is_none());
        assert!(rows.link_person("T1", "U1", "ann", "2026-11-28T10:00:00Z").await.unwrap());
        assert!(!rows.link_person("T1", "U1", "mallory", "2026-11-28T10:01:00Z").await.unwrap());
        assert_eq!(rows.person("T1", "U1").await.unwrap().as_deref(), Some("ann"));
        assert!(rows.person("T2", "U1").await.unwrap().is_none(), "another team's U1 is someone else");
        assert_eq!(
            rows.people().await.unwrap(),
            vec![("T1".into(), "U1".into(), "ann".into(), "2026-11-28T10:00:00Z".into())]
        );
        assert!(rows.unlink_person("T1", "U1").await.unwrap());
        assert!(!rows.unlink_person("T1", "U1").await.unwrap(), "unlinked already");
        assert!(rows.link_person("T1", "U1", "mallory", "2026-11-28T10:02:00Z").await.unwrap(), "linked anew");
        assert!(rows.take_request("v0=aa", 1_000, 0).await.unwrap());
        assert!(!rows.take_request("v0=aa", 2_000, 0).await.unwrap(), "a replay");
        assert!(rows.take_request("v0=bb", 2_000, 0).await.unwrap());
        assert!(rows.take_request("v0=aa", 400_000, 100_000).await.unwrap(), "forgotten after its window");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_and_postgres_keep_apps_messages_people_and_requests() {
        for check in 0..3 {
            for db in crate::support::db::testing::databases("slack").await {
                let rows = SqlSlackRows::new(db.pool.clone());
                match check {
                    0 => suite::a_workspace_has_one_app(&rows).await,
                    1 => suite::a_message_is_claimed_and_settled_once(&rows).await,
                    _ => suite::people_are_linked_once_and_requests_taken_once(&rows).await,
                }
            }
        }
    }
}
