//! The Account page's API tokens panel: personal access tokens with which a person's programs
//! (the SDKs, `ant`, a CI job) call Switchboard's own Managed Agents API as them. A new token is
//! shown once, with the two lines that point a program at Switchboard; the list shows each
//! token's workspace, roles, expiry and last use, and revokes it. Admins also see everyone's.

use leptos::prelude::*;

use crate::{
    api::tokens::{CreateToken, DEFAULT_DAYS, MadeToken, RevokeToken, TokenRow, all_tokens, my_tokens},
    auth::Role,
    components::{
        feedback::{Failure, InlineError, Loading},
        table_scroll::TableScroll,
    },
    error::AppError,
};

/// The panel: the form, the token just made, your tokens, and (admins) everyone's.
#[component]
pub fn ApiTokens() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let mine = Resource::new(move || (create.version().get(), revoke.version().get()), |_| my_tokens());
    let is_admin = crate::me::can(Role::Admin);
    let everyone = Resource::new(
        move || (is_admin.get(), create.version().get(), revoke.version().get()),
        |(admin, _, _)| async move { if admin { all_tokens().await.map(Some) } else { Ok(None) } },
    );
    let create_error = Signal::derive(move || create.value().get().and_then(Result::err));
    let revoke_error = Signal::derive(move || revoke.value().get().and_then(Result::err));
    let made = Signal::derive(move || create.value().get().and_then(Result::ok));
    view! {
        <section class="panel" aria-labelledby="api-tokens">
            <h2 id="api-tokens">"API tokens"</h2>
            <p class="muted">
                "A token lets your programs (the Anthropic SDKs, " <code>"ant"</code> ", a CI job) call this Switchboard's Managed Agents API as you, "
                "in one workspace, with the roles you give it: never more than you hold there. Your approvals, limits and audit apply as in the console."
            </p>
            {token_form(create)}
            <InlineError error=create_error />
            {move || made.get().map(|made| view! { <NewToken made /> })}
            <h3>"Your tokens"</h3>
            {token_list(mine, revoke, false)}
            <InlineError error=revoke_error />
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match everyone.await {
                        Ok(Some(list)) => view! {
                            <h3>"Everyone's tokens"</h3>
                            {rows(list, revoke, true)}
                        }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(error) => view! { <Failure error inline=true /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// What a token may do: its workspace (one the person may open) and its roles, as the token form
/// and the /device page (`device.rs`) both ask it: `form[workspace]` and `form[<role>]`. `ticked`
/// says which roles start ticked; `described` adds what each role allows.
pub fn token_scope(legend: &'static str, ticked: fn(Role) -> bool, described: bool) -> impl IntoView {
    let place = use_context::<crate::me::Workspace>();
    let choices =
        move || place.and_then(|p| p.0.get()).and_then(Result::ok).map(|place| place.choices).unwrap_or_default();
    view! {
        <label>"Workspace"
            <select name="form[workspace]">
                {move || {
                    let list = choices();
                    if list.is_empty() {
                        view! { <option value="default">"default"</option> }.into_any()
                    } else {
                        list.into_iter().map(|c| view! { <option value=c.id.clone()>{c.name.clone()}</option> }).collect_view().into_any()
                    }
                }}
            </select>
        </label>
        <fieldset>
            <legend>{legend}</legend>
            {Role::ALL.into_iter().map(|role| view! {
                <label class="check">
                    <input type="checkbox" name=format!("form[{}]", role.as_str()) value="on" checked=ticked(role) />
                    {role.as_str()}
                    {described.then(|| view! { " " <span class="muted">{format!(": {}", role.describe())}</span> })}
                </label>
            }).collect_view()}
        </fieldset>
    }
}

/// The form: name, workspace, roles, life in days.
fn token_form(create: ServerAction<CreateToken>) -> impl IntoView {
    view! {
        <ActionForm action=create attr:class="fields" attr:data-testid="token-form">
            <label>"Name" <input name="form[name]" required=true maxlength="80" placeholder="CI deploys" /></label>
            {token_scope("Roles (some or all of yours in that workspace)", |role| role == Role::Viewer, true)}
            <label>"Days until it stops working"
                <input name="form[days]" type="number" min="1" inputmode="numeric" placeholder=DEFAULT_DAYS.to_string() />
            </label>
            <button type="submit" class="button primary" disabled=move || create.pending().get()>
                {move || if create.pending().get() { "Making the token…" } else { "Make a token" }}
            </button>
        </ActionForm>
    }
}

/// A token just made: its secret, once, and how to use it.
#[component]
fn NewToken(made: MadeToken) -> impl IntoView {
    let copied = RwSignal::new(false);
    let secret = made.secret.clone();
    let lines = format!("export ANTHROPIC_BASE_URL={}\nexport ANTHROPIC_API_KEY={}", origin(), made.secret);
    view! {
        <div class="notice" role="status" data-testid="new-token">
            <p>{format!("Your token {:?} is made. Copy it now: Switchboard keeps only its hash and cannot show it again.", made.row.name)}</p>
            <p><input class="copy-field" readonly=true aria-label="The new token" prop:value=made.secret.clone() data-testid="token-secret" />
                " " <button type="button" class="button" on:click=move |_| { crate::components::copy_to_clipboard(&secret); copied.set(true); }>
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button></p>
            <p class="muted">"Point the SDKs and " <code>"ant"</code> " at Switchboard with:"</p>
            <pre class="detail">{lines}</pre>
        </div>
    }
}

/// This console's address, in the browser (the server renders the path only).
fn origin() -> String {
    #[cfg(feature = "hydrate")]
    {
        window().location().origin().unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    String::from("https://your-switchboard")
}

fn token_list(
    list: Resource<Result<(Vec<TokenRow>, u32), AppError>>,
    revoke: ServerAction<RevokeToken>,
    with_owner: bool,
) -> impl IntoView {
    view! {
        <Transition fallback=|| view! { <Loading what="your tokens" /> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(error) => view! { <Failure error inline=true /> }.into_any(),
                    Ok((list, _)) if list.is_empty() => view! {
                        <p class="muted" data-testid="no-tokens">"You have no tokens. Make one above for a program that should act as you."</p>
                    }.into_any(),
                    Ok((list, _)) => rows(list, revoke, with_owner).into_any(),
                }
            })}
        </Transition>
    }
}

/// The tokens' table, each with Revoke while it works.
fn rows(list: Vec<TokenRow>, revoke: ServerAction<RevokeToken>, with_owner: bool) -> impl IntoView {
    let label = if with_owner { "Everyone's tokens" } else { "Your tokens" };
    view! {
        <TableScroll label=label>
            <table class="list" data-testid=if with_owner { "all-tokens" } else { "my-tokens" }>
                <thead><tr>
                    <th scope="col">"Name"</th>
                    {with_owner.then(|| view! { <th scope="col">"Owner"</th> })}
                    <th scope="col">"Workspace and roles"</th><th scope="col">"Expires"</th><th scope="col">"Last used"</th><th scope="col">"Revoke"</th>
                </tr></thead>
                <tbody>
                    {list.into_iter().map(|token| row(token, revoke, with_owner)).collect_view()}
                </tbody>
            </table>
        </TableScroll>
    }
}

fn row(token: TokenRow, revoke: ServerAction<RevokeToken>, with_owner: bool) -> impl IntoView {
    let state = match &token.revoked_at {
        Some(at) => Some(format!(
            "revoked {} by {}",
            crate::format::timestamp(at),
            token.revoked_by.clone().unwrap_or_default()
        )),
        None => None,
    };
    let (id, name) = (token.id.clone(), token.name.clone());
    view! {
        <tr data-token=token.id.clone()>
            <td>{token.name.clone()}<br /><code class="muted">{token.hint.clone()}</code></td>
            {with_owner.then(|| view! { <td>{token.owner.clone()}</td> })}
            <td>{token.workspace.clone()}<br /><span class="muted">{crate::auth::roles_text(&token.roles)}</span></td>
            <td><time datetime=token.expires_at.clone()>{crate::format::timestamp(&token.expires_at)}</time></td>
            <td>{token.last_used_at.as_deref().map_or_else(|| "never".to_owned(), crate::format::timestamp)}</td>
            <td>
                {match state {
                    Some(words) => view! { <span class="muted">{words}</span> }.into_any(),
                    None => view! {
                        <ActionForm action=revoke attr:class="inline-form">
                            <input type="hidden" name="id" value=id.clone() />
                            <button type="submit" class="button danger" aria-label=format!("Revoke the token {name}")>"Revoke"</button>
                        </ActionForm>
                    }.into_any(),
                }}
            </td>
        </tr>
    }
}
