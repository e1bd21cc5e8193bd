//! Who is logged in, as kept in the browser so that a reload, or a change of serving region,
//! keeps the shopper logged in.

use serde::{Deserialize, Serialize};
use unishop_model::User;

/// Which kind of API the shopper logged in to; decided by what the server answered.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Our API: passwords, bearer tokens, carts with quantities, orders.
    Unishop,
    /// A server speaking only the legacy contract: email-only login, no token, a basket of
    /// distinct products keyed by the user's uuid, no orders.
    Legacy,
}

/// A logged-in shopper.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct StoredSession {
    pub user: User,
    /// Absent for a legacy backend.
    pub token: Option<String>,
    /// When the token expires (seconds since the epoch); 0 for a legacy backend.
    pub expires_at: i64,
    pub backend: Backend,
}

impl StoredSession {
    /// Reads a stored session; an unreadable or expired one means nobody is logged in.
    pub fn from_json(json: &str, now_seconds: i64) -> Option<Self> {
        let session: StoredSession = crate::json::from_str(json).ok()?;
        (session.backend == Backend::Legacy || session.expires_at > now_seconds).then_some(session)
    }

    pub fn to_json(&self) -> String {
        crate::json::to_string(self).unwrap_or_default()
    }

    /// How the page greets the shopper.
    pub fn display_name(&self) -> String {
        self.user
            .first_name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| self.user.email.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn session(backend: Backend, expires_at: i64) -> StoredSession {
        StoredSession {
            user: User {
                uuid: Uuid::from_u128(1),
                email: "ada@example.com".into(),
                first_name: None,
                last_name: None,
            },
            token: Some("t".into()),
            expires_at,
            backend,
        }
    }

    #[test]
    fn an_expired_token_is_no_session_but_a_legacy_one_never_expires() {
        let live = session(Backend::Unishop, 2_000);
        assert_eq!(
            StoredSession::from_json(&live.to_json(), 1_000),
            Some(live.clone())
        );
        assert_eq!(StoredSession::from_json(&live.to_json(), 2_000), None);
        let legacy = session(Backend::Legacy, 0);
        assert_eq!(
            StoredSession::from_json(&legacy.to_json(), 1_000),
            Some(legacy)
        );
        assert_eq!(StoredSession::from_json("garbage", 0), None);
    }

    #[test]
    fn greets_by_first_name_or_email() {
        let mut s = session(Backend::Unishop, 1);
        assert_eq!(s.display_name(), "ada@example.com");
        s.user.first_name = Some("Ada".into());
        assert_eq!(s.display_name(), "Ada");
    }
}
