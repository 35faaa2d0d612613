//! Notifications out: email to the approvers who asked for it when calls wait, and the team's
//! channels (a Slack incoming webhook, or JSON signed as Standard Webhooks), one message per batch;
//! and the links in them.
//!
//! Each workspace has a notifier, over its own inbox, decisions, policies and told calls, and
//! Switchboard's own email addresses and the channels added in that workspace; its links and
//! subjects name the workspace. It follows the inbox's published list. A call it has not seen
//! starts a batch; calls that come within the window (`SWITCHBOARD_NOTIFY_WINDOW_SECS`) join it;
//! then each person who chose email and may decide there gets one message listing the calls still
//! waiting, each with a link, and the calls of earlier messages that were decided elsewhere since.
//! A call decided before its batch goes out is left out of it.
//!
//! A link is `{public}/sessions/{session}?event={event}&t={token}`: the token is HMAC-SHA-256
//! over the session, the event, the person and an expiry, with a nonce that is kept once a decision
//! is made through the link (single-use). The key is random, made on first start, in the data
//! directory. Opening a link (a GET: a mail scanner's, a preview's, a second tab's) decides and
//! spends nothing; it says whether the link still opens its call, and why not. The card's Allow or
//! Deny posts the token beside the decision, which spends it.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use domain::{
    auth::{Principal, store::AccountStore as _},
    decisions::LinkRefusal,
    error::AppError,
    inbox::PendingCall,
    notify::{Channel, ChannelMade, EmailChoice, LinkCheck, NewChannel, channel_target},
    policies::{Policy, policy_for},
    upstream::client::BoxFuture,
    workspaces::DEFAULT_ID,
};
use engine::sealing::SealKey;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor, message::Mailbox};
use serde::{Deserialize, Serialize};
use tokio::{sync::watch, time::Instant};

use super::notify_rows::{ChannelRecord, NotifyRows, ToldRow};
use crate::{
    access::accounts::Accounts,
    approvals::decisions::DecisionStore,
    approvals::inbox::Inbox,
    approvals::links::{LinkTokens, SpentLink},
    approvals::policies::Policies,
    audit::{AuditLog, NewEntry},
    settings::NotifySettings,
    support::StoreError,
};

/// What a link's token says.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// Session.
    s: String,
    /// The call's event id.
    e: String,
    /// The person it was sent to (username).
    u: String,
    /// Expires, seconds since the epoch.
    x: i64,
    /// Nonce: kept once opened.
    n: String,
    /// The workspace of the call (links made before workspaces had their own are the default's).
    #[serde(default = "default_workspace")]
    w: String,
}

fn default_workspace() -> String {
    DEFAULT_ID.to_owned()
}

/// Whether a person may decide in the notifier's workspace: enabled, with a role there that
/// decides (the default workspace's roles, or the grants of a connected one).
pub type MayDecide = Arc<dyn Fn(&Principal) -> bool + Send + Sync>;

/// A call told of, and to whom.
struct Told {
    call: PendingCall,
    /// When its first message went out.
    at: Instant,
    /// The escalation step told last (0: the first group).
    step: usize,
    /// Who was emailed of it.
    people: HashSet<String>,
}

/// When `told`'s next escalation step is due: its wait after the first message, or the end of
/// the policy's quiet hours if later. `None` without a next step.
fn escalation_due(told: &Told, policy: &Policy) -> Option<Instant> {
    let step = policy.escalation.get(told.step + 1)?;
    let at = told.at + Duration::from_secs(u64::from(step.after_secs));
    let quiet = policy.quiet_hours.map_or(0, |q| q.secs_left(time::OffsetDateTime::now_utc().unix_timestamp()));
    if quiet > 0 {
        return Some(at.max(Instant::now() + Duration::from_secs(quiet as u64)));
    }
    Some(at)
}

/// The soonest escalation due among the told calls still waiting.
fn next_escalation(
    told: &HashMap<String, Told>,
    waiting: &HashMap<String, PendingCall>,
    policies: &[Policy],
) -> Option<Instant> {
    told.values()
        .filter(|t| waiting.contains_key(t.call.event_id()))
        .filter_map(|t| escalation_due(t, policy_for(policies, t.call.agent_id.as_deref())?))
        .min()
}

/// What the notifier follows while it runs: every call seen, so that none is told twice; the
/// calls told and not yet seen decided; the batch being gathered, and when it started; the calls
/// listed as waiting; the calls held by quiet hours, until when.
#[derive(Default)]
struct Round {
    seen: HashSet<String>,
    told: HashMap<String, Told>,
    batch: Vec<String>,
    started: Option<Instant>,
    waiting: HashMap<String, PendingCall>,
    held: HashMap<String, Instant>,
}

impl Round {
    /// The inbox listed `calls`: new ones join the batch.
    fn listed(&mut self, calls: Vec<PendingCall>) {
        self.waiting = calls.into_iter().map(|c| (c.event_id().to_owned(), c)).collect();
        for id in self.waiting.keys() {
            if self.seen.insert(id.clone()) {
                self.batch.push(id.clone());
                self.started.get_or_insert_with(Instant::now);
            }
        }
        // A decided call does not come back: forget it (the sets stay small).
        let waiting = &self.waiting;
        self.seen.retain(|id| waiting.contains_key(id));
        self.held.retain(|id, _| waiting.contains_key(id));
    }

