//! The server functions of the notifications. What they take and answer, and the store they reach, are
//! [`domain::notify`]'s.

pub use domain::notify::*;

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use macros::access;

use super::JsonResponse;
use crate::error::AppError;

/// The team's channels.
#[access(Admin)]
#[server(endpoint = "notify/channels", input = GetUrl, output = JsonResponse)]
pub async fn list_channels() -> Result<Vec<Channel>, AppError> {
    server::notify()?.0.channels().await
}

/// Adds a channel; a signed webhook's secret is made now and answered this once.
#[access(Admin)]
#[server(endpoint = "notify/channels/create", output = JsonResponse)]
pub async fn create_channel(channel: NewChannel) -> Result<ChannelMade, AppError> {
    let principal = crate::auth::store::signed_in()?;
    // The store checks the channel (`NewChannel::check`) before it writes anything.
    let made = server::notify()?.0.create_channel(channel, principal.label()).await?;
    crate::auth::store::note(
        serde_json::json!({ "kind": made.channel.kind, "name": made.channel.name, "target": made.channel.target }),
    );
    Ok(made)
}

/// Removes a channel: nothing more goes there.
#[access(Admin)]
#[server(endpoint = "notify/channels/delete", output = JsonResponse)]
pub async fn delete_channel(id: i64) -> Result<(), AppError> {
    server::notify()?.0.delete_channel(id).await
}

/// The signed-in person's email choice.
#[access(Approver)]
#[server(endpoint = "notify/email", input = GetUrl, output = JsonResponse)]
pub async fn get_email_choice() -> Result<EmailChoice, AppError> {
    let principal = crate::auth::store::signed_in()?;
    server::notify()?.0.email(principal.username).await
}

/// Emails of waiting calls go to `address` from now on; an empty address stops them.
#[access(Approver)]
#[server(endpoint = "notify/email/set", output = JsonResponse)]
pub async fn set_email_choice(address: String) -> Result<EmailChoice, AppError> {
    let principal = crate::auth::store::signed_in()?;
    let address = address.trim();
    if !address.is_empty() && !plausible_address(address) {
        return Err(AppError::bad_input("address", "That is not an email address; write it as name@example.com."));
    }
    server::notify()?.0.set_email(principal.username, address.to_owned()).await
}

/// Opens a notification's link to a call: whether it may, and what the call is.
#[access(Viewer)]
#[server(endpoint = "notify/link", output = JsonResponse)]
pub async fn open_link(session_id: String, event_id: String, token: String) -> Result<LinkCheck, AppError> {
    let principal = crate::auth::store::signed_in()?;
    let session_id = super::server::segment(&session_id)?;
    let event_id = super::server::segment(&event_id)?;
    let check = server::notify()?.0.open_link(session_id, event_id, token, principal.username).await?;
    crate::auth::store::note(serde_json::json!({ "opened": matches!(check, LinkCheck::Open { .. }) }));
    Ok(check)
}

#[cfg(feature = "ssr")]
pub mod server {
    pub use domain::notify::server::*;

    use crate::error::AppError;

    pub fn notify() -> Result<NotifyHandle, AppError> {
        leptos::prelude::use_context::<NotifyHandle>()
            .ok_or_else(|| AppError::internal("The server did not provide its notifications."))
    }
}
