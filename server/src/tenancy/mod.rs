//! Workspaces: each an upstream with its own records, and the roles people hold in each.

pub mod workspaces;
