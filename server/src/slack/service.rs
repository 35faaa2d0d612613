//! The Slack apps of the workspaces: kept sealed, each followed by one replica that posts the
//! calls waiting in its inbox and updates their messages once decided; the links that tell
//! Switchboard who a Slack user is; and the decisions pressed in Slack, made as that person.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use domain::{
    approvals::{ApprovalsHandle, Caller},
    auth::{Principal, store::AuditNote},
    decisions::{Decided, Outcome, Verdict},
    error::AppError,
    inbox::PendingCall,
    slack::{SlackApp, SlackForm, SlackLinkCheck, SlackPerson, SlackSettings},
    upstream::client::BoxFuture,
};
use engine::sealing::SealKey;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{
    blocks::{self, Posted},
    slack_rows::{AppRecord, MessageRecord, SlackRows},
    web_api::SlackApi,
};
use crate::{
    approvals::{decisions::DecisionStore, inbox::Inbox},
    audit::{Actor, AuditLog, NewEntry},
    records::shares::Shares,
    support::{StoreError, cluster::Cluster},
};

/// What Slack links are signed for: apart from notification links, which share the key.
const SLACK_LINK: &[u8] = b"slack-link:";
/// How long the link a Slack user is shown stays good.
const LINK_TTL_SECS: i64 = 15 * 60;
/// How often a follower looks whether its workspace's app was set or removed elsewhere.
const LOOK_AGAIN: Duration = Duration::from_secs(30);
/// How long after Slack refused a post (rate limited, down, a token revoked) it is tried again,
/// while the call waits.
const POST_AGAIN: Duration = Duration::from_secs(10);

/// What deciding in Slack needs of a workspace.
#[derive(Clone)]
pub struct Desk {
    pub name: String,
    pub inbox: Arc<Inbox>,
    pub audit: Arc<AuditLog>,
    pub decisions: Arc<dyn DecisionStore>,
    pub approvals: ApprovalsHandle,
    /// Masks secrets in what a message shows, as share links do.
    pub shares: Arc<Shares>,
    /// With the policies, who sent the message that led to a call (`approvals::gate::senders`).
    pub upstream: domain::upstream::client::UpstreamHandle,
    pub policies: Arc<crate::approvals::policies::Policies>,
}

/// The workspaces, as deciding in Slack reaches them (the server's wiring implements it).
pub trait Desks: Send + Sync + 'static {
    fn desk(&self, workspace: &str) -> Option<Desk>;
    /// Account `username` as it acts in `workspace`: enabled, with its roles there; `None` when it
    /// does not exist, is disabled, or may not open the workspace.
    fn person<'a>(&'a self, workspace: &'a str, username: &'a str) -> BoxFuture<'a, Option<Principal>>;
}

/// A workspace's app, opened.
#[derive(Clone)]
pub(super) struct OpenApp {
    pub workspace: String,
    pub channel: String,
    pub bot_token: String,
    pub signing_secret: String,
}

/// What a Slack link's token says: the workspace it was shown in, the Slack team and user, and
/// when it expires (seconds since 1970).
#[derive(Debug, Serialize, Deserialize)]
struct LinkClaims {
    w: String,
    t: String,
    u: String,
    x: i64,
}

pub struct Slack {
    rows: Arc<dyn SlackRows>,
    pub(super) api: SlackApi,
    desks: Arc<dyn Desks>,
    seal: Option<SealKey>,
    link_key: Vec<u8>,
    public_url: String,
    cluster: Arc<Cluster>,
    /// The workspaces a follower runs for, here.
    following: Mutex<HashSet<String>>,
    /// Calls whose post Slack refused, by workspace and event id: not tried again before then.
    held_back: Mutex<HashMap<(String, String), tokio::time::Instant>>,
}

/// The pieces `Slack::open` is made of.
pub struct SlackParts {
    pub rows: Arc<dyn SlackRows>,
    pub api_url: String,
    pub desks: Arc<dyn Desks>,
    pub seal: Option<SealKey>,
    pub link_key: Vec<u8>,
    pub public_url: String,
    pub cluster: Arc<Cluster>,
}

fn now_rfc3339() -> String {
    domain::format::rfc3339(time::OffsetDateTime::now_utc())
}

