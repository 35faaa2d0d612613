//! What a skill's upload made (the server's upload route answers it; the page reads it).

use serde::{Deserialize, Serialize};

/// What an upload made: the skill, and the version it added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Uploaded {
    pub skill_id: String,
    pub version_id: String,
}
