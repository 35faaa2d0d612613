//! `site-build [ROOT]`: builds the release bundle of the workspace at ROOT (default: the current
//! folder) into `target/site`. Run by `scripts/lib.sh`'s `release_build`, which puts wasm-opt
//! and esbuild (`scripts/tools`) on PATH and the size flags in the environment. Says each step
//! and how far along it is.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use site_build::{Layout, Progress, optimize, steps};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let root = match (args.next(), args.next()) {
        (None, _) => PathBuf::from("."),
        (Some(root), None) if !root.starts_with('-') => PathBuf::from(root),
        _ => {
            eprintln!("usage: site-build [ROOT]  (ROOT: the workspace, default the current folder)");
            return ExitCode::from(2);
        }
    };
    let progress = Progress::default();
    match build(&Layout::new(root), &progress) {
        Ok(()) => {
            println!("site-build: the bundle is in target/site ({} s)", progress.elapsed_secs());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("site-build: {error:#}");
            eprintln!("site-build: target/site is incomplete; the next build makes it anew");
            ExitCode::FAILURE
        }
    }
}

fn build(layout: &Layout, progress: &Progress) -> anyhow::Result<()> {
    progress.step(1, "compiling the browser side to WASM (cargo; the first time takes minutes)");
    steps::compile(layout)?;
    progress.step(2, "splitting each page's code into modules of its own (wasm-split)");
    steps::clear_earlier(layout, progress)?;
    let chunks = steps::split(layout)?;
    progress.step(3, "writing the JavaScript bindings (wasm-bindgen)");
    let main = steps::bindgen(layout)?;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    progress.step(4, &format!("optimizing {} modules for size, {workers} at a time (wasm-opt)", chunks.len() + 1));
    let mut modules = vec![main];
    modules.extend(chunks);
    optimize::optimize_all(layout, Path::new("wasm-opt"), &modules, workers, progress)?;
    progress.step(5, "minifying the JavaScript and the stylesheet (esbuild), copying public/");
    steps::minify_and_copy(layout)?;
    progress.step(6, "merging the modules under 1 KB, naming every file by its hash (chunk-merge)");
    steps::merge(layout, progress)?;
    steps::hash_names(layout, progress)
}
