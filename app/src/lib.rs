// Leptos' view types nest deeply in the bigger forms; without erased components (release builds)
// the compiler needs more than the default depth to lay them out.
#![recursion_limit = "256"]
//! Switchboard's browser console: rendered on the server, then hydrated into WebAssembly.
//!
//! `shell` is the HTML document the server renders; `App` is the router and layout both sides
//! share; `hydrate` is the entry point of the WASM bundle.

pub mod actions;
pub mod api;
pub mod approvals;
pub mod assets;
pub mod auth;
pub mod components;
pub mod decisions;
pub mod drafts;
pub mod error;
pub mod live;
pub mod me;
pub mod pages;
pub mod upstream;

// The console's rules that are not the UI's own live in the domain crate; inside the app they keep
// their short paths (`crate::format`).
use domain::{format, policies, rules, sse};

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::{
    Lazy, LazyRoute, ParamSegment, SsrMode, StaticSegment,
    components::{Route, Router, Routes},
    lazy_route,
};

use components::nav::Sidebar;
use pages::audit::Audit;
use pages::{
    NotFound, Overview,
    account::{Login, Setup},
    agents::{AgentDetail, AgentEdit, AgentList, AgentNew},
    deployments::{DeploymentDetail, DeploymentList, DeploymentNew},
    device::DeviceLogin,
    environments::{EnvironmentDetail, EnvironmentList, EnvironmentNew},
    files::FileList,
    imports::{ImportDetail, ImportList, ImportPresent},
    inbox::Inbox,
    memory::{MemoryStoreDetail, MemoryStoreList},
    profile::YourAccount,
    rules::Rules,
    sessions::{SessionDetail, SessionList, SessionNew, SessionPresent},
    settings::Settings,
    shares::{Shared, SharesList},
    skills::{SkillDetail, SkillList},
    slack::SlackLink,
    users::Users,
    vaults::{VaultDetail, VaultList},
};

/// The whole HTML document. The server renders it for every page request.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                // Here, not in the app: the page names it before its scripts, and hydration never
                // touches it (its name may carry the build's hash: `assets`).
                <link rel="stylesheet" id="leptos" href=assets::Stylesheet::href() />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Layout and routes, identical on the server and in the browser.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Who is signed in, for the navigation and for hiding what a person's roles cannot do.
    let me = me::Me(Resource::new(|| (), |_| api::auth::me()));
    provide_context(me);
    provide_context(me::Workspace(Resource::new(|| (), |_| api::workspaces::workspace_here())));
    // The calls that wait, for the badge, the title and the Inbox page.
    let inbox = components::inbox::provide_inbox_feed(me);
    // Bumped when a rule is made or revoked, so that every list of rules reads them again.
    provide_context(actions::RulesChanged(RwSignal::new(0)));

    view! {
        <Title formatter=move |page: String| {
            let title = if page.is_empty() { "Switchboard".to_owned() } else { format!("{page} · Switchboard") };
            // The server's feed is always empty (its stream opens in the browser), and the server
            // may format the title outside the render's reactive arena, where reading a signal
            // panics (seen rendering the not-found page).
            let waiting = if cfg!(feature = "hydrate") { inbox.count() } else { 0 };
            match waiting {
                0 => title,
                n => format!("({n}) {title}"),
            }
        } />
        <Router>
            <div class="layout">
                <Sidebar />
                <main class="content" id="main">
                    <Routes fallback=NotFound>
                        // Pages that load data render completely before they are sent (`Async`):
                        // they work without JavaScript, and a missing id can still answer 404.
                        <Route path=StaticSegment("") view={Lazy::<OverviewPage>::new()} ssr=SsrMode::Async />
                        <Route path=StaticSegment("agents") view={Lazy::<AgentListPage>::new()} ssr=SsrMode::Async />
                        <Route path=(StaticSegment("agents"), StaticSegment("new")) view={Lazy::<AgentNewPage>::new()} ssr=SsrMode::Async />
                        <Route path=(StaticSegment("agents"), ParamSegment("id")) view={Lazy::<AgentDetailPage>::new()} ssr=SsrMode::Async />
                        <Route path=(StaticSegment("agents"), ParamSegment("id"), StaticSegment("edit")) view={Lazy::<AgentEditPage>::new()} ssr=SsrMode::Async />
                        <Route path=StaticSegment("environments") view={Lazy::<EnvironmentListPage>::new()} ssr=SsrMode::Async />
                        <Route path=(StaticSegment("environments"), StaticSegment("new")) view={Lazy::<EnvironmentNewPage>::new()} ssr=SsrMode::Async />
                        <Route path=(StaticSegment("environments"), ParamSegment("id")) view={Lazy::<EnvironmentDetailPage>::new()} ssr=SsrMode::Async />
                        <Route path=StaticSegment("sessions") view={Lazy::<SessionListPage>::new()} ssr=SsrMode::Async />
                        <Route path=(StaticSegment("sessions"), StaticSegment("new")) view={Lazy::<SessionNewPage>::new()} ssr=SsrMode::Async />
                        <Route path=(StaticSegment("sessions"), ParamSegment("id")) view={Lazy::<SessionDetailPage>::new()} ssr=SsrMode::Async />
                        <Route path=(StaticSegment("sessions"), ParamSegment("id"), StaticSegment("present")) view={Lazy::<SessionPresentPage>::new()} ssr=SsrMode::Async />
                        <Route path=StaticSegment("imports") view={Lazy::<ImportListPage>::new()} ssr=SsrMode::Async />
                        <Route path=(StaticSegment("imports"), ParamSegment("id")) view={Lazy::<ImportDetailPage>::new()} ssr=SsrMode::Async />
                        <Route path=(StaticSegment("imports"), ParamSegment("id"), StaticSegment("present")) view={Lazy::<ImportPresentPage>::new()} ssr=SsrMode::Async />
                        <Route path=StaticSegment("deployments") view={Lazy::<DeploymentListPage>::new()} ssr=SsrMode::Async />
                        <Route path=(StaticSegment("deployments"), StaticSegment("new")) view={Lazy::<DeploymentNewPage>::new()} ssr=SsrMode::Async />
                        <Route path=(StaticSegment("deployments"), ParamSegment("id")) view={Lazy::<DeploymentDetailPage>::new()} ssr=SsrMode::Async />
                        <Route path=StaticSegment("memory") view={Lazy::<MemoryStoreListPage>::new()} ssr=SsrMode::Async />
                        <Route path=(StaticSegment("memory"), ParamSegment("id")) view={Lazy::<MemoryStoreDetailPage>::new()} ssr=SsrMode::Async />
                        <Route path=StaticSegment("skills") view={Lazy::<SkillListPage>::new()} ssr=SsrMode::Async />
                        <Route path=(StaticSegment("skills"), ParamSegment("id")) view={Lazy::<SkillDetailPage>::new()} ssr=SsrMode::Async />
                        <Route path=StaticSegment("files") view={Lazy::<FileListPage>::new()} ssr=SsrMode::Async />
                        <Route path=StaticSegment("vaults") view={Lazy::<VaultListPage>::new()} ssr=SsrMode::Async />
                        <Route path=(StaticSegment("vaults"), ParamSegment("id")) view={Lazy::<VaultDetailPage>::new()} ssr=SsrMode::Async />
                        <Route path=StaticSegment("settings") view={Lazy::<SettingsPage>::new()} ssr=SsrMode::Async />
                        <Route path=StaticSegment("inbox") view={Lazy::<InboxPage>::new()} ssr=SsrMode::Async />
                        <Route path=StaticSegment("rules") view={Lazy::<RulesPage>::new()} ssr=SsrMode::Async />
                        <Route path=StaticSegment("shares") view={Lazy::<SharesPage>::new()} ssr=SsrMode::Async />
                        // A share link's page: open to anyone holding the token (the server's access table).
                        <Route path=(StaticSegment("share"), ParamSegment("token")) view={Lazy::<SharedPage>::new()} ssr=SsrMode::Async />
                        <Route path=StaticSegment("audit") view={Lazy::<AuditPage>::new()} ssr=SsrMode::Async />
                        <Route path=StaticSegment("users") view={Lazy::<UsersPage>::new()} ssr=SsrMode::Async />
                        // The one-time link a Slack user is shown on their first press (server/src/slack).
                        <Route path=(StaticSegment("slack"), StaticSegment("link")) view={Lazy::<SlackLinkPage>::new()} ssr=SsrMode::Async />
                        <Route path=StaticSegment("account") view={Lazy::<AccountPage>::new()} ssr=SsrMode::Async />
                        // A terminal's `switchboard login`, approved (server/src/access/device_login.rs).
                        <Route path=StaticSegment("device") view={Lazy::<DevicePage>::new()} ssr=SsrMode::Async />
                        <Route path=StaticSegment("login") view=Login ssr=SsrMode::Async />
                        <Route path=StaticSegment("setup") view=Setup />
                    </Routes>
                </main>
            </div>
        </Router>
    }
}

