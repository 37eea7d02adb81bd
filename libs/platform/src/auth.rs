//! Who is calling: one [`Caller`], one [`Role`], one bearer parser and one [`Authenticator`] for
//! every service and the gateway.
//!
//! Callers send `authorization: Bearer <token>`. Registration owns the sessions and resolves a
//! token against its own table; every other service (and the gateway) asks registration's
//! `Authenticate` and remembers the answer for a few seconds, so a busy caller costs one lookup per
//! window rather than one per call.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hwx_proto::registration::v1 as reg;
use hwx_proto::registration::v1::registration_service_client::RegistrationServiceClient;
use uuid::Uuid;

use crate::codes::Code;
use crate::grpc::{self, ErrorKind, ServiceError};

/// The roles of §0, as stored, sent and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Org,
    Seeker,
    Bureau,
    Mhlw,
    Ops,
    Upstream,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account_id: Uuid,
    pub role: Role,
    pub organisation_id: Option<Uuid>,
    /// For bureau officers: the prefecture code of their labour bureau.
    pub bureau_code: Option<String>,
}

impl Caller {
    /// The caller has one of `roles`, or a refusal naming them.
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

    /// An organisation account may act only for its own organisation; staff for any.
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

    /// The caller as registration's `Authenticate` answers it.
    pub fn to_proto(&self) -> reg::Caller {
        reg::Caller {
            account_id: self.account_id.to_string(),
            role: self.role.to_proto(),
            organisation_id: self
                .organisation_id
                .map(|u| u.to_string())
                .unwrap_or_default(),
            bureau_code: self.bureau_code.clone().unwrap_or_default(),
        }
    }

    /// The caller from registration's answer; anything malformed is registration's fault.
    pub fn from_proto(c: &reg::Caller) -> Result<Caller, ServiceError> {
        let bad =
            |what: &str| ServiceError::internal(format!("registration sent a malformed {what}"));
        Ok(Caller {
            account_id: Uuid::parse_str(&c.account_id).map_err(|_| bad("account id"))?,
            role: Role::from_proto(c.role).map_err(|_| bad("role"))?,
            organisation_id: match c.organisation_id.as_str() {
                "" => None,
                id => Some(Uuid::parse_str(id).map_err(|_| bad("organisation id"))?),
            },
            bureau_code: Some(c.bureau_code.clone()).filter(|b| !b.is_empty()),
        })
    }
}

/// The token of an `Authorization: Bearer <token>` value (scheme in any case, token not empty).
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The bearer token a gRPC call carries in its `authorization` metadata.
pub fn bearer<T>(request: &tonic::Request<T>) -> Option<String> {
    let value = request.metadata().get("authorization")?.to_str().ok()?;
    bearer_token(value).map(str::to_owned)
}

/// A boxed future, as the session backends return.
pub type Resolving<'a> = Pin<Box<dyn Future<Output = Result<Caller, ServiceError>> + Send + 'a>>;

/// Where sessions are looked up: registration's own table, or registration over gRPC.
pub trait Sessions: Send + Sync + 'static {
    fn resolve<'a>(&'a self, token: &'a str) -> Resolving<'a>;
}

/// Registration's `Authenticate`, for every other service and the gateway.
#[derive(Debug, Clone)]
pub struct RemoteSessions(RegistrationServiceClient<grpc::Client>);

