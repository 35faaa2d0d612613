#![recursion_limit = "256"]
//! The `switchboard` server: settings, the upstream client, the HTTP router, and the Leptos app it
//! serves.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod body_limit;
pub mod db;
pub mod decisions;
pub mod destinations;
pub mod export;
pub mod files;
pub mod hub;
pub mod imports;
pub mod inbox;
pub mod keys;
pub mod limits;
pub mod live;
pub mod notify;
pub mod policies;
pub mod proxies;
pub mod rules;
pub mod settings;
pub mod shares;
pub mod skills;
pub mod sse;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod upstream;
pub mod webhooks;
pub mod workspaces;
