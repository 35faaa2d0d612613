//! The Overview's dashboard: what a person opening Switchboard came to see. Sessions running now,
//! the sessions that wait for someone (and since when), what was spent today and this month,
//! the agents used most, and what failed lately; each links to where to act.
//!
//! Everything is read from the upstream when the page asks (one listing of running sessions, and
//! the sessions started since the month began or the failure window opened, whichever is
//! earlier, walked in pages of 100 up to [`SESSIONS_COUNTED`]); the waiting sessions come from the
//! server's inbox, which the page then follows live.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use macros::access;
use serde::{Deserialize, Serialize};

use super::{
    JsonResponse,
    inbox::{InboxList, PendingCall},
    sessions::SessionRow,
};
use crate::error::AppError;

/// The running sessions listed; the page links to the filtered Sessions list for the rest.
pub const RUNNING_SHOWN: usize = 20;
/// The spend is summed over at most this many sessions (the newest); the page says when the month
/// had more.
pub const SESSIONS_COUNTED: usize = 1000;
/// The agents listed under "used most".
pub const TOP_AGENTS: usize = 5;
/// How far back failed sessions are looked for.
pub const FAILURE_DAYS: i64 = 7;
/// The failed sessions listed, newest first.
pub const FAILURES_SHOWN: usize = 10;

/// What the Overview shows. Each part read from the upstream that could not be read says why in
/// its own panel, and the rest is shown: a slow listing of the month's sessions never hides who
/// waits for a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    /// Running or retrying (`rescheduling`) sessions, newest first.
    pub running: Vec<SessionRow>,
    /// More sessions run than are listed.
    pub running_more: bool,
    /// Why the running sessions could not be listed; `None` when they were.
    pub running_problem: Option<String>,
    /// Sessions with calls that wait for a person, longest waiting first (as the server's inbox
    /// last saw them; the page follows the inbox's stream from there).
    pub waiting: Vec<Waiting>,
    /// Why the inbox may be out of date (it could not ask the API), said above the waiting
    /// sessions; `None` when it is current.
    pub inbox_problem: Option<String>,
    pub spending: Spending,
    /// Sessions of the last [`FAILURE_DAYS`] that ended (`terminated`: by an error or done) or
    /// whose outcome failed, newest first, at most [`FAILURES_SHOWN`].
    pub failures: Vec<FailedSession>,
    /// More sessions ended or failed than are listed.
    pub failures_more: bool,
    /// Why the month's sessions (the spend, the agents, the failures) could not be listed.
    pub sessions_problem: Option<String>,
}

/// A session whose calls wait for a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Waiting {
    pub session_id: String,
    /// The session's title, or its id.
    pub label: String,
    pub agent_name: Option<String>,
    /// Calls waiting in it.
    pub calls: usize,
    /// When its longest-waiting call was made (RFC 3339), when known.
    pub since: Option<String>,
}

impl Waiting {
    /// The sessions of an inbox list, in its order (longest waiting first). The list holds its
    /// calls longest waiting first, so a session's first call is the one it has waited on longest.
    pub fn of(list: &InboxList) -> Vec<Waiting> {
        list.by_session()
            .into_iter()
            .filter_map(|(session_id, calls)| {
                let first: &PendingCall = calls.first()?;
                Some(Waiting {
                    label: first.session_label().to_owned(),
                    agent_name: first.agent_name.clone(),
                    calls: calls.len(),
                    since: first.event.get("processed_at").and_then(serde_json::Value::as_str).map(str::to_owned),
                    session_id,
                })
            })
            .collect()
    }
}

/// What the sessions started today and this month cost, and which agents ran them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Spending {
    pub today: Spend,
    pub month: Spend,
    /// The agents with the most sessions this month, most first.
    pub top_agents: Vec<AgentUse>,
    /// Every session of the month was counted; `false`: the newest [`SESSIONS_COUNTED`] were.
    pub complete: bool,
    /// Where "today" and "this month" begin (RFC 3339, UTC).
    pub day_start: String,
    pub month_start: String,
}

/// Sessions started in a period, and what they cost at list price.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Spend {
    pub sessions: u64,
    /// Input, output and cache-read tokens.
    pub tokens: u64,
    /// The list cost, formatted (one figure per currency, joined with " + "); "$0.00" for none.
    pub cost: String,
    /// Sessions whose usage has no list cost (a model without a public price).
    pub unpriced: u64,
}

/// An agent's share of this month's sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentUse {
    pub agent_id: String,
    pub name: String,
    pub sessions: u64,
    pub cost: String,
}

/// A session that failed, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedSession {
    pub row: SessionRow,
    /// In words: "ended (terminated)", "its outcome failed", …
    pub why: String,
}