fn sealed_as(workspace: &str, field: &str) -> String {
    format!("slack_apps {workspace} {field}")
}

impl Slack {
    pub fn open(parts: SlackParts) -> std::io::Result<Arc<Self>> {
        let SlackParts { rows, api_url, desks, seal, link_key, public_url, cluster } = parts;
        Ok(Arc::new(Self {
            rows,
            api: SlackApi::new(&api_url)?,
            desks,
            seal,
            link_key,
            public_url,
            cluster,
            following: Mutex::default(),
            held_back: Mutex::default(),
        }))
    }

    /// Follows every workspace that has an app, and looks again for new ones now and then (an
    /// app set on another replica).
    pub fn start(self: &Arc<Self>) {
        let this = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let Some(slack) = this.upgrade() else { return };
                if let Ok(apps) = slack.rows.apps().await {
                    for app in apps {
                        slack.follow(&app.workspace);
                    }
                }
                drop(slack);
                tokio::time::sleep(LOOK_AGAIN).await;
            }
        });
    }

    /// With a key: seals every app's token and secret kept in plain text (saved before the key was
    /// set), then leaves no freed page holding them. Without one: warns of apps sealed with a key
    /// that is gone, which post nothing and take no press until it is back.
    pub async fn seal_apps(&self) -> Result<(), StoreError> {
        let apps = self.rows.apps().await?;
        let Some(key) = &self.seal else {
            let sealed = apps.iter().filter(|a| engine::sealing::is_sealed(&a.bot_token)).count();
            if sealed > 0 {
                tracing::warn!(
                    "{sealed} Slack app(s) are sealed, but SWITCHBOARD_SECRET_KEY is not set: they post nothing until it is set again"
                );
            }
            return Ok(());
        };
        let mut sealed = 0;
        for mut app in apps {
            let mut changed = false;
            for (field, value) in [("bot_token", &mut app.bot_token), ("signing_secret", &mut app.signing_secret)] {
                if !engine::sealing::is_sealed(value) {
                    *value = key.seal_text(&sealed_as(&app.workspace, field), value);
                    changed = true;
                }
            }
            if changed {
                self.rows.set_app(&app).await?;
                sealed += 1;
            }
        }
        if sealed > 0 {
            self.rows.scrub().await?;
            tracing::info!("Slack apps: sealed {sealed} saved before the key was set");
        }
        Ok(())
    }

    /// Every app, opened with the key; one sealed with a key this server lacks is left out.
    pub(super) async fn apps(&self) -> Result<Vec<OpenApp>, StoreError> {
        let open = |workspace: &str, field: &str, value: &str| -> Option<String> {
            if !engine::sealing::is_sealed(value) {
                return Some(value.to_owned());
            }
            self.seal.as_ref()?.open_text(&sealed_as(workspace, field), value)
        };
        Ok(self
            .rows
            .apps()
            .await?
            .into_iter()
            .filter_map(|record| {
                Some(OpenApp {
                    workspace: record.workspace.clone(),
                    channel: record.channel.clone(),
                    bot_token: open(&record.workspace, "bot_token", &record.bot_token)?,
                    signing_secret: open(&record.workspace, "signing_secret", &record.signing_secret)?,
                })
            })
            .collect())
    }

    async fn app(&self, workspace: &str) -> Option<OpenApp> {
        self.apps().await.ok()?.into_iter().find(|app| app.workspace == workspace)
    }

    pub(super) fn desk(&self, workspace: &str) -> Option<Desk> {
        self.desks.desk(workspace)
    }

    pub(super) async fn person(&self, workspace: &str, team: &str, user: &str) -> Result<Linked, StoreError> {
        let Some(username) = self.rows.person(team, user).await? else { return Ok(Linked::Unknown) };
        Ok(match self.desks.person(workspace, &username).await {
            Some(principal) => Linked::Person(principal),
            None => Linked::MayNot(username),
        })
    }

    pub(super) async fn take_request(&self, signature: &str) -> Result<bool, StoreError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
        self.rows.take_request(signature, now, now - 10 * 60 * 1000).await
    }

    /// Starts following `workspace`'s inbox here, unless it is followed already.
    fn follow(self: &Arc<Self>, workspace: &str) {
        if !self.following.lock().unwrap_or_else(|e| e.into_inner()).insert(workspace.to_owned()) {
            return;
        }
        let mut lease = self.cluster.lease(&format!("slack:{workspace}"));
        let this = Arc::downgrade(self);
        let workspace = workspace.to_owned();
        tokio::spawn(async move {
            loop {
                while !*lease.borrow_and_update() {
                    if lease.changed().await.is_err() {
                        return;
                    }
                }
                let Some(slack) = this.upgrade() else { return };
                let Some(desk) = slack.desk(&workspace) else {
                    slack.following.lock().unwrap_or_else(|e| e.into_inner()).remove(&workspace);
                    return;
                };
                let mut published = desk.inbox.watch();
                published.mark_changed();
                drop(slack);
                // When a refused post is due again: the list is gone through once more then.
                let mut again: Option<tokio::time::Instant> = None;
                loop {
                    tokio::select! {
                        changed = published.changed() => {
                            if changed.is_err() {
                                return;
                            }
                            let list = published.borrow_and_update().list.clone();
                            let Some(slack) = this.upgrade() else { return };
                            if list.ready {
                                again = slack.sync(&workspace, &desk, &list.calls).await;
                            }
                        }
                        () = async { tokio::time::sleep_until(again.unwrap_or_else(tokio::time::Instant::now)).await }, if again.is_some() => {
                            let list = published.borrow().list.clone();
                            let Some(slack) = this.upgrade() else { return };
                            again = if list.ready { slack.sync(&workspace, &desk, &list.calls).await } else { None };
                        }
                        changed = lease.changed() => {
                            if changed.is_err() {
                                return;
                            }
                            if !*lease.borrow() {
                                break;
                            }
                        }
                    }
                }
            }
        });
    }

    /// Posts the calls that wait and have no message yet; updates the messages of calls that no
    /// longer wait with how they ended. Answers when a post Slack refused is due again.
    async fn sync(&self, workspace: &str, desk: &Desk, calls: &[PendingCall]) -> Option<tokio::time::Instant> {
        let app = self.app(workspace).await?;
        let now = tokio::time::Instant::now();
        let waiting: HashSet<&str> = calls.iter().map(PendingCall::event_id).collect();
        let held: HashMap<String, tokio::time::Instant> = {
            let mut held = self.held_back.lock().unwrap_or_else(|e| e.into_inner());
            held.retain(|(w, id), _| w != workspace || waiting.contains(id.as_str()));
            held.iter().filter(|((w, _), _)| w == workspace).map(|((_, id), at)| (id.clone(), *at)).collect()
        };
        // The messages whose calls are not known to be decided, in one read: those of calls still
        // waiting are posted already; the others are updated below.
        let unsettled = match self.rows.unsettled(workspace).await {
            Ok(rows) => rows,
            Err(error) => {
                tracing::warn!(workspace, "cannot read the Slack messages: {error}");
                return None;
            }
        };
        let (gone, posted): (Vec<MessageRecord>, Vec<MessageRecord>) =
            unsettled.into_iter().partition(|m| !waiting.contains(m.event_id.as_str()));
        let posted: HashSet<&str> = posted.iter().map(|m| m.event_id.as_str()).collect();
        for call in calls.iter().filter(|c| !c.is_custom()) {
            if held.get(call.event_id()).is_some_and(|at| *at > now) || posted.contains(call.event_id()) {
                continue;
            }
            let posted = Posted { call: masked(desk, call), asked_by: asked_by(desk, call).await };
            let text = serde_json::to_string(&posted).unwrap_or_default();
            let (event_id, session_id) = (posted.call.event_id(), &posted.call.session_id);
            match self.rows.claim_message(workspace, event_id, session_id, &text, &now_rfc3339()).await {
                Ok(true) if !self.post(&app, &posted).await => {
                    let key = (workspace.to_owned(), event_id.to_owned());
                    self.held_back.lock().unwrap_or_else(|e| e.into_inner()).insert(key, now + POST_AGAIN);
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(workspace, "cannot record a Slack message: {error}"),
            }
        }
        self.settle_gone(&app, desk, gone).await;
        // Only what is still to come: a call posted on its second try keeps a past entry (until
        // it stops waiting), which must not wake the follower again at once.
        let now = tokio::time::Instant::now();
        let held = self.held_back.lock().unwrap_or_else(|e| e.into_inner());
        held.iter().filter(|((w, _), at)| w == workspace && **at > now).map(|(_, at)| *at).min()
    }

    /// Updates the messages of calls no longer waiting (`gone`) with how they ended.
    async fn settle_gone(&self, app: &OpenApp, desk: &Desk, gone: Vec<MessageRecord>) {
        let mut recorded = HashMap::new();
        for message in gone {
            if !recorded.contains_key(&message.session_id) {
                let decisions = desk.decisions.recorded(&message.session_id).await.unwrap_or_default();
                recorded.insert(message.session_id.clone(), decisions);
            }
            let outcome = recorded[&message.session_id]
                .iter()
                .find(|d| d.event_id == message.event_id)
                .map(|d| outcome_line(d.result, &d.decided_by, &d.decided_at))
                .unwrap_or_else(|| "No longer waiting: decided elsewhere, or the session moved on.".to_owned());
            self.settle(app, &message, &outcome).await;
        }
    }

    /// Posts one call's message, and keeps where it went; false when Slack refused it (its claim
    /// is given back, to be posted again).
    async fn post(&self, app: &OpenApp, posted: &Posted) -> bool {
        let call = &posted.call;
        let link = self.call_link(&app.workspace, call);
        let (text, blocks) = blocks::waiting(&app.workspace, posted, &link, None);
        match self.api.post_message(&app.bot_token, &app.channel, &text, &blocks).await {
            Ok((channel, ts)) => {
                if let Err(error) = self.rows.posted(&app.workspace, call.event_id(), &channel, &ts).await {
                    tracing::warn!(workspace = app.workspace, "a Slack message was posted but not recorded: {error}");
                }
                true
            }
            Err(error) => {
                tracing::warn!(
                    workspace = app.workspace,
                    "a waiting call was not posted to Slack, tried again in {} s: {error}",
                    POST_AGAIN.as_secs()
                );
                if let Err(error) = self.rows.unclaim(&app.workspace, call.event_id()).await {
                    tracing::warn!(workspace = app.workspace, "a Slack message's claim was not given back: {error}");
                }
                false
            }
        }
    }

    /// Updates a message with how its call ended, once (of two replicas or presses, one does).
    pub(super) async fn settle(&self, app: &OpenApp, message: &MessageRecord, outcome: &str) {
        match self.rows.settle(&app.workspace, &message.event_id, outcome).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => return tracing::warn!(workspace = app.workspace, "cannot settle a Slack message: {error}"),
        }
        let (Some(channel), Some(ts)) = (&message.channel, &message.ts) else { return };
        let Ok(posted) = serde_json::from_str::<Posted>(&message.call) else { return };
        let (text, blocks) = blocks::settled(&posted, &self.call_link(&app.workspace, &posted.call), outcome);
        if let Err(error) = self.api.update(&app.bot_token, channel, ts, &text, &blocks).await {
            tracing::warn!(workspace = app.workspace, "a Slack message was not updated: {error}");
        }
    }

    /// Says above the buttons that a first approval was recorded and the call waits for more.
    pub(super) async fn note_waiting(&self, app: &OpenApp, message: &MessageRecord, note: &str) {
        let (Some(channel), Some(ts)) = (&message.channel, &message.ts) else { return };
        let Ok(posted) = serde_json::from_str::<Posted>(&message.call) else { return };
        let link = self.call_link(&app.workspace, &posted.call);
        let (text, blocks) = blocks::waiting(&app.workspace, &posted, &link, Some(note));
        if let Err(error) = self.api.update(&app.bot_token, channel, ts, &text, &blocks).await {
            tracing::warn!(workspace = app.workspace, "a Slack message was not updated: {error}");
        }
    }

    pub(super) async fn message(&self, workspace: &str, event_id: &str) -> Option<MessageRecord> {
        self.rows.message(workspace, event_id).await.ok().flatten()
    }

    /// The call in Switchboard, in its workspace: each person signs in (a channel is read by many).
    fn call_link(&self, workspace: &str, call: &PendingCall) -> String {
        format!("{}/sessions/{}?event={}&workspace={workspace}", self.public_url, call.session_id, call.event_id())
    }

    /// Decides as `person` and writes the decision's audit entry (`slack/decide`) in the
    /// workspace's log, as a press in the browser has.
    pub(super) async fn decide(
        &self,
        desk: &Desk,
        person: Principal,
        session_id: &str,
        verdict: Verdict,
    ) -> Result<Decided, AppError> {
        let note = AuditNote::default();
        let actor = Actor {
            user_id: Some(person.user_id),
            username: Some(person.username.clone()),
            roles: domain::auth::roles_text(&person.roles),
            ip: None,
            user_agent: Some("Slack".to_owned()),
            credential: None,
        };
        let event_id = verdict.event_id.clone();
        let caller = Caller::new(person, Some(note.clone()));
        let decided = desk.approvals.0.decide(caller, session_id.to_owned(), vec![verdict]).await;
        let detail = note.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        let (status, error) = match &decided {
            Ok(_) => (200, None),
            Err(error) => (error.status(), Some(error.message.clone())),
        };
        let targets = vec![session_id.to_owned(), event_id];
        desk.audit.append(NewEntry { actor, action: "slack/decide".to_owned(), targets, detail, status, error }).await;
        decided
    }

    /// The one-time link that makes Slack user `user` of `team` decide as whoever opens it.
    pub(super) fn link_for(&self, workspace: &str, team: &str, user: &str) -> String {
        let expires = time::OffsetDateTime::now_utc().unix_timestamp() + LINK_TTL_SECS;
        let claims = LinkClaims { w: workspace.to_owned(), t: team.to_owned(), u: user.to_owned(), x: expires };
        let token = crate::support::signed::sign(&self.link_key, SLACK_LINK, &claims);
        format!("{}/slack/link?t={token}&workspace={workspace}", self.public_url)
    }

    async fn check_link_now(&self, token: &str) -> Result<Result<LinkClaims, String>, AppError> {
        let Some(claims) = crate::support::signed::open::<LinkClaims>(&self.link_key, SLACK_LINK, token) else {
            return Ok(Err("This is not a link Switchboard made. Press a button in Slack again for a new one.".into()));
        };
        if claims.x < time::OffsetDateTime::now_utc().unix_timestamp() {
            return Ok(Err(
                "This link has expired (links work for 15 minutes). Press a button in Slack again for a new one."
                    .into(),
            ));
        }
        if let Some(linked) = self.rows.person(&claims.t, &claims.u).await? {
            return Ok(Err(format!(
                "This Slack user is linked already, to {linked}: a link works once. To link it to another account, an admin unlinks it first (Settings, Decide in Slack)."
            )));
        }
        Ok(Ok(claims))
    }

    async fn settings_now(&self, workspace: String) -> Result<SlackSettings, AppError> {
        let app = self.rows.apps().await?.into_iter().find(|a| a.workspace == workspace);
        let people = self.rows.people().await?;
        Ok(SlackSettings {
            request_url: format!("{}/webhooks/slack", self.public_url),
            app: app.map(|a| SlackApp { channel: a.channel, set_by: a.created_by, set_at: a.created_at }),
            workspace,
            people: people
                .into_iter()
                .map(|(team, slack_user, username, linked_at)| SlackPerson { team, slack_user, username, linked_at })
                .collect(),
        })
    }

    async fn save_now(
        self: &Arc<Self>,
        workspace: String,
        form: SlackForm,
        by: String,
    ) -> Result<SlackSettings, AppError> {
        let (channel, token, secret) = form.check()?;
        let seal = |field: &str, value: &str| match &self.seal {
            Some(key) => key.seal_text(&sealed_as(&workspace, field), value),
            None => value.to_owned(),
        };
        let record = AppRecord {
            workspace: workspace.clone(),
            channel,
            bot_token: seal("bot_token", &token),
            signing_secret: seal("signing_secret", &secret),
            created_by: by,
            created_at: now_rfc3339(),
        };
        self.rows.set_app(&record).await?;
        self.follow(&workspace);
        self.settings_now(workspace).await
    }
}

