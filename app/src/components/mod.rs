pub mod confirm;
pub mod feedback;
pub mod nav;
pub mod pager;
