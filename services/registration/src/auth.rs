//! Passwords (Argon2id), bearer tokens, and sessions resolved to their caller (A1).

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use chrono::Duration;
use hwx_platform::auth::{Resolving, Sessions};
use hwx_platform::clock::SharedClock;
use hwx_platform::grpc::ServiceError;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::store::Store;

/// How long a session lasts.
pub const SESSION_TTL: Duration = Duration::hours(12);
/// How long a password-reset token works.
pub const RESET_TTL: Duration = Duration::hours(1);
/// How long a sign-up's confirmation token works: a day, for mail that is slow to arrive.
pub const SIGN_UP_TTL: Duration = Duration::hours(24);

/// Argon2id takes 19 MiB and tens of milliseconds per hash: at most this many run at once, so a
/// flood of logins queues instead of exhausting memory.
const ARGON2_AT_ONCE: usize = 4;

fn argon2_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(ARGON2_AT_ONCE))
}

/// A password as it is hashed and checked: NFKC-normalised, so the full-width and half-width
/// forms a Japanese input method may produce are one password.
pub fn normalise(password: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    password.nfkc().collect()
}

/// Hash a password with Argon2id and a fresh salt (PHC string).
pub async fn hash_password(password: String) -> Result<String, ServiceError> {
    let password = normalise(&password);
    let _permit = argon2_permits()
        .acquire()
        .await
        .map_err(|e| ServiceError::internal(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| ServiceError::internal(format!("cannot hash the password: {e}")))
    })
    .await
    .map_err(|e| ServiceError::internal(format!("hashing task failed: {e}")))?
}

/// Check a password against its PHC hash: as normalised, and, for a hash made before passwords
/// were normalised, as typed.
pub async fn verify_password(password: String, hash: String) -> bool {
    let normalised = normalise(&password);
    if normalised != password && verify_exactly(normalised, hash.clone()).await {
        return true;
    }
    verify_exactly(password, hash).await
}

async fn verify_exactly(password: String, hash: String) -> bool {
    let Ok(_permit) = argon2_permits().acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

/// A new bearer token (256 random bits as 64 hex digits) and the hash stored for it.
pub fn new_token() -> (String, Vec<u8>) {
    let token = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Sessions as registration resolves them: from its own table, never remembered (a logout or a
/// lock applies to the next call).
#[derive(Debug, Clone)]
pub struct LocalSessions {
    pub store: Store,
    pub clock: SharedClock,
}

impl Sessions for LocalSessions {
    fn resolve<'a>(&'a self, token: &'a str) -> Resolving<'a> {
        Box::pin(async move {
            let now = self.clock.now();
            let session = self
                .store
                .session(&token_hash(token), now)
                .await?
                .ok_or_else(|| {
                    ServiceError::unauthenticated(
                        "the session is unknown, expired or revoked: log in again",
                    )
                })?;
            if session.locked_until.is_some_and(|t| t > now) {
                return Err(ServiceError::unauthenticated("the account is locked")
                    .with_rule(hwx_rules::RuleId::A1));
            }
            if session.closed_on.is_some() {
                return Err(ServiceError::unauthenticated("the account is closed"));
            }
            Ok(session.caller)
        })
    }
}
