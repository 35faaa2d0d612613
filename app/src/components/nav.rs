use leptos::prelude::*;
use leptos_router::components::A;

use crate::{Me, pages::Section};

/// The console's navigation, and who is signed in. `A` marks the current page with
/// `aria-current="page"`. Signed out (the login and setup pages), only the name shows.
#[component]
pub fn Sidebar() -> impl IntoView {
    let me = use_context::<Me>().expect("App provides Me");
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
                                    .map(|section| view! { <li><A href=section.path()>{section.title()}</A></li> })
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
