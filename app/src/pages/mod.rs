//! Every page of the console, one module (or folder) per section; the router is in `lib.rs`.

pub mod account;
pub mod agents;
pub mod api_tokens;
pub mod audit;
pub mod deployments;
pub mod device;
pub mod environments;
pub mod files;
pub mod imports;
pub mod inbox;
pub mod memory;
mod not_found;
pub mod overview;
pub mod profile;
pub mod rules;
pub mod sessions;
pub mod settings;
pub mod shares;
pub mod skills;
pub mod slack;
pub mod users;
pub mod vaults;
pub mod work_queue;

pub use not_found::NotFound;
pub use overview::Overview;
