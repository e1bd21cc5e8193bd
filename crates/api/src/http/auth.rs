//! Who is asking: the user a bearer token names.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use unishop_model::TOKEN_HEADER_SCHEME;
use uuid::Uuid;

use super::error::Error;
use super::AppState;
use crate::auth::{now_secs, TokenError};

/// The user a valid `Authorization: Bearer <token>` names. Verifying needs only the shared key,
/// no database read, so every region accepts every region's tokens.
#[derive(Clone, Copy, Debug)]
pub struct Shopper(pub Uuid);

impl FromRequestParts<AppState> for Shopper {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let value = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
            Error::Unauthorized(
                "log in first, then send the token as `Authorization: Bearer <token>`".to_owned(),
            )
        })?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case(TOKEN_HEADER_SCHEME))
            .map(|(_, token)| token.trim())
            .ok_or_else(|| {
                Error::Unauthorized("the Authorization header must be `Bearer <token>`".to_owned())
            })?;
        state
            .tokens
            .verify(token, now_secs())
            .map(Shopper)
            .map_err(|error| {
                Error::Unauthorized(match error {
                    TokenError::Expired => "the token has expired; log in again".to_owned(),
                    TokenError::Malformed | TokenError::BadSignature => {
                        "the token is not valid; log in again".to_owned()
                    }
                })
            })
    }
}