    /// When something is next due: the batch's window, a call held back, an escalation.
    fn wake(&self, window: Duration, policies: &[Policy]) -> Option<Instant> {
        [
            self.started.map(|s| s + window),
            self.held.values().min().copied(),
            next_escalation(&self.told, &self.waiting, policies),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

pub struct Notifier {
    /// Switchboard's own (the main database): spent links, email addresses, channels.
    rows: Arc<dyn NotifyRows>,
    /// The workspace's own: the calls told of.
    told_rows: Arc<dyn NotifyRows>,
    /// The workspace whose calls it tells of: its id and name.
    workspace: (String, String),
    inbox: Arc<Inbox>,
    may_decide: MayDecide,
    /// Where people open Switchboard: `SWITCHBOARD_PUBLIC_URL`, or the address it listens on.
    public_url: String,
    key: Vec<u8>,
    settings: NotifySettings,
    mailer: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    accounts: Arc<Accounts>,
    decisions: Arc<dyn DecisionStore>,
    /// For the team's channels (Slack, signed webhooks).
    http: reqwest::Client,
    /// Told when an admin adds a channel (the notifier may be waiting for one).
    channel_added: tokio::sync::Notify,
    policies: Arc<Policies>,
    audit: Arc<AuditLog>,
    /// Seals channels' URLs and signing secrets at rest (derived from `SWITCHBOARD_SECRET_KEY`);
    /// `None`: they are stored in plain text.
    seal: Option<SealKey>,
}

/// What the notifier reads besides Switchboard's own tables: its workspace's.
pub struct NotifierStores {
    pub accounts: Arc<Accounts>,
    /// The workspace's id and name.
    pub workspace: (String, String),
    pub inbox: Arc<Inbox>,
    pub decisions: Arc<dyn DecisionStore>,
    pub policies: Arc<Policies>,
    /// The workspace's audit log (quiet hours and escalations are its entries).
    pub audit: Arc<AuditLog>,
    /// The workspace's `notified_calls`.
    pub told: Arc<dyn NotifyRows>,
    pub may_decide: MayDecide,
}

/// Who gets email could not be read; for the log.
#[derive(Debug, thiserror::Error)]
enum RecipientsUnread {
    #[error("the email addresses could not be read: {0}")]
    Addresses(StoreError),
    #[error("the accounts could not be read: {0:?}")]
    Accounts(domain::auth::store::AccountError),
}

impl Notifier {
    /// Signs links with `key`; connects to nothing until a message is sent.
    pub fn open(
        rows: Arc<dyn NotifyRows>,
        public_url: String,
        key: Vec<u8>,
        settings: NotifySettings,
        stores: NotifierStores,
        seal: Option<SealKey>,
    ) -> std::io::Result<Arc<Self>> {
        let NotifierStores { accounts, workspace, inbox, decisions, policies, audit, told, may_decide } = stores;
        let mailer = match &settings.smtp_url {
            None => None,
            // The URL may hold a password: the error names the setting only.
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .map_err(|_| {
                        std::io::Error::other(
                            "SWITCHBOARD_SMTP_URL is not a mail server URL; use smtp://host:port or smtps://user:password@host",
                        )
                    })?
                    .timeout(Some(Duration::from_secs(20)))
                    .build(),
            ),
        };
        let from = settings.smtp_from.parse().map_err(std::io::Error::other)?;
        // Connects only to addresses a channel may reach, judged at each connection.
        let http = settings
            .destinations
            .client(engine::http_client::builder())
            .timeout(Duration::from_secs(10))
            // A channel's URL is its own: a redirect elsewhere is not followed.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Arc::new(Self {
            rows,
            told_rows: told,
            workspace,
            inbox,
            may_decide,
            public_url,
            key,
            settings,
            mailer,
            from,
            accounts,
            decisions,
            http,
            channel_added: tokio::sync::Notify::new(),
            seal,
            policies,
            audit,
        }))
    }

    /// The link to `event_id` of `session_id` for `username`, valid for the configured time.
    pub fn link(&self, session_id: &str, event_id: &str, username: &str) -> String {
        let expires = time::OffsetDateTime::now_utc() + self.settings.link_ttl;
        let token = self.token(session_id, event_id, username, expires.unix_timestamp());
        // The link names its workspace, whichever the browser was in.
        format!("{}/sessions/{session_id}?event={event_id}&t={token}&workspace={}", self.public_url, self.workspace.0)
    }

    /// A token for the call and person, expiring at `expires` (seconds since the epoch).
    pub fn token(&self, session_id: &str, event_id: &str, username: &str, expires: i64) -> String {
        let claims = Claims {
            s: session_id.to_owned(),
            e: event_id.to_owned(),
            u: username.to_owned(),
            x: expires,
            n: crate::support::random_hex::<16>(),
            w: self.workspace.0.clone(),
        };
        crate::support::signed::sign(&self.key, b"", &claims)
    }

    /// The claims of `token` when it is Switchboard's and names `event_id` of `session_id` in
    /// this workspace.
    fn claims_for(&self, token: &str, session_id: &str, event_id: &str) -> Option<Claims> {
        self.verify(token).filter(|c| c.s == session_id && c.e == event_id && c.w == self.workspace.0)
    }

    fn verify(&self, token: &str) -> Option<Claims> {
        crate::support::signed::open(&self.key, b"", token)
    }

    /// Whether `token` opens `event_id` of `session_id` for `username`, and the call; spends nothing.
    async fn open_link_now(
        &self,
        session_id: &str,
        event_id: &str,
        token: &str,
        username: &str,
    ) -> Result<LinkCheck, AppError> {
        let refused = |why: String| Ok(LinkCheck::Refused { why });
        let Some(claims) = self.claims_for(token, session_id, event_id) else {
            return refused(
                "This link is not one Switchboard made for this call (it may have been cut short). The call, if it still waits, is in the Inbox."
                    .to_owned(),
            );
        };
        if claims.u != username {
            return refused(format!(
                "This link was sent to {}, not to you: a link opens only for the person it was sent to. The call, if it still waits, is in the Inbox.",
                claims.u
            ));
        }
        let decided = self.decisions.recorded(session_id).await.map_err(|error| {
            AppError::internal_logged(error, "Switchboard could not read its decisions to check this link. Try again.")
        })?;
        if let Some(decision) = decided.iter().find(|d| d.event_id == event_id) {
            return refused(format!("This call was already {}.", decision.in_words()));
        }
        let now = time::OffsetDateTime::now_utc();
        if claims.x < now.unix_timestamp() {
            let at =
                time::OffsetDateTime::from_unix_timestamp(claims.x).map(domain::format::rfc3339).unwrap_or_default();
            return refused(format!(
                "This link expired at {}. The call, if it still waits, is in the Inbox.",
                domain::format::timestamp(&at)
            ));
        }
        // Decided outside Switchboard (another client, the session ended): no longer listed.
        let list = self.inbox.current().await;
        let call = list.calls.iter().find(|c| c.session_id == session_id && c.event_id() == event_id);
        let (tool, summary) = match call {
            Some(call) => (call.tool().to_owned(), call.summary()),
            None if list.ready => {
                return refused(
                    "This call no longer waits: it was decided outside Switchboard, or its session moved on. The session's timeline says what happened."
                        .to_owned(),
                );
            }
            None => (String::new(), String::new()),
        };
        if let Some(used) = self.rows.link_used(&claims.n).await? {
            return refused(format!(
                "This link was already used to decide, at {}; each link decides once. The call, if it still waits, is in the Inbox.",
                domain::format::timestamp(&used)
            ));
        }
        Ok(LinkCheck::Open { tool, summary })
    }

    /// Spends `token` for the decision `username` makes through it on `event_id` of `session_id`:
    /// of two at once, exactly one spends it. Whether the call still waits is the decision's to
    /// find (`approvals::links`, through [`LinkTokens`]).
    async fn spend_link_now(
        &self,
        session_id: &str,
        event_id: &str,
        token: &str,
        username: &str,
    ) -> Result<Result<SpentLink, LinkRefusal>, AppError> {
        let Some(claims) = self.claims_for(token, session_id, event_id).filter(|c| c.u == username) else {
            return Ok(Err(LinkRefusal::NotYours));
        };
        let now = time::OffsetDateTime::now_utc();
        if claims.x < now.unix_timestamp() {
            return Ok(Err(LinkRefusal::Expired));
        }
        match self.rows.use_link(&claims.n, username, &domain::format::rfc3339(now)).await? {
            Some(_) => Ok(Err(LinkRefusal::Used)),
            None => Ok(Ok(SpentLink { nonce: claims.n })),
        }
    }

    /// Gives back a link whose decision was not made (refused, or never sent). Spent nonces are
    /// Switchboard's own: any workspace's notifier gives one back.
    async fn unspend_link_now(&self, link: SpentLink) {
        if let Err(error) = self.rows.unspend_link(&link.nonce).await {
            // The link stays spent: the call can still be decided from the Inbox.
            tracing::warn!("a notification link could not be given back after its decision failed: {error}");
        }
    }

    async fn email_now(&self, username: &str) -> Result<EmailChoice, AppError> {
        let address = self.rows.email(username).await?;
        Ok(EmailChoice { available: self.mailer.is_some(), address })
    }

    async fn set_email_now(&self, username: &str, address: &str) -> Result<EmailChoice, AppError> {
        let at = domain::format::rfc3339(time::OffsetDateTime::now_utc());
        if address.is_empty() {
            self.rows.set_email(username, None, &at).await
        } else {
            if self.mailer.is_none() {
                return Err(AppError::bad_input(
                    "address",
                    "This Switchboard has no mail server (SWITCHBOARD_SMTP_URL), so it cannot send email; ask its administrator.",
                ));
            }
            if address.parse::<Mailbox>().is_err() {
                return Err(AppError::bad_input(
                    "address",
                    "That is not an email address; write it as name@example.com.",
                ));
            }
            self.rows.set_email(username, Some(address), &at).await
        }?;
        self.email_now(username).await
    }

    /// Follows the inbox and sends the batches, on the replica that holds `lease` (the one
    /// notifier of the cluster), until the inbox closes. Without a mail server it starts with the
    /// first channel an admin adds (it keeps the inbox's poller running, so it does not run for
    /// nothing).
    ///
    /// Approval policies shape what goes out: a call of an agent in its quiet hours is held
    /// until they end; a policy's escalation tells its first group with the batch and each later
    /// group when the call has waited that long. Holding and escalating are audit entries.
    ///
    /// The calls told of are kept in `notified_calls`: a replica that takes the lease over
    /// tells nobody again of them, and escalates them from when they were first told.
    pub fn run(self: Arc<Self>, mut lease: watch::Receiver<bool>) {
        let inbox = self.inbox.clone();
        tokio::spawn(async move {
            loop {
                while !*lease.borrow_and_update() {
                    if lease.changed().await.is_err() {
                        return;
                    }
                }
                if !self.notify_while_held(&inbox, &mut lease).await {
                    return;
                }
            }
        });
    }

    /// Waits for something to send to, then follows the inbox while `lease` is held. False when
    /// the inbox closed.
    async fn notify_while_held(&self, inbox: &Arc<Inbox>, lease: &mut watch::Receiver<bool>) -> bool {
        if self.mailer.is_none() {
            loop {
                if matches!(self.channels_now().await, Ok(channels) if !channels.is_empty()) {
                    break;
                }
                // A channel added on another replica is seen at the next look.
                tokio::select! {
                    () = self.channel_added.notified() => {}
                    () = tokio::time::sleep(Duration::from_secs(30)) => {}
                    changed = lease.changed() => if changed.is_err() || !*lease.borrow() { return changed.is_ok() },
                }
            }
        }
        let mut round = Round::default();
        round.told = self.told_before().await;
        round.seen = round.told.keys().cloned().collect();
        let mut published = inbox.watch();
        // The list as it is now counts as news: a replica taking the lease over after its inbox
        // published the calls waiting would otherwise tell nobody of them until the list changed.
        published.mark_changed();
        loop {
            let policies = self.policies.all().await.unwrap_or_default();
            let wake = round.wake(self.settings.window, &policies);
            tokio::select! {
                changed = published.changed() => {
                    if changed.is_err() {
                        return false;
                    }
                    let list = published.borrow_and_update().list.clone();
                    if list.ready {
                        round.listed(list.calls);
                    }
                }
                changed = lease.changed() => {
                    if changed.is_err() || !*lease.borrow() {
                        return changed.is_ok();
                    }
                }
                () = async { tokio::time::sleep_until(wake.unwrap_or_else(Instant::now)).await }, if wake.is_some() => {
                    self.send_due(&mut round, &policies).await;
                }
            }
        }
    }

    /// The batch and the calls held back that are due now go out; escalations due are sent.
    async fn send_due(&self, round: &mut Round, policies: &[Policy]) {
        let now = Instant::now();
        let mut due = Vec::new();
        if round.started.is_some_and(|s| s + self.settings.window <= now) {
            due.append(&mut round.batch);
            round.started = None;
        }
        due.extend(round.held.extract_if(|_, until| *until <= now).map(|(id, _)| id));
        // Decided before anyone was told: no message says anything of it.
        let calls: Vec<PendingCall> = due.iter().filter_map(|id| round.waiting.get(id).cloned()).collect();
        let (calls, quiet) = self.hold_quiet(calls, policies).await;
        round.held.extend(quiet);
        if !calls.is_empty() {
            let waiting = &round.waiting;
            let gone: Vec<Told> =
                round.told.extract_if(|id, _| !waiting.contains_key(id)).map(|(_, told)| told).collect();
            let mut people = self.send(&calls, &gone, policies).await;
            self.forget_told(&gone).await;
            for call in calls {
                let id = call.event_id().to_owned();
                let people = people.remove(&id).unwrap_or_default();
                let told = Told { call, at: now, step: 0, people };
                self.record_told(&told).await;
                round.told.insert(id, told);
            }
        }
        // Decided calls stay in `told` for the next batch's "decided elsewhere".
        self.escalate(&mut round.told, &round.waiting, policies, now).await;
    }

    /// The calls told of before, by this replica or another, as they were kept.
    async fn told_before(&self) -> HashMap<String, Told> {
        let rows = match self.told_rows.told().await {
            Ok(rows) => rows,
            Err(error) => {
                tracing::warn!("the calls told of before could not be read; none is told again knowingly: {error}");
                return HashMap::new();
            }
        };
        let now_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
        rows.into_iter()
            .filter_map(|row| {
                let call: PendingCall = serde_json::from_str(&row.call).ok()?;
                let ago = Duration::from_millis(now_ms.saturating_sub(row.told_ms).max(0) as u64);
                let at = Instant::now().checked_sub(ago).unwrap_or_else(Instant::now);
                let people = row.people.split_whitespace().map(str::to_owned).collect();
                Some((row.event_id, Told { call, at, step: row.step.max(0) as usize, people }))
            })
            .collect()
    }

    /// Keeps `told` (a call told of, or escalated) for whichever replica notifies next.
    async fn record_told(&self, told: &Told) {
        let ago = told.at.elapsed().as_millis() as i64;
        let mut people: Vec<&str> = told.people.iter().map(String::as_str).collect();
        people.sort_unstable();
        let row = ToldRow {
            event_id: told.call.event_id().to_owned(),
            told_ms: time::OffsetDateTime::now_utc().unix_timestamp() * 1000 - ago,
            step: told.step as i64,
            people: people.join(" "),
            call: serde_json::to_string(&told.call).unwrap_or_default(),
        };
        if let Err(error) = self.told_rows.record_told(&row).await {
            tracing::warn!("a call told of was not kept; a replica taking over may tell of it again: {error}");
        }
    }

    async fn forget_told(&self, gone: &[Told]) {
        let ids: Vec<String> = gone.iter().map(|t| t.call.event_id().to_owned()).collect();
        if let Err(error) = self.told_rows.forget_told(&ids).await {
            tracing::warn!("decided calls told of were not forgotten: {error}");
        }
    }

    /// Splits `calls` into those told now and those whose agent is in its quiet hours (held
    /// until they end, each an audit entry).
    async fn hold_quiet(
        &self,
        calls: Vec<PendingCall>,
        policies: &[Policy],
    ) -> (Vec<PendingCall>, Vec<(String, Instant)>) {
        let now = time::OffsetDateTime::now_utc();
        let mut go = Vec::new();
        let mut hold = Vec::new();
        for call in calls {
            let quiet = policy_for(policies, call.agent_id.as_deref()).and_then(|p| p.quiet_hours.map(|q| (p, q)));
            let left = quiet.map_or(0, |(_, q)| q.secs_left(now.unix_timestamp()));
            let Some((policy, quiet)) = quiet.filter(|_| left > 0) else {
                go.push(call);
                continue;
            };
            let until = now + time::Duration::seconds(left);
            self.audit_policy(
                "policies/quiet_hours",
                &call,
                serde_json::json!({
                    "policy": policy.agent_id,
                    "quiet_hours": quiet.in_words(),
                    "held_until": domain::format::rfc3339(until),
                }),
            )
            .await;
            // A second past the end, so that the wall clock agrees they ended.
            hold.push((call.event_id().to_owned(), Instant::now() + Duration::from_secs(left as u64 + 1)));
        }
        (go, hold)
    }

    /// Tells the next group of each told call whose escalation step is due (outside quiet
    /// hours): an email to each of its people who chose email and was not told yet, and an
    /// audit entry naming them.
    async fn escalate(
        &self,
        told: &mut HashMap<String, Told>,
        waiting: &HashMap<String, PendingCall>,
        policies: &[Policy],
        now: Instant,
    ) {
        let mut due = Vec::new();
        for told in told.values_mut().filter(|t| waiting.contains_key(t.call.event_id())) {
            let Some(policy) = policy_for(policies, told.call.agent_id.as_deref()) else { continue };
            let Some(step) = policy.escalation.get(told.step + 1) else { continue };
            if escalation_due(told, policy).is_none_or(|at| at > now) {
                continue;
            }
            told.step += 1;
            due.push((told.call.clone(), step.clone(), policy.agent_id.clone()));
        }
        if due.is_empty() {
            return;
        }
        let people = match self.recipients().await {
            Ok(people) => people,
            Err(error) => return tracing::warn!("cannot read who gets email of waiting calls: {error}"),
        };
        for (call, step, policy) in due {
            let id = call.event_id().to_owned();
            let new: Vec<(String, String)> = people
                .iter()
                .filter(|(username, _)| step.people.is_empty() || step.people.contains(username))
                .filter(|(username, _)| told.get(&id).is_none_or(|t| !t.people.contains(username)))
                .cloned()
                .collect();
            let intro = format!(
                "Nobody has decided this call in {}; under its agent's approval policy you are told next.\n\n",
                domain::policies::duration_words(step.after_secs)
            );
            for (username, address) in &new {
                let subject =
                    format!("Still waiting{}: {} in {}", self.in_workspace(), call.tool(), call.session_label());
                self.email(address, username, &subject, &intro, std::slice::from_ref(&call), &[]).await;
            }
            if let Some(told) = told.get_mut(&id) {
                told.people.extend(new.iter().map(|(username, _)| username.clone()));
                self.record_told(told).await;
            }
            self.audit_policy(
                "policies/escalated",
                &call,
                serde_json::json!({
                    "policy": policy,
                    "after_secs": step.after_secs,
                    "told": new.iter().map(|(username, _)| username).collect::<Vec<_>>(),
                }),
            )
            .await;
        }
    }

    /// An audit entry of a policy's own doing (no person acted).
    async fn audit_policy(&self, action: &str, call: &PendingCall, detail: serde_json::Value) {
        self.audit.append(NewEntry::of_policy(action, &call.session_id, call.event_id(), detail)).await;
    }

    /// One message to each person who chose email, may decide and is in the first group of the
    /// calls' policies, listing their calls; and one to each channel, with every call. Answers
    /// who was emailed of each call.
    async fn send(
        &self,
        calls: &[PendingCall],
        gone: &[Told],
        policies: &[Policy],
    ) -> HashMap<String, HashSet<String>> {
        let gone_calls: Vec<PendingCall> = gone.iter().map(|t| t.call.clone()).collect();
        match self.channels_with_urls().await {
            Ok(channels) => {
                for (channel, url, secret) in channels {
                    self.post(&channel, &url, secret.as_deref(), calls, &gone_calls).await;
                }
            }
            Err(error) => tracing::warn!("cannot read the notification channels: {error:?}"),
        }
        let mut told = HashMap::<String, HashSet<String>>::new();
        if self.mailer.is_none() {
            return told;
        }
        let people = match self.recipients().await {
            Ok(people) => people,
            Err(error) => {
                tracing::warn!("cannot read who gets email of waiting calls: {error}");
                return told;
            }
        };
        for (username, address) in people {
            let first = |call: &&PendingCall| {
                policy_for(policies, call.agent_id.as_deref())
                    .and_then(|p| p.escalation.first())
                    .is_none_or(|step| step.people.is_empty() || step.people.contains(&username))
            };
            let mine: Vec<PendingCall> = calls.iter().filter(first).cloned().collect();
            if mine.is_empty() {
                continue;
            }
            let gone: Vec<PendingCall> =
                gone.iter().filter(|t| t.people.contains(&username)).map(|t| t.call.clone()).collect();
            if self.email(&address, &username, &self.subject(&mine), "", &mine, &gone).await {
                for call in &mine {
                    told.entry(call.event_id().to_owned()).or_default().insert(username.clone());
                }
            }
        }
        told
    }

    /// One email; true when the mail server took it.
    async fn email(
        &self,
        address: &str,
        username: &str,
        subject: &str,
        intro: &str,
        calls: &[PendingCall],
        gone: &[PendingCall],
    ) -> bool {
        let Some(mailer) = &self.mailer else { return false };
        let Ok(to) = address.parse::<Mailbox>() else { return false };
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .body(format!("{intro}{}", self.body(calls, gone, username)));
        let message = match message {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!("cannot write the email of waiting calls to {username}: {error}");
                return false;
            }
        };
        match mailer.send(message).await {
            Ok(_) => {
                tracing::debug!("told {username} of {} waiting calls by email", calls.len());
                true
            }
            // lettre's error names the server's answer, never the URL's password.
            Err(error) => {
                tracing::warn!("the email of waiting calls to {username} was not sent: {error}");
                false
            }
        }
    }

    /// Who gets email: enabled accounts that may decide, with an address.
    async fn recipients(&self) -> Result<Vec<(String, String)>, RecipientsUnread> {
        let rows = self.rows.emails().await.map_err(RecipientsUnread::Addresses)?;
        let accounts = self.accounts.list().await.map_err(RecipientsUnread::Accounts)?;
        Ok(rows
            .into_iter()
            .filter(|(username, _)| {
                accounts
                    .iter()
                    .any(|a| a.username == *username && !a.disabled && (self.may_decide)(&Principal::from(a.clone())))
            })
            .collect())
    }

    fn body(&self, calls: &[PendingCall], gone: &[PendingCall], username: &str) -> String {
        let mut text = String::new();
        for call in calls {
            let agent = call.agent_name.as_deref().map(|a| format!(" (agent {a})")).unwrap_or_default();
            text.push_str(&format!(
                "{} wants to run {}: {}\nSession: {}{agent}\nDecide: {}\n\n",
                call.agent_name.as_deref().unwrap_or("An agent"),
                call.tool(),
                call.summary(),
                call.session_label(),
                self.link(&call.session_id, call.event_id(), username),
            ));
        }
        if !gone.is_empty() {
            text.push_str("Decided elsewhere since the last message:\n");
            for call in gone {
                text.push_str(&format!("- {}: {} ({})\n", call.tool(), call.summary(), call.session_label()));
            }
            text.push('\n');
        }
        text.push_str(&format!(
            "Each link opens its call once, for you, until it expires; opening it decides nothing.\nEverything that waits: {}\nStop these emails on the Inbox page.\n",
            self.inbox_link()
        ));
        text
    }
}

