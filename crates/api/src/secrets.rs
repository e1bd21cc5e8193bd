//! The secrets the API reads from Secrets Manager: once at start (the database password, the token
//! key), or again when they may have been rotated (the origin secret, [`crate::http::origin`]).
//! Values are held as [`Secret`]s, whose `Debug` hides them, and never logged.

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

/// The staging label of a secret's version before the latest rotation.
pub const PREVIOUS_STAGE: &str = "AWSPREVIOUS";

/// Reads secrets through one Secrets Manager client.
#[derive(Clone)]
pub struct Secrets {
    client: aws_sdk_secretsmanager::Client,
}

impl Secrets {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            client: aws_sdk_secretsmanager::Client::new(config),
        }
    }

    /// Reads through a client of the caller's (an emulator's, in tests).
    pub fn from_client(client: aws_sdk_secretsmanager::Client) -> Self {
        Self { client }
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
        text_of(arn, &answer)
    }

    /// The text of the secret's version labelled `stage` (such as [`PREVIOUS_STAGE`]), or `None`
    /// when no version carries that label (a secret never rotated has no previous version).
    pub async fn read_stage(&self, arn: &str, stage: &str) -> Result<Option<Secret>, SecretError> {
        let answer = self
            .client
            .get_secret_value()
            .secret_id(arn)
            .version_stage(stage)
            .send()
            .await;
        match answer {
            Ok(answer) => text_of(arn, &answer).map(Some),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(error) => Err(SecretError::Unreadable {
                arn: arn.to_owned(),
                detail: DisplayErrorContext(error).to_string(),
            }),
        }
    }

    /// The database password: the `password` field of a JSON secret (as RDS and the global
    /// stack write it), or the whole text of a plain one.
    pub async fn database_password(&self, arn: &str) -> Result<Secret, SecretError> {
        database_password(arn, self.read(arn).await?)
    }
}

fn text_of(
    arn: &str,
    answer: &aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput,
) -> Result<Secret, SecretError> {
    answer
        .secret_string()
        .map(|text| Secret(text.to_owned()))
        .ok_or_else(|| SecretError::NotText {
            arn: arn.to_owned(),
        })
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
