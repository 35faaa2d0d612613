//! Skills: the library (`/skills`, the workspace's own and Anthropic's, `?source=`), upload of a
//! folder or a zip with progress, and a skill's page (`/skills/{id}`) with its versions, each
//! downloadable as a zip, a new version's upload, and deletes.
//!
//! The upload forms post to the server's `/api/skills` routes even without JavaScript (a zip then;
//! a folder needs the script, which names each file by its path in the folder).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_params_map, use_query_map},
};
use protocol::common::Page;

use crate::components::table_scroll::TableScroll;
use crate::{
    api::skills::{
        DeleteSkill, DeleteSkillVersion, Shelf, SkillRow, SkillVersionRow, Uploaded, get_skill, list_skill_versions,
        list_skills,
    },
    components::{
        confirm::Confirm,
        feedback::{Failure, InlineError, Loading, MissingPage},
        list_page::{Column, ListPage},
        pager::Pager,
        upload::UploadProgress,
    },
    error::AppError,
    format::{self, query_value},
};

/// The most a skill may hold, all files together, as the server and the embedded engine take it.
const MAX_SKILL_BYTES: u64 = 8 * 1024 * 1024;

const COLUMNS: &[Column] = &[
    Column::text("Name"),
    Column::text("Id"),
    Column::text("Source"),
    Column::text("Latest version"),
    Column::text("Updated"),
];

#[component]
pub fn SkillList() -> impl IntoView {
    let query = use_query_map();
    let shelf = move || Shelf::parse(query.read().get("source").as_deref());
    let skills = Resource::new(move || (shelf(), query.read().get("page")), |(s, p)| list_skills(s, p));
    let navigate = use_navigate();
    let uploaded = Callback::new(move |u: Uploaded| {
        navigate(&format!("/skills/{}?uploaded={}", u.skill_id, query_value(&u.version_id)), Default::default());
    });
    let tab = move |which: Shelf, label: &'static str| {
        let href = if which == Shelf::Custom { "/skills".to_owned() } else { "/skills?source=anthropic".to_owned() };
        view! {
            <a href=href class="tab" aria-current=move || (shelf() == which).then_some("page")>{label}</a>
        }
    };

    view! {
        <ListPage
            title="Skills"
            lede="Folders of instructions and scripts that agents load when a task calls for them. Upload your own; pick them, or Anthropic's, in an agent's form."
            list=skills
            testid="skill-list"
            columns=COLUMNS
            row=|s| view! { <SkillLine skill=s /> }
            empty_title=Signal::derive(move || match shelf() {
                Shelf::Custom => "No skills yet",
                Shelf::Anthropic => "No Anthropic skills here",
            }.to_owned())
            empty=move || match shelf() {
                Shelf::Custom => view! {
                    <p>"Upload a folder that holds a SKILL.md (a front matter with its name and description, then its instructions), or a zip of it. Agents that name the skill find it in their sessions."</p>
                }.into_any(),
                Shelf::Anthropic => view! {
                    <p>"The upstream lists none of Anthropic's skills. Anthropic's API offers skills such as xlsx, pptx, docx and pdf; the embedded engine has none of them, so agents it runs use custom skills only."</p>
                }.into_any(),
            }
            pager_base=move || if shelf() == Shelf::Anthropic { "source=anthropic" } else { "" }.to_owned()
            first_page=move || query.read_untracked().get("page").is_none()
        >
            {move || query.read().get("error").map(|e| view! { <p class="inline-error" role="alert">{e}</p> })}
            <SkillUploader skill_id=None on_done=uploaded />
            <nav class="tabs" aria-label="Skill sources">{tab(Shelf::Custom, "Custom")} {tab(Shelf::Anthropic, "Anthropic's")}</nav>
        </ListPage>
    }
}

