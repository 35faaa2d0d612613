//! The HTTP surface: startup, the router and its layers, the router's state, and what monitoring
//! reads (`/metrics`, `/readyz`).

pub mod observe;
pub mod router;
pub mod routes;
pub mod startup;
pub mod state;
pub mod telemetry;
