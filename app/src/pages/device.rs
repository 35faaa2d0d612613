//! `/device`: where a person approves a terminal's `switchboard login` (the device authorization
//! grant, `server/src/access/device_login.rs`). The terminal shows a code and this page's address;
//! the person, signed in here (single sign-on included), checks the code, chooses the workspace
//! and roles of the terminal's token, and approves, or denies. The token is made when the terminal
//! takes it, and never shown here.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    api::tokens::{DecideDevice, DeviceRequest, waiting_device},
    auth::Role,
    components::feedback::{Failure, InlineError, Loading},
};

#[component]
pub fn DeviceLogin() -> impl IntoView {
    let query = use_query_map();
    let code = move || query.read().get("code").unwrap_or_default();
    let request = Resource::new(code, |code| async move {
        if code.trim().is_empty() { Ok(None) } else { waiting_device(code).await.map(Some) }
    });
    let decide = ServerAction::<DecideDevice>::new();
    let error = Signal::derive(move || decide.value().get().and_then(Result::err));
    view! {
        <Title text="Sign in a terminal" />
        <header class="page-header">
            <h1>"Sign in a terminal"</h1>
            <p class="lede">"switchboard login showed a code in your terminal. Check that it is the one below, choose what the terminal's token may do, and approve it."</p>
        </header>
        <section class="panel" aria-labelledby="device-code">
            <h2 id="device-code">"The code"</h2>
            // A plain form: it works before the page's script has loaded.
            <form method="get" action="/device" class="fields inline-form">
                <label>"Code" <input name="code" autocomplete="off" required=true placeholder="BDFG-HJKL" value=code /></label>
                <button type="submit" class="button">"Look it up"</button>
            </form>
            {move || match decide.value().get() {
                Some(Ok(true)) => Some(view! { <p class="notice" role="status" data-testid="device-approved">"Approved. Go back to your terminal: it has its token now."</p> }.into_any()),
                Some(Ok(false)) => Some(view! { <p class="notice" role="status" data-testid="device-denied">"Denied. The terminal was told, and has no token."</p> }.into_any()),
                _ => None,
            }}
            <Show when=move || decide.value().get().is_none_or(|r| r.is_err())>
                <Transition fallback=|| view! { <Loading what="the terminal's sign-in" /> }>
                    {move || Suspend::new(async move {
                        match request.await {
                            Ok(None) => view! { <p class="muted">"Type the code your terminal shows."</p> }.into_any(),
                            Ok(Some(waiting)) => view! { <Decide waiting decide /> }.into_any(),
                            Err(error) => view! { <Failure error inline=true /> }.into_any(),
                        }
                    })}
                </Transition>
            </Show>
            <InlineError error />
        </section>
    }
}

/// The approval: the token's workspace and roles, and Approve or Deny.
#[component]
fn Decide(waiting: DeviceRequest, decide: ServerAction<DecideDevice>) -> impl IntoView {
    let (approve_code, deny_code) = (waiting.user_code.clone(), waiting.user_code.clone());
    view! {
        <p data-testid="device-request">
            {format!("{} asks to sign in as you with the code ", waiting.client_name)}
            <strong>{waiting.user_code.clone()}</strong>
            {format!("; the code works until {}.", crate::format::timestamp(&waiting.expires_at))}
        </p>
        <ActionForm action=decide attr:class="fields" attr:data-testid="device-approve">
            <input type="hidden" name="form[code]" value=approve_code />
            <input type="hidden" name="form[decision]" value="approve" />
            {super::api_tokens::token_scope("The token's roles (some or all of yours in that workspace)", |role| role != Role::Admin, false)}
            <p class="muted">{format!("The token works for {} hours; run switchboard login again then.", waiting.token_hours)}</p>
            <button type="submit" class="button primary" disabled=move || decide.pending().get()>"Approve"</button>
        </ActionForm>
        <ActionForm action=decide attr:class="inline-form">
            <input type="hidden" name="form[code]" value=deny_code />
            <input type="hidden" name="form[decision]" value="deny" />
            <button type="submit" class="button" disabled=move || decide.pending().get()>"Deny"</button>
        </ActionForm>
    }
}