#[component]
fn SkillLine(skill: SkillRow) -> impl IntoView {
    view! {
        <tr>
            <td><a href=format!("/skills/{}", skill.id)>{skill.display_name.clone()}</a></td>
            <td><code>{skill.id.clone()}</code></td>
            <td>{skill.source.clone()}</td>
            <td><code>{skill.latest_version_id.clone()}</code></td>
            <td><time datetime=skill.updated_at.clone()>{format::timestamp(&skill.updated_at)}</time></td>
        </tr>
    }
}

#[component]
pub fn SkillDetail() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let delete = ServerAction::<DeleteSkill>::new();
    let delete_version = ServerAction::<DeleteSkillVersion>::new();
    let version_deleted = crate::actions::successes(delete_version);
    let added = RwSignal::new(0u32);
    let skill = Resource::new(move || (id(), version_deleted.get(), added.get()), |(id, ..)| get_skill(id));
    let versions = Resource::new(
        move || (id(), query.read().get("page"), version_deleted.get(), added.get()),
        |(id, page, ..)| list_skill_versions(id, page),
    );
    let error = Signal::derive(move || {
        delete.value().get().and_then(Result::err).or_else(|| delete_version.value().get().and_then(Result::err))
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            navigate("/skills", Default::default());
        }
    });
    let notice = move || {
        let q = query.read();
        if let Some(error) = q.get("error") {
            Some(view! { <p class="inline-error" role="alert">{error}</p> }.into_any())
        } else {
            q.get("uploaded").map(|v| {
                view! { <p class="notice" role="status">"Uploaded version " <code>{v}</code> "."</p> }.into_any()
            })
        }
    };
    let version_added = Callback::new(move |_: Uploaded| added.update(|n| *n += 1));

    view! {
        <Suspense fallback=|| view! { <Loading what="the skill" /> }>
            {move || Suspend::new(async move {
                let skill = match skill.await {
                    Ok(s) => s,
                    Err(error) => return view! { <MissingPage what="Skill" heading="Skill" error back=("/skills", "Back to the skills") /> }.into_any(),
                };
                let skill_id = skill.id.clone();
                view! {
                    {skill_header(&skill, delete)}
                    {notice}
                    <InlineError error />
                    {skill.custom.then(|| view! { <SkillUploader skill_id=Some(skill_id.clone()) on_done=version_added /> })}
                    <section class="panel">
                        <h2>"Versions"</h2>
                        {skill_versions(&skill, versions, delete_version, query)}
                    </section>
                }.into_any()
            })}
        </Suspense>
    }
}

/// A skill's title and header: its id, source and dates, Use it in a new agent, and Delete.
fn skill_header(skill: &SkillRow, delete: ServerAction<DeleteSkill>) -> impl IntoView + use<> {
    let delete_id = skill.id.clone();
    view! {
        <Title text=skill.display_name.clone() />
        <header class="page-header">
            <p class="crumbs"><A href="/skills">"Skills"</A></p>
            <h1>{skill.display_name.clone()}</h1>
            <p class="lede"><code>{skill.id.clone()}</code> " · " {skill.source.clone()} " · created " {format::timestamp(&skill.created_at)} " · updated " {format::timestamp(&skill.updated_at)}</p>
            <div class="actions">
                <a class="button secondary" href=format!("/agents/new?skill={}", query_value(&skill.id))>"Use it in a new agent"</a>
                {skill.custom.then(|| view! {
                    <Confirm label="Delete the skill" consequence="The skill and every version of it are deleted. Agents that name it can no longer start sessions until it is removed from them."
                        on_confirm=Callback::new(move |_| { delete.dispatch(DeleteSkill { id: delete_id.clone() }); }) pending=delete.pending() danger=true />
                })}
            </div>
        </header>
    }
}

