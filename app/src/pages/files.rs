//! Files: upload (picker or drag and drop, with progress), list, download, delete.
//!
//! The upload form posts to `/api/files` even without JavaScript; with it, the page sends the file
//! itself so it can show progress and refuse a file over the limit before sending a byte.

use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_query_map};
use protocol::files::FileMetadata;

use crate::{
    api::{
        files::{DeleteFile, list_files},
        upstream::get_upstream_summary,
    },
    components::{
        confirm::Confirm,
        feedback::{InlineError, Loading},
        list_page::{Column, ListPage},
        upload::UploadProgress,
    },
    error::AppError,
    format,
};

const COLUMNS: &[Column] = &[
    Column::text("Name"),
    Column::text("Id"),
    Column::num("Size"),
    Column::text("Type"),
    Column::text("Created"),
    Column::text("Actions"),
];

#[component]
pub fn FileList() -> impl IntoView {
    let query = use_query_map();
    let delete = ServerAction::<DeleteFile>::new();
    let uploaded = RwSignal::new(0u32);
    let delete_done = crate::actions::successes(delete);
    let files = Resource::new(
        move || (query.read().get("page"), delete_done.get(), uploaded.get()),
        |(page, ..)| list_files(page),
    );
    let limit = Resource::new(|| (), |_| get_upstream_summary());
    let delete_error = Signal::derive(move || delete.value().get().and_then(Result::err));
    let notice = move || {
        let q = query.read();
        if let Some(error) = q.get("error") {
            Some(view! { <p class="inline-error" role="alert">{error}</p> }.into_any())
        } else {
            q.get("uploaded")
                .map(|id| view! { <p class="notice" role="status">"Uploaded " <code>{id}</code> "."</p> }.into_any())
        }
    };

    view! {
        <ListPage
            title="Files"
            lede="Upload files to mount into sessions; download what agents produce."
            list=files
            testid="file-list"
            columns=COLUMNS
            row=move |f| view! { <FileRow file=f delete /> }
            empty_title="No files yet"
            empty=|| view! {
                <p>"Upload a file above; then mount it into a session by its id. Files that agents write to their outputs appear here too."</p>
            }
            pager_base=String::new
            first_page=move || query.read_untracked().get("page").is_none()
        >
            {notice}
            <Suspense fallback=|| view! { <Loading what="the upload limit" /> }>
                {move || Suspend::new(async move {
                    let max = limit.await.map(|s| s.max_upload_bytes).unwrap_or(0);
                    view! { <Uploader max on_done=Callback::new(move |_| uploaded.update(|n| *n += 1)) /> }
                })}
            </Suspense>
            <InlineError error=delete_error />
        </ListPage>
    }
}

#[component]
fn FileRow(file: FileMetadata, delete: ServerAction<DeleteFile>) -> impl IntoView {
    let id = file.id.clone();
    let copied = RwSignal::new(false);
    let copy_id = file.id.clone();
    let delete_id = file.id.clone();
    let name = file.filename.clone();
    view! {
        <tr>
            <td>{file.filename.clone()} {file.scope.as_ref().map(|s| view! { " " <span class="badge" title=s.id.clone()>"agent output"</span> })}</td>
            <td>
                <code class="copyable">{id.clone()}</code> " "
                <button type="button" class="button secondary small" aria-label=move || format!("{} of {name}", if copied.get() { "Copied the id" } else { "Copy id" }) on:click=move |_| {
                    crate::components::copy_to_clipboard(&copy_id);
                    copied.set(true);
                }>{move || if copied.get() { "Copied" } else { "Copy id" }}</button>
            </td>
            <td class="num">{format::bytes(file.size_bytes)}</td>
            <td>{file.mime_type.clone()}</td>
            <td><time datetime=file.created_at.clone()>{format::timestamp(&file.created_at)}</time></td>
            <td>
                {if file.downloadable == Some(true) {
                    view! { <a href=format!("/api/files/{id}/content") download=file.filename.clone()>"Download"</a> }.into_any()
                } else {
                    view! { <span class="muted" title="The API only allows downloading files that agents produced.">"Not downloadable"</span> }.into_any()
                }}
                " " <A href=format!("/sessions/new?file_id={}", file.id)>"Start a session with it"</A> " "
                <Confirm label="Delete" consequence="The file is deleted; sessions that mounted it keep their copy."
                    on_confirm=Callback::new(move |_| { delete.dispatch(DeleteFile { id: delete_id.clone() }); }) pending=delete.pending() danger=true />
            </td>
        </tr>
    }
}

