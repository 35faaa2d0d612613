//! Content hashes in the names of a release build's assets, so that browsers may keep them for
//! good (`Cache-Control: immutable`, set by the server for such names) and a new build's files are
//! told from old ones by name, not by date.
//!
//! What refers to what, and so the order names are given in:
//! - the WASM modules the split loader (`__wasm_split.*.js`) fetches (`new URL("./x.wasm", …)`):
//!   each named by its own content, and renamed in the loader and in the manifest the server reads
//!   for a page's preload links;
//! - the manifest: named by its content once its modules are renamed;
//! - the main module's JavaScript imports the loader and the loader imports it back: the two are
//!   named by one hash over both (after the modules' renaming), so a change to either renames both;
//! - the main WASM module and the stylesheet: each by its own content (the page names them).
//!
//! The hashes go into `hash.txt` in the folder, in the form Leptos reads (`js:`, `wasm:`,
//! `split:`, `manifest:`), with `css:` for the stylesheet. A folder whose main JavaScript has a
//! hashed name already (no `{output}.js` in it) is left as it is.

use std::fs;
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{NotMerged, at, loader_path, read_json, write};

/// The file that names this build's hashes.
pub const HASH_FILE: &str = "hash.txt";
/// How many hex digits of a SHA-256 a name carries: 64 bits, plenty to tell builds apart.
const DIGITS: usize = 16;

/// What a run did, for the build's log.
#[derive(Debug, PartialEq)]
pub enum Hashed {
    /// This many files were given hashed names.
    Named { files: usize },
    /// The folder's names were hashed by an earlier run.
    Already,
}

/// The first [`DIGITS`] hex digits of the SHA-256 of `parts`, one after another.
fn digest(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    let hex: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    hex[..DIGITS].to_owned()
}

