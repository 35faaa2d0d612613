//! The built assets' names. A release build gives each its content's hash (`chunk-merge`, which
//! writes `hash.txt` into the site's `pkg` folder); the server then names them so in every page
//! and serves them to be kept for good (`Cache-Control: immutable`). Other builds keep plain names.

use std::path::PathBuf;

use leptos::prelude::LeptosOptions;

/// The hash file of the site's `pkg` folder, as an absolute path (Leptos reads it relative to its
/// executable's folder otherwise), when the build wrote one.
pub fn hash_file(site_root: &str, pkg_dir: &str) -> Option<PathBuf> {
    std::fs::canonicalize(PathBuf::from(site_root).join(pkg_dir).join("hash.txt")).ok()
}

/// The stylesheet's address: `/pkg/switchboard.{hash}.css` in a hashed build. Worked out once
/// by the server, which puts it in every page's context ([`Stylesheet`]).
pub fn stylesheet(options: &LeptosOptions) -> String {
    let (pkg, name) = (&options.site_pkg_dir, &options.output_name);
    let hash = options
        .hash_files
        .then(|| std::fs::read_to_string(options.hash_file.as_ref()).ok())
        .flatten()
        .and_then(|hashes| hashes.lines().find_map(|l| l.strip_prefix("css:").map(|h| h.trim().to_owned())));
    match hash {
        Some(hash) => format!("/{pkg}/{name}.{hash}.css"),
        None => format!("/{pkg}/{name}.css"),
    }
}

/// The stylesheet's address as the shell names it, in the page's context.
#[derive(Clone, Debug)]
pub struct Stylesheet(pub String);

impl Stylesheet {
    /// The context's, or the plain name's.
    pub fn href() -> String {
        leptos::prelude::use_context::<Stylesheet>().map_or_else(|| "/pkg/switchboard.css".to_owned(), |s| s.0)
    }
}

/// Whether a file's name carries its content's hash, `stem.{16 hex digits}.ext`, as
/// `chunk-merge` (`chunk_merge::hashing`, which names them) writes it.
pub fn is_hashed(name: &str) -> bool {
    let mut parts = name.rsplitn(3, '.');
    let (_ext, hash) = (parts.next(), parts.next());
    parts.next().is_some_and(|stem| !stem.is_empty())
        && hash.is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_with_a_content_hash_are_hashed() {
        assert!(is_hashed("chunk_3.0123456789abcdef.wasm"));
        assert!(is_hashed("switchboard.89abcdef01234567.css"));
        assert!(!is_hashed("switchboard.css"));
        assert!(!is_hashed("hash.txt"));
        assert!(!is_hashed("__wasm_split.______________________.js"));
        assert!(!is_hashed(".0123456789abcdef.js"));
        assert!(!is_hashed("x.0123456789abcdeg.js"));
    }
}
