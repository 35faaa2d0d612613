//! The server functions of the Slack app. What they take and answer, and the store they reach, are
//! [`domain::slack`]'s.

pub use domain::slack::*;

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use macros::access;

use super::JsonResponse;
use crate::error::AppError;

/// The workspace's Slack app (none until an admin sets one).
#[access(Admin)]
#[server(endpoint = "slack/app", input = GetUrl, output = JsonResponse)]
pub async fn get_slack_app() -> Result<SlackSettings, AppError> {
    let workspace = super::workspaces::server::current()?.id;
    server::slack()?.0.settings(workspace).await
}

/// Sets the workspace's Slack app; the token and secret are write-only from here on.
#[access(Admin)]
#[server(endpoint = "slack/app/save", output = JsonResponse)]
pub async fn save_slack_app(form: SlackForm) -> Result<SlackSettings, AppError> {
    let principal = crate::auth::store::signed_in()?;
    let workspace = super::workspaces::server::current()?.id;
    crate::auth::store::note(serde_json::json!({ "workspace": workspace, "channel": form.channel.trim() }));
    server::slack()?.0.save(workspace, form, principal.label()).await
}

/// Removes the workspace's Slack app: nothing more is posted, and its buttons decide nothing.
#[access(Admin)]
#[server(endpoint = "slack/app/remove", output = JsonResponse)]
pub async fn remove_slack_app() -> Result<SlackSettings, AppError> {
    let workspace = super::workspaces::server::current()?.id;
    crate::auth::store::note(serde_json::json!({ "workspace": workspace }));
    server::slack()?.0.remove(workspace).await
}

/// Unlinks a Slack user: their presses decide nothing until they link an account again.
#[access(Admin)]
#[server(endpoint = "slack/people/remove", output = JsonResponse)]
pub async fn unlink_slack_person(team: String, slack_user: String) -> Result<SlackSettings, AppError> {
    let workspace = super::workspaces::server::current()?.id;
    crate::auth::store::note(serde_json::json!({ "slack_team": team, "slack_user": slack_user }));
    server::slack()?.0.unlink(workspace, team, slack_user).await
}

/// What the one-time link a Slack user was shown would do; changes nothing.
#[access(Viewer)]
#[server(endpoint = "slack/link", input = GetUrl, output = JsonResponse)]
pub async fn check_slack_link(token: String) -> Result<SlackLinkCheck, AppError> {
    let principal = crate::auth::store::signed_in()?;
    server::slack()?.0.check_link(token, principal.username).await
}

/// Links the Slack user of the link to the signed-in person: from now on their presses in Slack
/// decide as this person, under this person's roles. A link works once.
#[access(Viewer)]
#[server(endpoint = "slack/link/confirm", output = JsonResponse)]
pub async fn confirm_slack_link(token: String) -> Result<SlackLinkCheck, AppError> {
    let principal = crate::auth::store::signed_in()?;
    let linked = server::slack()?.0.confirm_link(token, principal.username).await?;
    if let SlackLinkCheck::Ready { team, slack_user, .. } = &linked {
        crate::auth::store::note(serde_json::json!({ "slack_team": team, "slack_user": slack_user }));
    }
    Ok(linked)
}

#[cfg(feature = "ssr")]
pub mod server {
    pub use domain::slack::server::*;

    use crate::error::AppError;

    pub fn slack() -> Result<SlackHandle, AppError> {
        leptos::prelude::use_context::<SlackHandle>()
            .ok_or_else(|| AppError::internal("The server did not provide its Slack apps."))
    }
}
