//! Accounts and sessions: passwords per NIST SP 800-63B, a new session at each login, log out
//! everywhere, sign-up and login that tell nobody which emails exist, and logs that hold no
//! secret.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{PASSWORD, Who, World, logs, text};

#[tokio::test]
async fn passwords_follow_nist_800_63b_at_sign_up_change_and_reset() {
    let w = World::start().await;
    let signup =
        |email: &str, password: &str| json!({"email": email, "password": password, "role": "org"});
    for (password, says) in [
        (
            "fourteen chars",
            "password: at least 15 characters (it has 14)",
        ),
        ("1qaz2wsx3edc4rfv", "list of common and breached passwords"),
        (
            "Password12345678!",
            "a common or breached password (\"password\") with digits",
        ),
        // Full-width input is the same password (NFKC): still on the list.
        (
            "１ｑａｚ２ｗｓｘ３ｅｄｃ４ｒｆｖ",
            "list of common and breached passwords",
        ),
        ("aaaaaaaaaaaaaaaaaaaa", "repeats"),
        ("hanako.sato in spring 2026", "email address"),
    ] {
        let r = w
            .call(
                "POST",
                "/v1/accounts",
                None,
                Some(signup("hanako.sato@example.jp", password)),
            )
            .await;
        assert_eq!(r.status, 400, "{password}: {}", text(&r));
        let detail = r.json()["detail"].as_str().unwrap().to_owned();
        assert!(detail.contains(says), "{password}: {detail}");
    }
    // No composition rules: a long passphrase of any characters, Japanese included, is fine, and
    // so is one of 256 characters.
    for (i, password) in [
        "みらいキャリアの合言葉は春の海です",
        &"correct horse battery staple ".repeat(9)[..256],
    ]
    .into_iter()
    .enumerate()
    {
        let email = format!("ok{i}@example.jp");
        hwx_testkit::mailbox::sign_up(w.gateway, &w.reg_db, &email, password, "org").await;
        w.login(&email, password).await;
    }
    // A change is held to the same list.
    let (_, token) = w.account(Who::Seeker).await;
    let r = w
        .call(
            "PUT",
            "/v1/account/password",
            Some(&token),
            Some(json!({"current_password": PASSWORD, "new_password": "qwertyuiop123456"})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", text(&r));
    assert!(
        text(&r).contains("new_password: this password is a common or breached password"),
        "{}",
        text(&r)
    );
    w.stop().await;
}

#[tokio::test]
async fn each_login_is_a_new_session_and_log_out_everywhere_ends_them_all() {
    let w = World::start().await;
    let (email, first) = w.account(Who::OrgA).await;
    let second = w.login(&email, PASSWORD).await;
    assert_ne!(first, second, "a login never hands out an existing session");
    let (_, bystander) = w.account(Who::OrgA).await;
    for t in [&first, &second] {
        let r = w.call("GET", "/v1/applications", Some(t), None).await;
        assert_eq!(
            r.status,
            403,
            "registered no organisation yet, but logged in: {}",
            text(&r)
        );
    }
    let r = w
        .call("DELETE", "/v1/account/sessions", Some(&second), None)
        .await;
    assert_eq!(r.status, 204, "{}", text(&r));
    // Gateways remember a token for up to 5 s: within that, both sessions end everywhere.
    let deadline = Instant::now() + Duration::from_secs(7);
    for t in [&first, &second] {
        loop {
            let r = w.call("GET", "/v1/applications", Some(t), None).await;
            if r.status == 401 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "a session outlived log out everywhere: {}",
                text(&r)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // Another account's session is untouched, and the account can log in again.
    let r = w
        .call("GET", "/v1/applications", Some(&bystander), None)
        .await;
    assert_eq!(r.status, 403, "{}", text(&r));
    w.login(&email, PASSWORD).await;
    // Without a session there is nothing to end.
    let r = w
        .call("DELETE", "/v1/account/sessions", Some(&first), None)
        .await;
    assert_eq!(r.status, 401, "{}", text(&r));
    w.stop().await;
}

#[tokio::test]
async fn login_answers_alike_for_unknown_emails_and_wrong_passwords() {
    let w = World::start().await;
    let (email, _) = w.account(Who::Seeker).await;
    let attempt = |email: String| {
        let w = &w;
        async move {
            let t = Instant::now();
            let r = w
                .call(
                    "POST",
                    "/v1/sessions",
                    None,
                    Some(json!({"email": email, "password": "not the password at all"})),
                )
                .await;
            (r, t.elapsed())
        }
    };
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    // Alternating, so load on the machine falls on both alike; fewer than the lockout's count.
    for i in 0..4 {
        let (a, ta) = attempt(email.clone()).await;
        let (b, tb) = attempt(format!("nobody{i}@example.jp")).await;
        assert_eq!(
            (a.status, a.json()["detail"].clone()),
            (b.status, b.json()["detail"].clone())
        );
        known.push(ta);
        unknown.push(tb);
    }
    // Both pay for one password hash: the fastest of each are within a factor of 3 (a bare
    // lookup would be a twentieth of a hash). The fastest, since a busy machine only adds time.
    let k = known.iter().min().unwrap().as_secs_f64();
    let u = unknown.iter().min().unwrap().as_secs_f64();
    assert!(
        k < u * 3.0 && u < k * 3.0,
        "known {known:?} vs unknown {unknown:?}"
    );
    // Asking for a reset answers alike too.
    let a = w
        .call(
            "POST",
            "/v1/password-resets",
            None,
            Some(json!({"email": email})),
        )
        .await;
    let b = w
        .call(
            "POST",
            "/v1/password-resets",
            None,
            Some(json!({"email": "nobody@example.jp"})),
        )
        .await;
    assert_eq!((a.status, a.body.clone()), (b.status, b.body.clone()));
    w.stop().await;
}

/// The sign-up notices to `email`, oldest first: (subject, body).
async fn mail(w: &World, email: &str) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT subject, body FROM notices WHERE to_address = $1 AND kind = 'sign-up' ORDER BY created_at, id",
    )
    .bind(email)
    .fetch_all(w.reg_db.pool())
    .await
    .unwrap()
}

fn token_in(body: &str) -> Option<&str> {
    body.split_whitespace()
        .find(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[tokio::test]
async fn sign_up_answers_alike_for_new_taken_and_barred_emails() {
    let w = World::start().await;
    // An open account, and (E7) one with another email closed a year ago.
    let (taken, barred) = (
        "taken@security.example.jp".to_owned(),
        "closed@security.example.jp",
    );
    sqlx::query("INSERT INTO accounts (id, email, password_hash, role, closed_on) VALUES (gen_random_uuid(), $1, 'x', 'org', NULL), (gen_random_uuid(), $2, 'x', 'org', current_date - 365)")
        .bind(&taken)
        .bind(barred)
        .execute(w.reg_db.pool())
        .await
        .unwrap();
    let attempt = |email: String| {
        let w = &w;
        async move {
            let t = Instant::now();
            let r = w
                .call(
                    "POST",
                    "/v1/accounts",
                    None,
                    Some(json!({"email": email, "password": "another long passphrase", "role": "org"})),
                )
                .await;
            (r, t.elapsed())
        }
    };
    let (mut times_taken, mut times_new, mut times_barred) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..3 {
        let (a, ta) = attempt(taken.clone()).await;
        let (b, tb) = attempt(format!("new{i}@security.example.jp")).await;
        let (c, tc) = attempt(barred.to_owned()).await;
        assert_eq!(a.status, 202, "{}", text(&a));
        assert_eq!((a.status, &a.body), (b.status, &b.body));
        assert_eq!((a.status, &a.body), (c.status, &c.body));
        times_taken.push(ta);
        times_new.push(tb);
        times_barred.push(tc);
    }
    // Each pays for one password hash and one notice: the fastest of each within a factor of 3
    // (a bare lookup would be a twentieth of a hash). The fastest, since load only adds time.
    let fastest = |v: &Vec<Duration>| v.iter().min().unwrap().as_secs_f64();
    let (t, n, b) = (
        fastest(&times_taken),
        fastest(&times_new),
        fastest(&times_barred),
    );
    let (lo, hi) = (t.min(n).min(b), t.max(n).max(b));
    eprintln!(
        "sign-up, fastest of 3: taken {:.1} ms, new {:.1} ms, barred {:.1} ms",
        t * 1e3,
        n * 1e3,
        b * 1e3
    );
    assert!(
        hi < lo * 3.0,
        "taken {times_taken:?}, new {times_new:?}, barred {times_barred:?}"
    );

    // The mailbox learns which it is; no token goes to a taken or barred email.
    let to_taken = mail(&w, &taken).await;
    assert_eq!(to_taken.len(), 3);
    assert!(
        to_taken.iter().all(|(s, b)| s == "HWX: your sign-up"
            && b.contains("has an account already")
            && token_in(b).is_none()),
        "{to_taken:?}"
    );
    let to_barred = mail(&w, barred).await;
    assert_eq!(to_barred.len(), 3);
    assert!(
        to_barred
            .iter()
            .all(|(_, b)| b.contains("(E7)") && token_in(b).is_none()),
        "{to_barred:?}"
    );
    // Nothing is made until the token comes back; a refused sign-up left the one account.
    let r = w
        .call(
            "POST",
            "/v1/sessions",
            None,
            Some(
                json!({"email": "new0@security.example.jp", "password": "another long passphrase"}),
            ),
        )
        .await;
    assert_eq!(r.status, 401, "{}", text(&r));
    let accounts: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM accounts WHERE email = $1 OR email LIKE 'new%@security.example.jp'",
    )
    .bind(&taken)
    .fetch_one(w.reg_db.pool())
    .await
    .unwrap();
    assert_eq!(accounts, 1);

    // Two sign-ups of one email: the token confirmed makes the account, once; the other token
    // ends with it.
    let email = "twice@security.example.jp";
    for _ in 0..2 {
        assert_eq!(attempt(email.to_owned()).await.0.status, 202);
    }
    let tokens: Vec<String> = mail(&w, email)
        .await
        .iter()
        .map(|(_, b)| token_in(b).unwrap().to_owned())
        .collect();
    assert_eq!(tokens.len(), 2);
    let confirm = |token: &str| {
        w.call(
            "POST",
            "/v1/accounts/confirmation",
            None,
            Some(json!({ "token": token })),
        )
    };
    let r = confirm(&tokens[1]).await;
    assert_eq!(r.status, 201, "{}", text(&r));
    assert_eq!(r.json()["email"], email);
    assert_eq!(r.json()["role"], "org");
    for t in [&tokens[1], &tokens[0]] {
        let r = confirm(t).await;
        assert_eq!(r.status, 401, "{}", text(&r));
        assert!(text(&r).contains("sign up again"), "{}", text(&r));
    }
    w.login(email, "another long passphrase").await;

    // A flood of sign-ups sends one address 3 notices an hour, and is still answered alike.
    let flooded = "flood@security.example.jp";
    for _ in 0..5 {
        assert_eq!(attempt(flooded.to_owned()).await.0.status, 202);
    }
    assert_eq!(mail(&w, flooded).await.len(), 3);
    // Staff accounts are not for sign-up, and a session other than operations' makes none.
    let r = w
        .call(
            "POST",
            "/v1/accounts",
            None,
            Some(json!({"email": "officer@security.example.go.jp", "password": PASSWORD, "role": "org", "bureau_code": "13"})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", text(&r));
    assert!(text(&r).contains("bureau_code"), "{}", text(&r));
    let r = w
        .call(
            "POST",
            "/v1/accounts",
            None,
            Some(json!({"email": "officer@security.example.go.jp", "password": PASSWORD, "role": "bureau"})),
        )
        .await;
    assert_eq!(r.status, 403, "{}", text(&r));
    let (_, seeker) = w.account(Who::Seeker).await;
    let r = w
        .call(
            "POST",
            "/v1/accounts",
            Some(&seeker),
            Some(json!({"email": "friend@security.example.jp", "password": PASSWORD})),
        )
        .await;
    assert_eq!(r.status, 403, "{}", text(&r));
    w.stop().await;
}

/// Every secret of a run (passwords, session, sign-up and reset tokens, the signing key) is looked for in
/// everything the services logged at debug level: none may be there.
#[tokio::test]
async fn the_logs_of_a_run_hold_no_password_token_or_key() {
    let key = "7f3c9a1be2d84c6f0a5e19d27b4c8e3f6a0d1b2c3e4f5a6b7c8d9e0f1a2b3c4d";
    let w = World::start_with(|c| c.signing_key = hwx_platform::config::Secret::new(key)).await;
    let mut secrets = vec![PASSWORD.to_owned(), key.to_owned()];
    let (email, token) = w.account(Who::OrgA).await;
    secrets.push(token.clone());
    secrets.push(w.sign_up_token(&email).await);
    // A change, a reset (its token from the table only the notifier reads) and a failed login.
    let changed = "a changed password for the log test";
    let r = w
        .call(
            "PUT",
            "/v1/account/password",
            Some(&token),
            Some(json!({"current_password": PASSWORD, "new_password": changed})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", text(&r));
    secrets.push(changed.into());
    let reset = w.reset_token(&email).await;
    secrets.push(reset.clone());
    let after_reset = "the password after the reset";
    let r = w
        .call(
            "POST",
            "/v1/password-resets/confirmation",
            None,
            Some(json!({"token": reset, "new_password": after_reset})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", text(&r));
    secrets.push(after_reset.into());
    let wrong = "a wrong password tried at login";
    let r = w
        .call(
            "POST",
            "/v1/sessions",
            None,
            Some(json!({"email": email, "password": wrong})),
        )
        .await;
    assert_eq!(r.status, 401);
    secrets.push(wrong.into());
    let fresh = w.login(&email, after_reset).await;
    secrets.push(fresh.clone());
    // The job feed read and the key served (its public half may be logged; the seed not).
    let r = w.call("GET", "/v1/feed/signing-key", None, None).await;
    assert_eq!(r.status, 200);
    let r = w.call("DELETE", "/v1/sessions", Some(&fresh), None).await;
    assert_eq!(r.status, 204);
    w.stop().await;
    let logged = logs::text();
    assert!(
        logged.len() > 10_000,
        "the services logged at debug level ({} bytes)",
        logged.len()
    );
    for secret in &secrets {
        assert!(
            !logged.contains(secret.as_str()),
            "a secret is in the log: {secret:?}"
        );
    }
    // Nor the token's hash as stored (a stolen log must not help find a session row).
    let hash = hex::encode(hwx_registration::auth::token_hash(&token));
    assert!(!logged.contains(&hash));
}
