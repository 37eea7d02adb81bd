//! Passwords (Argon2id), bearer sessions and who is calling (A1).

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use chrono::{DateTime, Duration, Utc};
use hwx_platform::grpc::ServiceError;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Row};
use uuid::Uuid;

/// How long a session lasts.
pub const SESSION_TTL: Duration = Duration::hours(12);
/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 10;

/// Roles of §0, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Org,
    Seeker,
    Bureau,
    Mhlw,
    Ops,
    Upstream,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Org => "org",
            Role::Seeker => "seeker",
            Role::Bureau => "bureau",
            Role::Mhlw => "mhlw",
            Role::Ops => "ops",
            Role::Upstream => "upstream",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "org" => Role::Org,
            "seeker" => Role::Seeker,
            "bureau" => Role::Bureau,
            "mhlw" => Role::Mhlw,
            "ops" => Role::Ops,
            "upstream" => Role::Upstream,
            _ => return None,
        })
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account_id: Uuid,
    pub role: Role,
    pub organisation_id: Option<Uuid>,
    /// For bureau officers: the prefecture code of their labour bureau.
    pub bureau_code: Option<String>,
}

impl Caller {
    pub fn require(&self, roles: &[Role]) -> Result<(), ServiceError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ServiceError::forbidden(format!(
                "this needs the role {}",
                roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            )))
        }
    }

    /// An organisation account may act only for its own organisation.
    pub fn own_organisation(&self, org: Uuid) -> Result<(), ServiceError> {
        match (self.role, self.organisation_id) {
            (Role::Org, Some(own)) if own == org => Ok(()),
            (Role::Org, _) => Err(ServiceError::forbidden(
                "an organisation account acts only for its own organisation",
            )),
            (Role::Mhlw | Role::Ops | Role::Bureau, _) => Ok(()),
            _ => Err(ServiceError::forbidden("not allowed for this role")),
        }
    }
}

/// Argon2id takes 19 MiB and tens of milliseconds per hash: at most this many run at once, so a
/// flood of logins queues instead of exhausting memory.
const ARGON2_AT_ONCE: usize = 4;

fn argon2_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(ARGON2_AT_ONCE))
}

/// Hash a password with Argon2id and a fresh salt (PHC string).
pub async fn hash_password(password: String) -> Result<String, ServiceError> {
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

/// Check a password against its PHC hash.
pub async fn verify_password(password: String, hash: String) -> bool {
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

/// The bearer token of a gRPC request (`authorization: Bearer …`).
pub fn bearer<T>(request: &tonic::Request<T>) -> Option<String> {
    request
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_owned())
}

/// Resolve a bearer token to its caller: the session must be unexpired and unrevoked, and the
/// account neither locked nor closed.
pub async fn authenticate(
    pool: &PgPool,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Caller, ServiceError> {
    let row = sqlx::query(
        "SELECT a.id, a.role, a.organisation_id, a.bureau_code, a.locked_until, a.closed_on
         FROM sessions s JOIN accounts a ON a.id = s.account_id
         WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2",
    )
    .bind(token_hash(token))
    .bind(now)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| {
        ServiceError::unauthenticated("the session is unknown, expired or revoked: log in again")
    })?;
    let locked: Option<DateTime<Utc>> = row.try_get("locked_until")?;
    if locked.is_some_and(|t| t > now) {
        return Err(
            ServiceError::unauthenticated("the account is locked").with_rule(hwx_rules::RuleId::A1)
        );
    }
    let closed: Option<chrono::NaiveDate> = row.try_get("closed_on")?;
    if closed.is_some() {
        return Err(ServiceError::unauthenticated("the account is closed"));
    }
    let role: String = row.try_get("role")?;
    Ok(Caller {
        account_id: row.try_get("id")?,
        role: Role::parse(&role)
            .ok_or_else(|| ServiceError::internal(format!("unknown role {role:?} stored")))?,
        organisation_id: row.try_get("organisation_id")?,
        bureau_code: row.try_get("bureau_code")?,
    })
}
