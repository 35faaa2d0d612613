//! Vaults and credentials. Secret fields are write-only: they start empty, are sent once, and the
//! page never receives them back.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_params_map, use_query_map},
};

use crate::{
    api::vaults::{
        ArchiveCredential, ArchiveVault, CreateCredential, CreateVault, CredentialItem, DeleteCredential, DeleteVault,
        RotateCredential, VaultRow, get_vault, list_vaults,
    },
    components::{
        confirm::Confirm,
        feedback::{InlineError, Loading, MissingPage},
        list_page::{Column, ListPage, created_by_cell},
        pager::{ArchivedToggle, MineToggle, list_query},
    },
    format,
};

const COLUMNS: &[Column] =
    &[Column::text("Name"), Column::text("Id"), Column::text("Updated"), Column::text("Created by")];

#[component]
pub fn VaultList() -> impl IntoView {
    let query = use_query_map();
    let archived = move || query.read().get("include_archived").is_some_and(|v| v == "true");
    let mine = move || query.read().get("mine").is_some_and(|v| v == "true");
    let create = ServerAction::<CreateVault>::new();
    let create_done = crate::actions::successes(create);
    let vaults = Resource::new(
        move || (archived(), mine(), query.read().get("page"), create_done.get()),
        |(a, mine, p, _)| list_vaults(a, p, mine),
    );
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(vault)) = create.value().get() {
            navigate(&format!("/vaults/{}", vault.id), Default::default());
        }
    });

    view! {
        <ListPage
            title="Vaults"
            lede="Credentials for MCP servers and tools. Sessions use a vault's credentials when it is attached at start. Secrets are write-only."
            actions=|| view! { <MineToggle path="/vaults" /> <ArchivedToggle path="/vaults" /> }
            list=vaults
            testid="vault-list"
            columns=COLUMNS
            row=vault_row
            empty_title=Signal::derive(move || if mine() { "You have made no vaults here yet" } else { "No vaults yet" }.to_owned())
            empty=|| view! {
                <p>"A vault holds credentials: bearer tokens or OAuth tokens for MCP servers, and secrets substituted into the agent's requests."</p>
            }
            pager_base=move || list_query(archived(), mine())
            first_page=move || query.read_untracked().get("page").is_none()
        >
            <ActionForm action=create attr:class="panel inline-form">
                <label>"New vault named " <input name="display_name" required maxlength="255" /></label>
                " " <button type="submit" class="button primary" disabled=move || create.pending().get()>"Create vault"</button>
                <InlineError error />
            </ActionForm>
        </ListPage>
    }
}

/// A vault's row: its name (and whether it is archived), id and last change.
fn vault_row(v: VaultRow) -> impl IntoView {
    view! {
        <tr>
            <td><a href=format!("/vaults/{}", v.id)>{v.display_name.clone()}</a>
                {v.archived.then(|| view! { " " <span class="badge">"archived"</span> })}</td>
            <td><code>{v.id.clone()}</code></td>
            <td>{format::timestamp(&v.updated_at)}</td>
            {created_by_cell(v.created_by.clone())}
        </tr>
    }
}

