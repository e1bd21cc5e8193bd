//! The secrets the API reads from Secrets Manager once at start (the database password, the token
//! key). Values are held as [`Secret`]s, whose `Debug` hides them, and never logged.

use aws_sdk_secretsmanager::error::DisplayErrorContext;

use crate::config::Secret;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read the secret {arn}: {detail}")]
    Unreadable { arn: String, detail: String },
    #[error("the secret {arn} holds no text (a binary secret cannot be used here)")]
    NotText { arn: String },
    #[error("the secret {arn} is a JSON object without a text `password` field")]
    NoPassword { arn: String },
}

/// Reads secrets through one Secrets Manager client.
pub struct Secrets {
    client: aws_sdk_secretsmanager::Client,
}

impl Secrets {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            client: aws_sdk_secretsmanager::Client::new(config),
        }
    }

    /// The secret's text (its current version).
    pub async fn read(&self, arn: &str) -> Result<Secret, SecretError> {
        let answer = self
            .client
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| SecretError::Unreadable {
                arn: arn.to_owned(),
                detail: DisplayErrorContext(e).to_string(),
            })?;
        answer
            .secret_string()
            .map(|text| Secret(text.to_owned()))
            .ok_or_else(|| SecretError::NotText {
                arn: arn.to_owned(),
            })
    }

    /// The database password: the `password` field of a JSON secret (as RDS and the global
    /// stack write it), or the whole text of a plain one.
    pub async fn database_password(&self, arn: &str) -> Result<Secret, SecretError> {
        database_password(arn, self.read(arn).await?)
    }
}

fn database_password(arn: &str, secret: Secret) -> Result<Secret, SecretError> {
    if !secret.0.trim_start().starts_with('{') {
        return Ok(secret);
    }
    let fields: serde_json::Value =
        serde_json::from_str(&secret.0).map_err(|_| SecretError::NoPassword {
            arn: arn.to_owned(),
        })?;
    fields
        .get("password")
        .and_then(|p| p.as_str())
        .map(|p| Secret(p.to_owned()))
        .ok_or_else(|| SecretError::NoPassword {
            arn: arn.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_the_json_field_or_the_whole_text() {
        let from_json = database_password(
            "arn",
            Secret(r#"{"username": "unishop", "password": "p@ss{word}"}"#.into()),
        )
        .expect("has a password");
        assert_eq!(from_json.0, "p@ss{word}");
        let plain = database_password("arn", Secret("just-the-password".into())).expect("plain");
        assert_eq!(plain.0, "just-the-password");
        let error = database_password("arn", Secret(r#"{"username": "unishop"}"#.into()))
            .expect_err("no password");
        assert!(error.to_string().contains("`password`"), "{error}");
        // An error never carries the secret's text.
        let error =
            database_password("arn", Secret("{not json, secret-ish".into())).expect_err("not JSON");
        assert!(!error.to_string().contains("secret-ish"), "{error}");
    }
}
