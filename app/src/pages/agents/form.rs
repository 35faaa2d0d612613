//! The agent editor: a form and a raw JSON tab over one draft, always in sync, with the exact
//! request shown before it is sent.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_params_map, use_query_map},
};
use serde_json::Value;

use crate::components::table_scroll::TableScroll;
use crate::{
    api::{
        agents::{CreateAgent, McpToolChoice, UpdateAgent, get_agent_definition, list_mcp_tools},
        models::{ModelChoice, default_model, find, list_models},
        skills::{SkillChoice, list_skill_choices},
    },
    components::feedback::{Failure, InlineError, Loading, MissingPage},
    drafts::{
        DraftError,
        agent::{AgentDraft, BuiltinToolset, CustomToolDraft, McpServerDraft, McpToolDraft, POLICIES, SkillDraft},
    },
    error::AppError,
};

/// `/agents/new`.
#[component]
pub fn AgentNew() -> impl IntoView {
    // `?skill=` (from a skill's page) starts the agent with that skill.
    let mut initial = AgentDraft::new_agent();
    if let Some(id) = use_query_map().read_untracked().get("skill").filter(|id| crate::api::is_id(id)) {
        let kind = if id.starts_with("skill_") { "custom" } else { "anthropic" };
        initial.skills.push(SkillDraft { kind: kind.into(), skill_id: id, ..Default::default() });
    }
    let (skills, models) = library();
    view! {
        <Title text="New agent" />
        <header class="page-header">
            <p class="crumbs"><A href="/agents">"Agents"</A></p>
            <h1>"New agent"</h1>
        </header>
        <Suspense fallback=|| view! { <Loading what="the models and the skill library" /> }>
            {move || {
                let mut initial = initial.clone();
                Suspend::new(async move {
                    let library = Library { skills: skills.await, models: models.await };
                    // A new agent starts on a current model of the upstream's.
                    if let Some(model) = library.models.as_deref().ok().and_then(default_model) {
                        initial.model = model.to_owned();
                    }
                    view! { <AgentEditor initial agent_id=None base_version=None library /> }
                })
            }}
        </Suspense>
    }
}

/// What the form's pickers offer: the skills and the models, each with why it could not be
/// listed.
#[derive(Clone)]
struct Library {
    skills: Result<Vec<SkillChoice>, AppError>,
    models: Result<Vec<ModelChoice>, AppError>,
}

type Listed<T> = Resource<Result<Vec<T>, AppError>>;

/// The skill library and the models, loaded by the page itself, next to the agent: a resource
/// created inside the editor (under the page's own `Suspense`) made hydration fail now and then,
/// depending on which of the two the server finished first.
fn library() -> (Listed<SkillChoice>, Listed<ModelChoice>) {
    (Resource::new(|| (), |_| list_skill_choices()), Resource::new(|| (), |_| list_models()))
}

