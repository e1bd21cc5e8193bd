//! The `Idempotency-Key` header, which makes a write safe to send again: after a lost answer, or
//! to the other region after a failover (the client reuses the key on the standby).

use axum::http::HeaderMap;
use unishop_model::{valid_idempotency_key, IDEMPOTENCY_KEY_HEADER};

use super::error::Error;

/// The key, when the request carries one; a malformed key is refused rather than ignored, so a
/// client never believes a write is protected when it is not.
pub fn optional_key(headers: &HeaderMap) -> Result<Option<String>, Error> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY_HEADER) else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key) if valid_idempotency_key(key) => Ok(Some(key.to_owned())),
        _ => Err(Error::BadRequest(
            "the Idempotency-Key header must be 1 to 64 visible ASCII characters".to_owned(),
        )),
    }
}

/// The key of a write that must carry one.
pub fn required_key(headers: &HeaderMap, why: &str) -> Result<String, Error> {
    optional_key(headers)?.ok_or_else(|| {
        Error::BadRequest(format!(
            "send an Idempotency-Key header (a new UUID per {why}) so that a retry cannot {why} twice"
        ))
    })
}
