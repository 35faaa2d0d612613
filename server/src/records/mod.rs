//! What Switchboard keeps or passes through of a session: share links, imports, exports, and
//! the files and skills sent to the upstream.

pub mod export;
pub mod files;
pub mod imports;
pub mod shares;
pub mod skills;
