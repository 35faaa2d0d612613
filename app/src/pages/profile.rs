//! Your account: a new password (with the current one), the sign-ins open in your name, each
//! of which you can end, and your API tokens (`api_tokens.rs`). An admin who set your password can ask you to choose your own: until you
//! do, this is the only page your sign-in opens.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::table_scroll::TableScroll;
use crate::{
    api::auth::{EndMyLogin, EndMyOtherLogins, my_logins},
    auth::{LoginInfo, PASSWORD_RULES},
    components::feedback::{Failure, InlineError, Loading},
    error::AppError,
    me::Me,
};

#[component]
pub fn YourAccount() -> impl IntoView {
    let query = use_query_map();
    let q = query.read_untracked();
    let required = q.get("required").is_some();
    let (notice, problem) = match q.get("done").as_deref() {
        Some("password") => {
            (Some("Your password is changed. Your other sign-ins have ended; this browser stays signed in."), None)
        }
        _ => (None, q.get("error").map(|e| password_problem(&e))),
    };
    drop(q);
    let me = use_context::<Me>();
    let end_one = ServerAction::<EndMyLogin>::new();
    let end_others = ServerAction::<EndMyOtherLogins>::new();
    let logins = Resource::new(move || (end_one.version().get(), end_others.version().get()), |_| my_logins());
    let end_error = Signal::derive(move || {
        end_one.value().get().and_then(Result::err).or_else(|| end_others.value().get().and_then(Result::err))
    });
    view! {
        <Title text="Your account" />
        <header class="page-header">
            <h1>"Your account"</h1>
            <p class="lede">
                {move || me.and_then(|me| me.principal()).map(|p| format!("Signed in as {}, with the roles {}.", p.label(), crate::auth::roles_text(&p.roles)))}
            </p>
        </header>
        {required.then(|| view! {
            <p class="notice" role="status" data-testid="password-required">
                "An admin set your password and asked you to choose your own. Until you do, Switchboard opens only this page."
            </p>
        })}
        {password_panel(me, notice, problem)}
        <section class="panel" aria-labelledby="your-sign-ins">
            <h2 id="your-sign-ins">"Where you are signed in"</h2>
            {sign_ins(logins, end_one, end_others)}
            <InlineError error=end_error />
        </section>
        <super::api_tokens::ApiTokens />
    }
}

/// The Password panel: the form that changes it, or, for single sign-on, where to change it.
fn password_panel(me: Option<Me>, notice: Option<&'static str>, problem: Option<String>) -> impl IntoView {
    view! {
    <section class="panel" aria-labelledby="your-password">
        <h2 id="your-password">"Password"</h2>
        {notice.map(|n| view! { <p class="notice" role="status">{n}</p> })}
        {problem.map(|p| view! { <p class="inline-error" role="alert">{p}</p> })}
        // Who is signed in is a resource: read under a Transition, so the server waits for it.
        <Transition fallback=|| ()>
            <Show
                when=move || me.and_then(|me| me.principal()).is_some_and(|p| p.sso)
                fallback=|| view! {
                    // A plain form, posted to the server: it works before the page's script has loaded.
                    <form method="post" action="/auth/password" class="fields">
                        <label>"Current password" <input type="password" name="current" required=true autocomplete="current-password" /></label>
                        <label>"New password" <input type="password" name="password" required=true minlength="12" autocomplete="new-password" /></label>
                        <label>"New password again" <input type="password" name="confirm" required=true minlength="12" autocomplete="new-password" /></label>
                        <p class="muted">{PASSWORD_RULES} " Changing it ends your sign-ins in every other browser."</p>
                        <button type="submit" class="button primary">"Change the password"</button>
                    </form>
                }
            >
                <p data-testid="password-sso">
                    "You sign in with single sign-on: your identity provider keeps your password, and you change it there. Switchboard has none of yours."
                </p>
            </Show>
        </Transition>
    </section>
    }
}

/// The sign-ins open in your name, each with End, and a button that ends all the others.
fn sign_ins(
    logins: Resource<Result<Vec<LoginInfo>, AppError>>,
    end_one: ServerAction<EndMyLogin>,
    end_others: ServerAction<EndMyOtherLogins>,
) -> impl IntoView {
    view! {
        <Transition fallback=|| view! { <Loading what="your sign-ins" /> }>
            {move || Suspend::new(async move {
                match logins.await {
                    Err(error) => view! { <Failure error inline=true /> }.into_any(),
                    Ok(list) => {
                        let others = list.iter().filter(|l| !l.current).count();
                        view! {
                            <TableScroll label="Your sign-ins">
                                <table class="list" data-testid="my-logins">
                                    <thead><tr><th scope="col">"Since"</th><th scope="col">"From"</th><th scope="col">"Browser"</th><th scope="col">"End"</th></tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|login| view! { <LoginRow login end_one /> }).collect_view()}
                                    </tbody>
                                </table>
                            </TableScroll>
                            {(others > 0).then(|| view! {
                                <ActionForm action=end_others attr:class="inline-form">
                                    <button type="submit" class="button" disabled=move || end_others.pending().get()>
                                        {format!("End the {others} other sign-in{}", if others == 1 { "" } else { "s" })}
                                    </button>
                                </ActionForm>
                            })}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn LoginRow(login: LoginInfo, end_one: ServerAction<EndMyLogin>) -> impl IntoView {
    let agent = login.user_agent.clone().unwrap_or_default();
    let browser = login.user_agent.as_deref().map_or_else(|| "not recorded".to_owned(), crate::format::browser);
    view! {
        <tr data-current=login.current.to_string()>
            <td><time datetime=login.started_at.clone()>{crate::format::timestamp(&login.started_at)}</time></td>
            <td>{login.ip.clone().unwrap_or_else(|| "not recorded".to_owned())}</td>
            <td><span class="muted" title=agent>{browser}</span></td>
            <td>
                {if login.current {
                    view! { <span class="badge">"this browser"</span> }.into_any()
                } else {
                    view! {
                        <ActionForm action=end_one attr:class="inline-form">
                            <input type="hidden" name="id" value=login.id.clone() />
                            <button type="submit" class="button">"End"</button>
                        </ActionForm>
                    }.into_any()
                }}
            </td>
        </tr>
    }
}

/// What the password form's `error` code says, in words.
fn password_problem(error: &str) -> String {
    match error {
        "current" => "The current password is not right. Type it again.".to_owned(),
        "throttled" => "Too many wrong current passwords: wait a little and try again.".to_owned(),
        "confirm" => "The two new passwords differ; type the same password twice.".to_owned(),
        "same" => "The new password is the current one; choose another.".to_owned(),
        "rules" => format!("The new password does not meet the rules. {PASSWORD_RULES}"),
        // Only these codes: the page never shows text taken from its address.
        _ => "The password could not be changed on the server. Try again; if it keeps failing, an admin can read why in the server's log.".to_owned(),
    }
}
