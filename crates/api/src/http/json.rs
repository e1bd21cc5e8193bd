//! Request-body and path extractors whose failures are [`Error`]s, so that every malformed
//! request is answered with a problem document naming what is wrong.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use unishop_model::FieldError;
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
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        let field = field_of(&path, &message);
        Error::Invalid {
            detail: format!("{field}: {message}"),
            errors: vec![FieldError { field, message }],
        }
    })
}

/// The field a deserialisation error is about, as a path like `items[0].quantity`. A missing
/// field is reported by serde at its parent, with the name only in the message.
fn field_of(path: &str, message: &str) -> String {
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name);
    match (path, missing) {
        (".", Some(name)) => name.to_owned(),
        (".", None) => "body".to_owned(),
        (parent, Some(name)) => format!("{parent}.{name}"),
        (path, None) => path.to_owned(),
    }
}

/// The query string's parameters as `T`; a value of the wrong form is a 422 naming it.
pub struct QueryParams<T>(pub T);

impl<S, T> FromRequestParts<S> for QueryParams<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(value)| QueryParams(value))
            .map_err(|rejection| Error::Invalid {
                detail: format!("the query string is not valid: {}", rejection.body_text()),
                errors: Vec::new(),
            })
    }
}

/// Parses a uuid taken from the path, naming the parameter when it is not one.
pub fn parse_uuid(raw: &str, parameter: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(raw).map_err(|_| {
        let shown: String = raw.chars().take(64).collect();
        Error::BadRequest(format!("{parameter}: {shown:?} is not a UUID"))
    })
}
