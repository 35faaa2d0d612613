//! The build's steps but wasm-opt's (`optimize`), each a function of the layout.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use chunk_merge::{Outcome, hashing};

use crate::{
    CSS_TARGETS, FRONT_TARGET, LIB_FEATURES, LIB_PACKAGE, Layout, MERGE_UNDER, OUTPUT_NAME, Progress, TOP_UP_UNDER,
    shown,
};

/// The split loader, named as cargo-leptos named it (chunk-merge finds it by its prefix), and as
/// the main module imports it.
const LOADER: &str = "__wasm_split.______________________.js";
const LOADER_LINK: &str = "./__wasm_split.______________________.js";

/// The flags the browser side is compiled with: the caller's (`RUSTFLAGS`, else the wasm target's
/// `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS`: `scripts/lib.sh` puts the size flags there),
/// then relocations kept for wasm-split and Leptos' component types erased. Written in the order
/// cargo-leptos wrote them, so a browser build it made is not compiled again.
pub fn wasm_rustflags(rustflags: Option<&str>, target_rustflags: Option<&str>) -> String {
    let base = rustflags.or(target_rustflags).map(str::split_whitespace).into_iter().flatten();
    let mut flags: Vec<&str> = base.collect();
    flags.extend(["-Clink-args=--emit-relocs", "--cfg", "erase_components"]);
    flags.join(" ")
}

/// Step 1: `cargo build` of the browser side, std built from its sources with the same flags.
/// Cargo's own progress goes to the terminal.
pub fn compile(layout: &Layout) -> Result<()> {
    let rustflags = wasm_rustflags(
        std::env::var("RUSTFLAGS").ok().as_deref(),
        std::env::var("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS").ok().as_deref(),
    );
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(cargo);
    command
        .current_dir(&layout.root)
        .args(["build", "--locked", "--lib", "--target=wasm32-unknown-unknown", "--no-default-features"])
        .arg(format!("--package={LIB_PACKAGE}"))
        .arg(format!("--target-dir={FRONT_TARGET}"))
        .arg(format!("--features={LIB_FEATURES}"));
    if !layout.debug {
        command.arg("-Zbuild-std=std,panic_abort");
    }
    let status = command
        .arg(format!("--profile={}", layout.profile().0))
        .env("RUSTFLAGS", rustflags)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        // -Zbuild-std is unstable: a stable toolchain takes it with this.
        .env("RUSTC_BOOTSTRAP", "1")
        .env("LEPTOS_OUTPUT_NAME", OUTPUT_NAME)
        .status()
        .context("cargo could not be started")?;
    if !status.success() {
        bail!("cargo could not build the browser side ({status}); its messages are above");
    }
    Ok(())
}

/// Step 2: the lazy pages' code split out of the linked module into `pkg/`; the main module is
/// left beside the linked one for wasm-bindgen. Returns the modules written to `pkg/`.
pub fn split(layout: &Layout) -> Result<Vec<PathBuf>> {
    let linked = layout.linked_wasm();
    let input = fs::read(&linked).with_context(|| format!("reading {}", shown(layout, &linked)))?;
    let pkg = layout.pkg();
    fs::create_dir_all(&pkg).with_context(|| format!("creating {}", shown(layout, &pkg)))?;
    let main_out = layout.split_main_wasm();
    let main_module = format!("./{OUTPUT_NAME}.js");
    let split = wasm_split_cli_support::transform({
        let mut options = wasm_split_cli_support::Options::new(&input);
        options.output_dir = &pkg;
        options.main_out_path = &main_out;
        options.main_module = &main_module;
        options.link_name = LOADER_LINK;
        options
    })
    .map_err(|error| anyhow::anyhow!("wasm-split: {error:#}"))?;
    // wasm-split keeps both in hash maps: written as they come, an unchanged build got new names
    // for the manifest, the loader and the main JavaScript, which a browser then fetched again.
    let manifest: BTreeMap<_, _> = split.prefetch_map.into_iter().collect();
    let manifest = serde_json::to_string_pretty(&manifest)?;
    fs::write(pkg.join("__wasm_split_manifest.json"), manifest).context("writing the split manifest")?;
    let loader = pkg.join(LOADER);
    let js = fs::read_to_string(&loader).with_context(|| format!("reading {}", shown(layout, &loader)))?;
    fs::write(&loader, steady_loader(&js)).with_context(|| format!("writing {}", shown(layout, &loader)))?;
    Ok(split.split_modules)
}

