//! The protocol crate's integration tests, one binary: the fixtures round-trip through the types.

mod support;

mod event_fixtures;
mod object_fixtures;
