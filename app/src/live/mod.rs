//! The live session view: a virtualized timeline of every event, fed by the stream hub
//! (`/api/sessions/{id}/stream`, one `EventSource` per view); approval cards and custom tool
//! forms for the calls the session waits on; the composer that steers it.

mod cards;
mod inspector;
mod lanes;
pub mod model;
mod present;
mod rows;
mod state;
#[cfg(feature = "hydrate")]
mod stream;
mod timeline;
mod view;

pub use cards::{FormOutcomeNotice, PendingCalls};
pub use present::PresentSession;
pub use view::{FirstScreenRead, LiveSession, ReadOnlySession, read_first_screen};
