//! The engine's integration tests, one binary: each module an area of the API, `support` the
//! engine each test starts (in this process or as a child). cargo-nextest runs every test in a process of its own.

mod support;

mod bad_input;
mod deployments;
mod durability;
mod emitted_events;
mod lists;
mod models;
mod network;
mod overrides;
mod private_data;
mod repositories;
mod sandbox;
mod vaults;
