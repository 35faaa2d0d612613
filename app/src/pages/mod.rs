pub mod account;
pub mod agents;
pub mod audit;
pub mod deployments;
pub mod environments;
pub mod files;
pub mod inbox;
pub mod memory;
mod not_found;
pub mod overview;
pub mod rules;
pub mod sessions;
pub mod settings;
pub mod skills;
pub mod users;
pub mod vaults;

pub use not_found::NotFound;
pub use overview::Overview;
