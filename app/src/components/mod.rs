pub mod clock;
pub mod confirm;
pub mod feedback;
pub mod inbox;
pub mod nav;
pub mod pager;
pub mod section;
