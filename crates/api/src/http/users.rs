//! Accounts: the legacy sign-up and email-only log-in.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use unishop_model::{normalise_email, LoginRequest, SignupRequest, User};

use super::error::Error;
use super::json::JsonBody;
use super::AppState;
use crate::store::{NewUser, StoreError};

/// The longest first or last name accepted.
pub const MAX_NAME_LEN: usize = 100;

/// `POST /user`: creates an account and answers 201 with it.
pub async fn signup(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<SignupRequest>,
) -> Result<(StatusCode, Json<User>), Error> {
    let email = normalise_email(&request.email)
        .map_err(|e| Error::invalid_field("email", e.to_string()))?;
    let new_user = NewUser {
        email,
        first_name: clean_name(request.first_name, "firstName")?,
        last_name: clean_name(request.last_name, "lastName")?,
    };
    match state.stores.users.create_user(new_user).await {
        Ok(user) => Ok((StatusCode::CREATED, Json(user))),
        Err(StoreError::Conflict) => Err(Error::Conflict(
            "an account with this email already exists; log in instead".to_owned(),
        )),
        Err(other) => Err(other.into()),
    }
}

/// `POST /user/login`: the legacy contract identifies a shopper by email alone.
pub async fn login(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<Json<User>, Error> {
    let email = normalise_email(&request.email)
        .map_err(|e| Error::invalid_field("email", e.to_string()))?;
    state
        .stores
        .users
        .user_by_email(&email)
        .await?
        .map(Json)
        .ok_or_else(|| Error::Unauthorized("no account has this email".to_owned()))
}

/// Trims a name; an empty one counts as absent, a long one or one with control characters is refused.
fn clean_name(raw: Option<String>, field: &str) -> Result<Option<String>, Error> {
    let Some(name) = raw.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if name.chars().count() > MAX_NAME_LEN {
        return Err(Error::invalid_field(
            field,
            format!("at most {MAX_NAME_LEN} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid_field(
            field,
            "control characters are not allowed",
        ));
    }
    Ok(Some(name))
}
