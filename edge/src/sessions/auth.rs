//! Passwords (argon2id), tokens (JWT, HS256, with expiry) and API keys (id + secret,
//! the engine keeps only the secret's SHA-256).

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use argon2::Argon2;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::api::error::ApiError;

/// Bytes of password salt (the engine's `CreateUser::salt`).
pub const SALT_LEN: usize = 16;
/// Bytes of password hash (the engine's `CreateUser::password_hash`).
pub const HASH_LEN: usize = 32;

/// argon2id of `password` with `salt`, 32 bytes.
pub fn hash_password(password: &str, salt: &[u8; SALT_LEN]) -> [u8; HASH_LEN] {
    let mut out = [0u8; HASH_LEN];
    Argon2::default()
        .hash_password_into(password.as_bytes(), salt, &mut out)
        .expect("argon2 accepts a 16-byte salt and a 32-byte output");
    out
}

/// Whether `password` matches `hash` under `salt` (constant-time comparison).
pub fn verify_password(password: &str, salt: &[u8; SALT_LEN], hash: &[u8; HASH_LEN]) -> bool {
    let computed = hash_password(password, salt);
    computed
        .iter()
        .zip(hash)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// A fresh random salt.
pub fn new_salt() -> [u8; SALT_LEN] {
    let mut salt = [0u8; SALT_LEN];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    salt
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: u64,
    exp: u64,
}

/// Issues and checks tokens with one shared secret.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
}

impl Tokens {
    /// Tokens signed with `secret`, valid for `ttl`.
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl,
        }
    }

    /// A token for `user_id`, expiring `ttl` from now.
    pub fn issue(&self, user_id: u64) -> String {
        self.issue_at(user_id, unix_now())
    }

    fn issue_at(&self, user_id: u64, now: u64) -> String {
        let claims = Claims {
            sub: user_id.to_string(),
            iat: now,
            exp: now + self.ttl.as_secs(),
        };
        jsonwebtoken::encode(&Header::default(), &claims, &self.encoding)
            .expect("HS256 signing cannot fail")
    }

    /// The user a token was issued to; 401 if it is forged, malformed or expired.
    pub fn verify(&self, token: &str) -> Result<u64, ApiError> {
        let mut validation = Validation::default();
        validation.leeway = 0;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map_err(
            |error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    ApiError::unauthorized("token has expired; sign in again")
                }
                _ => ApiError::unauthorized("token is not valid"),
            },
        )?;
        data.claims
            .sub
            .parse()
            .map_err(|_| ApiError::unauthorized("token is not valid"))
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Reads `<data_dir>/jwt.secret`, or creates it (mode 0600) so every edge and restart shares it.
/// Creation is race-free: a private temp file is hard-linked into place, and a loser reads the winner's.
pub fn load_or_create_secret(data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    let path = data_dir.join("jwt.secret");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return secret_from_text(&text, &path);
    }
    std::fs::create_dir_all(data_dir)?;
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let temp = data_dir.join(format!("jwt.secret.{}", std::process::id()));
    {
        let mut file = pinwheel_journal::open_private(&temp, pinwheel_journal::Existing::Truncate)?;
        file.write_all(hex::encode(secret).as_bytes())?;
        file.sync_all()?;
    }
    let linked = std::fs::hard_link(&temp, &path);
    std::fs::remove_file(&temp)?;
    if let Err(error) = linked {
        if error.kind() != std::io::ErrorKind::AlreadyExists {
            return Err(error.into());
        }
    }
    secret_from_text(&std::fs::read_to_string(&path)?, &path)
}

fn secret_from_text(text: &str, path: &Path) -> anyhow::Result<Vec<u8>> {
    let text = text.trim();
    anyhow::ensure!(
        text.len() >= 16,
        "{}: the secret is shorter than 16 characters",
        path.display()
    );
    Ok(text.as_bytes().to_vec())
}

/// An API key as handed to a bot: `<32 hex key id>.<64 hex secret>` (header `X-API-Key`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiKeyText {
    /// Public id (the engine's `ApiKey::key_id`).
    pub key_id: [u8; 16],
    /// Secret; only its SHA-256 leaves the edge.
    pub secret: [u8; 32],
}

impl ApiKeyText {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut key = Self {
            key_id: [0; 16],
            secret: [0; 32],
        };
        rand::rngs::OsRng.fill_bytes(&mut key.key_id);
        rand::rngs::OsRng.fill_bytes(&mut key.secret);
        key
    }

    /// Parses the header text; 401 if malformed.
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let bad = || ApiError::unauthorized("X-API-Key is not a valid API key");
        let (id, secret) = text.trim().split_once('.').ok_or_else(bad)?;
        let mut key = Self {
            key_id: [0; 16],
            secret: [0; 32],
        };
        hex::decode_to_slice(id, &mut key.key_id).map_err(|_| bad())?;
        hex::decode_to_slice(secret, &mut key.secret).map_err(|_| bad())?;
        Ok(key)
    }

    /// The text handed to the user.
    pub fn text(&self) -> String {
        format!("{}.{}", hex::encode(self.key_id), hex::encode(self.secret))
    }

    /// SHA-256 of the secret, what the engine stores.
    pub fn secret_hash(&self) -> [u8; 32] {
        Sha256::digest(self.secret).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2_verifies_the_right_password_only() {
        let salt = new_salt();
        let hash = hash_password("correct horse", &salt);
        assert!(verify_password("correct horse", &salt, &hash));
        assert!(!verify_password("correct horsf", &salt, &hash));
        assert!(!verify_password("correct horse", &new_salt(), &hash));
    }

    #[test]
    fn tokens_verify_and_expire() {
        let tokens = Tokens::new(b"0123456789abcdef0123", Duration::from_secs(60));
        let token = tokens.issue(42);
        assert_eq!(tokens.verify(&token), Ok(42));
        let old = tokens.issue_at(42, unix_now() - 3600);
        let error = tokens.verify(&old).unwrap_err();
        assert_eq!(error.status.as_u16(), 401);
        assert!(error.message.contains("expired"), "{}", error.message);
        let other = Tokens::new(b"another secret of 20b", Duration::from_secs(60));
        assert!(other.verify(&token).is_err());
        assert!(tokens.verify("not.a.token").is_err());
    }

    #[test]
    fn secret_file_is_created_once_with_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("pinwheel-edge-secret-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = load_or_create_secret(&dir).unwrap();
        let second = load_or_create_secret(&dir).unwrap();
        assert_eq!(first, second);
        let mode = std::fs::metadata(dir.join("jwt.secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn api_keys_round_trip_and_hash() {
        let key = ApiKeyText::generate();
        let parsed = ApiKeyText::parse(&key.text()).unwrap();
        assert_eq!(parsed, key);
        assert_eq!(parsed.secret_hash(), key.secret_hash());
        assert!(ApiKeyText::parse("abc.def").is_err());
        assert!(ApiKeyText::parse("nodot").is_err());
    }
}
