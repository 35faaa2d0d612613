//! The rule book's rows: [`RuleRows`], the seam another database's store goes behind, and
//! [`SqlRuleRows`], SQLite's `rules` table. Times are RFC 3339 in whole seconds, so that they
//! compare as text. [`suite`] is what every implementation must do.

use domain::{rules::Rule, upstream::client::BoxFuture};
use sqlx::{AnyPool, Row};

use crate::support::StoreError;

/// Now, as rules store times: RFC 3339 in whole seconds, so that they compare as text.
pub fn now() -> String {
    stamp(time::OffsetDateTime::now_utc())
}

pub fn stamp(at: time::OffsetDateTime) -> String {
    domain::format::rfc3339(at.replace_nanosecond(0).unwrap_or(at))
}

/// A rule as it is first written.
#[derive(Debug, Clone)]
pub struct NewRuleRow {
    pub tool: String,
    pub pattern: String,
    pub scope: domain::rules::Scope,
    pub scope_id: String,
    pub created_by: String,
    pub owner: String,
    pub created_at: String,
    pub expires_at: String,
}

pub trait RuleRows: Send + Sync + 'static {
    /// The rules neither revoked nor expired at `now`, oldest first.
    fn live<'a>(&'a self, now: &'a str) -> BoxFuture<'a, Result<Vec<Rule>, StoreError>>;
    fn insert<'a>(&'a self, rule: &'a NewRuleRow) -> BoxFuture<'a, Result<Rule, StoreError>>;
    /// Notes what a whole-tool rule wrote into its session's tool policy (`previous`: the entry
    /// it replaced, as JSON) or why it wrote nothing.
    fn note_written(
        &self,
        id: i64,
        previous: Option<String>,
        note: Option<String>,
    ) -> BoxFuture<'_, Result<Rule, StoreError>>;
    /// One more call the rule answered.
    fn count_use(&self, id: i64) -> BoxFuture<'_, Result<(), StoreError>>;
    fn get(&self, id: i64) -> BoxFuture<'_, Result<Option<Rule>, StoreError>>;
    /// Ends the rule (`by`, at `at`); answers it as it is now.
    fn revoke<'a>(&'a self, id: i64, by: &'a str, at: &'a str) -> BoxFuture<'a, Result<Rule, StoreError>>;
    /// The rules that ended by `now` (revoked or expired) and wrote a tool policy not put back
    /// yet, each with the entry to put back (JSON).
    fn to_restore<'a>(&'a self, now: &'a str) -> BoxFuture<'a, Result<Vec<(Rule, String)>, StoreError>>;
    /// The rule's tool policy was put back at `at`.
    fn restored<'a>(&'a self, id: i64, at: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    /// The newest rules, at most `limit`: every one, or those of a session and its agent.
    fn list<'a>(
        &'a self,
        holding_for: Option<(&'a str, &'a str)>,
        limit: i64,
    ) -> BoxFuture<'a, Result<Vec<Rule>, StoreError>>;
}

pub struct SqlRuleRows {
    pool: AnyPool,
}

impl SqlRuleRows {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }
}

/// A rule as its row says, `live` as of `now`.
fn rule_of(row: &sqlx::any::AnyRow, now: &str) -> Result<Rule, sqlx::Error> {
    let scope: String = row.try_get("scope")?;
    let mut rule = Rule {
        id: row.try_get("id")?,
        tool: row.try_get("tool")?,
        pattern: row.try_get("pattern")?,
        scope: domain::rules::Scope::parse(&scope).ok_or_else(|| sqlx::Error::ColumnDecode {
            index: "scope".to_owned(),
            source: format!("{scope:?} is not a scope this version writes").into(),
        })?,
        scope_id: row.try_get("scope_id")?,
        created_by: row.try_get("created_by")?,
        owner: row.try_get("owner")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_by: row.try_get("revoked_by")?,
        revoked_at: row.try_get("revoked_at")?,
        uses: row.try_get("uses")?,
        live: false,
        written: row.try_get::<Option<String>, _>("previous_config")?.is_some(),
        write_note: row.try_get("write_note")?,
    };
    rule.live = rule.active_at(now);
    Ok(rule)
}

fn rules_of(rows: &[sqlx::any::AnyRow]) -> Result<Vec<Rule>, StoreError> {
    let now = now();
    Ok(rows.iter().map(|row| rule_of(row, &now)).collect::<Result<_, _>>()?)
}

