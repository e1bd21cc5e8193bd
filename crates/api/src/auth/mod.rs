//! Accounts' secrets: password hashing ([`password`]) and the signed tokens that prove a login
//! ([`token`]).

pub mod password;
pub mod token;

pub use password::{hash_password, verify_password};
pub use token::{TokenError, TokenKey, TOKEN_TTL_SECS};

/// Seconds since the Unix epoch, now.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
