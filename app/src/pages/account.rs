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
        Some(code) if code.starts_with("sso_") => (None, sso_problem(code).map(str::to_owned)),
        Some("set_up") => (Some("Switchboard is set up already: sign in with your account."), None),
        _ => (None, None),
    };
    drop(q);
    let sso = Resource::new(|| (), |_| crate::api::auth::single_sign_on());
    let sso_next = next.clone();
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
            // A plain link: the sign-in at the identity provider works without the WASM too.
            // `rel="external"` keeps the router from taking it for one of the app's own pages.
            <Suspense fallback=|| ()>
                {move || sso.get().and_then(Result::ok).flatten().map(|name| {
                    let href = format!("/auth/oidc/start?next={}", crate::format::query_value(&sso_next));
                    view! {
                        <p class="auth-or">"or"</p>
                        <a class="button" href=href rel="external">{format!("Sign in with {name}")}</a>
                    }
                })}
            </Suspense>
            <p class="muted">"No account? An admin of this Switchboard creates them on the Users page."</p>
        </section>
    }
}

/// What went wrong with a single sign-on, by the code its return sent the browser back with.
fn sso_problem(code: &str) -> Option<&'static str> {
    Some(match code {
        "sso_off" => "Single sign-on is not set up on this Switchboard: sign in with your username and password.",
        "sso_unavailable" => {
            "The identity provider could not be reached, or answered in a way Switchboard does not accept. Try again in a minute; if it keeps failing, the server's log says why."
        }
        "sso_expired" => {
            "That sign-in did not start here, or took longer than 10 minutes. Sign in with single sign-on again."
        }
        "sso_denied" => "The identity provider did not sign you in (you may have cancelled). Try again.",
        "sso_failed" => {
            "The identity provider's answer did not pass Switchboard's checks. Try again; if it keeps failing, the server's log says why."
        }
        "sso_domain" => {
            "Your identity provider account's email address is not at a domain this Switchboard admits, or the provider has not verified it. Sign in with your company account."
        }
        "sso_no_role" => {
            "Your identity provider account is not in a group that has a role in this Switchboard. Ask your admin to add you to one."
        }
        "sso_setup" => {
            "Switchboard has no admin yet: the first one is made with the setup link it printed at start, or by an identity provider group that maps to admin."
        }
        "sso_last_admin" => {
            "Your identity provider no longer makes you an admin, and you are this Switchboard's last one: ask for the group back, or have another admin named first."
        }
        "sso_disabled" => {
            "Your account is disabled, or waits for an admin to let you in. Ask an admin to enable it on the Users page."
        }
        _ => return None,
    })
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