#[component]
pub fn VaultDetail() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let archive = ServerAction::<ArchiveVault>::new();
    let delete = ServerAction::<DeleteVault>::new();
    let create = ServerAction::<CreateCredential>::new();
    let archive_cred = ServerAction::<ArchiveCredential>::new();
    let delete_cred = ServerAction::<DeleteCredential>::new();
    let archive_done = crate::actions::successes(archive);
    let create_done = crate::actions::successes(create);
    let archive_cred_done = crate::actions::successes(archive_cred);
    let delete_cred_done = crate::actions::successes(delete_cred);
    let vault = Resource::new(
        move || (id(), archive_done.get(), create_done.get(), archive_cred_done.get(), delete_cred_done.get()),
        |(id, ..)| get_vault(id),
    );
    let error = Signal::derive(move || {
        archive
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| delete.value().get().and_then(Result::err))
            .or_else(|| archive_cred.value().get().and_then(Result::err))
            .or_else(|| delete_cred.value().get().and_then(Result::err))
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            navigate("/vaults", Default::default());
        }
    });

    view! {
        <Suspense fallback=|| view! { <Loading what="the vault" /> }>
            {move || Suspend::new(async move {
                let (vault, credentials) = match vault.await {
                    Ok(v) => v,
                    Err(error) => return view! { <MissingPage what="Vault" heading="Vault" error back=("/vaults", "Back to the vaults") /> }.into_any(),
                };
                let archived = vault.archived;
                let (a_id, d_id, vault_id) = (vault.id.clone(), vault.id.clone(), vault.id.clone());
                view! {
                    <Title text=vault.display_name.clone() />
                    <header class="page-header">
                        <p class="crumbs"><A href="/vaults">"Vaults"</A></p>
                        <h1>{vault.display_name.clone()} {archived.then(|| view! { " " <span class="badge">"archived"</span> })}</h1>
                        <p class="lede"><code>{vault.id.clone()}</code></p>
                        <div class="actions">
                            {(!archived).then(|| view! {
                                <Confirm label="Archive" consequence="The vault and its credentials stop being usable by new sessions."
                                    on_confirm=Callback::new(move |_| { archive.dispatch(ArchiveVault { id: a_id.clone() }); }) pending=archive.pending() />
                            })}
                            <Confirm label="Delete" consequence="The vault and every credential in it are deleted for good."
                                on_confirm=Callback::new(move |_| { delete.dispatch(DeleteVault { id: d_id.clone() }); }) pending=delete.pending() danger=true />
                        </div>
                        <InlineError error />
                    </header>
                    <section class="panel" aria-labelledby="credentials">
                        <h2 id="credentials">"Credentials"</h2>
                        {if credentials.is_empty() {
                            view! { <p class="muted">"No credentials yet. Add one below."</p> }.into_any()
                        } else {
                            view! {
                                <ul class="credentials" data-testid="credential-list">
                                    {credentials.into_iter().map(|c| view! { <CredentialRow credential=c archive=archive_cred delete=delete_cred /> }).collect_view()}
                                </ul>
                            }.into_any()
                        }}
                    </section>
                    {(!archived).then(|| view! { <CredentialForm vault_id create /> })}
                }.into_any()
            })}
        </Suspense>
    }
}

#[component]
fn CredentialRow(
    credential: CredentialItem,
    archive: ServerAction<ArchiveCredential>,
    delete: ServerAction<DeleteCredential>,
) -> impl IntoView {
    // Each row rotates on its own, so its form empties and confirms only its own rotation.
    let rotate = ServerAction::<RotateCredential>::new();
    let rotated = move || rotate.value().get().and_then(Result::ok);
    let form_ref = crate::actions::cleared_on_success(rotate, || ());
    let kind = credential.kind.clone();
    let archived = credential.archived;
    let (v1, c1) = (credential.vault_id.clone(), credential.id.clone());
    let (v2, c2) = (credential.vault_id.clone(), credential.id.clone());
    let rotate_error = Signal::derive(move || rotate.value().get().and_then(Result::err));
    view! {
        <li class="credential">
            <p>
                <strong>{credential.display_name.clone().unwrap_or_else(|| credential.description.clone())}</strong>
                {archived.then(|| view! { " " <span class="badge">"archived"</span> })}
                <br /><span class="muted">{credential.description.clone()} " · " <code>{credential.id.clone()}</code> " · updated " {format::timestamp(&credential.updated_at)}</span>
            </p>
            {(!archived).then(|| view! {
                <ActionForm action=rotate node_ref=form_ref attr:class="inline-form">
                    <input type="hidden" name="vault_id" value=credential.vault_id.clone() />
                    <input type="hidden" name="credential_id" value=credential.id.clone() />
                    <input type="hidden" name="form[kind]" value=kind.clone() />
                    <label>"New secret " <input type="password" name="form[secret]" autocomplete="off" required /></label>
                    " " <button type="submit" class="button">"Rotate"</button>
                    {move || rotated().map(|c| view! {
                        <p class="notice" role="status">{format!("Rotated at {}. The new secret is stored upstream and will not be shown again.", format::timestamp(&c.updated_at))}</p>
                    })}
                    <InlineError error=rotate_error />
                </ActionForm>
                <Confirm label="Archive" consequence="Sessions stop using this credential."
                    on_confirm=Callback::new(move |_| { archive.dispatch(ArchiveCredential { vault_id: v1.clone(), credential_id: c1.clone() }); }) pending=archive.pending() />
            })}
            <Confirm label="Delete" consequence="The credential is deleted for good."
                on_confirm=Callback::new(move |_| { delete.dispatch(DeleteCredential { vault_id: v2.clone(), credential_id: c2.clone() }); }) pending=delete.pending() danger=true />
        </li>
    }
}

