use std::collections::HashMap;

use hwx_platform::config::{Config, LogFormat, MaintenanceMode};

/// The services of a binary, with their default ports.
const SERVICES: &[(&str, u16)] = &[("registration", 50051), ("gateway", 8080)];

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    move |k| map.get(k).cloned()
}

#[test]
fn defaults_are_the_local_servers() {
    let c = Config::load(None, env(&[]), SERVICES).unwrap();
    assert_eq!(
        c.database_url.expose(),
        "postgres://postgres@127.0.0.1:5432/hwx"
    );
    assert_eq!(c.nats_url, "nats://127.0.0.1:4222");
    assert_eq!(c.addr("gateway").to_string(), "127.0.0.1:8080");
}

#[test]
fn file_then_env_override() {
    let dir = std::env::temp_dir().join(format!("hwx-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("hwx.toml");
    std::fs::write(
        &file,
        "nats_url = \"nats://10.0.0.1:4222\"\nlog_format = \"json\"\nmaintenance = \"official\"\n",
    )
    .unwrap();
    let c = Config::load(
        Some(&file),
        env(&[("HWX_NATS_URL", "nats://127.0.0.2:4222")]),
        SERVICES,
    )
    .unwrap();
    assert_eq!(
        c.nats_url, "nats://127.0.0.2:4222",
        "env wins over the file"
    );
    assert_eq!(
        (c.log_format, c.maintenance),
        (LogFormat::Json, MaintenanceMode::Official)
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_settings_fail_fast_and_say_which() {
    let e = Config::load(None, env(&[("HWX_GATEWAY_ADDR", "localhost")]), SERVICES).unwrap_err();
    assert!(
        e.to_string().starts_with("HWX_GATEWAY_ADDR: \"localhost\""),
        "{e}"
    );
    let e = Config::load(None, env(&[("HWX_DATABASE_URL", "mysql://x")]), SERVICES).unwrap_err();
    assert!(e.to_string().contains("postgres://"), "{e}");
    let e = Config::load(None, env(&[("HWX_CLOCK", "tomorrow")]), SERVICES).unwrap_err();
    assert!(e.to_string().contains("fixed:"), "{e}");
    let e = Config::load(None, env(&[("HWX_LOG_FORMAT", "xml")]), SERVICES).unwrap_err();
    assert!(e.to_string().contains("json or pretty"), "{e}");
    let dir = std::env::temp_dir().join(format!("hwx-config-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("hwx.toml");
    std::fs::write(&file, "nats_urll = \"x\"\n").unwrap();
    let e = Config::load(Some(&file), env(&[]), SERVICES).unwrap_err();
    assert!(
        e.to_string().contains("nats_urll"),
        "unknown keys are refused: {e}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn printed_config_masks_secrets() {
    let c = Config::load(
        None,
        env(&[
            ("HWX_DATABASE_URL", "postgres://hwx:s3cret@db:5432/hwx"),
            ("HWX_SIGNING_KEY", "c2VjcmV0"),
        ]),
        SERVICES,
    )
    .unwrap();
    let printed = c.to_masked_toml();
    let with_creds = Config::load(
        None,
        env(&[("HWX_NATS_URL", "nats://hwx:n4ts-pass@nats:4222")]),
        SERVICES,
    )
    .unwrap();
    let shown = with_creds.to_masked_toml();
    assert!(
        shown.contains("nats://hwx:***@nats:4222") && !shown.contains("n4ts-pass"),
        "{shown}"
    );
    assert!(
        !printed.contains("s3cret") && !printed.contains("c2VjcmV0"),
        "{printed}"
    );
    assert!(printed.contains("database_url = \"********\""), "{printed}");
    assert!(!format!("{c:?}").contains("s3cret"));
}

#[test]
fn clocks() {
    use hwx_platform::clock;
    let fixed = clock::parse("fixed:2026-11-28T10:00:00+09:00").unwrap();
    assert_eq!(fixed.now_jst().to_rfc3339(), "2026-11-28T10:00:00+09:00");
    let offset = clock::parse("offset:+86400").unwrap();
    let diff = offset.now() - clock::SystemClock.now_utc_for_tests();
    assert!((diff.num_seconds() - 86_400).abs() <= 2, "{diff}");
    assert!(clock::parse("offset:soon").is_err());
}

trait NowUtc {
    fn now_utc_for_tests(&self) -> chrono::DateTime<chrono::Utc>;
}
impl NowUtc for hwx_platform::clock::SystemClock {
    fn now_utc_for_tests(&self) -> chrono::DateTime<chrono::Utc> {
        hwx_platform::clock::Clock::now(self)
    }
}

#[test]
fn services_come_from_the_binary_and_each_has_its_variables() {
    let c = Config::load(
        None,
        env(&[
            ("HWX_REGISTRATION_ADDR", "0.0.0.0:6000"),
            ("HWX_REGISTRATION_URL", "http://hwx-registration:6000"),
        ]),
        SERVICES,
    )
    .unwrap();
    assert_eq!(c.addr("registration").to_string(), "0.0.0.0:6000");
    assert_eq!(c.url("registration"), "http://hwx-registration:6000");
    assert_eq!(
        c.url("gateway"),
        "http://127.0.0.1:8080",
        "no URL: its address"
    );
    let dir = std::env::temp_dir().join(format!("hwx-config-svc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("hwx.toml");
    std::fs::write(&file, "[services.job-feed]\naddr = \"127.0.0.1:1\"\n").unwrap();
    let e = Config::load(Some(&file), env(&[]), SERVICES).unwrap_err();
    assert!(
        e.to_string().contains("services.job-feed: no such service"),
        "{e}"
    );
    std::fs::write(&file, "[services.gateway]\naddr = \"127.0.0.1:9090\"\n[services.registration]\nurl = \"http://reg:1\"\n").unwrap();
    let c = Config::load(Some(&file), env(&[]), SERVICES).unwrap();
    assert_eq!(c.addr("gateway").to_string(), "127.0.0.1:9090");
    assert_eq!(
        (c.addr("registration").to_string(), c.url("registration")),
        ("127.0.0.1:50051".into(), "http://reg:1".into()),
        "a URL alone keeps the default port"
    );
    assert!(c.to_masked_toml().contains("[services.gateway]"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn metrics_endpoint_is_off_unless_an_address_is_set() {
    let c = Config::load(None, env(&[]), SERVICES).unwrap();
    assert_eq!(c.metrics_addr, None, "off by default");
    assert!(
        c.to_masked_toml().contains("metrics_addr = \"\"\n"),
        "shown even when off: {}",
        c.to_masked_toml()
    );

    let c = Config::load(None, env(&[("HWX_METRICS_ADDR", "0.0.0.0:9464")]), SERVICES).unwrap();
    assert_eq!(c.metrics_addr.unwrap().to_string(), "0.0.0.0:9464");
    assert!(
        c.to_masked_toml()
            .contains("metrics_addr = \"0.0.0.0:9464\"\n"),
        "{}",
        c.to_masked_toml()
    );

    let dir = std::env::temp_dir().join(format!("hwx-config-metrics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("hwx.toml");
    std::fs::write(&file, "metrics_addr = \"127.0.0.1:9464\"\n").unwrap();
    let c = Config::load(Some(&file), env(&[]), SERVICES).unwrap();
    assert_eq!(c.metrics_addr.unwrap().to_string(), "127.0.0.1:9464");
    let c = Config::load(Some(&file), env(&[("HWX_METRICS_ADDR", "")]), SERVICES).unwrap();
    assert_eq!(
        c.metrics_addr, None,
        "an empty variable turns off what the file set"
    );
    let c = Config::load(
        Some(&file),
        env(&[("HWX_METRICS_ADDR", "[::]:9100")]),
        SERVICES,
    )
    .unwrap();
    assert_eq!(c.metrics_addr.unwrap().to_string(), "[::]:9100", "env wins");

    std::fs::write(&file, "metrics_addr = \"\"\n").unwrap();
    let c = Config::load(Some(&file), env(&[]), SERVICES).unwrap();
    assert_eq!(c.metrics_addr, None, "what `hwx config` prints reads back");

    std::fs::write(&file, "metrics_addr = \"9464\"\n").unwrap();
    let e = Config::load(Some(&file), env(&[]), SERVICES).unwrap_err();
    assert!(e.to_string().contains("metrics_addr"), "{e}");
    std::fs::remove_dir_all(&dir).ok();

    let e = Config::load(None, env(&[("HWX_METRICS_ADDR", ":9464")]), SERVICES).unwrap_err();
    assert!(
        e.to_string().starts_with("HWX_METRICS_ADDR: \":9464\""),
        "{e}"
    );
}

#[test]
fn cors_origins_are_exact_origins_from_the_file_or_the_environment() {
    let c = Config::load(None, env(&[]), SERVICES).unwrap();
    assert!(
        c.cors_origins.is_empty(),
        "no cross-origin browser calls by default"
    );
    let c = Config::load(
        None,
        env(&[(
            "HWX_CORS_ORIGINS",
            " https://portal.example.jp, http://localhost:3000 ,",
        )]),
        SERVICES,
    )
    .unwrap();
    assert_eq!(
        c.cors_origins,
        ["https://portal.example.jp", "http://localhost:3000"]
    );
    for wrong in [
        "https://portal.example.jp/",
        "portal.example.jp",
        "https://Portal.example.jp",
        "*",
        "https://portal.example.jp/app",
    ] {
        let e = Config::load(None, env(&[("HWX_CORS_ORIGINS", wrong)]), SERVICES).unwrap_err();
        assert!(e.to_string().contains("cors_origins"), "{wrong}: {e}");
    }
}
