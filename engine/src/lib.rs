//! The embedded engine: a local implementation of the Managed Agents API.
//!
//! Not built yet: Switchboard's upstream is configured here but the engine's API, store and
//! runtime arrive with the "Embedded engine" issue. See `shared/design/architecture.md`.
