//! Users (admins): every account, its roles, and whether it may sign in; new accounts; new
//! passwords.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::table_scroll::TableScroll;
use crate::{
    api::auth::{CreateAccount, ResetPassword, UpdateAccount, list_accounts},
    auth::{Account, PASSWORD_RULES, Role},
    components::feedback::{Failure, InlineError, Loading},
};

/// Four checkboxes named `roles[viewer]` … `roles[admin]`.
#[component]
fn RolePicker(chosen: Vec<Role>, #[prop(into)] legend: String) -> impl IntoView {
    view! {
        <fieldset class="roles">
            <legend>{legend}</legend>
            {Role::ALL.into_iter().map(|role| view! {
                <label class="check" title=role.describe()>
                    <input type="checkbox" name=format!("roles[{}]", role.as_str()) value="true" checked=chosen.contains(&role) />
                    " " {role.as_str()}
                </label>
            }).collect_view()}
        </fieldset>
    }
}

#[component]
pub fn Users() -> impl IntoView {
    let create = ServerAction::<CreateAccount>::new();
    let update = ServerAction::<UpdateAccount>::new();
    let reset = ServerAction::<ResetPassword>::new();
    let accounts = Resource::new(move || (create.version().get(), update.version().get()), |_| list_accounts());
    let create_error = Signal::derive(move || create.value().get().and_then(Result::err));
    let update_error = Signal::derive(move || update.value().get().and_then(Result::err));
    let reset_error = Signal::derive(move || reset.value().get().and_then(Result::err));
    let created = move || create.value().get().and_then(Result::ok);
    // A created account empties the form for the next one (roles back to viewer).
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get()
            && let Some(form) = form.get()
        {
            form.reset();
        }
    });
    view! {
        <Title text="Users" />
        <header class="page-header">
            <h1>"Users"</h1>
            <p class="lede">"Who may sign in to this Switchboard, and what each person may do."</p>
        </header>
        <section class="panel" aria-labelledby="roles-help">
            <h2 id="roles-help">"Roles"</h2>
            <dl class="facts">
                {Role::ALL.into_iter().map(|r| view! { <dt>{r.as_str()}</dt><dd>{r.describe()}</dd> }).collect_view()}
            </dl>
            <p class="muted">"Every role can read sessions, agents and the inbox; admin can do everything."</p>
        </section>
        <Transition fallback=|| view! { <Loading what="accounts" /> }>
            {move || Suspend::new(async move {
                match accounts.await {
                    Err(error) => view! { <Failure error /> }.into_any(),
                    Ok(list) => view! {
                        <section class="panel" aria-labelledby="accounts">
                            <h2 id="accounts">"Accounts"</h2>
                            <TableScroll label="Accounts">
                                <table class="list" data-testid="accounts">
                                    <thead><tr><th scope="col">"User"</th><th scope="col">"Roles and access"</th><th scope="col">"New password"</th></tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|a| view! { <AccountRow account=a update reset /> }).collect_view()}
                                    </tbody>
                                </table>
                            </TableScroll>
                            <InlineError error=update_error />
                            <InlineError error=reset_error />
                            {move || reset.value().get().and_then(Result::ok).map(|_| view! { <p class="notice" role="status">"The password is set; that person's open sign-ins have ended. If you asked, they choose their own at their next sign-in."</p> })}
                        </section>
                    }.into_any(),
                }
            })}
        </Transition>
        <section class="panel" aria-labelledby="new-account">
            <h2 id="new-account">"New account"</h2>
            <ActionForm action=create node_ref=form attr:class="fields">
                <label>"Username" <input name="username" required=true autocomplete="off" pattern="[a-z0-9._\\-]{1,64}" title="lowercase letters, digits, . _ -" /></label>
                <label>"Display name" <input name="display_name" autocomplete="off" /></label>
                <label>"First password" <input type="password" name="password" required=true minlength="12" autocomplete="new-password" /></label>
                <p class="muted">{PASSWORD_RULES} " Pass it on to the person; they can be given a new one here at any time."</p>
                <label class="check"><input type="checkbox" name="require_change" value="true" checked=true />" They choose their own password at their first sign-in"</label>
                <RolePicker chosen=vec![Role::Viewer] legend="Roles" />
                <button type="submit" class="button primary" disabled=move || create.pending().get()>"Create the account"</button>
            </ActionForm>
            <InlineError error=create_error />
            {move || created().map(|a| view! { <p class="notice" role="status">{format!("Created {} with the roles {}.", a.username, crate::auth::roles_text(&a.roles))}</p> })}
        </section>
    }
}

#[component]
fn AccountRow(
    account: Account,
    update: ServerAction<UpdateAccount>,
    reset: ServerAction<ResetPassword>,
) -> impl IntoView {
    let username = account.username.clone();
    let (for_hidden, for_label) = (username.clone(), username.clone());
    let legend = format!("Roles of {username}");
    let label = if account.display_name != account.username {
        format!("{} ({})", account.display_name, account.username)
    } else {
        account.username.clone()
    };
    view! {
        <tr data-username=username>
            <td>
                <strong>{label}</strong>
                {account.disabled.then(|| view! { " " <span class="badge">"disabled"</span> })}
                {account.must_change_password.then(|| view! { " " <span class="badge" title="They choose their own password at their next sign-in">"new password due"</span> })}
                {account.sso.then(|| view! { " " <span class="badge" title="Signs in through the identity provider">"single sign-on"</span> })}
                {account.email.clone().map(|email| view! { <br /><span class="muted">{email}</span> })}
                <br /><span class="muted">"since " {crate::format::timestamp(&account.created_at)}</span>
            </td>
            <td>
                <ActionForm action=update attr:class="inline-form">
                    <input type="hidden" name="id" value=account.id.to_string() />
                    <RolePicker chosen=account.roles.clone() legend=legend />
                    <label class="check"><input type="checkbox" name="disabled" value="true" checked=account.disabled />" Disabled"</label>
                    " " <button type="submit" class="button">"Save"</button>
                </ActionForm>
            </td>
            <td>
                {account.sso.then(|| view! {
                    <p class="muted">"Their identity provider keeps their password."</p>
                })}
                {(!account.sso).then(|| view! {
                    <ActionForm action=reset attr:class="inline-form">
                        <input type="hidden" name="id" value=account.id.to_string() />
                        <input type="hidden" name="username" value=for_hidden />
                        <label>"New password for " {for_label} " " <input type="password" name="password" required=true minlength="12" autocomplete="new-password" /></label>
                        " " <label class="check"><input type="checkbox" name="require_change" value="true" checked=true />" They choose their own at next sign-in"</label>
                        " " <button type="submit" class="button">"Set"</button>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
}
