//! Diffs of two texts (agent definitions, memory versions), as the pages show them.

use serde::{Deserialize, Serialize};

/// One line of a diff between two texts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffLine {
    /// `' '`, `'-'` (only in the older text), `'+'` (only in the newer), or `'…'` (unchanged
    /// lines left out).
    pub sign: char,
    pub text: String,
}

/// The lines that differ between two texts, with three lines of context around each change.
#[cfg(feature = "server")]
pub fn diff_text(a: &str, b: &str) -> Vec<DiffLine> {
    let diff = similar::TextDiff::from_lines(a, b);
    // Changed lines with three lines of context; a `…` line stands for unchanged lines left out.
    let mut lines = Vec::new();
    for (i, group) in diff.grouped_ops(3).iter().enumerate() {
        if i > 0 {
            lines.push(DiffLine { sign: '…', text: String::new() });
        }
        for op in group {
            for change in diff.iter_changes(op) {
                lines.push(DiffLine {
                    sign: match change.tag() {
                        similar::ChangeTag::Equal => ' ',
                        similar::ChangeTag::Delete => '-',
                        similar::ChangeTag::Insert => '+',
                    },
                    text: change.value().trim_end_matches('\n').to_owned(),
                });
            }
        }
    }
    lines
}