impl Notifier {
    async fn channels_now(&self) -> Result<Vec<Channel>, AppError> {
        Ok(self.channels_with_urls().await?.into_iter().map(|(channel, ..)| channel).collect())
    }

    /// Every channel with its URL and signing secret, in one read.
    async fn channels_with_urls(&self) -> Result<Vec<(Channel, String, Option<String>)>, AppError> {
        let stored = self.rows.channels().await?;
        Ok(stored
            .into_iter()
            .filter(|record| record.workspace == self.workspace.0)
            .map(|record| channel_of(record, self.seal.as_ref()))
            .collect())
    }

    /// With a key: seals every channel's URL and secret still in plain text (written before the
    /// key was set), in one transaction, then rewrites the database file so that no page keeps
    /// them (`VACUUM`, the write-ahead log truncated). Without one: warns of channels sealed
    /// with a key that is gone, which send nothing until it is back.
    pub async fn seal_channels(&self) -> Result<(), StoreError> {
        let Some(key) = &self.seal else {
            let sealed = self.rows.sealed_channels().await?;
            if sealed > 0 {
                tracing::warn!(
                    "{sealed} notification channel(s) are sealed, but SWITCHBOARD_SECRET_KEY is not set: they get nothing until it is set again"
                );
            }
            return Ok(());
        };
        let seal = |id: i64, url: &str, secret: Option<&str>| {
            let url = key.seal_text(&sealed_as(id, "url"), url);
            (url, secret.map(|secret| key.seal_text(&sealed_as(id, "secret"), secret)))
        };
        let sealed = self.rows.seal_plain(&seal).await?;
        if sealed > 0 {
            tracing::info!("notification channels: sealed {sealed} written before the key was set");
        }
        Ok(())
    }

