//! `x-request-id`: the client's own when it is sensible (1 to 64 visible ASCII characters),
//! otherwise a fresh UUID; echoed in the response and recorded in the request's tracing span, so
//! one id ties a shopper's report, the API's logs and CloudFront's together.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Span;
use uuid::Uuid;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Whether a client-sent id may be used as is.
pub fn valid_request_id(id: &[u8]) -> bool {
    (1..=64).contains(&id.len()) && id.iter().all(u8::is_ascii_graphic)
}

/// Middleware: settles the request's id before anything logs, and echoes it.
pub async fn assign(mut request: Request, next: Next) -> Response {
    let name = HeaderName::from_static(REQUEST_ID_HEADER);
    let id = match request.headers().get(&name) {
        Some(sent) if valid_request_id(sent.as_bytes()) => sent.clone(),
        _ => HeaderValue::from_str(&Uuid::new_v4().to_string())
            .unwrap_or(HeaderValue::from_static("unknown")),
    };
    request.headers_mut().insert(name.clone(), id.clone());
    let mut response = next.run(request).await;
    response.headers_mut().insert(name, id);
    response
}

/// The span every log line of a request is emitted in.
pub fn span(request: &Request) -> Span {
    let id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_visible_ascii_ids_are_kept() {
        assert!(valid_request_id(b"abc-123"));
        assert!(valid_request_id(&[b'x'; 64]));
        assert!(!valid_request_id(b""));
        assert!(!valid_request_id(&[b'x'; 65]));
        assert!(!valid_request_id(b"with space"));
        assert!(!valid_request_id("é".as_bytes()));
    }
}
