//! Signed bearer tokens: `PAYLOAD.SIGNATURE`, both base64url without padding.
//!
//! The payload is 33 bytes: a format version (1), the user's uuid (16), the issue and expiry times
//! (8 each, seconds since the epoch, big-endian). The signature is HMAC-SHA256 of the encoded
//! payload under the shared key. Any region holding the key verifies a token without a database
//! read, so a shopper stays logged in across a failover; nobody without the key can make or alter
//! one.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// How long a token is accepted after login: a week of shopping without logging in again.
pub const TOKEN_TTL_SECS: i64 = 7 * 24 * 60 * 60;
/// The shortest key accepted, in bytes.
pub const MIN_KEY_LEN: usize = 32;
/// The name of the generated key file in the data folder.
pub const KEY_FILE_NAME: &str = "token.key";

const VERSION: u8 = 1;
const PAYLOAD_LEN: usize = 1 + 16 + 8 + 8;
/// Longer than any token this module makes; anything longer is refused before decoding.
const MAX_TOKEN_LEN: usize = 128;

/// Why a presented token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's signature is not valid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
}

/// Why no key could be set up.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the token key has {0} bytes; use at least {MIN_KEY_LEN} (for example `openssl rand -base64 32`)")]
    TooShort(usize),
    #[error("cannot read the token key file {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot write a new token key to {path}: {error}")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("the system random number generator failed: {0}")]
    Random(String),
}

/// The key that signs and verifies tokens.
#[derive(Clone)]
pub struct TokenKey {
    mac: HmacSha256,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(<redacted>)")
    }
}

fn random_secret() -> Result<String, KeyError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

impl TokenKey {
    /// A key from secret text (surrounding whitespace ignored) of at least [`MIN_KEY_LEN`] bytes.
    pub fn new(secret: &str) -> Result<Self, KeyError> {
        let secret = secret.trim();
        if secret.len() < MIN_KEY_LEN {
            return Err(KeyError::TooShort(secret.len()));
        }
        let mac = HmacSha256::new_from_slice(secret.as_bytes())
            .map_err(|_| KeyError::TooShort(secret.len()))?;
        Ok(TokenKey { mac })
    }

    /// A fresh random key, for a process whose tokens need not outlive it (an in-memory store).
    pub fn random() -> Result<Self, KeyError> {
        Self::new(&random_secret()?)
    }

    /// The key from, in order: `explicit` text, the file at `file`, or `token.key` in
    /// `data_folder` (generated there once when missing, readable by its owner only); with none
    /// of these, a random key for this process.
    pub fn load(
        explicit: Option<&str>,
        file: Option<&Path>,
        data_folder: Option<&Path>,
    ) -> Result<Self, KeyError> {
        if let Some(secret) = explicit {
            return Self::new(secret);
        }
        if let Some(path) = file {
            return Self::new(&read_key(path)?);
        }
        match data_folder {
            Some(folder) => Self::new(&generated_key(folder)?),
            None => Self::random(),
        }
    }

    fn signature(&self, payload: &str) -> HmacSha256 {
        let mut mac = self.mac.clone();
        mac.update(payload.as_bytes());
        mac
    }

    /// A token for `user`, issued at `issued_at` and valid for `ttl` seconds, with its expiry.
    pub fn issue(&self, user: Uuid, issued_at: i64, ttl: i64) -> (String, i64) {
        let expires_at = issued_at.saturating_add(ttl);
        let mut payload = Vec::with_capacity(PAYLOAD_LEN);
        payload.push(VERSION);
        payload.extend_from_slice(user.as_bytes());
        payload.extend_from_slice(&issued_at.to_be_bytes());
        payload.extend_from_slice(&expires_at.to_be_bytes());
        let payload = URL_SAFE_NO_PAD.encode(payload);
        let signature = URL_SAFE_NO_PAD.encode(self.signature(&payload).finalize().into_bytes());
        (format!("{payload}.{signature}"), expires_at)
    }

    /// The user a token was issued to, if it is well-formed, signed with this key and unexpired
    /// at `now`. The signature is compared in constant time.
    pub fn verify(&self, token: &str, now: i64) -> Result<Uuid, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let (payload_text, signature) = token.split_once('.').ok_or(TokenError::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        self.signature(payload_text)
            .verify_slice(&signature)
            .map_err(|_| TokenError::BadSignature)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload_text)
            .map_err(|_| TokenError::Malformed)?;
        if payload.len() != PAYLOAD_LEN || payload[0] != VERSION {
            return Err(TokenError::Malformed);
        }
        let user = Uuid::from_slice(&payload[1..17]).map_err(|_| TokenError::Malformed)?;
        let mut expiry = [0u8; 8];
        expiry.copy_from_slice(&payload[25..33]);
        if i64::from_be_bytes(expiry) <= now {
            return Err(TokenError::Expired);
        }
        Ok(user)
    }
}