/// The split loader with the names it shares with the main module in one order: wasm-split
/// lists them as a hash set gives them (`{ memory, __indirect_function_table, … }` in one build,
/// `{ __wasm_split_shared0, memory, … }` in the next). Only those braces are touched.
pub fn steady_loader(js: &str) -> String {
    const SHARED: [&str; 2] = ["} = initSync(", "Object.assign(sharedImports.__wasm_split, {"];
    js.split_inclusive('\n')
        .map(|line| {
            let Some(open) = line.find('{').filter(|_| SHARED.iter().any(|s| line.contains(s))) else {
                return line.to_owned();
            };
            let Some(close) = line[open..].find('}').map(|at| open + at) else { return line.to_owned() };
            let mut names: Vec<&str> =
                line[open + 1..close].split(',').map(str::trim).filter(|n| !n.is_empty()).collect();
            names.sort_unstable();
            let list: String = names.iter().map(|name| format!(" {name},")).collect();
            format!("{}{{{list} {}", &line[..open], &line[close..])
        })
        .collect()
}

/// Step 3: the main module's JavaScript (`pkg/switchboard.js`, ES module for the web) and the
/// module itself as `pkg/switchboard.wasm`, the name Leptos' hydration script loads.
pub fn bindgen(layout: &Layout) -> Result<PathBuf> {
    let pkg = layout.pkg();
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(layout.split_main_wasm())
        .out_name(OUTPUT_NAME)
        .web(true)?
        // The split modules call the main one by its linker's export names.
        .keep_lld_exports(true)
        .demangle(false)
        .omit_default_module_path(false)
        .typescript(false)
        .generate(&pkg)
        .map_err(|error| anyhow::anyhow!("wasm-bindgen: {error:#}"))?;
    let main = pkg.join(format!("{OUTPUT_NAME}.wasm"));
    fs::rename(pkg.join(format!("{OUTPUT_NAME}_bg.wasm")), &main).context("naming the main module")?;
    Ok(main)
}

/// Step 5: the main JavaScript and the stylesheet minified by esbuild (npm's, `scripts/tools`),
/// the public assets copied to the site's root.
pub fn minify_and_copy(layout: &Layout) -> Result<()> {
    let pkg = layout.pkg();
    let js = pkg.join(format!("{OUTPUT_NAME}.js"));
    esbuild(layout, &js, &js, &["--format=esm"])?;
    let css_out = pkg.join(format!("{OUTPUT_NAME}.css"));
    esbuild(layout, &layout.root.join(crate::STYLE_FILE), &css_out, &[&format!("--target={CSS_TARGETS}")])?;
    copy_dir(&layout.root.join(crate::ASSETS_DIR), &layout.site())
}

fn esbuild(layout: &Layout, input: &Path, output: &Path, flags: &[&str]) -> Result<()> {
    let status = Command::new("esbuild")
        .current_dir(&layout.root)
        .arg(input)
        .args(["--minify", "--allow-overwrite", "--log-level=warning"])
        // wasm-bindgen's imports object names the split loader once per import, the same module
        // each time: esbuild would warn of every one.
        .arg("--log-override:duplicate-object-key=silent")
        .args(flags)
        .arg(format!("--outfile={}", output.display()))
        .status()
        .context("esbuild could not be started (scripts/lib.sh installs it under scripts/tools)")?;
    if !status.success() {
        bail!("esbuild could not minify {} ({status})", shown(layout, input));
    }
    Ok(())
}

