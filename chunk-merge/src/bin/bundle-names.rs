//! `bundle-names DIR [PAGE ...]`: what the release bundle's code is made of, per page, by name.
//!
//! DIR holds the modules wasm-opt was given during a release build and the split manifest as it
//! was then (`scripts/bench names` fills it: see `chunk_merge::names`). A PAGE is a lazy route's
//! name as `scripts/bundle-size` prints it (`session_detail`), or `main` for the main module every
//! page loads; the default is `main session_detail`. Sizes are code bytes before wasm-opt and
//! gzip, so compare the shares.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chunk_merge::names::{Function, app_module, first_crate, functions, sum_by};
use chunk_merge::{JsonUnread, read_json};
use serde_json::Value;
use wasmparser::BinaryReaderError;

/// The main module's file name when wasm-opt runs (after wasm-bindgen).
const MAIN: &str = "switchboard.wasm";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: bundle-names DIR [PAGE ...]");
        return ExitCode::from(2);
    };
    let mut pages: Vec<String> = args.collect();
    if pages.is_empty() {
        pages = vec!["main".into(), "session_detail".into()];
    }
    for page in &pages {
        if let Err(problem) = report(Path::new(&dir), page) {
            eprintln!("bundle-names: {page}: {problem}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// Why a page's report could not be made, the file at fault first.
#[derive(Debug, thiserror::Error)]
enum ReportFailed {
    #[error("{}: {error}", .path.display())]
    Unread { path: PathBuf, error: std::io::Error },
    #[error("{}: {error}", .path.display())]
    NotWasm { path: PathBuf, error: BinaryReaderError },
    #[error(transparent)]
    Manifest(#[from] JsonUnread),
    #[error("no such page in {}", .0.display())]
    NoPage(PathBuf),
}

fn report(dir: &Path, page: &str) -> Result<(), ReportFailed> {
    let files = if page == "main" { vec![MAIN.to_owned()] } else { chunks(dir, page)? };
    let mut all: Vec<Function> = Vec::new();
    for file in &files {
        let path = dir.join(file);
        let wasm = match std::fs::read(&path) {
            Ok(wasm) => wasm,
            Err(error) => return Err(ReportFailed::Unread { path, error }),
        };
        match functions(&wasm) {
            Ok(functions) => all.extend(functions),
            Err(error) => return Err(ReportFailed::NotWasm { path, error }),
        }
    }
    let (crates, total) = sum_by(&all, |f| first_crate(&f.name).to_owned());
    let (modules, _) =
        sum_by(&all, |f| app_module(&f.name).unwrap_or_else(|| "(names no module of the app)".to_owned()));
    println!(
        "{page}: {} files, {} functions, {:.1} KB of code before wasm-opt",
        files.len(),
        all.len(),
        total as f64 / 1024.0
    );
    print_top("by the crate its name starts with", &crates, total, 15);
    print_top("by the last module of the app it names", &modules, total, 25);
    println!();
    Ok(())
}

/// The chunk files of a page, as the split manifest lists them.
fn chunks(dir: &Path, page: &str) -> Result<Vec<String>, ReportFailed> {
    let path = dir.join("__wasm_split_manifest.json");
    let manifest = read_json(&path)?;
    let wanted = format!("__{page}_page_view_");
    let (_, chunks) = manifest
        .as_object()
        .and_then(|pages| pages.iter().find(|(name, _)| name.starts_with(&wanted)))
        .ok_or_else(|| ReportFailed::NoPage(path.clone()))?;
    Ok(chunks.as_array().into_iter().flatten().filter_map(Value::as_str).map(|chunk| format!("{chunk}.wasm")).collect())
}

fn print_top(title: &str, sums: &[(String, usize)], total: usize, n: usize) {
    println!("  {title}:");
    for (key, bytes) in sums.iter().take(n) {
        println!("    {:8.1} KB {:5.1} %  {key}", *bytes as f64 / 1024.0, 100.0 * *bytes as f64 / total.max(1) as f64);
    }
}