/// Who a Slack user is here.
pub(super) enum Linked {
    /// Nobody yet: they are shown a link.
    Unknown,
    /// Linked to an account that may not decide in this workspace (disabled, or no roles there).
    MayNot(String),
    Person(Principal),
}

/// "Allowed by Ann (ann) (10:02 UTC)": how a decided message ends, wherever it was decided (a
/// press in Slack and the follower seeing the call gone race to say it; both say the same). `at`
/// is when it was decided, RFC 3339.
pub(super) fn outcome_line(result: Outcome, by: &str, at: &str) -> String {
    let verb = match result {
        Outcome::Allow => "Allowed",
        Outcome::Deny => "Denied",
        Outcome::Answered => "Answered",
    };
    // RFC 3339's hours and minutes: `2026-11-28T10:02:…`.
    let clock = at.get(11..16).filter(|c| c.as_bytes().get(2) == Some(&b':')).unwrap_or("?");
    format!("{verb} by {by} ({clock} UTC)")
}

/// Who asked for `call`: "Ann (ann)", the person whose message led to it, or that nobody in
/// Switchboard did. `None` when the session's events could not be read (the message says nothing).
async fn asked_by(desk: &Desk, call: &PendingCall) -> Option<String> {
    let senders = crate::approvals::gate::senders(&desk.upstream, &desk.policies, &call.session_id).await.ok()?;
    let (_, sender) = senders.into_iter().find(|(id, _)| id == call.event_id())?;
    Some(match sender {
        domain::policies::Sender::Person { label, .. } => label,
        domain::policies::Sender::Outside => "someone outside Switchboard".to_owned(),
    })
}

