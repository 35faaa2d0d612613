//! Wire types of the Managed Agents API (beta `managed-agents-2026-04-01`), as the official SDK
//! (`anthropic` 2.11.0) defines them. The SDK is the reference: where these types and the SDK
//! disagree, these types are wrong.
//!
//! Conventions used throughout:
//! - Unions are `#[serde(tag = "type")]` enums with an `Unknown(serde_json::Value)` arm, so an object
//!   of a type this crate does not know yet is kept whole, never dropped.
//! - A response field the SDK types `Optional[T] = None` (may be absent) is
//!   `#[serde(default, skip_serializing_if = "Option::is_none")] Option<T>`; a field the SDK requires
//!   but allows to be `null` is a plain `Option<T>` that always serializes.
//! - Update bodies distinguish absent / null / value with `Option<Option<T>>`.
//! - Timestamps are kept as the RFC 3339 strings the API sent, so they round-trip unchanged.

// Objects, request bodies, pagination and errors.
pub mod agents;
pub mod beta;
pub mod common;
pub mod deployments;
pub mod environments;
pub mod error;
pub mod files;
pub mod memory;
#[cfg(feature = "cron")]
pub mod schedule;
mod session_parts;
pub mod sessions;
pub mod skills;
pub mod vaults;

// Content blocks, usage and session events.
pub mod content;
pub mod event_params;
mod event_parts;
pub mod events;
pub mod usage;

/// The `anthropic-beta` value for agents, environments, sessions, vaults and deployments
/// ([`beta::FAMILIES`] says which path takes which).
pub const MANAGED_AGENTS_BETA: &str = "managed-agents-2026-04-01";
/// The `anthropic-beta` value for memory stores.
pub const AGENT_MEMORY_BETA: &str = "agent-memory-2026-07-22";
/// The `anthropic-version` header value Switchboard sends (the SDK 2.11.0 value).
pub const ANTHROPIC_VERSION: &str = "2026-10-21";
