//! The console's error type lives in the domain crate, which the server shares; the pages and
//! server functions name it from here.

pub use domain::error::*;
