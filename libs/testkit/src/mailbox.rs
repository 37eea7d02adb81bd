//! A test's mailbox: the notices registration keeps for people (sign-up and reset tokens), read
//! from its schema the way the person would read their mail. A test that reads one must not run
//! a notifier: a delivered notice is blanked. (No log subscriber, or one that hides
//! `hwx::notice`, starts none.)

use std::net::SocketAddr;

use hwx_platform::db::Database;
use serde_json::json;

use crate::http::request;

/// The one-time token (64 hex digits) in the newest notice of `kind` (`sign-up`,
/// `password-reset`) to `email`.
pub async fn token(db: &Database, email: &str, kind: &str) -> String {
    let body: Option<String> = sqlx::query_scalar(
        "SELECT body FROM notices WHERE to_address = $1 AND kind = $2 ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .bind(email)
    .bind(kind)
    .fetch_optional(db.pool())
    .await
    .unwrap_or_else(|e| panic!("reading the notices to {email}: {e}"));
    let body = body.unwrap_or_else(|| panic!("no {kind} notice to {email}"));
    body.split_whitespace()
        .find(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| {
            panic!(
                "the {kind} notice to {email} holds no token (delivered and blanked, or a notice without one): {body:?}"
            )
        })
        .to_owned()
}

/// Sign up through the gateway at `addr`, and confirm with the token from the notice: the
/// account of `role` (`org`, `seeker`) exists afterwards.
pub async fn sign_up(addr: SocketAddr, db: &Database, email: &str, password: &str, role: &str) {
    let r = request(
        addr,
        "POST",
        "/v1/accounts",
        None,
        Some(&json!({"email": email, "password": password, "role": role})),
    )
    .await
    .unwrap_or_else(|e| panic!("sign-up of {email}: {e}"));
    assert_eq!(
        r.status,
        202,
        "sign-up of {email}: {}",
        String::from_utf8_lossy(&r.body)
    );
    let token = token(db, email, "sign-up").await;
    let r = request(
        addr,
        "POST",
        "/v1/accounts/confirmation",
        None,
        Some(&json!({ "token": token })),
    )
    .await
    .unwrap_or_else(|e| panic!("confirming {email}: {e}"));
    assert_eq!(
        r.status,
        201,
        "confirming {email}: {}",
        String::from_utf8_lossy(&r.body)
    );
}