/// Copies a folder of the repository's own (never one the sandbox writes) into another, files
/// and folders; anything else (a link) is refused.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else if kind.is_file() {
            fs::copy(entry.path(), &target).with_context(|| format!("copying {}", entry.path().display()))?;
        } else {
            bail!("{} is neither a file nor a folder: the assets folder holds only those", entry.path().display());
        }
    }
    Ok(())
}

/// The hashed files of the build before, removed once this one's main JavaScript is written
/// (`hashing::clear_earlier` waits for it), before the merge looks for the one loader.
pub fn clear_earlier(layout: &Layout, progress: &Progress) -> Result<()> {
    let cleared = hashing::clear_earlier(&layout.pkg(), OUTPUT_NAME)?;
    if cleared > 0 {
        progress.note(&format!("{cleared} files of an earlier build removed"));
    }
    Ok(())
}

/// chunk-merge, straight after the split: the modules whose code is under `MERGE_UNDER` bytes
/// merged into one (hundreds of them, a third empty: the session page fetched 453 files, queued
/// six at a time over HTTP/1.1). Before wasm-opt rather than after: it then starts once for the
/// merged module where it started for each of them (0.8 s of a core apiece). Returns the modules
/// left to optimize, the merged one among them.
pub fn merge(layout: &Layout, chunks: Vec<PathBuf>, progress: &Progress) -> Result<Vec<PathBuf>> {
    let pkg = layout.pkg();
    match chunk_merge::run(&pkg, MERGE_UNDER) {
        Ok(Outcome::Merged { chunks: merged, bytes }) => {
            progress.note(&format!(
                "{} modules with under {MERGE_UNDER} bytes of code merged into {}.wasm ({bytes} bytes)",
                merged.len(),
                chunk_merge::MERGED
            ));
            let mut left: Vec<PathBuf> = chunks.into_iter().filter(|path| path.exists()).collect();
            left.push(pkg.join(format!("{}.wasm", chunk_merge::MERGED)));
            Ok(left)
        }
        Ok(Outcome::AlreadyMerged) => bail!("{} was merged before it was split: build again", shown(layout, &pkg)),
        Ok(Outcome::Nothing) => {
            progress.note(&format!("no module with under {MERGE_UNDER} bytes of code to merge"));
            Ok(chunks)
        }
        Err(error) => bail!(
            "chunk-merge: {error}. If wasm_split_cli_support was upgraded, it may write chunks or their loader \
             differently: see chunk-merge/src/lib.rs"
        ),
    }
}

/// After wasm-opt: the modules left apart that are now under 1 KB merged into the merged one,
/// so that a page fetches no more files than a merge after wasm-opt would give it.
pub fn top_up(layout: &Layout, progress: &Progress) -> Result<()> {
    match chunk_merge::top_up(&layout.pkg(), TOP_UP_UNDER) {
        Ok(Outcome::Merged { chunks, bytes }) => progress.note(&format!(
            "{} more modules under {TOP_UP_UNDER} bytes once optimized merged in ({bytes} bytes)",
            chunks.len()
        )),
        Ok(_) => {}
        Err(error) => bail!("chunk-merge, after wasm-opt: {error}"),
    }
    Ok(())
}

/// For `scripts/bench names` (`SWITCHBOARD_WASM_OPT_KEEP` names a folder): every module and the
/// split manifest as wasm-split wrote them, before the merge, so that a page's code is told by
/// the names of its functions chunk by chunk. `scripts/tools/bin/wasm-opt` keeps the modules it
/// is given there too.
pub fn keep_for_names(layout: &Layout, chunks: &[PathBuf]) -> Result<()> {
    let Some(keep) = std::env::var_os("SWITCHBOARD_WASM_OPT_KEEP").map(PathBuf::from) else { return Ok(()) };
    fs::create_dir_all(&keep).with_context(|| format!("creating {}", keep.display()))?;
    let manifest = layout.pkg().join("__wasm_split_manifest.json");
    for file in chunks.iter().chain([&manifest]) {
        let name = file.file_name().context("a module without a name")?;
        fs::copy(file, keep.join(name)).with_context(|| format!("keeping {}", shown(layout, file)))?;
    }
    Ok(())
}

