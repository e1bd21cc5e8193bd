use serde::{Deserialize, Serialize};

use crate::User;

/// How a client presents its token: `Authorization: Bearer <token>`.
pub const TOKEN_HEADER_SCHEME: &str = "Bearer";

/// `POST /user/login` answers the account (the legacy user object, unchanged) plus a token that
/// every region holding the shared key accepts, so a shopper stays logged in across a failover.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Session {
    #[serde(flatten)]
    pub user: User,
    /// Send as `Authorization: Bearer <token>`; opaque to clients.
    pub token: String,
    /// When the token stops being accepted, in seconds since the Unix epoch.
    pub expires_at: i64,
}

// A token is a credential: `{:?}` never prints it.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user)
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn a_session_is_the_legacy_user_object_plus_a_token() {
        let session = Session {
            user: User {
                uuid: Uuid::nil(),
                email: "a@b.co".into(),
                first_name: Some("Ada".into()),
                last_name: None,
            },
            token: "t.s".into(),
            expires_at: 5,
        };
        let json = serde_json::to_value(&session).expect("serialises");
        assert_eq!(json["email"], "a@b.co");
        assert_eq!(json["firstName"], "Ada");
        assert_eq!(json["token"], "t.s");
        assert_eq!(json["expiresAt"], 5);
        let user: User = serde_json::from_value(json.clone()).expect("reads as a legacy user");
        assert_eq!(user, session.user);
        let back: Session = serde_json::from_value(json).expect("round-trips");
        assert_eq!(back, session);
    }
}
