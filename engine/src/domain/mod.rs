//! What the engine does with its resources, apart from HTTP: the `impl EngineState` methods the
//! handlers in `api/` and the runtime call. Handlers parse and answer; these check and store.

pub mod agents;
pub mod deployments;
pub mod environments;
pub mod files;
pub mod memory;
pub mod multiagent;
pub mod outcomes;
pub mod sessions;
pub mod skills;
pub mod threads;