/// Every file named by its content's hash (`hash.txt`).
pub fn hash_names(layout: &Layout, progress: &Progress) -> Result<()> {
    match hashing::hash_names(&layout.pkg(), OUTPUT_NAME)? {
        hashing::Hashed::Named { files } => {
            progress.note(&format!("{files} files named by their content's hash ({})", hashing::HASH_FILE))
        }
        hashing::Hashed::Already => progress.note("the files had hashed names already"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callers_flags_come_first_and_split_needs_relocations() {
        let flags = wasm_rustflags(None, Some("-Zunstable-options  -Cpanic=immediate-abort"));
        assert_eq!(
            flags,
            "-Zunstable-options -Cpanic=immediate-abort -Clink-args=--emit-relocs --cfg erase_components"
        );
        // RUSTFLAGS wins over the target's, as it does in cargo.
        assert_eq!(
            wasm_rustflags(Some("-Copt-level=1"), Some("-Cpanic=abort")),
            "-Copt-level=1 -Clink-args=--emit-relocs --cfg erase_components"
        );
        assert_eq!(wasm_rustflags(None, None), "-Clink-args=--emit-relocs --cfg erase_components");
    }

    #[test]
    fn the_loaders_shared_names_come_in_one_order_whatever_order_wasm_split_gave() {
        let one = "import { initSync } from \"./switchboard.js\";\n        const { memory, __indirect_function_table, __wasm_split_shared0,  } = initSync(undefined, undefined);\n        Object.assign(sharedImports.__wasm_split, { memory, __indirect_function_table, __wasm_split_shared0,  });\nconst __chunk_1 = makeLoad(() => { return 1; }, []);\n";
        let other = one.replace(
            "{ memory, __indirect_function_table, __wasm_split_shared0,  }",
            "{ __wasm_split_shared0, memory, __indirect_function_table,  }",
        );
        assert_ne!(one, other);
        assert_eq!(steady_loader(one), steady_loader(&other));
        let steady = steady_loader(one);
        assert!(
            steady.contains(
                "const { __indirect_function_table, __wasm_split_shared0, memory, } = initSync(undefined, undefined);"
            ),
            "{steady}"
        );
        assert!(steady.contains("{ __indirect_function_table, __wasm_split_shared0, memory, });"), "{steady}");
        // Other braces are left as they are.
        assert!(
            steady.starts_with("import { initSync } from") && steady.ends_with("makeLoad(() => { return 1; }, []);\n")
        );
    }

    #[test]
    fn the_assets_folder_is_copied_and_a_link_in_it_refused() {
        let dir = std::env::temp_dir().join(format!("site-build-copy-{}", std::process::id()));
        let (from, to) = (dir.join("public"), dir.join("site"));
        fs::create_dir_all(from.join("icons")).unwrap();
        fs::write(from.join("favicon.svg"), "<svg/>").unwrap();
        fs::write(from.join("icons/a.png"), "png").unwrap();
        copy_dir(&from, &to).unwrap();
        assert_eq!(fs::read_to_string(to.join("favicon.svg")).unwrap(), "<svg/>");
        assert_eq!(fs::read_to_string(to.join("icons/a.png")).unwrap(), "png");
        std::os::unix::fs::symlink("/etc/passwd", from.join("passwd")).unwrap();
        let refused = copy_dir(&from, &dir.join("again")).unwrap_err().to_string();
        assert!(refused.contains("neither a file nor a folder"), "{refused}");
        assert!(!dir.join("again/passwd").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
