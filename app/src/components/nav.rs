use leptos::prelude::*;
use leptos_router::components::A;

use crate::{
    components::{inbox::InboxFeed, section::Section},
    me::Me,
};

/// The console's navigation, and who is signed in. `A` marks the current page with
/// `aria-current="page"`. Signed out (the login and setup pages), only the name shows.
#[component]
pub fn Sidebar() -> impl IntoView {
    let me = use_context::<Me>().expect("App provides Me");
    let inbox = use_context::<InboxFeed>().expect("App provides the inbox feed");
    // How many calls wait: on the Inbox link, once the tab's inbox stream has said.
    let badge = move || {
        let n = inbox.count();
        (n > 0).then(|| {
            let label = if n == 1 { "1 call waits".to_owned() } else { format!("{n} calls wait") };
            view! { " " <span class="badge count" data-testid="inbox-badge" title=label.clone() aria-label=label>{n}</span> }
        })
    };
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <nav class="sidebar" aria-label="Console">
            <A href="/" attr:class="brand">
                <span class="brand-mark" aria-hidden="true">"◧"</span>
                " Switchboard"
            </A>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let principal = me.0.await.ok().flatten();
                    principal.map(|p| {
                        let sections = Section::ALL.into_iter().filter(|s| p.can(s.needs())).collect::<Vec<_>>();
                        view! {
                            <ul>
                                <li><A href="/" exact=true>"Overview"</A></li>
                                {sections.into_iter()
                                    .map(|section| {
                                        let badge = (section == Section::Inbox).then_some(badge);
                                        view! { <li><A href=section.path()>{section.title()}{badge}</A></li> }
                                    })
                                    .collect_view()}
                            </ul>
                            <div class="signed-in" data-testid="signed-in">
                                <p><strong>{p.label()}</strong><br /><span class="muted">{crate::auth::roles_text(&p.roles)}</span></p>
                                <form method="post" action="/auth/logout">
                                    <button type="submit" class="button">"Sign out"</button>
                                </form>
                            </div>
                        }
                    })
                })}
            </Transition>
        </nav>
    }
}
