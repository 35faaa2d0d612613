#![recursion_limit = "256"]
//! The `switchboard` server: the backend-for-frontend that alone holds the API key. Each folder is
//! one feature, and imports run one way, from the top of this list down (`scripts/shape.py` checks
//! that no two modules import each other):
//!
//! - [`web`]: startup, the router, its layers and the route list each feature adds to;
//! - [`gateway`]: Switchboard's own Managed Agents API (`/v1/…`) for programs with a person's
//!   token, under the console's access table, approvals, limits and audit;
//! - [`tenancy`]: workspaces, each with its upstream and its records, and who may open which;
//! - [`notify`]: email, signed webhooks out, and Anthropic's webhooks in;
//! - [`records`]: share links, imports, exports, files and skills passed through;
//! - [`approvals`]: the inbox, decisions, policies and rules;
//! - [`streams`]: one upstream event stream per session, shared by every viewer, as SSE;
//! - [`access`]: accounts, sign-in, login sessions, roles, limits;
//! - [`audit`]: the append-only log every feature writes to;
//! - [`upstream`]: the client of Anthropic's API or the embedded engine;
//! - [`settings`]: what the environment says, read once at start;
//! - [`cli`]: `switchboard login` and `logout`, a terminal's token through the device grant;
//! - [`support`]: helpers every room uses (the database, keys, the client's address, outbound
//!   destinations).

pub mod access;
pub mod approvals;
pub mod audit;
pub mod cli;
pub mod gateway;
pub mod notify;
pub mod records;
pub mod settings;
pub mod slack;
pub mod streams;
pub mod support;
pub mod tenancy;
pub mod upstream;
pub mod web;
