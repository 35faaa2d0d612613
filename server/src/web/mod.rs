//! The HTTP surface: startup, the router and its layers, and the router's state.

pub mod router;
pub mod routes;
pub mod startup;
pub mod state;
pub mod telemetry;