/// `/agents/{id}/edit`: edits the current version into a new one.
#[component]
pub fn AgentEdit() -> impl IntoView {
    let params = use_params_map();
    let agent = Resource::new(move || params.read().get("id").unwrap_or_default(), get_agent_definition);
    let (skills, models) = library();
    view! {
        <Suspense fallback=|| view! { <Loading what="the agent" /> }>
            {move || Suspend::new(async move {
                let (agent, skills, models) = (agent.await, skills.await, models.await);
                let library = Library { skills, models };
                match agent {
                    Err(error) => view! { <MissingPage what="Agent" heading="Edit agent" error back=("/agents", "Back to the agents") /> }.into_any(),
                    Ok(agent) => {
                        let title = format!("Edit {}", agent.name);
                        match AgentDraft::from_request(&agent.definition) {
                            Ok(draft) => view! {
                                <Title text=title.clone() />
                                <header class="page-header">
                                    <p class="crumbs"><A href="/agents">"Agents"</A> " / " <A href=format!("/agents/{}", agent.id)>{agent.name.clone()}</A></p>
                                    <h1>{title}</h1>
                                    <p class="lede">{format!("Saving creates version {}. Version {} stays as it is.", agent.version + 1, agent.version)}</p>
                                </header>
                                <AgentEditor initial=draft agent_id=Some(agent.id.clone()) base_version=Some(agent.version) library />
                            }.into_any(),
                            Err(e) => view! {
                                <Failure error=AppError::from(e) back=(format!("/agents/{}", agent.id), "Back to the agent".to_owned()) />
                            }.into_any(),
                        }
                    }
                }
            })}
        </Suspense>
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Form,
    Json,
}

/// The editor's one draft, shown as the form or as raw JSON, and the request it makes.
#[derive(Clone, Copy)]
struct EditorDraft {
    draft: RwSignal<AgentDraft>,
    tab: RwSignal<Tab>,
    /// The raw JSON tab's text, and what is wrong with it.
    raw: RwSignal<String>,
    raw_error: RwSignal<Option<String>>,
    request: Memo<Result<Value, DraftError>>,
}

impl EditorDraft {
    fn new(initial: AgentDraft) -> Self {
        let draft = RwSignal::new(initial);
        EditorDraft {
            draft,
            tab: RwSignal::new(Tab::Form),
            raw: RwSignal::new(String::new()),
            raw_error: RwSignal::new(None::<String>),
            request: Memo::new(move |_| draft.with(AgentDraft::to_request)),
        }
    }

    /// Opens the raw JSON tab with the form's request in it (or, while the form has a problem,
    /// the last JSON with the problem said).
    fn show_json(self) {
        let EditorDraft { tab, raw, raw_error, request, .. } = self;
        let text = match request.get() {
            Ok(body) => serde_json::to_string_pretty(&body).unwrap_or_default(),
            Err(_) => raw.get_untracked(),
        };
        raw.set(text);
        raw_error.set(
            request.get().err().map(|e| format!("The form has a problem: {} Fix it here or in the form.", e.message)),
        );
        tab.set(Tab::Json);
    }

    /// Takes what was typed in the raw JSON tab: into the form when it is a valid definition.
    fn take_raw(self, text: String) {
        let EditorDraft { draft, raw, raw_error, .. } = self;
        raw.set(text.clone());
        match serde_json::from_str::<Value>(&text) {
            Err(e) => raw_error.set(Some(format!(
                "Not valid JSON: line {}, column {}. The form keeps its last valid state.",
                e.line(),
                e.column()
            ))),
            Ok(value) => match AgentDraft::from_request(&value) {
                Ok(parsed) => {
                    raw_error.set(None);
                    draft.set(parsed);
                }
                Err(e) => raw_error.set(Some(e.message)),
            },
        }
    }

    /// The definition to send, or why it cannot be sent yet.
    fn definition(self) -> Result<String, AppError> {
        if self.tab.get_untracked() == Tab::Json && self.raw_error.get_untracked().is_some() {
            return Err(AppError::bad_input(
                "json",
                "The raw JSON has a problem (shown above it); fix it before saving.",
            ));
        }
        let body = self.draft.with_untracked(AgentDraft::to_request)?;
        Ok(serde_json::to_string(&body).unwrap_or_default())
    }

    /// The request's body as it would be sent, with the version it replaces.
    fn preview(self, base_version: Option<u64>) -> String {
        match self.request.get() {
            Ok(mut body) => {
                if let Some(v) = base_version {
                    body["version"] = serde_json::json!(v);
                }
                serde_json::to_string_pretty(&body).unwrap_or_default()
            }
            Err(e) => format!("(not sendable yet: {})", e.message),
        }
    }
}

#[component]
fn AgentEditor(
    initial: AgentDraft,
    agent_id: Option<String>,
    base_version: Option<u64>,
    library: Library,
) -> impl IntoView {
    let state = EditorDraft::new(initial);
    let library = StoredValue::new(library);
    let base_version = RwSignal::new(base_version);
    let create = ServerAction::<CreateAgent>::new();
    let update = ServerAction::<UpdateAgent>::new();
    let local_error = RwSignal::new(None::<AppError>);
    let server_error = Signal::derive(move || {
        create.value().get().and_then(Result::err).or_else(|| update.value().get().and_then(Result::err))
    });
    let pending = Signal::derive(move || create.pending().get() || update.pending().get());
    // The form is driven by the page's script; until it runs, saving is off (a plain submit would
    // put the definition in the URL and save nothing).
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let editing = agent_id.clone();
    go_to_saved_agent(create, update);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        local_error.set(None);
        let definition = match state.definition() {
            Ok(definition) => definition,
            Err(e) => return local_error.set(Some(e)),
        };
        match (&editing, base_version.get_untracked()) {
            (Some(id), Some(version)) => {
                update.dispatch(UpdateAgent { id: id.clone(), version, definition });
            }
            _ => {
                create.dispatch(CreateAgent { definition });
            }
        }
    };

    let method_line = match &agent_id {
        Some(id) => format!("POST /v1/agents/{id}"),
        None => "POST /v1/agents".to_owned(),
    };
    let conflict = move || {
        let error = server_error.get()?;
        let current = error.field.as_deref()?.strip_prefix("version:")?.parse::<u64>().ok()?;
        Some((current, base_version.get()?))
    };
    let agent_link = agent_id.clone();

    view! {
        <form class="panel editor" method="post" on:submit=submit novalidate>
            {editor_tabs(state)}
            <Show when=move || state.tab.get() == Tab::Form fallback=move || raw_json_panel(state)>
                <FormFields draft=state.draft library />
            </Show>

            <details class="request">
                <summary>"The exact request"</summary>
                <pre class="json" data-testid="request-preview">{method_line.clone()} "\n" {move || state.preview(base_version.get())}</pre>
            </details>

            {move || local_error.get().map(|e| view! { <p class="inline-error" role="alert">{e.to_string()}</p> })}
            <InlineError error=server_error />
            {move || conflict().map(|(current, mine)| version_conflict(agent_link.clone().unwrap_or_default(), mine, current, base_version))}
            <div class="actions">
                <button type="submit" class="button primary" disabled=move || pending.get() || !hydrated.get()>
                    {move || if pending.get() { "Saving…" } else if agent_id.is_some() { "Save as a new version" } else { "Create agent" }}
                </button>
            </div>
        </form>
    }
    .into_any()
}

