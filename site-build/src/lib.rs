//! The release bundle's build: what `scripts/run` serves from `target/site`.
//!
//! 1. The browser side (`app` with its `hydrate` feature) compiled to WASM by cargo, std included,
//!    with the flags `scripts/lib.sh` passes in the environment.
//! 2. wasm-split cuts the lazy pages' code out of it (`wasm_split_cli_support`, the library Leptos'
//!    `#[lazy]` and `#[lazy_route]` are made for) into modules fetched with their page, and writes
//!    the loader and the manifest the server's preload links come from.
//! 3. wasm-bindgen (`wasm-bindgen-cli-support`, the exact version the app is compiled with) writes
//!    the main module's JavaScript; chunk-merge merges the modules with little code into one.
//! 4. `wasm-opt` over every module, several at a time (`scripts/tools/bin/wasm-opt`: npm's binaryen
//!    behind a cache, so an unchanged module costs a copy); those now under 1 KB are merged in.
//! 5. esbuild minifies the main JavaScript and the stylesheet; `public/` is copied beside `pkg/`.
//! 6. Every file is named by its hash (chunk-merge's `hashing`).
//!
//! It replaces cargo-leptos, which did 1 to 5 (the merge after wasm-opt) but took about 20 of a newcomer's first 51 minutes
//! to install: it compiles a JavaScript compiler, a CSS compiler and a git client this project has
//! no use for.

pub mod optimize;
pub mod steps;

use std::path::{Path, PathBuf};
use std::time::Instant;

/// The bundle's name: `pkg/switchboard.js`, `.wasm`, `.css`. Leptos' hydration script names the
/// same (`LEPTOS_OUTPUT_NAME`, read when Leptos is compiled, here and in the server's build).
pub const OUTPUT_NAME: &str = "switchboard";
/// The crate compiled for the browser, and its feature that makes it the browser's side.
pub const LIB_PACKAGE: &str = "app";
pub const LIB_FEATURES: &str = "hydrate";
/// The cargo profile of the browser side (Cargo.toml: small over fast).
pub const PROFILE: &str = "wasm-release";
/// The profile of `site-build --debug`: panics keep their messages, nothing is optimized.
pub const DEBUG_PROFILE: &str = "dev";
/// The browser side's own target folder: its flags differ from the server's, and sharing one
/// would make each build undo the other's.
pub const FRONT_TARGET: &str = "target/front";
/// Where the site is written, and its assets folder under it (the server serves `/pkg`).
pub const SITE_ROOT: &str = "target/site";
pub const PKG_DIR: &str = "pkg";
pub const STYLE_FILE: &str = "style/main.css";
pub const ASSETS_DIR: &str = "public";
/// The browsers the stylesheet is lowered for (esbuild's `--target`): a few years back.
pub const CSS_TARGETS: &str = "chrome100,edge100,firefox100,safari15";
/// wasm-opt's flags: for size, the wasm features current rustc emits spelled out (binaryen
/// does not detect them), and two custom sections no browser reads dropped: every split chunk
/// carried its own `producers` and `target_features` (about 200 bytes each, 453 chunks on the
/// session page: 70 KB gzipped).
pub const WASM_OPT_FLAGS: &[&str] = &[
    "-Oz",
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
    "--strip-producers",
    "--strip-target-features",
];
/// Chunks with fewer bytes of code than this (functions, element segments and code, before
/// wasm-opt) are merged into one (chunk-merge). Measured on 689 chunks: 488 are under it, each of
/// them under 1 KB once optimized; 11 more are under 1 KB once optimized, none of the rest is.
pub const MERGE_UNDER: usize = 1100;
/// After wasm-opt, the modules left apart that are files under this many bytes are merged in too
/// (`chunk_merge::top_up`): the merge is then what merging the optimized chunks under 1 KB gave.
pub const TOP_UP_UNDER: usize = 1024;
/// The steps, for "[k/N]" in the log.
pub const STEPS: usize = 6;

/// The paths of one build, from the workspace's root.
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
    /// A debug bundle (`--debug`): cargo's `dev` profile with std as shipped, no wasm-opt.
    pub debug: bool,
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into(), debug: false }
    }

    pub fn debug(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into(), debug: true }
    }

    /// The cargo profile, and the folder cargo names after it (`dev` builds go in `debug`).
    pub fn profile(&self) -> (&'static str, &'static str) {
        if self.debug { (DEBUG_PROFILE, "debug") } else { (PROFILE, PROFILE) }
    }

    /// The module cargo links: every page's code in one.
    pub fn linked_wasm(&self) -> PathBuf {
        self.front_out().join(format!("{LIB_PACKAGE}.wasm"))
    }

    /// The main module as wasm-split leaves it, before wasm-bindgen.
    pub fn split_main_wasm(&self) -> PathBuf {
        self.front_out().join(format!("{LIB_PACKAGE}_split.wasm"))
    }

    pub fn site(&self) -> PathBuf {
        self.root.join(SITE_ROOT)
    }

    pub fn pkg(&self) -> PathBuf {
        self.site().join(PKG_DIR)
    }

    fn front_out(&self) -> PathBuf {
        self.root.join(FRONT_TARGET).join("wasm32-unknown-unknown").join(self.profile().1)
    }
}

/// Says which step is running and how long the build has taken, so a first build of many minutes
/// never leaves a person guessing.
pub struct Progress {
    start: Instant,
}

impl Default for Progress {
    fn default() -> Self {
        Self { start: Instant::now() }
    }
}

impl Progress {
    pub fn step(&self, k: usize, what: &str) {
        println!("site-build: [{k}/{STEPS}] {what} ({} s in)", self.start.elapsed().as_secs());
    }

    pub fn note(&self, what: &str) {
        println!("site-build:       {what}");
    }

    pub fn elapsed_secs(&self) -> u64 {
        self.start.elapsed().as_secs()
    }
}

/// A file's name for messages: the path from the workspace's root when it is under it.
pub fn shown(layout: &Layout, path: &Path) -> String {
    path.strip_prefix(&layout.root).unwrap_or(path).display().to_string()
}
