//! Request-body and path extractors whose failures are [`Error`]s, so that every malformed
//! request is answered with a problem document naming what is wrong.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::error::Error;
use super::BODY_LIMIT;

/// A JSON request body.
///
/// Unlike axum's `Json`, it does not insist on a `Content-Type`: legacy clients send JSON under
/// several types, and the body is judged by what it contains.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection: BytesRejection| {
                    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        Error::PayloadTooLarge { limit: BODY_LIMIT }
                    } else {
                        Error::BadRequest(format!(
                            "the request body could not be read: {rejection}"
                        ))
                    }
                })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Parses a JSON body, telling a syntax error (400) from a body of the wrong shape (422).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::BadRequest(
            "the request body is empty; a JSON object is expected".into(),
        ));
    }
    // Syntax first, then shape, so that a truncated body is never reported as a wrong field.
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|error| {
        Error::BadRequest(format!("the request body is not valid JSON: {error}"))
    })?;
    serde_json::from_value(value).map_err(|error| Error::Invalid {
        detail: format!("the request body does not have the expected fields: {error}"),
        errors: Vec::new(),
    })
}

/// Parses a uuid taken from the path, naming the parameter when it is not one.
pub fn parse_uuid(raw: &str, parameter: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(raw).map_err(|_| {
        let shown: String = raw.chars().take(64).collect();
        Error::BadRequest(format!("{parameter}: {shown:?} is not a UUID"))
    })
}