fn one(row: &sqlx::any::AnyRow) -> Result<Rule, StoreError> {
    Ok(rule_of(row, &now())?)
}

impl RuleRows for SqlRuleRows {
    fn live<'a>(&'a self, now: &'a str) -> BoxFuture<'a, Result<Vec<Rule>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query("SELECT * FROM rules WHERE revoked_at IS NULL AND expires_at > $1 ORDER BY id")
                .bind(now)
                .fetch_all(&self.pool)
                .await?;
            rules_of(&rows)
        })
    }

    fn insert<'a>(&'a self, rule: &'a NewRuleRow) -> BoxFuture<'a, Result<Rule, StoreError>> {
        Box::pin(async move {
            let row = sqlx::query(
                "INSERT INTO rules (tool, pattern, scope, scope_id, created_by, owner, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
            )
            .bind(&rule.tool)
            .bind(&rule.pattern)
            .bind(rule.scope.as_str())
            .bind(&rule.scope_id)
            .bind(&rule.created_by)
            .bind(&rule.owner)
            .bind(&rule.created_at)
            .bind(&rule.expires_at)
            .fetch_one(&self.pool)
            .await?;
            one(&row)
        })
    }

    fn note_written(
        &self,
        id: i64,
        previous: Option<String>,
        note: Option<String>,
    ) -> BoxFuture<'_, Result<Rule, StoreError>> {
        Box::pin(async move {
            let row = sqlx::query("UPDATE rules SET previous_config = $1, write_note = $2 WHERE id = $3 RETURNING *")
                .bind(previous)
                .bind(note)
                .bind(id)
                .fetch_one(&self.pool)
                .await?;
            one(&row)
        })
    }

    fn count_use(&self, id: i64) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query("UPDATE rules SET uses = uses + 1 WHERE id = $1").bind(id).execute(&self.pool).await?;
            Ok(())
        })
    }

    fn get(&self, id: i64) -> BoxFuture<'_, Result<Option<Rule>, StoreError>> {
        Box::pin(async move {
            let row = sqlx::query("SELECT * FROM rules WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
            row.as_ref().map(one).transpose()
        })
    }

    fn revoke<'a>(&'a self, id: i64, by: &'a str, at: &'a str) -> BoxFuture<'a, Result<Rule, StoreError>> {
        Box::pin(async move {
            let row = sqlx::query("UPDATE rules SET revoked_by = $1, revoked_at = $2 WHERE id = $3 RETURNING *")
                .bind(by)
                .bind(at)
                .bind(id)
                .fetch_one(&self.pool)
                .await?;
            one(&row)
        })
    }

    fn to_restore<'a>(&'a self, now: &'a str) -> BoxFuture<'a, Result<Vec<(Rule, String)>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT * FROM rules WHERE previous_config IS NOT NULL AND restored_at IS NULL
                 AND (revoked_at IS NOT NULL OR expires_at <= $1)",
            )
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
            let mut out = Vec::new();
            for row in rows {
                if let (Ok(rule), Ok(Some(previous))) =
                    (rule_of(&row, now), row.try_get::<Option<String>, _>("previous_config"))
                {
                    out.push((rule, previous));
                }
            }
            Ok(out)
        })
    }

    fn restored<'a>(&'a self, id: i64, at: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query("UPDATE rules SET restored_at = $1 WHERE id = $2")
                .bind(at)
                .bind(id)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
    }

    fn list<'a>(
        &'a self,
        holding_for: Option<(&'a str, &'a str)>,
        limit: i64,
    ) -> BoxFuture<'a, Result<Vec<Rule>, StoreError>> {
        Box::pin(async move {
            let rows = match holding_for {
                None => sqlx::query("SELECT * FROM rules ORDER BY id DESC LIMIT $1").bind(limit).fetch_all(&self.pool).await?,
                Some((session_id, agent_id)) => {
                    sqlx::query(
                        "SELECT * FROM rules WHERE (scope = 'session' AND scope_id = $1) OR (scope = 'agent' AND scope_id = $2)
                         ORDER BY id DESC LIMIT $3",
                    )
                    .bind(session_id)
                    .bind(agent_id)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
                }
            };
            rules_of(&rows)
        })
    }
}

