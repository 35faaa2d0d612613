//! Line diffs of two texts live in the domain crate ([`domain::diff`]); the pages name them from here.

pub use domain::diff::*;