    async fn create_channel_now(&self, channel: NewChannel, by: String) -> Result<ChannelMade, AppError> {
        let (kind, name, url) = channel.check()?;
        self.settings.destinations.check(&url).await.map_err(|why| AppError::bad_input("url", why.to_string()))?;
        let secret = (kind == "webhook").then(engine::webhooks::generate_secret);
        // Sealed values are bound to the row's id, known once it is inserted: the row is written
        // with neither, then given them, in one transaction (no page ever holds them in plain).
        let sealing = self.seal.as_ref();
        let fill = |id: i64| match sealing {
            None => (url.clone(), secret.clone()),
            Some(key) => (
                key.seal_text(&sealed_as(id, "url"), &url),
                secret.as_deref().map(|secret| key.seal_text(&sealed_as(id, "secret"), secret)),
            ),
        };
        let at = domain::format::rfc3339(time::OffsetDateTime::now_utc());
        let record = self.rows.add_channel((&kind, &name, &self.workspace.0), &by, &at, &fill).await?;
        let (channel, ..) = channel_of(record, sealing);
        self.channel_added.notify_one();
        Ok(ChannelMade { channel, secret })
    }

    async fn delete_channel_now(&self, id: i64) -> Result<(), AppError> {
        // Only this workspace's: another's is removed where it is listed.
        let here = self.channels_now().await?.iter().any(|c| c.id == id);
        if !here || !self.rows.delete_channel(id).await? {
            return Err(AppError::not_found(format!("There is no channel {id}; it may have been removed already.")));
        }
        Ok(())
    }

