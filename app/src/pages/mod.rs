mod not_found;
mod overview;
mod section;

pub use not_found::NotFound;
pub use overview::Overview;
pub use section::{Section, SectionPage};