/// After a successful save, goes to the agent.
fn go_to_saved_agent(create: ServerAction<CreateAgent>, update: ServerAction<UpdateAgent>) {
    let navigate = use_navigate();
    Effect::new(move |_| {
        let saved = create.value().get().and_then(Result::ok).or_else(|| update.value().get().and_then(Result::ok));
        if let Some(agent) = saved {
            navigate(&format!("/agents/{}", agent.id), Default::default());
        }
    });
}

/// The editor's two tabs: the form, and the raw JSON.
fn editor_tabs(state: EditorDraft) -> impl IntoView {
    let tab = state.tab;
    view! {
        <div class="tabs" role="tablist" aria-label="Edit as">
            <button type="button" role="tab" aria-selected=move || (tab.get() == Tab::Form).to_string() on:click=move |_| tab.set(Tab::Form)>"Form"</button>
            <button type="button" role="tab" aria-selected=move || (tab.get() == Tab::Json).to_string() on:click=move |_| state.show_json()>"Raw JSON"</button>
        </div>
    }
}

/// The raw JSON tab: the request body to edit, and what is wrong with it.
fn raw_json_panel(state: EditorDraft) -> impl IntoView {
    let EditorDraft { raw, raw_error, .. } = state;
    view! {
        <div role="tabpanel">
            <label for="raw-json">"The agent definition as JSON (the request body)"</label>
            <textarea id="raw-json" class="code" rows="24" spellcheck="false" prop:value=move || raw.get() on:input=move |ev| state.take_raw(event_target_value(&ev))></textarea>
            {move || raw_error.get().map(|e| view! { <p class="inline-error" role="alert">{e}</p> })}
        </div>
    }
}

/// Someone saved the agent since this form was opened: what changed, and saving over it.
fn version_conflict(id: String, mine: u64, current: u64, base_version: RwSignal<Option<u64>>) -> impl IntoView {
    view! {
        <div class="notice" role="status">
            <a href=format!("/agents/{id}?from={mine}&to={current}") target="_blank">{format!("See what changed between version {mine} and version {current}")}</a>
            " · "
            <button type="button" class="button secondary" on:click=move |_| base_version.set(Some(current))>
                {format!("Save my form over version {current}")}
            </button>
        </div>
    }
}

