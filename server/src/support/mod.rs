//! Helpers every room of the server uses, depending on no feature: the database, key files,
//! the client's address behind trusted proxies, and which outbound destinations may be reached.

pub mod db;
pub mod destinations;
pub mod keys;
pub mod proxies;
