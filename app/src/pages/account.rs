//! Signing in, and creating the first admin. Both are plain HTML forms posted to the server
//! (`/auth/login`, `/auth/setup`), so they work before the WASM has loaded and without it.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::auth::PASSWORD_RULES;

#[component]
pub fn Login() -> impl IntoView {
    let query = use_query_map();
    let q = query.read_untracked();
    let username = q.get("username").unwrap_or_default();
    let next = q.get("next").unwrap_or_else(|| "/".to_owned());
    let wait =
        q.get("wait_secs").and_then(|s| s.parse::<u64>().ok()).map_or_else(|| "a few minutes".to_owned(), wait_words);
    let (notice, problem) = match q.get("error").as_deref() {
        Some("credentials") => {
            (None, Some("That username and password do not match an account. Check both and try again.".to_owned()))
        }
        Some("throttled") => (
            None,
            Some(format!(
                "Too many failed sign-ins for this account or from this address. Try again in {wait}. A browser you signed in with before is not held back; or ask an admin to reset the password."
            )),
        ),
        Some("disabled") => (None, Some("This account is disabled. Ask an admin to enable it.".to_owned())),
        Some("failed") => (
            None,
            Some(
                "Signing in failed on the server. Try again; if it keeps failing, the server's log says why."
                    .to_owned(),
            ),
        ),
        Some("signed_out") => (Some("You are signed out."), None),
        Some("set_up") => (Some("Switchboard is set up already: sign in with your account."), None),
        _ => (None, None),
    };
    drop(q);
    view! {
        <Title text="Sign in" />
        <section class="panel auth-panel" aria-labelledby="sign-in">
            <h1 id="sign-in">"Sign in to Switchboard"</h1>
            {notice.map(|n| view! { <p class="notice" role="status">{n}</p> })}
            {problem.map(|p| view! { <p class="inline-error" role="alert">{p}</p> })}
            <form method="post" action="/auth/login" class="fields">
                <input type="hidden" name="next" value=next />
                <label>"Username" <input name="username" autocomplete="username" required=true autofocus=username.is_empty() value=username.clone() /></label>
                <label>"Password" <input type="password" name="password" autocomplete="current-password" required=true autofocus=!username.is_empty() /></label>
                <button type="submit" class="button primary">"Sign in"</button>
            </form>
            <p class="muted">"No account? An admin of this Switchboard creates them on the Users page."</p>
        </section>
    }
}

/// A wait the sign-in throttle asked for, in words: "3 seconds", "5 minutes".
fn wait_words(seconds: u64) -> String {
    match seconds {
        0..=1 => "a second".to_owned(),
        2..=59 => format!("{seconds} seconds"),
        60 => "a minute".to_owned(),
        _ => format!("{} minutes", seconds.div_ceil(60)),
    }
}

#[component]
pub fn Setup() -> impl IntoView {
    let query = use_query_map();
    let q = query.read_untracked();
    let token = q.get("token").unwrap_or_default();
    let username = q.get("username").unwrap_or_else(|| "admin".to_owned());
    let problem = q.get("error");
    drop(q);
    view! {
        <Title text="Set up Switchboard" />
        <section class="panel auth-panel" aria-labelledby="setup">
            <h1 id="setup">"Create the first admin"</h1>
            <p>"Switchboard has no accounts yet. The admin you create here can then add the rest of the team on the Users page."</p>
            {problem.map(|p| view! { <p class="inline-error" role="alert">{p}</p> })}
            {token.is_empty().then(|| view! {
                <p class="notice">"Open this page from the setup link Switchboard printed when it started (it carries a one-time token), or start it with SWITCHBOARD_ADMIN_PASSWORD set."</p>
            })}
            <form method="post" action="/auth/setup" class="fields">
                <input type="hidden" name="token" value=token />
                <label>"Username" <input name="username" autocomplete="username" required=true value=username /></label>
                <label>"Display name" <input name="display_name" autocomplete="name" placeholder="Ada Lovelace" /></label>
                <label>"Password" <input type="password" name="password" autocomplete="new-password" required=true minlength="12" aria-describedby="password-rules" /></label>
                <label>"Password again" <input type="password" name="confirm" autocomplete="new-password" required=true minlength="12" /></label>
                <p class="muted" id="password-rules">{PASSWORD_RULES}</p>
                <button type="submit" class="button primary">"Create the admin and sign in"</button>
            </form>
        </section>
    }
}
