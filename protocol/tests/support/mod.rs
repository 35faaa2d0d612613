//! Shared by the fixture tests: find fixtures and check that a type parses and re-serializes one
//! to the same JSON (key order aside).

use std::path::{Path, PathBuf};

use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

/// `protocol/fixtures/<kind>/<key>/<name>.json`, sorted, as `(key, path)`.
pub fn fixtures(kind: &str) -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(kind);
    let mut found = Vec::new();
    for dir in std::fs::read_dir(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display())) {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let key = dir.file_name().unwrap().to_string_lossy().into_owned();
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_some_and(|e| e == "json") {
                found.push((key.clone(), file));
            }
        }
    }
    found.sort();
    found
}

/// Parses `path` as `T`, serializes it again and asserts the JSON is unchanged. Returns the value.
pub fn round_trip<T: DeserializeOwned + Serialize>(path: &Path) -> T {
    let text = std::fs::read_to_string(path).unwrap();
    let original: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
    let parsed: T = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{}: does not parse as {}: {e}", path.display(), std::any::type_name::<T>()));
    let again = serde_json::to_value(&parsed).unwrap();
    assert_eq!(
        again,
        original,
        "{} changed on a round trip through {}:\n--- fixture\n{}\n--- re-serialized\n{}",
        path.display(),
        std::any::type_name::<T>(),
        serde_json::to_string_pretty(&original).unwrap(),
        serde_json::to_string_pretty(&again).unwrap(),
    );
    parsed
}