    /// A batch to one channel: a Slack message, or signed JSON. A failure is logged (without the
    /// URL, which may be a secret) and not retried: the next batch goes out as usual. The URL's
    /// address is judged again (`crate::support::destinations`): it may resolve elsewhere since it was
    /// saved, or have been saved under another `SWITCHBOARD_ALLOW_PRIVATE_URLS`.
    async fn post(
        &self,
        channel: &Channel,
        url: &str,
        secret: Option<&str>,
        calls: &[PendingCall],
        gone: &[PendingCall],
    ) {
        if let Some(why) = self.settings.destinations.refused_before_sending(url) {
            return tracing::warn!(channel = channel.name, target = channel.target, "nothing sent to a channel: {why}");
        }
        let body = match secret {
            None => serde_json::json!({ "text": self.slack_text(calls, gone) }),
            Some(_) => self.payload(calls, gone),
        }
        .to_string();
        let mut request = self.http.post(url).header("content-type", "application/json");
        if let Some(secret) = secret {
            let id = format!("msg_{}", crate::support::random_hex::<16>());
            let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
            let signature =
                standardwebhooks::Webhook::new(secret).and_then(|w| w.sign(&id, timestamp, body.as_bytes()));
            let Ok(signature) = signature else {
                return tracing::warn!(
                    channel = channel.name,
                    "the channel's signing secret is not valid; nothing sent"
                );
            };
            request = request
                .header(standardwebhooks::HEADER_WEBHOOK_ID, id)
                .header(standardwebhooks::HEADER_WEBHOOK_TIMESTAMP, timestamp.to_string())
                .header(standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signature);
        }
        match request.body(body).send().await {
            Ok(response) if response.status().is_success() => {}
            Ok(response) => {
                tracing::warn!(channel = channel.name, target = channel.target, status = %response.status(), "a channel refused the waiting calls")
            }
            Err(error) => {
                // The causes say why, such as an address the resolver refused.
                tracing::warn!(
                    channel = channel.name,
                    target = channel.target,
                    "the waiting calls did not reach a channel: {}",
                    crate::support::error_chain(&error.without_url())
                )
            }
        }
    }

