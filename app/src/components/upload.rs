//! Sending a form of files with upload progress: `XMLHttpRequest`, whose upload progress `fetch`
//! lacks. Used by the Files page (one file) and the skill library (a folder or a zip).

/// An upload's progress, from 0 to 1, while it runs.
pub type Progress = leptos::prelude::RwSignal<Option<f64>>;

#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::*;
    use serde::de::DeserializeOwned;
    use wasm_bindgen::{JsCast, closure::Closure};

    use super::Progress;
    use crate::error::{AppError, ErrorKind};

    /// Posts `form` to `url` (answered as JSON), setting `progress` while it runs and calling
    /// `done` with the decoded answer or what went wrong, in words.
    pub fn send_form<T: DeserializeOwned + 'static>(
        url: &str,
        form: &web_sys::FormData,
        progress: Progress,
        done: impl Fn(Result<T, AppError>) + 'static,
    ) {
        let Ok(xhr) = web_sys::XmlHttpRequest::new() else {
            return done(Err(AppError::new(ErrorKind::Internal, "This browser cannot upload files.")));
        };
        if xhr.open("POST", url).is_err() {
            return done(Err(AppError::new(ErrorKind::Internal, "The upload could not start.")));
        }
        let _ = xhr.set_request_header("Accept", "application/json");
        progress.set(Some(0.0));

        let on_progress = Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
            if e.length_computable() && e.total() > 0.0 {
                progress.try_set(Some(e.loaded() / e.total()));
            }
        });
        if let Ok(upload) = xhr.upload() {
            upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        }
        on_progress.forget();

        let request = xhr.clone();
        let on_end = Closure::<dyn FnMut()>::new(move || {
            progress.try_set(None);
            let status = request.status().unwrap_or(0);
            let text = request.response_text().ok().flatten().unwrap_or_default();
            let outcome = if status == 0 {
                Err(AppError::new(
                    ErrorKind::Unavailable,
                    "The upload was cut off: Switchboard's server could not be reached. Try again.",
                ))
            } else if (200..300).contains(&status) {
                serde_json::from_str::<T>(&text).map_err(|_| {
                    AppError::new(
                        ErrorKind::Internal,
                        "The upload finished, but the answer was not understood. Reload to see what was stored.",
                    )
                })
            } else {
                Err(serde_json::from_str::<AppError>(&text).unwrap_or_else(|_| {
                    AppError::new(ErrorKind::Unavailable, format!("The upload failed ({status})."))
                }))
            };
            done(outcome);
        });
        xhr.set_onloadend(Some(on_end.as_ref().unchecked_ref()));
        on_end.forget();
        if xhr.send_with_opt_form_data(Some(form)).is_err() {
            progress.set(None);
        }
    }
}

#[cfg(feature = "hydrate")]
pub use browser::send_form;

/// The progress bar of an upload, while it runs.
#[leptos::component]
pub fn UploadProgress(progress: Progress) -> impl leptos::IntoView {
    use leptos::prelude::*;
    move || {
        progress.get().map(|p| {
            view! {
                <p><progress max="1" value=p.to_string() aria-label="Upload progress"></progress> {format!(" {:.0} %", p * 100.0)}</p>
            }
        })
    }
}
