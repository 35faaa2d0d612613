//! The server's integration tests, one binary: each module a feature's tests, `support` the
//! Switchboard (and engine) each test starts. cargo-nextest runs every test in a process of its own.

mod support;

mod access;
mod anthropic_mode;
mod console;
mod creators;
mod export;
mod gateway;
mod live;
mod login_sessions;
mod logs;
mod metrics;
mod notify;
mod pages;
mod policies;
mod replicas;
mod schema;
mod service_callers;
mod shares;
mod slack;
mod sso;
mod telemetry;
mod workspaces;