/// A skill's versions, a page at a time, each with Download (and Delete while it has others).
fn skill_versions(
    skill: &SkillRow,
    versions: Resource<Result<Page<SkillVersionRow>, AppError>>,
    delete_version: ServerAction<DeleteSkillVersion>,
    query: Memo<leptos_router::params::ParamsMap>,
) -> impl IntoView + use<> {
    let (latest, skill_id, custom) = (skill.latest_version_id.clone(), skill.id.clone(), skill.custom);
    view! {
        <Transition fallback=|| view! { <Loading what="the versions" /> }>
            {move || {
                let (latest, skill_id) = (latest.clone(), skill_id.clone());
                Suspend::new(async move {
                    match versions.await {
                        Err(error) => view! { <Failure error /> }.into_any(),
                        Ok(page) => {
                            // A skill always holds a version: its only one goes with the skill.
                            let several = page.data.len() > 1 || page.next_page.is_some();
                            let deletable = custom && several;
                            view! {
                            <TableScroll label="Versions">
                                <table class="list" data-testid="skill-versions">
                                    <thead><tr><th scope="col">"Version"</th><th scope="col">"Name"</th><th scope="col">"Description"</th><th scope="col">"Uploaded"</th><th scope="col">"Actions"</th></tr></thead>
                                    <tbody>
                                        {page.data.into_iter().map(|v| skill_version_row(v, &latest, &skill_id, deletable, delete_version)).collect_view()}
                                    </tbody>
                                </table>
                            </TableScroll>
                            <Pager base="" next=page.next_page on_first=query.read_untracked().get("page").is_none() />
                            }.into_any()
                        }
                    }
                })
            }}
        </Transition>
    }
}

/// One version of a skill: its id (and whether it is the latest), name, description, upload,
/// Download, and Delete when `deletable`.
fn skill_version_row(
    v: SkillVersionRow,
    latest: &str,
    skill_id: &str,
    deletable: bool,
    delete_version: ServerAction<DeleteSkillVersion>,
) -> impl IntoView + use<> {
    let is_latest = v.id == latest;
    let download = format!("/api/skills/{}/versions/{}/content", skill_id, v.id);
    let (sid, vid) = (skill_id.to_owned(), v.id.clone());
    view! {
        <tr>
            <td><code>{v.id.clone()}</code> {is_latest.then(|| view! { " " <span class="badge">"latest"</span> })}</td>
            <td><code>{v.name.clone()}</code></td>
            <td>{v.description.clone()}</td>
            <td><time datetime=v.created_at.clone()>{format::timestamp(&v.created_at)}</time></td>
            <td>
                <a href=download download=format!("{}.zip", v.name)>"Download"</a>
                {deletable.then(|| view! {
                    " " <Confirm label="Delete" consequence=if is_latest {
                            "This version is deleted and the one before it becomes the latest, for agents that use the latest."
                        } else {
                            "This version is deleted; agents pinned to it can no longer start sessions."
                        }
                        on_confirm=Callback::new(move |_| { delete_version.dispatch(DeleteSkillVersion { id: sid.clone(), version: vid.clone() }); })
                        pending=delete_version.pending() danger=true />
                })}
            </td>
        </tr>
    }
}

