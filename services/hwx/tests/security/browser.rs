//! What browsers are told: CORS for the configured portal origins only, and the security
//! headers on every kind of answer.

use super::{Who, World, text};

const PORTAL: &str = "https://portal.example.jp";

#[tokio::test]
async fn cors_only_for_configured_portal_origins() {
    let w = World::start_with(|c| c.cors_origins = vec![PORTAL.into()]).await;
    // A simple request from the portal: the answer names it; from elsewhere it names nobody.
    let r = w
        .raw("GET", "/v1/rules/E1", &[("Origin", PORTAL)], b"")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some(PORTAL));
    assert!(
        r.header("access-control-expose-headers")
            .unwrap()
            .contains("x-request-id")
    );
    assert!(r.header("vary").unwrap().to_lowercase().contains("origin"));
    assert_eq!(
        r.header("access-control-allow-credentials"),
        None,
        "bearer tokens, no cookies"
    );
    for other in [
        "https://evil.example",
        "https://portal.example.jp.evil.example",
        "null",
        "http://portal.example.jp",
    ] {
        let r = w
            .raw("GET", "/v1/rules/E1", &[("Origin", other)], b"")
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("access-control-allow-origin"), None, "{other}");
    }
    // A preflight from the portal is answered before login, limits and routing.
    let preflight = |origin: &'static str| {
        let w = &w;
        async move {
            w.raw(
                "OPTIONS",
                "/v1/applications",
                &[
                    ("Origin", origin),
                    ("Access-Control-Request-Method", "POST"),
                    (
                        "Access-Control-Request-Headers",
                        "authorization, content-type",
                    ),
                ],
                b"",
            )
            .await
        }
    };
    let r = preflight(PORTAL).await;
    assert_eq!(r.status, 204, "{}", text(&r));
    assert_eq!(r.header("access-control-allow-origin"), Some(PORTAL));
    let headers = r.header("access-control-allow-headers").unwrap();
    assert!(headers.contains("authorization") && headers.contains("content-type"));
    assert!(
        r.header("access-control-allow-methods")
            .unwrap()
            .contains("POST")
    );
    let r = preflight("https://evil.example").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert_eq!(r.header("access-control-allow-origin"), None);
    assert!(text(&r).contains("HWX_CORS_ORIGINS"), "{}", text(&r));
    // A logged-in call from the portal, and its refusal, both readable by the portal.
    let (_, token) = w.account(Who::Seeker).await;
    let auth = format!("Bearer {token}");
    let r = w
        .raw(
            "GET",
            "/v1/applications",
            &[("Origin", PORTAL), ("Authorization", &auth)],
            b"",
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.header("access-control-allow-origin"), Some(PORTAL));
    w.stop().await;
}

#[tokio::test]
async fn security_headers_on_every_kind_of_answer() {
    let w = World::start().await;
    let (_, token) = w.account(Who::Seeker).await;
    let auth = format!("Bearer {token}");
    let answers = [
        ("GET", "/v1/rules", vec![]),
        ("GET", "/openapi.json", vec![]),
        ("GET", "/no/such/route", vec![]),
        ("GET", "/v1/applications", vec![]),
        (
            "GET",
            "/v1/applications",
            vec![("Authorization", auth.as_str())],
        ),
        ("DELETE", "/v1/rules", vec![]),
        ("GET", "/docs", vec![]),
        ("GET", "/healthz", vec![]),
    ];
    for (method, path, headers) in answers {
        let r = w.raw(method, path, &headers, b"").await;
        let h = |n: &str| {
            r.header(n)
                .unwrap_or_else(|| panic!("{method} {path} ({}) lacks {n}", r.status))
        };
        assert_eq!(h("x-content-type-options"), "nosniff");
        assert_eq!(h("x-frame-options"), "DENY");
        assert_eq!(h("referrer-policy"), "no-referrer");
        assert!(h("strict-transport-security").starts_with("max-age="));
        assert_eq!(h("cross-origin-opener-policy"), "same-origin");
        let csp = h("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        if path == "/docs" {
            assert!(
                csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"),
                "{csp}"
            );
        } else {
            assert!(csp.starts_with("default-src 'none'"), "{csp}");
        }
        assert_eq!(
            h("cache-control"),
            "no-store",
            "no cache keeps an API answer"
        );
    }
    w.stop().await;
}
