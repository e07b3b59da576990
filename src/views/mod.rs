//! HTML pages, rendered with maud. Every page goes through [`layout::page`]; every form carries
//! the session's CSRF token.

pub mod account_settings;
pub mod accounts;
pub mod errors;
mod fields;
pub mod home;
mod layout;
pub mod rooms;
pub mod settings;

pub use layout::PageContext;
