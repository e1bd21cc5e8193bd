//! The one error type of the HTTP layer, answered as an RFC 9457 problem document.
//!
//! Client mistakes get a 4xx naming the problem; 5xx is kept for real faults, because in front of
//! the API CloudFront fails over to the standby region on 5xx.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use unishop_model::{FieldError, Problem, PROBLEM_CONTENT_TYPE};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request cannot be read: a body that is not JSON, a path parameter of the wrong form.
    #[error("{0}")]
    BadRequest(String),
    /// The body is JSON but not of the expected shape, or a value breaks a rule.
    #[error("{detail}")]
    Invalid {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("{0}")]
    NotFound(String),
    /// No valid credentials: answered with `WWW-Authenticate: Bearer`.
    #[error("{0}")]
    Unauthorized(String),
    /// Valid credentials that do not cover this resource (another user's cart).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts; answered with `Retry-After`.
    #[error("{detail}")]
    TooManyRequests {
        detail: String,
        retry_after_secs: u64,
    },
    #[error("the request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("the store is unavailable")]
    Store(#[from] StoreError),
    /// The request ran past the server's time limit.
    #[error("the request took too long; try again in a moment")]
    Timeout,
    #[error("the server failed while handling the request")]
    Internal,
}

impl Error {
    /// An invalid request caused by one field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Error::Invalid {
            detail: format!("{field}: {message}"),
            errors: vec![FieldError {
                field: field.to_owned(),
                message,
            }],
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Error::Store(StoreError::Conflict) => StatusCode::CONFLICT,
            Error::Store(StoreError::MissingReference) => StatusCode::NOT_FOUND,
            Error::Store(StoreError::CartFull) | Error::Store(StoreError::Stale) => {
                StatusCode::CONFLICT
            }
            Error::Store(StoreError::Unavailable(_))
            | Error::Store(StoreError::Contended(_))
            | Error::Store(StoreError::DeadlinePassed)
            | Error::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the client is told. Store faults are logged in full but described only in general.
    fn detail(&self) -> String {
        match self {
            Error::Store(StoreError::Conflict) => "the record already exists".to_owned(),
            Error::Store(StoreError::MissingReference) => {
                "a user or product named in the request does not exist".to_owned()
            }
            Error::Store(StoreError::CartFull) => format!(
                "a cart holds at most {} products; remove one first",
                unishop_model::MAX_CART_LINES
            ),
            Error::Store(StoreError::Stale) => {
                "the data changed while the request was handled; try again".to_owned()
            }
            Error::Store(StoreError::Unavailable(_)) | Error::Store(StoreError::Contended(_)) => {
                "the database is unavailable; try again in a moment".to_owned()
            }
            Error::Store(StoreError::DeadlinePassed) => {
                "the write was not applied: it could not finish before its caller stopped waiting; \
                 sending it again (with the same Idempotency-Key, if it had one) is safe"
                    .to_owned()
            }
            other => other.to_string(),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = ?self, "request failed");
        }
        let errors = match &self {
            Error::Invalid { errors, .. } => errors.clone(),
            _ => Vec::new(),
        };
        let mut response = problem_response(Problem {
            kind: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.detail(),
            errors,
        });
        match &self {
            Error::Unauthorized(_) => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Error::TooManyRequests {
                retry_after_secs, ..
            } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            _ => {}
        }
        response
    }
}

/// Serialises a problem document with its media type.
pub fn problem_response(problem: Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        )],
        body,
    )
        .into_response()
}
