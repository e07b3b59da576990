//! Who is asking: sessions (the logged-in user), CSRF tokens for forms, password hashing, login
//! throttling, the registration limit and the client's address.

mod address;
pub mod csrf;
pub mod hashing;
pub mod password;
mod session;
pub mod signup_limit;
pub mod throttle;

use tower_sessions::Session;

pub use address::ClientAddress;
pub use csrf::{csrf_token, random_token, CsrfForm};
pub use session::{current_user, log_in, log_out, CurrentUser};

use crate::error::AppError;
use crate::views::PageContext;

/// The user and CSRF token a page is rendered with.
pub async fn page_context(session: &Session) -> Result<PageContext, AppError> {
    Ok(PageContext {
        user: current_user(session).await?,
        csrf_token: csrf_token(session).await?,
        next: String::new(),
    })
}
