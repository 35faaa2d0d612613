//! The `switchboard` server: settings, the HTTP router, and the Leptos app it serves.

pub mod settings;
pub mod startup;
pub mod telemetry;
