//! `site-build [--debug] [ROOT]`: builds the release bundle of the workspace at ROOT (default: the
//! current folder) into `target/site`; with `--debug`, a debug bundle (cargo's `dev` profile, no
//! wasm-opt), whose panics say their message and place. Run by `scripts/lib.sh`'s `release_build`,
//! which puts wasm-opt and esbuild (`scripts/tools`) on PATH and the size flags in the
//! environment. Says each step and how far along it is.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use site_build::{Layout, Progress, optimize, steps};

fn main() -> ExitCode {
    let mut debug = false;
    let mut root = None;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--debug" => debug = true,
            _ if !arg.starts_with('-') && root.is_none() => root = Some(PathBuf::from(arg)),
            _ => {
                eprintln!("usage: site-build [--debug] [ROOT]  (ROOT: the workspace, default the current folder)");
                return ExitCode::from(2);
            }
        }
    }
    let root = root.unwrap_or_else(|| PathBuf::from("."));
    let layout = if debug { Layout::debug(root) } else { Layout::new(root) };
    let progress = Progress::default();
    match build(&layout, &progress) {
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
    let chunks = steps::split(layout)?;
    progress.step(3, "writing the JavaScript bindings (wasm-bindgen), merging the small modules (chunk-merge)");
    let main = steps::bindgen(layout)?;
    steps::clear_earlier(layout, progress)?;
    steps::keep_for_names(layout, &chunks)?;
    let chunks = steps::merge(layout, chunks, progress)?;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    if layout.debug {
        progress.step(4, "not optimizing: a debug bundle");
    } else {
        progress.step(4, &format!("optimizing {} modules for size, {workers} at a time (wasm-opt)", chunks.len() + 1));
        let mut modules = vec![main];
        modules.extend(chunks);
        optimize::optimize_all(layout, Path::new("wasm-opt"), &modules, workers, progress)?;
        steps::top_up(layout, progress)?;
    }
    progress.step(5, "minifying the JavaScript and the stylesheet (esbuild), copying public/");
    steps::minify_and_copy(layout)?;
    progress.step(6, "naming every file by its hash");
    steps::hash_names(layout, progress)
}