    /// A channel's link to a call: the session page at the call, without a token (a channel is
    /// read by many; each signs in).
    fn plain_link(&self, call: &PendingCall) -> String {
        format!(
            "{}/sessions/{}?event={}&workspace={}",
            self.public_url,
            call.session_id,
            call.event_id(),
            self.workspace.0
        )
    }

    /// The workspace's inbox.
    fn inbox_link(&self) -> String {
        format!("{}/inbox?workspace={}", self.public_url, self.workspace.0)
    }

    /// " in Staging" for a connected workspace's messages; nothing for the default's.
    fn in_workspace(&self) -> String {
        if self.workspace.0 == DEFAULT_ID { String::new() } else { format!(" in {}", self.workspace.1) }
    }

    fn subject(&self, calls: &[PendingCall]) -> String {
        let place = self.in_workspace();
        match calls {
            [one] => format!("Waiting for you{place}: {} in {}", one.tool(), one.session_label()),
            many => format!("Waiting for you{place}: {} tool calls", many.len()),
        }
    }

    fn slack_text(&self, calls: &[PendingCall], gone: &[PendingCall]) -> String {
        let esc = crate::support::slack_escape;
        let mut text = format!("*{}*\n", esc(&self.subject(calls)));
        for call in calls {
            let agent = call.agent_name.as_deref().map(|a| format!(", agent {}", esc(a))).unwrap_or_default();
            text.push_str(&format!(
                "• `{}`: `{}` (session {}{agent}) <{}|Decide>\n",
                esc(call.tool()),
                esc(&call.summary()).replace('`', "'"),
                esc(call.session_label()),
                self.plain_link(call)
            ));
        }
        if !gone.is_empty() {
            text.push_str("Decided elsewhere since the last message:\n");
            for call in gone {
                text.push_str(&format!("• `{}`: `{}`\n", esc(call.tool()), esc(&call.summary()).replace('`', "'")));
            }
        }
        text.push_str(&format!("<{}|Everything that waits>", self.inbox_link()));
        text
    }

