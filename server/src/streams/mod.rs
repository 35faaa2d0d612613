//! One upstream event stream per session, shared by every viewer, sent to browsers as SSE.

pub mod hub;
pub mod live;
pub mod sse;