/// What every [`RuleRows`] must do, whatever keeps it: each check takes a fresh, empty store.
#[cfg(test)]
pub mod suite {
    use super::*;

    fn stamp(minutes: i64) -> String {
        let at = time::OffsetDateTime::now_utc() + time::Duration::minutes(minutes);
        domain::format::rfc3339(at.replace_nanosecond(0).unwrap_or(at))
    }

    fn rule(tool: &str, scope: domain::rules::Scope, scope_id: &str, minutes: i64) -> NewRuleRow {
        NewRuleRow {
            tool: tool.to_owned(),
            pattern: String::new(),
            scope,
            scope_id: scope_id.to_owned(),
            created_by: "Ann".to_owned(),
            owner: "ann".to_owned(),
            created_at: stamp(0),
            expires_at: stamp(minutes),
        }
    }

    /// Live rules are those neither revoked nor expired; a revoked rule names who ended it.
    pub async fn live_rules_are_unrevoked_and_unexpired(rows: &dyn RuleRows) {
        use domain::rules::Scope::*;
        let a = rows.insert(&rule("bash", Session, "sesn_1", 15)).await.unwrap();
        let b = rows.insert(&rule("read", Agent, "agent_1", 15)).await.unwrap();
        let expired = rows.insert(&rule("write", Session, "sesn_1", -1)).await.unwrap();
        assert!(a.live && !expired.live);
        let live: Vec<i64> = rows.live(&stamp(0)).await.unwrap().iter().map(|r| r.id).collect();
        assert_eq!(live, vec![a.id, b.id]);
        let revoked = rows.revoke(b.id, "Bob", &stamp(0)).await.unwrap();
        assert_eq!((revoked.revoked_by.as_deref(), revoked.live), (Some("Bob"), false));
        assert_eq!(rows.live(&stamp(0)).await.unwrap().len(), 1);
        rows.count_use(a.id).await.unwrap();
        rows.count_use(a.id).await.unwrap();
        assert_eq!(rows.get(a.id).await.unwrap().unwrap().uses, 2);
        assert!(rows.get(9_999).await.unwrap().is_none());
    }

    /// A written tool policy is put back once its rule ended, and only once.
    pub async fn an_ended_rule_gives_back_its_tool_policy_once(rows: &dyn RuleRows) {
        use domain::rules::Scope::*;
        let a = rows.insert(&rule("bash", Session, "sesn_1", 15)).await.unwrap();
        let written = rows.note_written(a.id, Some("{\"enabled\":true}".into()), None).await.unwrap();
        assert!(written.written);
        assert!(rows.to_restore(&stamp(0)).await.unwrap().is_empty(), "still live");
        let later = stamp(16);
        let due = rows.to_restore(&later).await.unwrap();
        assert_eq!(due.iter().map(|(r, p)| (r.id, p.as_str())).collect::<Vec<_>>(), vec![(a.id, "{\"enabled\":true}")]);
        rows.restored(a.id, &later).await.unwrap();
        assert!(rows.to_restore(&later).await.unwrap().is_empty());
    }

    /// Listing a session finds its own rules and its agent's, newest first.
    pub async fn a_session_lists_its_own_and_its_agents_rules(rows: &dyn RuleRows) {
        use domain::rules::Scope::*;
        let mine = rows.insert(&rule("bash", Session, "sesn_1", 15)).await.unwrap();
        rows.insert(&rule("bash", Session, "sesn_2", 15)).await.unwrap();
        let agents = rows.insert(&rule("read", Agent, "agent_1", 15)).await.unwrap();
        let listed: Vec<i64> = rows.list(Some(("sesn_1", "agent_1")), 10).await.unwrap().iter().map(|r| r.id).collect();
        assert_eq!(listed, vec![agents.id, mine.id]);
        assert_eq!(rows.list(None, 2).await.unwrap().len(), 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_and_postgres_keep_the_rule_book() {
        for check in 0..3 {
            for db in crate::support::db::testing::databases("rules").await {
                let rows = SqlRuleRows::new(db.pool.clone());
                match check {
                    0 => suite::live_rules_are_unrevoked_and_unexpired(&rows).await,
                    1 => suite::an_ended_rule_gives_back_its_tool_policy_once(&rows).await,
                    _ => suite::a_session_lists_its_own_and_its_agents_rules(&rows).await,
                }
            }
        }
    }
}