/// The dashboard, read from the upstream and the server's inbox.
#[access(Viewer)]
#[server(endpoint = "overview/dashboard", input = GetUrl, output = JsonResponse)]
pub async fn get_dashboard() -> Result<Dashboard, AppError> {
    use protocol::sessions::Session;

    use super::server::{paging, upstream, walk_pages};

    let now = time::OffsetDateTime::now_utc();
    let periods = server::Periods::at(now);
    let running = async {
        let mut query = paging(RUNNING_SHOWN as u32 + 1, None);
        query.push(("statuses[]".into(), "running".into()));
        query.push(("statuses[]".into(), "rescheduling".into()));
        upstream()?
            .get::<protocol::common::Page<Session>>("/v1/sessions", query)
            .await
            .map_err(|e| AppError::upstream("Listing the running sessions", e))
    };
    let counted = async {
        let query = vec![
            ("include_archived".to_owned(), "true".to_owned()),
            ("created_at[gte]".to_owned(), crate::format::rfc3339(periods.earliest())),
        ];
        walk_pages("/v1/sessions", "Listing this month's sessions", query, 100, SESSIONS_COUNTED, |s: Session| Some(s))
            .await
    };
    let inbox = async {
        match use_context::<super::inbox::server::InboxHandle>() {
            Some(inbox) => inbox.0.current().await,
            None => InboxList { problem: Some("The server did not provide its inbox.".into()), ..Default::default() },
        }
    };
    let (running, counted, inbox) = futures::join!(running, counted, inbox);
    let (mut rows, running_more, running_problem) = match running {
        Ok(page) => {
            let rows: Vec<SessionRow> = page.data.iter().map(SessionRow::of).collect();
            let more = rows.len() > RUNNING_SHOWN || page.next_page.is_some();
            (rows, more, None)
        }
        Err(error) => (Vec::new(), false, Some(error.message)),
    };
    rows.truncate(RUNNING_SHOWN);
    let (sessions, complete, sessions_problem) = match counted {
        Ok((sessions, complete)) => (sessions, complete, None),
        Err(error) => (Vec::new(), true, Some(error.message)),
    };
    let (failures, failures_more) = server::failures(&sessions, &periods);
    Ok(Dashboard {
        running: rows,
        running_more,
        running_problem,
        waiting: Waiting::of(&inbox),
        inbox_problem: inbox.problem.clone(),
        spending: server::spending(&sessions, &periods, complete),
        failures,
        failures_more,
        sessions_problem,
    })
}

#[cfg(feature = "ssr")]
mod server {
    use std::collections::{BTreeMap, HashMap};

    use protocol::sessions::{Session, SessionStatus};
    use time::OffsetDateTime;

    use super::{AgentUse, FAILURE_DAYS, FAILURES_SHOWN, FailedSession, Spend, Spending, TOP_AGENTS};
    use crate::api::sessions::SessionRow;

    /// Where today, this month and the failure window begin (UTC).
    pub struct Periods {
        pub day: OffsetDateTime,
        pub month: OffsetDateTime,
        pub failures: OffsetDateTime,
    }

    impl Periods {
        pub fn at(now: OffsetDateTime) -> Self {
            let day = now.replace_time(time::Time::MIDNIGHT);
            let month = day.replace_day(1).unwrap_or(day);
            Periods { day, month, failures: now - time::Duration::days(FAILURE_DAYS) }
        }

        /// The first moment any part of the dashboard looks at.
        pub fn earliest(&self) -> OffsetDateTime {
            self.month.min(self.failures)
        }
    }

    fn since(s: &Session, start: OffsetDateTime) -> bool {
        let start_ms = (start.unix_timestamp_nanos() / 1_000_000) as f64;
        crate::format::parse_rfc3339_ms(&s.created_at).is_some_and(|ms| ms >= start_ms)
    }

    /// List costs in minor units, per currency.
    #[derive(Default)]
    struct Costs(BTreeMap<String, u128>);

    impl Costs {
        fn add(&mut self, s: &Session) -> bool {
            let Some(cost) = &s.usage.list_cost else { return false };
            *self.0.entry(cost.currency.clone()).or_default() += cost.amount.parse::<u128>().unwrap_or(0);
            true
        }

        fn words(&self) -> String {
            if self.0.is_empty() {
                return crate::format::usd(0.0);
            }
            let each: Vec<String> =
                self.0.iter().map(|(currency, minor)| crate::format::cost(*minor as f64, currency)).collect();
            each.join(" + ")
        }
    }