impl Sessions for RemoteSessions {
    fn resolve<'a>(&'a self, token: &'a str) -> Resolving<'a> {
        Box::pin(async move {
            let answer = self
                .0
                .clone()
                .authenticate(reg::AuthenticateRequest {
                    token: token.to_owned(),
                })
                .await;
            match answer {
                Ok(c) => Caller::from_proto(c.get_ref()),
                Err(s) => {
                    let rule = grpc::rule_of(&s).and_then(|r| r.parse().ok());
                    let e = match s.code() {
                        tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => {
                            ServiceError::unauthenticated(s.message().to_owned())
                        }
                        tonic::Code::InvalidArgument => {
                            ServiceError::invalid(s.message().to_owned())
                        }
                        tonic::Code::Internal => {
                            ServiceError::internal("registration failed to say who you are")
                        }
                        // Unreachable, overloaded, too slow: try again (the cause to the log,
                        // never to the caller).
                        _ => {
                            tracing::warn!(error = %s, "registration could not authenticate a caller");
                            ServiceError::new(
                                ErrorKind::Unavailable,
                                "registration cannot say who you are now; try again",
                            )
                        }
                    };
                    Err(match rule {
                        Some(r) => e.with_rule(r),
                        None => e,
                    })
                }
            }
        })
    }
}

/// Most tokens remembered at once; beyond this, expired ones are dropped first.
const CACHE_ENTRIES: usize = 100_000;

/// Bearer token → caller, with a short memory.
#[derive(Clone)]
pub struct Authenticator {
    sessions: Arc<dyn Sessions>,
    ttl: Duration,
    cache: Arc<Mutex<HashMap<String, (Caller, Instant)>>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("ttl", &self.ttl)
            .finish()
    }
}

/// How long another service remembers a token: a logout or a compromise report (A1) reaches it
/// within this. Registration itself never remembers: its answer is always the table's.
pub const REMOTE_TTL: Duration = Duration::from_secs(5);

impl Authenticator {
    /// `ttl` zero remembers nothing.
    pub fn new(sessions: impl Sessions, ttl: Duration) -> Self {
        Authenticator {
            sessions: Arc::new(sessions),
            ttl,
            cache: Arc::default(),
        }
    }

    /// Through registration's `Authenticate` on `client`, remembered for [`REMOTE_TTL`].
    pub fn remote(client: grpc::Client) -> Self {
        Self::new(
            RemoteSessions(RegistrationServiceClient::new(client)),
            REMOTE_TTL,
        )
    }

    /// The caller a token belongs to.
    pub async fn token(&self, token: &str) -> Result<Caller, ServiceError> {
        if !self.ttl.is_zero()
            && let Some((c, at)) = self.lock().get(token)
            && at.elapsed() < self.ttl
        {
            return Ok(c.clone());
        }
        let caller = self.sessions.resolve(token).await?;
        // An organisation account whose organisation is not registered yet is about to get one:
        // remembering it without would hide the organisation from the next calls.
        let settled = caller.role != Role::Org || caller.organisation_id.is_some();
        if !self.ttl.is_zero() && settled {
            let mut cache = self.lock();
            if cache.len() >= CACHE_ENTRIES {
                let ttl = self.ttl;
                cache.retain(|_, (_, at)| at.elapsed() < ttl);
            }
            if cache.len() < CACHE_ENTRIES {
                cache.insert(token.to_owned(), (caller.clone(), Instant::now()));
            }
        }
        Ok(caller)
    }

    /// The caller a token belongs to, asked now and not remembered: for what must not act on a
    /// token revoked a moment ago (operations' switches).
    pub async fn fresh(&self, token: &str) -> Result<Caller, ServiceError> {
        self.sessions.resolve(token).await
    }

    /// The caller of a gRPC request; no token is a refusal.
    pub async fn caller<T>(&self, request: &tonic::Request<T>) -> Result<Caller, ServiceError> {
        let token = bearer(request).ok_or_else(|| {
            ServiceError::unauthenticated("log in first: send authorization: Bearer <token>")
        })?;
        self.token(&token).await
    }

    /// The caller when the request carries a token, none when it carries none.
    pub async fn optional<T>(
        &self,
        request: &tonic::Request<T>,
    ) -> Result<Option<Caller>, ServiceError> {
        match bearer(request) {
            Some(token) => self.token(&token).await.map(Some),
            None => Ok(None),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Caller, Instant)>> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