#[component]
fn CredentialForm(vault_id: String, create: ServerAction<CreateCredential>) -> impl IntoView {
    let kind = RwSignal::new("static_bearer".to_owned());
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    let saved = move || create.value().get().and_then(Result::ok);
    // Clear the secret once it has been accepted. The reset puts the type back to its first
    // option; the fields shown follow it.
    let form_ref = crate::actions::cleared_on_success(create, move || kind.set("static_bearer".to_owned()));
    let show = move |k: &'static str| move || kind.get() == k;
    view! {
        <ActionForm action=create node_ref=form_ref attr:class="panel editor" attr:data-testid="credential-form">
            <h2>"Add a credential"</h2>
            <input type="hidden" name="vault_id" value=vault_id />
            <div class="fields">
                <label>"Type "
                    <select name="form[kind]" on:change=move |ev| kind.set(event_target_value(&ev))>
                        <option value="static_bearer">"Bearer token for an MCP server"</option>
                        <option value="mcp_oauth">"OAuth access token for an MCP server"</option>
                        <option value="environment_variable">"Secret substituted into outbound requests"</option>
                    </select>
                </label>
                <label>"Name (optional)" <input name="form[display_name]" maxlength="255" /></label>
                <label class:hidden=move || kind.get() == "environment_variable">"MCP server URL" <input type="url" name="form[mcp_server_url]" placeholder="https://mcp.example.com/mcp" /></label>
                <label class:hidden=move || kind.get() != "environment_variable">"Variable name" <input name="form[secret_name]" placeholder="GITHUB_TOKEN" /></label>
                <label>"Secret (write-only: never shown again)" <input type="password" name="form[secret]" autocomplete="off" required /></label>
                <label class:hidden=move || !show("mcp_oauth")()>"Token expires at (optional, RFC 3339)" <input name="form[expires_at]" placeholder="2026-12-31T00:00:00Z" /></label>
                <fieldset class:hidden=move || !show("environment_variable")()>
                    <legend>"Where the secret may go"</legend>
                    <label class="check"><input type="radio" name="form[networking]" value="unrestricted" checked=true />" Any host"</label>
                    <label class="check"><input type="radio" name="form[networking]" value="limited" />" Only these hosts:"</label>
                    <textarea name="form[allowed_hosts]" rows="2" aria-label="Allowed hosts"></textarea>
                    <label class="check"><input type="checkbox" name="form[inject_header]" checked=true />" In request headers"</label>
                    <label class="check"><input type="checkbox" name="form[inject_body]" />" In request bodies"</label>
                </fieldset>
            </div>
            {move || saved().map(|c| view! { <p class="notice" role="status">"Saved " <code>{c.id.clone()}</code> ". The secret is stored upstream and will not be shown again."</p> })}
            <InlineError error />
            <div class="actions"><button type="submit" class="button primary" disabled=move || create.pending().get()>"Add credential"</button></div>
        </ActionForm>
    }
}