/// Every data page is a lazy route: the release build (`site-build`) moves its code (views, forms and
/// the decoding of what it loads) into a WASM chunk of its own, fetched when the page is first
/// shown. A page opened from a link hydrates once its chunk is in; the server names the chunk in
/// the page's `<head>` so that it loads alongside the main bundle.
macro_rules! lazy_pages {
    ($($route:ident => $page:ident),* $(,)?) => {$(
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page /> }.into_any()
            }
        }
    )*};
}

lazy_pages! {
    OverviewPage => Overview,
    AgentListPage => AgentList,
    AgentNewPage => AgentNew,
    AgentDetailPage => AgentDetail,
    AgentEditPage => AgentEdit,
    EnvironmentListPage => EnvironmentList,
    EnvironmentNewPage => EnvironmentNew,
    EnvironmentDetailPage => EnvironmentDetail,
    SessionListPage => SessionList,
    SessionNewPage => SessionNew,
    SessionDetailPage => SessionDetail,
    SessionPresentPage => SessionPresent,
    ImportListPage => ImportList,
    ImportDetailPage => ImportDetail,
    ImportPresentPage => ImportPresent,
    DeploymentListPage => DeploymentList,
    DeploymentNewPage => DeploymentNew,
    DeploymentDetailPage => DeploymentDetail,
    MemoryStoreListPage => MemoryStoreList,
    MemoryStoreDetailPage => MemoryStoreDetail,
    SkillListPage => SkillList,
    SkillDetailPage => SkillDetail,
    FileListPage => FileList,
    VaultListPage => VaultList,
    VaultDetailPage => VaultDetail,
    SettingsPage => Settings,
    InboxPage => Inbox,
    RulesPage => Rules,
    SharesPage => SharesList,
    SharedPage => Shared,
    AuditPage => Audit,
    UsersPage => Users,
    AccountPage => YourAccount,
    DevicePage => DeviceLogin,
    SlackLinkPage => SlackLink,
}

/// Entry point of the WASM bundle: attaches the app to the server-rendered DOM.
///
/// As `leptos::mount::hydrate_lazy`, which waits for the chunk of a lazy page before hydrating
/// it; once the whole page is live, `data-hydrated` is set on `<body>`, so tests (and curious
/// people) can tell a live page from a static one. Until then a page's forms post without the
/// script.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = document().body() else { return };
        leptos::mount::hydrate_from_async(body.clone(), App).await.forget();
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
