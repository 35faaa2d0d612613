//! What the console knows of the upstream API (and, on the server, the client it calls it with)
//! lives in the domain crate; the pages and server functions name it from here.

pub use domain::upstream::*;