    /// A signed webhook's JSON: the calls, and those decided elsewhere since the last batch.
    fn payload(&self, calls: &[PendingCall], gone: &[PendingCall]) -> serde_json::Value {
        let call = |c: &PendingCall, link: bool| {
            let mut value = serde_json::json!({
                "session_id": c.session_id, "event_id": c.event_id(), "tool": c.tool(), "summary": c.summary(),
                "session": c.session_label(), "agent": c.agent_name,
            });
            if link {
                value["link"] = self.plain_link(c).into();
            }
            value
        };
        serde_json::json!({
            "type": "calls.waiting",
            "calls": calls.iter().map(|c| call(c, true)).collect::<Vec<_>>(),
            "decided_elsewhere": gone.iter().map(|c| call(c, false)).collect::<Vec<_>>(),
            "workspace": self.workspace.0,
            "inbox": self.inbox_link(),
        })
    }
}

/// What a channel's sealed `field` is bound to: the row and the field.
fn sealed_as(id: i64, field: &str) -> String {
    format!("notify_channels {id} {field}")
}

/// A `notify_channels` row: the channel as shown (its URL's host only), its URL and its secret,
/// opened with `seal` where they are sealed. One sealed with another key (or with a key that is
/// gone) has an empty URL, which sends nothing, and says so where its address is shown.
fn channel_of(record: ChannelRecord, seal: Option<&SealKey>) -> (Channel, String, Option<String>) {
    let id = record.id;
    let open = |field: &str, value: String| -> Option<String> {
        if !engine::sealing::is_sealed(&value) {
            return Some(value);
        }
        seal.and_then(|key| key.open_text(&sealed_as(id, field), &value))
    };
    let url = open("url", record.url);
    let secret = record.secret.and_then(|secret| open("secret", secret));
    let target = match &url {
        Some(url) => channel_target(url).unwrap_or_default(),
        None => "(sealed with a key this server does not have: set SWITCHBOARD_SECRET_KEY)".to_owned(),
    };
    let url = url.unwrap_or_default();
    let channel = Channel {
        id,
        kind: record.kind,
        name: record.name,
        target,
        created_by: record.created_by,
        created_at: record.created_at,
    };
    (channel, url, secret)
}

