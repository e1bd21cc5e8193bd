//! Accounts: sign-up with a password, and log-in answering a signed token.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use unishop_model::{check_password, normalise_email, LoginRequest, Session, SignupRequest, User};
use unishop_model::{Problem, MAX_PASSWORD_LEN};

use super::error::Error;
use super::idempotency::optional_key;
use super::json::JsonBody;
use super::AppState;
use crate::auth::{hash_password, now_secs, verify_password, TOKEN_TTL_SECS};
use crate::store::{NewUser, StoreError};

/// The longest first or last name accepted.
pub const MAX_NAME_LEN: usize = 100;
/// Failed logins for one email allowed within [`FAILURE_WINDOW_SECS`] before logins for it are
/// refused with 429.
pub const MAX_LOGIN_FAILURES: usize = 5;
pub const FAILURE_WINDOW_SECS: i64 = 15 * 60;

/// The one answer to a wrong email or a wrong password, so that it does not tell which.
const BAD_CREDENTIALS: &str = "the email or password is not right";

/// `POST /user`: creates an account and answers 201 with it (never with the password).
///
/// With an `Idempotency-Key`, sending the sign-up again (a lost answer, a failover to the other
/// region) answers the account it made, 201 as the first time, instead of 409: when the account
/// with this email was made with this key and the password matches.
#[utoipa::path(post, path = "/user", tag = "accounts", request_body = SignupRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 64 visible ASCII characters, one per sign-up (a UUID): a repeat with the same key and password answers the same account", min_length = 1, max_length = 64, pattern = r"^[!-~]{1,64}$")),
    responses(
        (status = 201, description = "The new account (or, for a repeat with the same Idempotency-Key, the account it made)", body = User),
        (status = 400, description = "The body is not JSON, or the Idempotency-Key is malformed", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An account already has this email", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule; `errors` names it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn signup(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<SignupRequest>,
) -> Result<(StatusCode, Json<User>), Error> {
    let signup_key = optional_key(&headers)?;
    let email = normalise_email(&request.email)
        .map_err(|e| Error::invalid_field("email", e.to_string()))?;
    check_password(&request.password)
        .map_err(|e| Error::invalid_field("password", e.to_string()))?;
    let first_name = clean_name(request.first_name, "firstName")?;
    let last_name = clean_name(request.last_name, "lastName")?;
    let password_hash = hash_password(request.password.clone())
        .await
        .map_err(|error| {
            tracing::error!(%error, "cannot hash a password");
            Error::Internal
        })?;
    let new_user = NewUser {
        email,
        first_name,
        last_name,
        password_hash,
        signup_key: signup_key.clone(),
    };
    let users = &state.stores.users;
    match users.create_user(new_user.clone()).await {
        Ok(user) => Ok((StatusCode::CREATED, Json(user))),
        Err(StoreError::Conflict) => {
            if let Some(user) =
                signup_replayed(&state, &new_user.email, signup_key, request.password).await?
            {
                return Ok((StatusCode::CREATED, Json(user)));
            }
            Err(Error::Conflict(
                "an account with this email already exists; log in instead".to_owned(),
            ))
        }
        Err(other) => Err(other.into()),
    }
}

/// The account a sign-up made, when this request repeats it: the account with this email was
/// made with this `Idempotency-Key`, and the password is the one it was made with (so a key
/// alone never reveals an account).
async fn signup_replayed(
    state: &AppState,
    email: &str,
    key: Option<String>,
    password: String,
) -> Result<Option<User>, Error> {
    let Some(key) = key else {
        return Ok(None);
    };
    let Some(credentials) = state.stores.users.credentials(email).await? else {
        return Ok(None);
    };
    if credentials.signup_key.as_deref() != Some(key.as_str()) {
        return Ok(None);
    }
    let matches = verify_password(password, credentials.password_hash)
        .await
        .map_err(|error| {
            tracing::error!(%error, "cannot check a password");
            Error::Internal
        })?;
    Ok(matches.then_some(credentials.user))
}

/// `POST /user/login`: checks the password and answers the account with a token.
///
/// An unknown email and a wrong password get the same answer, after the same work. After
/// [`MAX_LOGIN_FAILURES`] failures for one email within [`FAILURE_WINDOW_SECS`], further attempts
/// are refused with 429 until the oldest of them leaves the window; the count lives in the store,
/// so every API process (and every Lambda instance) on it enforces the same limit.
#[utoipa::path(post, path = "/user/login", tag = "accounts", request_body = LoginRequest,
    responses(
        (status = 200, description = "The account and a token for `Authorization: Bearer`", body = Session),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The email or password is not right", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule; `errors` names it", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins for this email; see `Retry-After`", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the next attempt is allowed"))),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<Json<Session>, Error> {
    let email = normalise_email(&request.email)
        .map_err(|e| Error::invalid_field("email", e.to_string()))?;
    if request.password.is_empty() {
        return Err(Error::invalid_field("password", "Enter your password."));
    }
    if request.password.chars().count() > MAX_PASSWORD_LEN {
        return Err(Error::invalid_field(
            "password",
            format!("A password has at most {MAX_PASSWORD_LEN} characters."),
        ));
    }
    let users = &state.stores.users;
    let now = now_secs();
    let failures = users
        .login_failures_since(&email, now - FAILURE_WINDOW_SECS)
        .await?;
    if let Some(retry_after_secs) = retry_after(&failures, now) {
        return Err(Error::TooManyRequests {
            detail: "too many failed logins for this email; wait before trying again".to_owned(),
            retry_after_secs,
        });
    }
    let credentials = users.credentials(&email).await?;
    let hash = credentials.as_ref().and_then(|c| c.password_hash.clone());
    let matches = verify_password(request.password, hash)
        .await
        .map_err(|error| {
            tracing::error!(%error, "cannot check a password");
            Error::Internal
        })?;
    match credentials {
        Some(credentials) if matches => {
            users.clear_login_failures(&email).await?;
            let (token, expires_at) =
                state
                    .tokens
                    .issue(credentials.user.uuid, now, TOKEN_TTL_SECS);
            Ok(Json(Session {
                user: credentials.user,
                token,
                expires_at,
            }))
        }
        _ => {
            users.record_login_failure(&email, now).await?;
            Err(Error::Unauthorized(BAD_CREDENTIALS.to_owned()))
        }
    }
}

/// Seconds until another login may be tried, when the recent failures (oldest first) reach the
/// limit: until the one that brought them to the limit leaves the window.
pub fn retry_after(failures: &[i64], now: i64) -> Option<u64> {
    let over = failures.len().checked_sub(MAX_LOGIN_FAILURES)?;
    let leaves_window = failures[over] + FAILURE_WINDOW_SECS;
    Some(u64::try_from(leaves_window - now).unwrap_or(0).max(1))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_starts_at_the_limit_and_ends_when_the_oldest_counted_failure_expires() {
        let now = 10_000;
        assert_eq!(retry_after(&[], now), None);
        assert_eq!(retry_after(&[now - 10; 4], now), None);
        // Five failures, the oldest 100 s ago: wait until it is 15 minutes old.
        let five = [now - 100, now - 50, now - 40, now - 30, now - 20];
        assert_eq!(retry_after(&five, now), Some(900 - 100));
        // With six, the second-oldest decides (dropping the oldest still leaves five).
        let six = [now - 800, now - 100, now - 50, now - 40, now - 30, now - 20];
        assert_eq!(retry_after(&six, now), Some(900 - 100));
        // Never "retry after 0 seconds".
        assert_eq!(retry_after(&[now - 900; 5], now), Some(1));
    }
}