    fn spend<'a>(sessions: impl Iterator<Item = &'a Session>) -> Spend {
        let (mut spend, mut costs) = (Spend::default(), Costs::default());
        for s in sessions {
            spend.sessions += 1;
            spend.tokens += SessionRow::tokens_of(&s.usage);
            if !costs.add(s) {
                spend.unpriced += 1;
            }
        }
        spend.cost = costs.words();
        spend
    }

    /// Today's and this month's spend, and the agents used most this month. `walked_all`: the
    /// listing (newest first) was read to its end; when it stopped at its cap, the month is still
    /// whole if the listing had reached a session older than the month (the window for failures
    /// can reach back into the month before).
    pub fn spending(sessions: &[Session], periods: &Periods, walked_all: bool) -> Spending {
        let complete = walked_all || sessions.last().is_some_and(|oldest| !since(oldest, periods.month));
        let month: Vec<&Session> = sessions.iter().filter(|s| since(s, periods.month)).collect();
        let mut agents: HashMap<&str, (String, u64, Costs)> = HashMap::new();
        for s in &month {
            let entry =
                agents.entry(s.agent.id.as_str()).or_insert_with(|| (s.agent.name.clone(), 0, Costs::default()));
            entry.1 += 1;
            entry.2.add(s);
        }
        let mut top: Vec<AgentUse> = agents
            .into_iter()
            .map(|(id, (name, sessions, costs))| AgentUse {
                agent_id: id.to_owned(),
                name,
                sessions,
                cost: costs.words(),
            })
            .collect();
        top.sort_by(|a, b| b.sessions.cmp(&a.sessions).then_with(|| a.name.cmp(&b.name)));
        top.truncate(TOP_AGENTS);
        Spending {
            today: spend(month.iter().copied().filter(|s| since(s, periods.day))),
            month: spend(month.iter().copied()),
            top_agents: top,
            complete,
            day_start: crate::format::rfc3339(periods.day),
            month_start: crate::format::rfc3339(periods.month),
        }
    }

    /// Sessions of the failure window that ended or whose latest outcome failed, newest first (at
    /// most [`FAILURES_SHOWN`]), and whether there were more.
    pub fn failures(sessions: &[Session], periods: &Periods) -> (Vec<FailedSession>, bool) {
        let mut failed: Vec<FailedSession> = sessions
            .iter()
            .filter(|s| since(s, periods.failures))
            .filter_map(|s| {
                let outcome = s.outcome_evaluations.last().map(|e| e.result.as_str());
                let why = match (&s.status, outcome) {
                    (_, Some("failed")) => "its outcome failed",
                    (_, Some("max_iterations_reached")) => "its outcome ran out of iterations",
                    (SessionStatus::Terminated, _) => "it ended (terminated)",
                    _ => return None,
                };
                Some(FailedSession { row: SessionRow::of(s), why: why.to_owned() })
            })
            .collect();
        failed.sort_by(|a, b| b.row.created_at.cmp(&a.row.created_at));
        let more = failed.len() > FAILURES_SHOWN;
        failed.truncate(FAILURES_SHOWN);
        (failed, more)
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use protocol::sessions::Session;
    use serde_json::json;
    use time::OffsetDateTime;

    use super::server::{Periods, failures, spending};

    /// A session as the API lists it, with what the dashboard reads set.
    fn session(id: &str, agent: (&str, &str), created_at: &str, cost: Option<(&str, &str)>, status: &str) -> Session {
        let mut usage = json!({ "input_tokens": 100, "output_tokens": 20 });
        if let Some((amount, currency)) = cost {
            usage["list_cost"] = json!({ "amount": amount, "currency": currency });
        }
        let mut s: serde_json::Value =
            serde_json::from_str(include_str!("../../../protocol/fixtures/objects/session/full.json")).unwrap();
        s["id"] = json!(id);
        s["agent"]["id"] = json!(agent.0);
        s["agent"]["name"] = json!(agent.1);
        s["created_at"] = json!(created_at);
        s["status"] = json!(status);
        s["usage"] = usage;
        s["outcome_evaluations"] = json!([]);
        serde_json::from_value(s).expect("a session as the API lists it")
    }

    fn at(text: &str) -> OffsetDateTime {
        OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
    }

    #[test]
    fn today_and_this_month_sum_the_list_costs_of_the_sessions_they_started() {
        let now = at("2026-11-25T10:00:00Z");
        let sessions = [
            session("s1", ("agent_a", "Triage"), "2026-11-25T09:00:00Z", Some(("250", "USD")), "idle"),
            session("s2", ("agent_a", "Triage"), "2026-11-25T00:00:00Z", Some(("1000", "USD")), "idle"),
            session("s3", ("agent_b", "Writer"), "2026-11-24T23:59:59.999Z", Some(("5", "USD")), "idle"),
            session("s4", ("agent_a", "Triage"), "2026-11-01T00:00:00Z", None, "idle"),
            // Listed because the failure window reaches back into last month: not this month's.
            session("s5", ("agent_b", "Writer"), "2026-10-30T12:00:00Z", Some(("9999", "USD")), "idle"),
        ];
        let spent = spending(&sessions, &Periods::at(now), true);
        assert_eq!((spent.today.sessions, spent.today.cost.as_str()), (2, "$12.50"));
        assert_eq!((spent.month.sessions, spent.month.cost.as_str(), spent.month.unpriced), (4, "$12.55", 1));
        assert_eq!(spent.month.tokens, 4 * 120);
        assert_eq!(spent.day_start, "2026-11-25T00:00:00Z");
        assert_eq!(spent.month_start, "2026-11-01T00:00:00Z");
        let top: Vec<_> = spent.top_agents.iter().map(|a| (a.agent_id.as_str(), a.sessions, a.cost.as_str())).collect();
        assert_eq!(top, [("agent_a", 3, "$12.50"), ("agent_b", 1, "$0.05")]);
    }

    #[test]
    fn a_listing_cut_at_its_cap_is_the_whole_month_when_it_reached_the_month_before() {
        let now = at("2026-12-03T10:00:00Z");
        let periods = Periods::at(now);
        let december = session("s1", ("agent_a", "Triage"), "2026-12-02T09:00:00Z", Some(("250", "USD")), "idle");
        let november = session("s2", ("agent_a", "Triage"), "2026-11-28T09:00:00Z", Some(("100", "USD")), "idle");
        // Cut at the cap among the last days of November (read for the failure window): December
        // was read whole.
        assert!(spending(&[december.clone(), november], &periods, false).complete);
        // Cut while still in December: the month may have more.
        assert!(!spending(std::slice::from_ref(&december), &periods, false).complete);
        assert!(spending(&[december], &periods, true).complete);
    }

    #[test]
    fn a_failures_list_cut_at_its_length_says_there_were_more() {
        let now = at("2026-11-25T10:00:00Z");
        let ended = |n: usize| {
            session(&format!("s{n}"), ("agent_a", "Triage"), &format!("2026-11-24T08:{n:02}:00Z"), None, "terminated")
        };
        let (shown, more) = failures(&(0..10).map(ended).collect::<Vec<_>>(), &Periods::at(now));
        assert_eq!((shown.len(), more), (10, false));
        let (shown, more) = failures(&(0..11).map(ended).collect::<Vec<_>>(), &Periods::at(now));
        assert_eq!((shown.len(), more), (10, true));
        assert_eq!(shown[0].row.id, "s10", "the newest first");
    }

    #[test]
    fn costs_in_other_currencies_are_summed_apart() {
        let now = at("2026-11-25T10:00:00Z");
        let sessions = [
            session("s1", ("agent_a", "Triage"), "2026-11-25T09:00:00Z", Some(("250", "USD")), "idle"),
            session("s2", ("agent_a", "Triage"), "2026-11-25T09:30:00Z", Some(("100", "EUR")), "idle"),
        ];
        assert_eq!(spending(&sessions, &Periods::at(now), true).today.cost, "1.00 EUR + $2.50");
        assert_eq!(spending(&[], &Periods::at(now), true).month.cost, "$0.00", "nothing spent is said as zero");
    }

    #[test]
    fn failures_are_ended_sessions_and_failed_outcomes_of_the_last_week_newest_first() {
        let now = at("2026-11-25T10:00:00Z");
        let mut outcome = session("s3", ("agent_a", "Triage"), "2026-11-24T08:00:00Z", None, "idle");
        outcome.outcome_evaluations = vec![
            serde_json::from_value(json!({
                "type": "outcome_evaluation", "outcome_id": "outc_1", "description": "a report",
                "iteration": 2, "result": "failed",
            }))
            .unwrap(),
        ];
        let sessions = [
            session("s1", ("agent_a", "Triage"), "2026-11-20T08:00:00Z", None, "terminated"),
            session("s2", ("agent_a", "Triage"), "2026-11-25T08:00:00Z", None, "idle"),
            outcome,
            // Older than the window.
            session("s4", ("agent_a", "Triage"), "2026-11-17T08:00:00Z", None, "terminated"),
        ];
        let (failed, more) = failures(&sessions, &Periods::at(now));
        assert!(!more);
        let failed: Vec<_> = failed.into_iter().map(|f| (f.row.id, f.why)).collect();
        assert_eq!(
            failed,
            [("s3".to_owned(), "its outcome failed".to_owned()), ("s1".to_owned(), "it ended (terminated)".to_owned())]
        );
    }
}
