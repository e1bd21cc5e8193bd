//! Only through the edge: with an origin secret configured, the API answers a request only when it
//! carries [`ORIGIN_SECRET_HEADER`] with that secret, which CloudFront adds to every request it
//! sends to an API origin (`infra/templates/edge.yaml`, an origin custom header, replacing any
//! value a viewer sent) and the local edge adds likewise. Anything else gets a 403 problem
//! document, so the regional `execute-api` address is no way around CloudFront, its headers
//! policy and its receipt stamp.
//!
//! Open without the header: `/health` and its plain probes (`/health/*`), which outside health
//! checks (Route 53 health checks cannot send a custom header) and `cargo xtask status` call on
//! each region's own address; they tell only the region, the version and whether the database
//! answers.
//!
//! Rotation: from Secrets Manager ([`OriginSecret::from_secrets_manager`]) the API accepts the
//! secret's current version (`AWSCURRENT`) and the one before it (`AWSPREVIOUS`), so requests
//! CloudFront still signs with the old value pass while the edge stack is re-deployed with the new
//! one. A value it does not know makes it read both again (at most once per
//! [`RETRY_INTERVAL`]), so an instance started before the rotation accepts the new value as soon
//! as CloudFront sends it; and what it holds is read again once it is [`MAX_AGE`] old, so a
//! version taken out of the secret is refused within minutes. The comparison takes the same time
//! whatever the value (SHA-256 digests compared in constant time).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Mutex;
use tokio::time::Instant;
pub use unishop_model::ORIGIN_SECRET_HEADER;

use super::error::Error;
use crate::config::Secret;
use crate::secrets::{SecretError, Secrets, PREVIOUS_STAGE};

/// How often at most an unknown value makes the API read the secret again.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(30);
/// How long the values read from Secrets Manager are used before they are read again.
pub const MAX_AGE: Duration = Duration::from_secs(300);

/// Why an origin secret cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum OriginSecretError {
    #[error("the origin secret is empty")]
    Empty,
    #[error(transparent)]
    Secret(#[from] SecretError),
}

type ValueDigest = [u8; 32];

fn digest_of(value: &[u8]) -> ValueDigest {
    Sha256::digest(value).into()
}

/// The values read, and when.
struct Held {
    digests: Vec<ValueDigest>,
    read_at: Instant,
}

/// The secret a request must carry, and where its values come from.
pub struct OriginSecret {
    held: RwLock<Held>,
    /// Where to read the values again; `None` for a fixed value.
    source: Option<(Secrets, String)>,
    /// When the values were last asked for (successfully or not); held while they are read.
    last_attempt: Mutex<Instant>,
    retry_interval: Duration,
    max_age: Duration,
}

impl std::fmt::Debug for OriginSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OriginSecret")
            .field("arn", &self.source.as_ref().map(|(_, arn)| arn))
            .finish_non_exhaustive()
    }
}

impl OriginSecret {
    /// One value, as given (`UNISHOP_ORIGIN_SECRET`, for local runs).
    pub fn fixed(value: &Secret) -> Result<Self, OriginSecretError> {
        Ok(Self::holding(vec![digest_of(nonempty(value)?)], None))
    }

    /// The current and previous versions of a Secrets Manager secret
    /// (`UNISHOP_ORIGIN_SECRET_ARN`), read now and again as the module says.
    pub async fn from_secrets_manager(
        secrets: Secrets,
        arn: &str,
    ) -> Result<Self, OriginSecretError> {
        let digests = read_versions(&secrets, arn).await?;
        Ok(Self::holding(digests, Some((secrets, arn.to_owned()))))
    }

    fn holding(digests: Vec<ValueDigest>, source: Option<(Secrets, String)>) -> Self {
        let now = Instant::now();
        Self {
            held: RwLock::new(Held {
                digests,
                read_at: now,
            }),
            source,
            last_attempt: Mutex::new(now),
            retry_interval: RETRY_INTERVAL,
            max_age: MAX_AGE,
        }
    }

    /// Other timings than [`RETRY_INTERVAL`] and [`MAX_AGE`] (the tests rotate at once).
    pub fn with_timings(mut self, retry_interval: Duration, max_age: Duration) -> Self {
        self.retry_interval = retry_interval;
        self.max_age = max_age;
        self
    }