/// Whether `name` is a file an earlier run named: `stem.{16 hex}.ext`.
pub fn is_hashed(name: &str) -> bool {
    let mut parts = name.rsplitn(3, '.');
    let (_ext, hash) = (parts.next(), parts.next());
    parts.next().is_some() && hash.is_some_and(|h| h.len() == DIGITS && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Removes the hashed files of earlier builds, when `pkg` holds a new build's unhashed output
/// (`{output}.js`): they would otherwise pile up, and two loaders would be found.
pub fn clear_earlier(pkg: &Path, output: &str) -> Result<usize, NotMerged> {
    if !pkg.join(format!("{output}.js")).exists() {
        return Ok(0);
    }
    let mut removed = 0;
    for entry in fs::read_dir(pkg).map_err(at(pkg))? {
        let path = entry.map_err(at(pkg))?.path();
        if path.file_name().and_then(|n| n.to_str()).is_some_and(is_hashed) {
            fs::remove_file(&path).map_err(at(&path))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Whether `pkg` was merged and named by an earlier run, with no new build's output since: its
/// main JavaScript has a hashed name only, and [`HASH_FILE`] is there.
fn done(pkg: &Path, output: &str) -> bool {
    !pkg.join(format!("{output}.js")).exists() && pkg.join(HASH_FILE).exists()
}

/// Gives the assets of `pkg` (a build whose main module is `output`) hashed names and writes
/// [`HASH_FILE`].
pub fn hash_names(pkg: &Path, output: &str) -> Result<Hashed, NotMerged> {
    let main_js_path = pkg.join(format!("{output}.js"));
    if done(pkg, output) {
        return Ok(Hashed::Already);
    }
    let files: Vec<_> = fs::read_dir(pkg)
        .map_err(at(pkg))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(at(pkg))?;
    let loader_path = loader_path(&files)?;
    let loader_name = file_name(&loader_path);
    let mut loader = fs::read_to_string(&loader_path).map_err(at(&loader_path))?;
    let manifest_path = pkg.join("__wasm_split_manifest.json");
    let mut manifest = read_json(&manifest_path)?;
    let mut named = 0;

    // The modules the loader fetches.
    for module in fetched_modules(&loader) {
        let path = pkg.join(format!("{module}.wasm"));
        let bytes = fs::read(&path).map_err(at(&path))?;
        let hashed = format!("{module}.{}", digest(&[&bytes]));
        fs::rename(&path, pkg.join(format!("{hashed}.wasm"))).map_err(at(&path))?;
        loader = loader.replace(&format!("\"./{module}.wasm\""), &format!("\"./{hashed}.wasm\""));
        rename_in_manifest(&mut manifest, &module, &hashed);
        named += 1;
    }

    // The manifest.
    let manifest_text = serde_json::to_string_pretty(&manifest).map_err(NotMerged::Serialize)?;
    let manifest_hash = digest(&[manifest_text.as_bytes()]);
    write(&pkg.join(format!("__wasm_split_manifest.{manifest_hash}.json")), manifest_text.as_bytes())?;
    fs::remove_file(&manifest_path).map_err(at(&manifest_path))?;

    // The main JavaScript and the loader, which import each other.
    let main_js = fs::read_to_string(&main_js_path).map_err(at(&main_js_path))?;
    let pair = digest(&[main_js.as_bytes(), b"\0", loader.as_bytes()]);
    let main_js_name = format!("{output}.{pair}.js");
    let new_loader_name = format!("__wasm_split.{pair}.js");
    // Only where one imports the other: the main module's WASM imports name the loader too (as the
    // key of its imports object), and that name is the module's, fixed when it was built.
    let main_js = imports_renamed(&main_js, &loader_name, &new_loader_name);
    let loader = imports_renamed(&loader, &format!("{output}.js"), &main_js_name);
    write(&pkg.join(&main_js_name), main_js.as_bytes())?;
    write(&pkg.join(&new_loader_name), loader.as_bytes())?;
    fs::remove_file(&main_js_path).map_err(at(&main_js_path))?;
    fs::remove_file(&loader_path).map_err(at(&loader_path))?;

    // The main module and the stylesheet, by their own content.
    let own = |ext: &str| -> Result<Option<String>, NotMerged> {
        let path = pkg.join(format!("{output}.{ext}"));
        let Ok(bytes) = fs::read(&path) else { return Ok(None) };
        let hash = digest(&[&bytes]);
        fs::rename(&path, pkg.join(format!("{output}.{hash}.{ext}"))).map_err(at(&path))?;
        Ok(Some(hash))
    };
    let wasm = own("wasm")?.ok_or_else(|| missing(pkg, &format!("{output}.wasm")))?;
    let css = own("css")?;

    let mut hashes = format!("js: {pair}\nwasm: {wasm}\nsplit: {pair}\nmanifest: {manifest_hash}\n");
    if let Some(css) = &css {
        hashes.push_str(&format!("css: {css}\n"));
    }
    write(&pkg.join(HASH_FILE), hashes.as_bytes())?;
    Ok(Hashed::Named { files: named + 4 + usize::from(css.is_some()) })
}

/// `js` with its imports of `./{from}` made imports of `./{to}`, written plainly or minified
/// (`from "./x.js"`, `from"./x.js"`, as wasm-bindgen and esbuild write them).
fn imports_renamed(js: &str, from: &str, to: &str) -> String {
    js.replace(&format!("from \"./{from}\""), &format!("from \"./{to}\""))
        .replace(&format!("from\"./{from}\""), &format!("from\"./{to}\""))
}

/// The modules (names without `.wasm`) the loader fetches, each once, in order.
fn fetched_modules(loader: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for piece in loader.split("new URL(\"./").skip(1) {
        if let Some(name) = piece.split_once(".wasm\"").map(|(name, _)| name)
            && !name.contains(['"', '/'])
            && !found.iter().any(|f| f == name)
        {
            found.push(name.to_owned());
        }
    }
    found
}

/// Every mention of `module` in the manifest's lists, renamed.
fn rename_in_manifest(manifest: &mut Value, module: &str, hashed: &str) {
    if let Some(splits) = manifest.as_object_mut() {
        for files in splits.values_mut().filter_map(Value::as_array_mut) {
            for file in files.iter_mut().filter(|f| f.as_str() == Some(module)) {
                *file = Value::from(hashed);
            }
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned()
}

fn missing(pkg: &Path, name: &str) -> NotMerged {
    let path = pkg.join(name);
    NotMerged::Io { error: std::io::Error::new(std::io::ErrorKind::NotFound, "not in the build"), path }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_are_told_from_a_builds_own() {
        assert!(is_hashed("chunk_3.0123456789abcdef.wasm"));
        assert!(is_hashed("__wasm_split_manifest.0123456789abcdef.json"));
        assert!(!is_hashed("chunk_3.wasm"));
        assert!(!is_hashed("__wasm_split.______________________.js"));
        assert!(!is_hashed("switchboard.css"));
        assert!(!is_hashed("0123456789abcdef.wasm"), "a stem is needed");
    }

    /// A folder shaped as site-build writes it: every name hashed, every reference followed,
    /// and a second run leaves it as it is.
    #[test]
    fn a_builds_assets_get_hashed_names_and_references_follow() {
        let dir = std::env::temp_dir().join(format!("chunk-merge-hashing-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let loader = "import { initSync } from \"./app.js\";\nconst __chunk_1 = makeLoad(() => {\n    const src = fetch(new URL(\"./chunk_1.wasm\", import.meta.url));\n}, []);\nconst __split = makeLoad(() => fetch(new URL(\"./split___page.wasm\", import.meta.url)));\n";
        fs::write(dir.join("__wasm_split.______________________.js"), loader).unwrap();
        let main_js = "import * as import1 from \"./__wasm_split.______________________.js\";import*as C from\"./__wasm_split.______________________.js\";\nimports[\"./__wasm_split.______________________.js\"] = import1;\n";
        fs::write(dir.join("app.js"), main_js).unwrap();
        fs::write(dir.join("app.wasm"), b"\0asm main").unwrap();
        fs::write(dir.join("app.css"), "body{}").unwrap();
        fs::write(dir.join("chunk_1.wasm"), b"\0asm one").unwrap();
        fs::write(dir.join("split___page.wasm"), b"\0asm page").unwrap();
        fs::write(dir.join("__wasm_split_manifest.json"), r#"{"__page":["chunk_1","split___page"]}"#).unwrap();
        fs::write(dir.join("chunk_9.00000000deadbeef.wasm"), b"an earlier build's").unwrap();

        assert_eq!(clear_earlier(&dir, "app").unwrap(), 1);
        assert_eq!(hash_names(&dir, "app").unwrap(), Hashed::Named { files: 7 });
        let names: Vec<String> =
            fs::read_dir(&dir).unwrap().map(|e| file_name(&e.unwrap().path())).filter(|n| n != HASH_FILE).collect();
        assert!(names.iter().all(|n| is_hashed(n)), "{names:?}");
        let hashes = fs::read_to_string(dir.join(HASH_FILE)).unwrap();
        let of = |key: &str| {
            hashes
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key}: ")))
                .unwrap_or_else(|| panic!("{key}"))
                .to_owned()
        };
        assert_eq!(of("js"), of("split"));
        let main_js = fs::read_to_string(dir.join(format!("app.{}.js", of("js")))).unwrap();
        assert!(main_js.contains(&format!("from \"./__wasm_split.{}.js\"", of("split"))), "{main_js}");
        assert!(main_js.contains(&format!("from\"./__wasm_split.{}.js\"", of("split"))), "minified: {main_js}");
        assert!(
            main_js.contains("imports[\"./__wasm_split.______________________.js\"]"),
            "the WASM module's own import names stay: {main_js}"
        );
        let loader = fs::read_to_string(dir.join(format!("__wasm_split.{}.js", of("split")))).unwrap();
        assert!(loader.contains(&format!("\"./app.{}.js\"", of("js"))), "{loader}");
        let chunk = format!("chunk_1.{}", digest(&[b"\0asm one"]));
        assert!(loader.contains(&format!("\"./{chunk}.wasm\"")), "{loader}");
        let manifest = read_json(&dir.join(format!("__wasm_split_manifest.{}.json", of("manifest")))).unwrap();
        assert_eq!(manifest["__page"][0], chunk.as_str());
        assert!(manifest["__page"][1].as_str().unwrap().starts_with("split___page."));
        assert!(dir.join(format!("app.{}.wasm", of("wasm"))).exists());
        assert!(dir.join(format!("app.{}.css", of("css"))).exists());

        assert_eq!(clear_earlier(&dir, "app").unwrap(), 0, "nothing new: nothing cleared");
        assert_eq!(hash_names(&dir, "app").unwrap(), Hashed::Already);
        fs::remove_dir_all(&dir).unwrap();
    }
}