/// The upload form. `max` is the server's limit, shown before anything is sent.
#[component]
fn Uploader(max: u64, on_done: Callback<()>) -> impl IntoView {
    let progress = RwSignal::new(None::<f64>);
    let error = RwSignal::new(None::<AppError>);
    let done = RwSignal::new(None::<FileMetadata>);
    let dragging = RwSignal::new(false);
    #[cfg(not(feature = "hydrate"))]
    let _ = on_done;

    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    let start = move |file: Option<SendFile>| {
        error.set(None);
        done.set(None);
        #[cfg(feature = "hydrate")]
        if let Some(SendFile(file)) = file {
            if max > 0 && file.size() > max as f64 {
                error.set(Some(AppError::bad_input(
                    "file",
                    format!(
                        "{} is {}, over the upload limit of {}. Choose a smaller file.",
                        file.name(),
                        format::bytes(file.size() as u64),
                        format::bytes(max)
                    ),
                )));
                return;
            }
            upload::send(file, progress, error, done, on_done);
        }
    };

    view! {
        <form
            class=move || if dragging.get() { "panel upload dragging" } else { "panel upload" }
            method="post" action="/api/files" enctype="multipart/form-data"
            on:submit=move |ev| {
                ev.prevent_default();
                start(picked(&ev));
            }
            on:dragover=move |ev| { ev.prevent_default(); dragging.set(true); }
            on:dragleave=move |_| dragging.set(false)
            on:drop=move |ev| {
                ev.prevent_default();
                dragging.set(false);
                start(dropped(&ev));
            }
        >
            <h2>"Upload a file"</h2>
            <p class="muted">{format!("Drop a file here or choose one. Up to {} per file.", format::bytes(max))}</p>
            <label>"File " <input type="file" name="file" required /></label>
            " " <button type="submit" class="button primary" disabled=move || progress.get().is_some()>"Upload"</button>
            <UploadProgress progress />
            {move || done.get().map(|f| view! {
                <p class="notice" role="status">"Uploaded " {f.filename.clone()} " as " <code>{f.id.clone()}</code> "."</p>
            })}
            {move || error.get().map(|e| view! { <p class="inline-error" role="alert">{e.to_string()}</p> })}
        </form>
    }
}

/// A browser `File`, or nothing on the server.
struct SendFile(#[cfg(feature = "hydrate")] web_sys::File);

#[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
fn picked(ev: &leptos::ev::SubmitEvent) -> Option<SendFile> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let form: web_sys::HtmlFormElement = ev.target()?.dyn_into().ok()?;
        let input: web_sys::HtmlInputElement = form.query_selector("input[type=file]").ok()??.dyn_into().ok()?;
        return input.files()?.get(0).map(SendFile);
    }
    #[allow(unreachable_code)]
    None
}

#[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
fn dropped(ev: &leptos::ev::DragEvent) -> Option<SendFile> {
    #[cfg(feature = "hydrate")]
    {
        return ev.data_transfer()?.files()?.get(0).map(SendFile);
    }
    #[allow(unreachable_code)]
    None
}

#[cfg(feature = "hydrate")]
mod upload {
    use leptos::prelude::*;
    use protocol::files::FileMetadata;

    use crate::{
        components::upload::{Progress, send_form},
        error::{AppError, ErrorKind},
    };

    /// Sends `file` to `/api/files`, with progress.
    pub fn send(
        file: web_sys::File,
        progress: Progress,
        error: RwSignal<Option<AppError>>,
        done: RwSignal<Option<FileMetadata>>,
        on_done: Callback<()>,
    ) {
        let Ok(form) = web_sys::FormData::new() else {
            return error.set(Some(AppError::new(ErrorKind::Internal, "This browser cannot upload files.")));
        };
        if form.append_with_blob_and_filename("file", &file, &file.name()).is_err() {
            return error.set(Some(AppError::new(ErrorKind::Internal, "The file could not be read.")));
        }
        send_form("/api/files", &form, progress, move |outcome: Result<FileMetadata, AppError>| match outcome {
            Ok(file) => {
                done.try_set(Some(file));
                on_done.run(());
            }
            Err(e) => {
                error.try_set(Some(e));
            }
        });
    }
}