/// A text input bound to one field of the draft.
fn bind(
    draft: RwSignal<AgentDraft>,
    get: fn(&AgentDraft) -> &String,
    set: fn(&mut AgentDraft, String),
) -> (impl Fn() -> String + Copy, impl Fn(leptos::ev::Event) + Copy) {
    (move || draft.with(|d| get(d).clone()), move |ev| draft.update(|d| set(d, event_target_value(&ev))))
}

#[component]
fn FormFields(draft: RwSignal<AgentDraft>, library: StoredValue<Library>) -> impl IntoView {
    let (name, set_name) = bind(draft, |d| &d.name, |d, v| d.name = v);
    let (description, set_description) = bind(draft, |d| &d.description, |d, v| d.description = v);
    let (system, set_system) = bind(draft, |d| &d.system, |d, v| d.system = v);
    let has_builtin = move || draft.with(|d| d.builtin.is_some());

    view! {
        <div role="tabpanel" class="fields">
            <label>"Name" <input name="name" required value=name prop:value=name on:input=set_name /></label>
            <ModelPick draft library />
            <label>"Description" <input name="description" value=description prop:value=description on:input=set_description /></label>
            <label>"System prompt" <textarea name="system" rows="8" prop:value=system on:input=set_system>{system}</textarea></label>

            <fieldset>
                <legend>"Built-in tools"</legend>
                <label class="check">
                    <input type="checkbox" prop:checked=has_builtin on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        draft.update(|d| d.builtin = on.then(BuiltinToolset::all_enabled));
                    } />
                    " The agent has the built-in toolset (bash, files, web)"
                </label>
                <Show when=has_builtin>
                    <label>"Permission policy for every tool "
                        <PolicySelect
                            value=Signal::derive(move || draft.with(|d| d.builtin.as_ref().map(|b| b.default_policy.clone()).unwrap_or_default()))
                            on_change=Callback::new(move |v: String| draft.update(|d| if let Some(b) = &mut d.builtin { b.default_policy = v }))
                            inherit=false
                        />
                    </label>
                    <TableScroll label="Built-in tools">
                        <table class="list compact">
                            <thead><tr><th scope="col">"Tool"</th><th scope="col">"Enabled"</th><th scope="col">"Policy"</th></tr></thead>
                            <tbody>
                                {crate::drafts::agent::BUILTIN_TOOLS.iter().enumerate().map(|(i, name)| {
                                    let enabled = move || draft.with(|d| d.builtin.as_ref().is_some_and(|b| b.tools[i].enabled));
                                    view! {
                                        <tr>
                                            <td><code>{*name}</code></td>
                                            <td><input type="checkbox" aria-label=format!("Enable {name}") prop:checked=enabled on:change=move |ev| {
                                                let on = event_target_checked(&ev);
                                                draft.update(|d| if let Some(b) = &mut d.builtin { b.tools[i].enabled = on });
                                            } /></td>
                                            <td><PolicySelect
                                                value=Signal::derive(move || draft.with(|d| d.builtin.as_ref().and_then(|b| b.tools[i].policy.clone()).unwrap_or_default()))
                                                on_change=Callback::new(move |v: String| draft.update(|d| if let Some(b) = &mut d.builtin { b.tools[i].policy = (!v.is_empty()).then_some(v) }))
                                                inherit=true
                                                label=format!("Policy for {name}")
                                            /></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </TableScroll>
                </Show>
            </fieldset>

            <CustomTools draft />
            <McpServers draft />
            <Skills draft library />
            <Metadata draft />
        </div>
    }
    .into_any()
}

#[component]
fn PolicySelect(
    value: Signal<String>,
    on_change: Callback<String>,
    inherit: bool,
    #[prop(optional, into)] label: Option<String>,
) -> impl IntoView {
    view! {
        <select aria-label=label on:change=move |ev| on_change.run(event_target_value(&ev)) prop:value=move || value.get()>
            {inherit.then(|| view! { <option value="">"Toolset default"</option> })}
            {POLICIES.iter().map(|(value_, text)| view! { <option value=*value_>{*text}</option> }).collect_view()}
        </select>
    }
}

/// Rows keyed by index: typing in a row does not rebuild the list, so focus stays put.
fn rows(draft: RwSignal<AgentDraft>, len: fn(&AgentDraft) -> usize) -> impl Fn() -> Vec<usize> + Copy {
    move || (0..draft.with(len)).collect()
}

#[component]
fn CustomTools(draft: RwSignal<AgentDraft>) -> impl IntoView {
    let each = rows(draft, |d| d.custom_tools.len());
    let error = move |i: usize| {
        draft.with(|d| {
            let tool = d.custom_tools.get(i)?;
            crate::drafts::agent::input_schema(&tool.input_schema).err()
        })
    };
    view! {
        <fieldset>
            <legend>"Custom tools"</legend>
            <p class="muted">"Tools your own code answers. The session pauses until a result is sent."</p>
            <For each=each key=|i| *i let:i>
                <div class="row-group" data-testid="custom-tool">
                    <label>"Tool name" <input prop:value=move || draft.with(|d| d.custom_tools.get(i).map(|t| t.name.clone()).unwrap_or_default())
                        on:input=move |ev| draft.update(|d| if let Some(t) = d.custom_tools.get_mut(i) { t.name = event_target_value(&ev) }) /></label>
                    <label>"When to use it" <input prop:value=move || draft.with(|d| d.custom_tools.get(i).map(|t| t.description.clone()).unwrap_or_default())
                        on:input=move |ev| draft.update(|d| if let Some(t) = d.custom_tools.get_mut(i) { t.description = event_target_value(&ev) }) /></label>
                    <label>"Input schema (JSON Schema of an object)"
                        <textarea class="code" rows="5" spellcheck="false" aria-invalid=move || error(i).is_some().to_string()
                            prop:value=move || draft.with(|d| d.custom_tools.get(i).map(|t| t.input_schema.clone()).unwrap_or_default())
                            on:input=move |ev| draft.update(|d| if let Some(t) = d.custom_tools.get_mut(i) { t.input_schema = event_target_value(&ev) })></textarea>
                    </label>
                    {move || error(i).map(|e| view! { <p class="inline-error" role="alert">{format!("Input schema: {e}")}</p> })}
                    <button type="button" class="button secondary" on:click=move |_| draft.update(|d| { if i < d.custom_tools.len() { d.custom_tools.remove(i); } })>"Remove this tool"</button>
                </div>
            </For>
            <button type="button" class="button secondary" on:click=move |_| draft.update(|d| d.custom_tools.push(CustomToolDraft {
                input_schema: "{\n  \"type\": \"object\",\n  \"properties\": {}\n}".to_owned(),
                ..Default::default()
            }))>"Add a custom tool"</button>
        </fieldset>
    }
    .into_any()
}

#[component]
fn McpServers(draft: RwSignal<AgentDraft>) -> impl IntoView {
    let each = rows(draft, |d| d.mcp_servers.len());
    view! {
        <fieldset>
            <legend>"MCP servers"</legend>
            <p class="muted">"Credentials come from vaults, matched by URL when a session starts."</p>
            <For each=each key=|i| *i let:i>
                <div class="row-group">
                    <label>"Server name" <input prop:value=move || draft.with(|d| d.mcp_servers.get(i).map(|s| s.name.clone()).unwrap_or_default())
                        on:input=move |ev| draft.update(|d| if let Some(s) = d.mcp_servers.get_mut(i) { s.name = event_target_value(&ev) }) /></label>
                    <label>"URL" <input type="url" prop:value=move || draft.with(|d| d.mcp_servers.get(i).map(|s| s.url.clone()).unwrap_or_default())
                        on:input=move |ev| draft.update(|d| if let Some(s) = d.mcp_servers.get_mut(i) { s.url = event_target_value(&ev) }) /></label>
                    <label>"Its tools' policy "
                        <PolicySelect
                            value=Signal::derive(move || draft.with(|d| d.mcp_servers.get(i).map(|s| s.policy.clone()).unwrap_or_default()))
                            on_change=Callback::new(move |v: String| draft.update(|d| if let Some(s) = d.mcp_servers.get_mut(i) { s.policy = v }))
                            inherit=false
                        />
                    </label>
                    <McpServerTools draft i />
                    <button type="button" class="button secondary" on:click=move |_| draft.update(|d| { if i < d.mcp_servers.len() { d.mcp_servers.remove(i); } })>"Remove this server"</button>
                </div>
            </For>
            <button type="button" class="button secondary" on:click=move |_| draft.update(|d| d.mcp_servers.push(McpServerDraft { policy: "always_ask".into(), ..Default::default() }))>"Add an MCP server"</button>
        </fieldset>
    }
    .into_any()
}

/// One MCP server's tools with settings of their own: each on or off, with the server's policy or
/// its own. Read from the server when it answers without a credential; typed otherwise.
#[component]
fn McpServerTools(draft: RwSignal<AgentDraft>, i: usize) -> impl IntoView {
    let each = move || (0..draft.with(|d| d.mcp_servers.get(i).map_or(0, |s| s.tools.len()))).collect::<Vec<_>>();
    let read = Action::new(|url: &String| list_mcp_tools(url.clone()));
    let listed = RwSignal::new(Vec::<McpToolChoice>::new());
    // Tools the server listed join the rows, on, with the server's policy.
    Effect::new(move |_| {
        if let Some(Ok(tools)) = read.value().get() {
            draft.update(|d| {
                let Some(server) = d.mcp_servers.get_mut(i) else { return };
                for tool in &tools {
                    if !server.tools.iter().any(|t| t.name == tool.name) {
                        server.tools.push(McpToolDraft { name: tool.name.clone(), enabled: true, policy: None });
                    }
                }
            });
            listed.set(tools);
        }
    });
    let status = move || {
        match read.value().get() {
        _ if read.pending().get() => Some(view! { <p class="muted" role="status">"Reading the server's tools…"</p> }.into_any()),
        Some(Ok(tools)) if tools.is_empty() => Some(view! { <p class="muted" role="status">"The server lists no tools."</p> }.into_any()),
        Some(Ok(tools)) => Some(view! { <p class="muted" role="status">{format!("The server lists {} tool(s); each is below.", tools.len())}</p> }.into_any()),
        Some(Err(error)) => Some(view! { <p class="inline-error" role="alert">{error.message}</p> }.into_any()),
        None => None,
    }
    };
    let tool_text = move |j: usize, f: fn(&McpToolDraft) -> String| {
        draft.with(|d| d.mcp_servers.get(i).and_then(|s| s.tools.get(j)).map(f).unwrap_or_default())
    };
    let edit = move |j: usize, f: &dyn Fn(&mut McpToolDraft)| {
        draft.update(|d| {
            if let Some(tool) = d.mcp_servers.get_mut(i).and_then(|s| s.tools.get_mut(j)) {
                f(tool);
            }
        })
    };
    let list_id = format!("mcp-tools-{i}");
    view! {
        <div class="mcp-tools" data-testid="mcp-tools">
            <p class="muted">"Each tool is on with the server's policy unless set here."</p>
            <datalist id=list_id.clone()>
                {move || listed.get().into_iter().map(|t| view! { <option value=t.name.clone()>{t.description}</option> }).collect_view()}
            </datalist>
            <For each=each key=|j| *j let:j>
                <div class="row-group inline" data-testid="mcp-tool">
                    <label>"Tool" <input list=list_id.clone() prop:value=move || tool_text(j, |t| t.name.clone())
                        on:input=move |ev| { let v = event_target_value(&ev); edit(j, &|t| t.name = v.clone()) } /></label>
                    <label><input type="checkbox" prop:checked=move || tool_text(j, |t| t.enabled.to_string()) == "true"
                        on:change=move |ev| { let on = event_target_checked(&ev); edit(j, &|t| t.enabled = on) } />" On"</label>
                    <PolicySelect
                        label=format!("Policy of tool {}", j + 1)
                        value=Signal::derive(move || tool_text(j, |t| t.policy.clone().unwrap_or_default()))
                        on_change=Callback::new(move |v: String| edit(j, &|t| t.policy = Some(v.clone()).filter(|p| !p.is_empty())))
                        inherit=true
                    />
                    <button type="button" class="button secondary" on:click=move |_| draft.update(|d| {
                        if let Some(s) = d.mcp_servers.get_mut(i) && j < s.tools.len() { s.tools.remove(j); }
                    })>"Remove"</button>
                </div>
            </For>
            <div class="inline-form">
                <button type="button" class="button secondary" disabled=move || read.pending().get()
                    on:click=move |_| { read.dispatch(draft.with(|d| d.mcp_servers.get(i).map(|s| s.url.clone()).unwrap_or_default())); }>
                    "Read tools from the server"</button>
                <button type="button" class="button secondary" on:click=move |_| draft.update(|d| if let Some(s) = d.mcp_servers.get_mut(i) {
                    s.tools.push(McpToolDraft { enabled: true, ..Default::default() });
                })>"Add a tool"</button>
            </div>
            {status}
        </div>
    }
    .into_any()
}

/// The model: picked from the upstream's list, each with its lifecycle, with a warning when the
/// chosen one is deprecated or retiring; typed when the list cannot be had.
#[component]
fn ModelPick(draft: RwSignal<AgentDraft>, library: StoredValue<Library>) -> impl IntoView {
    let (model, set_model) = bind(draft, |d| &d.model, |d, v| d.model = v);
    let models = library.with_value(|l| l.models.clone());
    let scripted_hint = view! {
        <p class="muted" id="model-hint"><code>"scripted"</code>" is the embedded engine's own model: a JSON script in the system prompt plays it."</p>
    };
    match models {
        Ok(models) if !models.is_empty() => {
            let listed = StoredValue::new(models);
            let warning = move || {
                let id = model();
                listed.with_value(|m| find(m, &id).and_then(ModelChoice::warning)).map(|warning| (id, warning))
            };
            let options = move || {
                let current = model();
                let mut options: Vec<(String, String)> =
                    listed.with_value(|m| m.iter().map(|m| (m.id.clone(), m.label())).collect());
                if !current.is_empty() && !options.iter().any(|(id, _)| *id == current) {
                    options.insert(0, (current.clone(), format!("{current} (not listed by the API)")));
                }
                options
                    .into_iter()
                    .map(|(id, label)| {
                        let selected = id == current;
                        view! { <option value=id selected=selected>{label}</option> }
                    })
                    .collect_view()
            };
            view! {
                <label>"Model"
                    <select name="model" aria-label="Model" required prop:value=model on:change=set_model aria-describedby="model-hint" data-testid="model-select">
                        {options}
                    </select>
                </label>
                {move || warning().map(|(id, warning)| view! {
                    <p class="notice warning" role="status" data-testid="model-warning">{format!("{id} is {warning}. Choose a current model for new work.")}</p>
                })}
                {scripted_hint}
            }
            .into_any()
        }
        listed => {
            let problem = listed.err().map(|e| format!("The models could not be listed ({e}); type a model id."));
            view! {
                <label>"Model" <input name="model" required value=model prop:value=model on:input=set_model aria-describedby="model-hint" /></label>
                {problem.map(|p| view! { <p class="notice" role="status">{p}</p> })}
                {scripted_hint}
            }
            .into_any()
        }
    }
}

#[component]
fn Skills(draft: RwSignal<AgentDraft>, library: StoredValue<Library>) -> impl IntoView {
    let each = rows(draft, |d| d.skills.len());
    let problem = library.with_value(|l| l.skills.as_ref().err().cloned());
    let choices = StoredValue::new(library.with_value(|l| l.skills.clone().unwrap_or_default()));
    view! {
        <fieldset data-testid="agent-skills">
            <legend>"Skills"</legend>
            <p class="muted">"Pick skills from the " <A href="/skills">"skill library"</A> "; a session finds each one under /workspace/skills/ in its sandbox."</p>
            {problem.map(|error| view! {
                // A note, not an alert: the form still works, with ids typed. The alert of the page
                // is for what saving says.
                <p class="notice" role="status">{format!("The skill library could not be listed ({error}); type skill ids instead.")}</p>
            })}
            <For each=each key=|i| *i let:i>
                <SkillPick draft i choices />
            </For>
            <button type="button" class="button secondary" on:click=move |_| draft.update(|d| d.skills.push(SkillDraft { kind: "custom".into(), ..Default::default() }))>"Add a skill"</button>
        </fieldset>
    }
    .into_any()
}

/// One skill of the agent: its source, the skill picked from the library's skills of that source
/// (typed, when the library has none), and the version to pin.
#[component]
fn SkillPick(draft: RwSignal<AgentDraft>, i: usize, choices: StoredValue<Vec<SkillChoice>>) -> impl IntoView {
    let kind = move || draft.with(|d| d.skills.get(i).map(|s| s.kind.clone()).unwrap_or_default());
    let chosen = move || draft.with(|d| d.skills.get(i).map(|s| s.skill_id.clone()).unwrap_or_default());
    let set_id = move |id: String| {
        draft.update(|d| {
            if let Some(s) = d.skills.get_mut(i) {
                s.skill_id = id
            }
        })
    };
    let picker = move || {
        let kind = kind();
        let mut shelf: Vec<SkillChoice> =
            choices.with_value(|c| c.iter().filter(|c| c.kind == kind).cloned().collect());
        if shelf.is_empty() {
            let hint = if kind == "anthropic" { "e.g. xlsx" } else { "skill_…" };
            return view! {
                <label>"Skill id " <input prop:value=chosen placeholder=hint on:input=move |ev| set_id(event_target_value(&ev)) /></label>
            }
            .into_any();
        }
        // Read once: the select follows the draft through `prop:value`; a new pick re-renders nothing.
        let current = untrack(chosen);
        if !current.is_empty() && !shelf.iter().any(|c| c.id == current) {
            shelf.push(SkillChoice {
                label: format!("{current} (not in the library)"),
                id: current.clone(),
                kind: kind.clone(),
            });
        }
        view! {
            <label>"Skill "
                <select prop:value=chosen on:change=move |ev| set_id(event_target_value(&ev))>
                    <option value="" selected=current.is_empty()>"Choose a skill"</option>
                    {shelf.into_iter().map(|c| {
                        let selected = c.id == current;
                        view! { <option value=c.id.clone() selected=selected>{format!("{} ({})", c.label, c.id)}</option> }
                    }).collect_view()}
                </select>
            </label>
        }
        .into_any()
    };
    view! {
        <div class="row-group inline">
            <label>"Source "
                <select prop:value=kind
                    on:change=move |ev| draft.update(|d| if let Some(s) = d.skills.get_mut(i) { s.kind = event_target_value(&ev); s.skill_id.clear() })>
                    <option value="custom">"Custom"</option>
                    <option value="anthropic">"Anthropic"</option>
                </select>
            </label>
            {picker}
            <label>"Version (empty: latest) " <input prop:value=move || draft.with(|d| d.skills.get(i).map(|s| s.version.clone()).unwrap_or_default())
                on:input=move |ev| draft.update(|d| if let Some(s) = d.skills.get_mut(i) { s.version = event_target_value(&ev) }) /></label>
            <button type="button" class="button secondary" on:click=move |_| draft.update(|d| { if i < d.skills.len() { d.skills.remove(i); } })>"Remove"</button>
        </div>
    }
}

#[component]
fn Metadata(draft: RwSignal<AgentDraft>) -> impl IntoView {
    let each = rows(draft, |d| d.metadata.len());
    let problem = move || {
        draft.with(|d| {
            let map = d.metadata.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
            crate::drafts::check_metadata(&map).err().map(|DraftError { message, .. }| message)
        })
    };
    view! {
        <fieldset>
            <legend>"Metadata"</legend>
            <p class="muted">"Up to 16 key/value pairs; keys up to 64 characters, values up to 512."</p>
            <For each=each key=|i| *i let:i>
                <div class="row-group inline">
                    <label>"Key " <input prop:value=move || draft.with(|d| d.metadata.get(i).map(|m| m.0.clone()).unwrap_or_default())
                        on:input=move |ev| draft.update(|d| if let Some(m) = d.metadata.get_mut(i) { m.0 = event_target_value(&ev) }) /></label>
                    <label>"Value " <input prop:value=move || draft.with(|d| d.metadata.get(i).map(|m| m.1.clone()).unwrap_or_default())
                        on:input=move |ev| draft.update(|d| if let Some(m) = d.metadata.get_mut(i) { m.1 = event_target_value(&ev) }) /></label>
                    <button type="button" class="button secondary" on:click=move |_| draft.update(|d| { if i < d.metadata.len() { d.metadata.remove(i); } })>"Remove"</button>
                </div>
            </For>
            {move || problem().map(|e| view! { <p class="inline-error" role="alert">{e}</p> })}
            <button type="button" class="button secondary" on:click=move |_| draft.update(|d| d.metadata.push(Default::default()))>"Add metadata"</button>
        </fieldset>
    }
    .into_any()
}