    /// Whether a request carrying `presented` came through the edge.
    pub async fn accepts(&self, presented: &[u8]) -> bool {
        let digest = digest_of(presented);
        let (known, fresh) = self.check(&digest);
        let Some((secrets, arn)) = &self.source else {
            return known;
        };
        if known && fresh {
            return true;
        }
        let mut last_attempt = self.last_attempt.lock().await;
        // Another request may have read the values while this one waited.
        let (known, fresh) = self.check(&digest);
        if (known && fresh) || last_attempt.elapsed() < self.retry_interval {
            return known;
        }
        *last_attempt = Instant::now();
        match read_versions(secrets, arn).await {
            Ok(digests) => {
                let mut held = self.held.write().unwrap_or_else(|p| p.into_inner());
                *held = Held {
                    digests,
                    read_at: Instant::now(),
                };
            }
            // The values held stay in use: a Secrets Manager outage must not lock CloudFront out.
            Err(error) => tracing::warn!(%error, "cannot read the origin secret again"),
        }
        self.check(&digest).0
    }

    /// Whether the digest is among the values held (compared with every one, in constant time),
    /// and whether those are younger than the maximum age.
    fn check(&self, digest: &ValueDigest) -> (bool, bool) {
        let held = self.held.read().unwrap_or_else(|p| p.into_inner());
        let known = held
            .digests
            .iter()
            .fold(subtle::Choice::from(0), |found, d| found | d.ct_eq(digest));
        (known.into(), held.read_at.elapsed() < self.max_age)
    }
}

fn nonempty(value: &Secret) -> Result<&[u8], OriginSecretError> {
    if value.0.is_empty() {
        Err(OriginSecretError::Empty)
    } else {
        Ok(value.0.as_bytes())
    }
}

/// The digests of the secret's current version and, when there is one, its previous version.
async fn read_versions(
    secrets: &Secrets,
    arn: &str,
) -> Result<Vec<ValueDigest>, OriginSecretError> {
    // Both at once: this is on a cold start's path.
    let (current, previous) =
        tokio::join!(secrets.read(arn), secrets.read_stage(arn, PREVIOUS_STAGE));
    let mut digests = vec![digest_of(nonempty(&current?)?)];
    if let Some(previous) = previous? {
        if !previous.0.is_empty() {
            digests.push(digest_of(previous.0.as_bytes()));
        }
    }
    Ok(digests)
}

/// Whether a path answers without the origin secret: `/health` and `/health/*`.
pub fn is_open(path: &str) -> bool {
    path == "/health" || path.starts_with("/health/")
}

/// The 403 of a request that did not come through the edge.
pub fn refusal() -> Error {
    Error::Forbidden(format!(
        "this API answers only requests that come through the shop's CloudFront distribution \
         (the {ORIGIN_SECRET_HEADER} header is missing or wrong): use the shop's address"
    ))
}

/// Middleware: refuses a request without the origin secret, unless its path [`is_open`] or no
/// secret is configured.
pub async fn require(
    State(secret): State<Option<Arc<OriginSecret>>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(secret) = secret.filter(|_| !is_open(request.uri().path())) else {
        return next.run(request).await;
    };
    let presented = request.headers().get(ORIGIN_SECRET_HEADER);
    let accepted = match presented {
        Some(value) => secret.accepts(value.as_bytes()).await,
        None => false,
    };
    if accepted {
        next.run(request).await
    } else {
        tracing::info!(
            header_sent = presented.is_some(),
            "refused a request that did not come through the edge"
        );
        refusal().into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::{is_open, OriginSecret, OriginSecretError};
    use crate::config::Secret;

    #[tokio::test]
    async fn a_fixed_secret_accepts_only_itself() {
        let secret = OriginSecret::fixed(&Secret("s3cret-value".into())).expect("not empty");
        assert!(secret.accepts(b"s3cret-value").await);
        for wrong in [&b""[..], b"s3cret-valu", b"s3cret-value ", b"S3CRET-VALUE"] {
            assert!(!secret.accepts(wrong).await, "{wrong:?}");
        }
        assert!(!format!("{secret:?}").contains("s3cret"));
    }

    #[test]
    fn an_empty_secret_is_refused() {
        assert!(matches!(
            OriginSecret::fixed(&Secret(String::new())),
            Err(OriginSecretError::Empty)
        ));
    }

    #[test]
    fn only_health_is_open() {
        for open in [
            "/health",
            "/health/ping",
            "/health/dbping",
            "/health/ishealthy",
        ] {
            assert!(is_open(open), "{open}");
        }
        for closed in ["/", "/healthz", "/unicorns", "/openapi.json", "/user/login"] {
            assert!(!is_open(closed), "{closed}");
        }
    }
}