/// The key text in a file, without surrounding whitespace (a trailing newline especially).
fn read_key(path: &Path) -> Result<String, KeyError> {
    std::fs::read_to_string(path)
        .map(|text| text.trim().to_owned())
        .map_err(|error| KeyError::Read {
            path: path.to_owned(),
            error,
        })
}

/// Reads `folder/token.key`, creating it first when missing. Several processes may start at once
/// on one data folder: the key is written to a private temporary file and hard-linked into place,
/// which fails when another process got there first, so all of them end up with the same,
/// complete key.
fn generated_key(folder: &Path) -> Result<String, KeyError> {
    let path = folder.join(KEY_FILE_NAME);
    if path.exists() {
        return read_key(&path);
    }
    let write_error = |error| KeyError::Write {
        path: path.clone(),
        error,
    };
    std::fs::create_dir_all(folder).map_err(write_error)?;
    let secret = random_secret()?;
    let temporary = folder.join(format!(".{KEY_FILE_NAME}.{}", std::process::id()));
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&temporary).map_err(write_error)?;
        file.write_all(format!("{secret}\n").as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(write_error)?;
    }
    let linked = std::fs::hard_link(&temporary, &path);
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "generated a new token key");
            Ok(secret)
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => read_key(&path),
        Err(error) => Err(write_error(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn a_token_verifies_under_its_key_until_it_expires() {
        let key = TokenKey::new(SECRET).expect("key");
        let user = Uuid::new_v4();
        let (token, expires_at) = key.issue(user, 1_000, 60);
        assert_eq!(expires_at, 1_060);
        assert_eq!(key.verify(&token, 1_000), Ok(user));
        assert_eq!(key.verify(&token, 1_059), Ok(user));
        assert_eq!(key.verify(&token, 1_060), Err(TokenError::Expired));
        // Another process with the same key (another region) accepts it too.
        let other_region = TokenKey::new(&format!("  {SECRET}\n")).expect("key");
        assert_eq!(other_region.verify(&token, 1_000), Ok(user));
        let other_key = TokenKey::new(&SECRET.replace('0', "1")).expect("key");
        assert_eq!(
            other_key.verify(&token, 1_000),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn tampered_and_malformed_tokens_are_refused() {
        let key = TokenKey::new(SECRET).expect("key");
        let (token, _) = key.issue(Uuid::new_v4(), 1_000, 60);
        let (payload, signature) = token.split_once('.').expect("two parts");
        // Re-signing someone else's uuid needs the key; swapping in another payload fails.
        let (other, _) = key.issue(Uuid::new_v4(), 1_000, 60);
        let other_payload = other.split_once('.').expect("two parts").0;
        assert_eq!(
            key.verify(&format!("{other_payload}.{signature}"), 1_000),
            Err(TokenError::BadSignature)
        );
        let mut flipped = payload.as_bytes().to_vec();
        flipped[5] = if flipped[5] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).expect("ascii");
        assert_eq!(
            key.verify(&format!("{flipped}.{signature}"), 1_000),
            Err(TokenError::BadSignature)
        );
        for bad in ["", ".", "abc", "a.b", "!!!.???", &"x".repeat(500), payload] {
            assert!(key.verify(bad, 1_000).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(matches!(TokenKey::new("short"), Err(KeyError::TooShort(5))));
        assert!(TokenKey::new(&" ".repeat(40)).is_err());
    }

    #[test]
    fn a_generated_key_is_written_once_and_reused() {
        let folder = tempfile::tempdir().expect("temp dir");
        let first = generated_key(folder.path()).expect("generated");
        let second = generated_key(folder.path()).expect("read back");
        assert_eq!(first, second);
        assert!(first.len() >= MIN_KEY_LEN);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(folder.path().join(KEY_FILE_NAME))
                .expect("file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "only the owner may read the key");
        }
        // A key set explicitly wins over the file.
        let key = TokenKey::load(Some(SECRET), None, Some(folder.path())).expect("explicit");
        let (token, _) = key.issue(Uuid::nil(), 0, 10);
        assert!(TokenKey::new(SECRET)
            .expect("key")
            .verify(&token, 1)
            .is_ok());
    }
}