/// The upload form: a folder (each file sent with its path in it) or a zip, for a new skill
/// (`skill_id` none) or a new version of one.
#[component]
fn SkillUploader(skill_id: Option<String>, on_done: Callback<Uploaded>) -> impl IntoView {
    let progress = RwSignal::new(None::<f64>);
    let error = RwSignal::new(None::<AppError>);
    let action = match &skill_id {
        Some(id) => format!("/api/skills/{id}/versions"),
        None => "/api/skills".to_owned(),
    };
    let new_skill = skill_id.is_none();
    #[cfg(not(feature = "hydrate"))]
    let _ = on_done;
    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    let target = action.clone();
    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        #[cfg(feature = "hydrate")]
        match send::form_of(&ev) {
            Ok(form) => crate::components::upload::send_form(&target, &form, progress, move |outcome| match outcome {
                Ok(uploaded) => on_done.run(uploaded),
                Err(e) => {
                    error.try_set(Some(e));
                }
            }),
            Err(e) => error.set(Some(e)),
        }
    };

    view! {
        <form class="panel upload" method="post" action=action enctype="multipart/form-data" on:submit=on_submit data-testid="skill-upload">
            <h2>{if new_skill { "Upload a skill" } else { "Upload a new version" }}</h2>
            <p class="muted">{format!(
                "Choose the skill's folder (the one holding SKILL.md) or a zip of it; up to {} in all.{}",
                format::bytes(MAX_SKILL_BYTES),
                if new_skill { "" } else { " Its SKILL.md must keep the skill's name." }
            )}</p>
            <label>"Folder " <input type="file" name="files[]" multiple webkitdirectory="" data-testid="skill-folder" /></label>
            " " <label>"or a zip " <input type="file" name="zip" accept=".zip,application/zip" data-testid="skill-zip" /></label>
            {new_skill.then(|| view! {
                " " <label>"Display name " <input name="display_name" maxlength="255" placeholder="SKILL.md's name" /></label>
            })}
            " " <button type="submit" class="button primary" disabled=move || progress.get().is_some()>"Upload"</button>
            <UploadProgress progress />
            {move || error.get().map(|e| view! { <p class="inline-error" role="alert">{e.to_string()}</p> })}
        </form>
    }
}

#[cfg(feature = "hydrate")]
mod send {
    use wasm_bindgen::{JsCast, JsValue};

    use super::MAX_SKILL_BYTES;
    use crate::{error::AppError, format};

    /// The form data of the upload form: each file of the folder named by its path in it, or the
    /// zip, and the display name. Refuses nothing chosen, both, or too much before a byte is sent.
    pub fn form_of(ev: &leptos::ev::SubmitEvent) -> Result<web_sys::FormData, AppError> {
        let broken = || AppError::bad_input("files", "This browser could not read the chosen files.");
        let form: web_sys::HtmlFormElement = ev.target().and_then(|t| t.dyn_into().ok()).ok_or_else(broken)?;
        let input = |selector: &str| -> Option<web_sys::HtmlInputElement> {
            form.query_selector(selector).ok().flatten().and_then(|e| e.dyn_into().ok())
        };
        let files = |selector: &str| -> Vec<web_sys::File> {
            let Some(list) = input(selector).and_then(|i| i.files()) else { return Vec::new() };
            (0..list.length()).filter_map(|i| list.get(i)).collect()
        };
        let (folder, zip) = (files("input[name='files[]']"), files("input[name=zip]"));
        let total: f64 = folder.iter().chain(zip.iter()).map(|f| f.size()).sum();
        if folder.is_empty() && zip.is_empty() {
            return Err(AppError::bad_input(
                "files",
                "Choose the skill's folder (the one holding SKILL.md), or a zip of it.",
            ));
        }
        if !folder.is_empty() && !zip.is_empty() {
            return Err(AppError::bad_input("files", "Choose a folder or a zip, not both."));
        }
        if total > MAX_SKILL_BYTES as f64 {
            return Err(AppError::bad_input(
                "files",
                format!(
                    "These files come to {}, over the {} a skill may hold. Leave out what the skill does not need.",
                    format::bytes(total as u64),
                    format::bytes(MAX_SKILL_BYTES)
                ),
            ));
        }
        let data = web_sys::FormData::new().map_err(|_| broken())?;
        for file in &folder {
            // `webkitRelativePath` is `my-skill/SKILL.md` for a file of a chosen folder.
            let path = js_sys::Reflect::get(file, &JsValue::from_str("webkitRelativePath"))
                .ok()
                .and_then(|v| v.as_string())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| file.name());
            data.append_with_blob_and_filename("files[]", file, &path).map_err(|_| broken())?;
        }
        for file in &zip {
            data.append_with_blob_and_filename("zip", file, &file.name()).map_err(|_| broken())?;
        }
        if let Some(name) = input("input[name=display_name]").map(|i| i.value()).filter(|v| !v.trim().is_empty()) {
            data.append_with_str("display_name", &name).map_err(|_| broken())?;
        }
        Ok(data)
    }
}