/// Every workspace's notifier: the default's, made at start, and each connected workspace's,
/// made as it is found (`Notifiers::add`).
pub struct Notifiers {
    default: Arc<Notifier>,
    others: std::sync::RwLock<HashMap<String, Arc<Notifier>>>,
}

impl Notifiers {
    pub fn new(default: Arc<Notifier>) -> Arc<Self> {
        Arc::new(Self { default, others: Default::default() })
    }

    pub fn default_notifier(&self) -> Arc<Notifier> {
        self.default.clone()
    }

    /// Whether workspace `id` has its notifier, following `inbox` (a workspace connected anew has
    /// another).
    pub fn follows(&self, id: &str, inbox: &Arc<Inbox>) -> bool {
        let others = self.others.read().unwrap_or_else(|e| e.into_inner());
        others.get(id).is_some_and(|n| Arc::ptr_eq(&n.inbox, inbox))
    }

    /// Adds a connected workspace's notifier.
    pub fn add(&self, notifier: Arc<Notifier>) {
        let id = notifier.workspace.0.clone();
        self.others.write().unwrap_or_else(|e| e.into_inner()).insert(id, notifier);
    }

    /// The notifier of workspace `id`, or the default's.
    fn of(&self, id: &str) -> Arc<Notifier> {
        self.others.read().unwrap_or_else(|e| e.into_inner()).get(id).cloned().unwrap_or_else(|| self.default.clone())
    }
}

/// The notifiers as server functions reach them: links and channels are the request's
/// workspace's; a person's email address is Switchboard's own.
pub struct Notify {
    pub notifiers: Arc<Notifiers>,
    /// The request's workspace, whose notifier makes links and channels.
    pub workspace: String,
}

impl Notify {
    /// The request's workspace's notifier.
    pub fn notifier(&self) -> Arc<Notifier> {
        self.notifiers.of(&self.workspace)
    }
}

impl LinkTokens for Arc<Notify> {
    async fn spend(
        &self,
        session_id: &str,
        event_id: &str,
        token: &str,
        username: &str,
    ) -> Result<Result<SpentLink, LinkRefusal>, AppError> {
        self.notifier().spend_link_now(session_id, event_id, token, username).await
    }

    async fn give_back(&self, link: SpentLink) {
        self.notifier().unspend_link_now(link).await
    }
}

impl domain::notify::server::NotifySource for Notify {
    fn email(&self, username: String) -> BoxFuture<'_, Result<EmailChoice, AppError>> {
        Box::pin(async move { self.notifiers.default.email_now(&username).await })
    }

    fn set_email(&self, username: String, address: String) -> BoxFuture<'_, Result<EmailChoice, AppError>> {
        Box::pin(async move { self.notifiers.default.set_email_now(&username, &address).await })
    }

    fn open_link(
        &self,
        session_id: String,
        event_id: String,
        token: String,
        username: String,
    ) -> BoxFuture<'_, Result<LinkCheck, AppError>> {
        let notifier = self.notifier();
        Box::pin(async move { notifier.open_link_now(&session_id, &event_id, &token, &username).await })
    }

    fn channels(&self) -> BoxFuture<'_, Result<Vec<Channel>, AppError>> {
        let notifier = self.notifier();
        Box::pin(async move { notifier.channels_now().await })
    }

    fn create_channel(&self, channel: NewChannel, by: String) -> BoxFuture<'_, Result<ChannelMade, AppError>> {
        let notifier = self.notifier();
        Box::pin(async move { notifier.create_channel_now(channel, by).await })
    }

    fn delete_channel(&self, id: i64) -> BoxFuture<'_, Result<(), AppError>> {
        let notifier = self.notifier();
        Box::pin(async move { notifier.delete_channel_now(id).await })
    }
}