/// The call with its input masked as share links mask it: a channel is read by many, and the
/// database keeps what was posted.
fn masked(desk: &Desk, call: &PendingCall) -> PendingCall {
    let mut call = call.clone();
    if let Some(input) = call.event.get_mut("input") {
        *input = desk.shares.masked(input.take());
    }
    call
}

/// The Slack apps and links, as server functions reach them.
pub struct SlackNotify(pub Arc<Slack>);

impl domain::slack::server::SlackSource for SlackNotify {
    fn settings(&self, workspace: String) -> BoxFuture<'_, Result<SlackSettings, AppError>> {
        Box::pin(self.0.settings_now(workspace))
    }

    fn save(&self, workspace: String, form: SlackForm, by: String) -> BoxFuture<'_, Result<SlackSettings, AppError>> {
        Box::pin(self.0.save_now(workspace, form, by))
    }

    fn remove(&self, workspace: String) -> BoxFuture<'_, Result<SlackSettings, AppError>> {
        Box::pin(async move {
            if !self.0.rows.remove_app(&workspace).await? {
                return Err(AppError::not_found("This workspace has no Slack app; it may have been removed already."));
            }
            self.0.settings_now(workspace).await
        })
    }

    fn unlink(&self, workspace: String, team: String, user: String) -> BoxFuture<'_, Result<SlackSettings, AppError>> {
        Box::pin(async move {
            if !self.0.rows.unlink_person(&team, &user).await? {
                return Err(AppError::not_found("This Slack user is not linked; they may have been unlinked already."));
            }
            self.0.settings_now(workspace).await
        })
    }

    fn check_link(&self, token: String, _username: String) -> BoxFuture<'_, Result<SlackLinkCheck, AppError>> {
        Box::pin(async move {
            Ok(match self.0.check_link_now(&token).await? {
                Ok(claims) => SlackLinkCheck::Ready { team: claims.t, slack_user: claims.u, workspace: claims.w },
                Err(why) => SlackLinkCheck::Refused { why },
            })
        })
    }

    fn confirm_link(&self, token: String, username: String) -> BoxFuture<'_, Result<SlackLinkCheck, AppError>> {
        Box::pin(async move {
            let claims = match self.0.check_link_now(&token).await? {
                Ok(claims) => claims,
                Err(why) => return Ok(SlackLinkCheck::Refused { why }),
            };
            let linked = self.0.rows.link_person(&claims.t, &claims.u, &username, &now_rfc3339()).await?;
            if !linked {
                return Ok(SlackLinkCheck::Refused {
                    why: "This Slack user was linked a moment ago: a link works once.".into(),
                });
            }
            Ok(SlackLinkCheck::Ready { team: claims.t, slack_user: claims.u, workspace: claims.w })
        })
    }
}

/// What `json!` a view submission answers with an error on the reason field.
pub(super) fn reason_error(message: &str) -> Value {
    json!({ "response_action": "errors", "errors": { blocks::REASON_BLOCK: message } })
}
