//! Typed configuration: defaults → optional TOML file → `HWX_…` environment variables, validated at
//! start. `hwx config` prints the result with secrets masked.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize, Serializer};

/// A value that is never printed: logs and `hwx config` show `********`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "\"********\""
        })
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0.is_empty() { "" } else { "********" })
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line (production).
    Json,
    /// Human-readable (development).
    #[default]
    Pretty,
}

/// Maintenance-window policy (X1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MaintenanceMode {
    /// The windows of the terms: daily 00:00–06:00 and month-end 21:30–06:00 JST.
    Official,
    /// No scheduled windows (development, demos); ops can still declare emergency maintenance.
    #[default]
    Off,
}

/// The whole configuration of an HWX process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Postgres URL. Each service works in its own schema of this database.
    pub database_url: Secret,
    /// Maximum connections per service pool.
    pub database_max_connections: u32,
    pub nats_url: String,
    /// Prefix of every NATS subject and of the stream name; empty in production, unique per test.
    pub subject_prefix: String,
    pub log_format: LogFormat,
    /// `tracing` filter, e.g. `info,hwx=debug`.
    pub log_filter: String,
    pub maintenance: MaintenanceMode,
    /// X2: requests per second per organisation at the gateway, and the burst allowed.
    pub rate_limit_per_second: u32,
    pub rate_limit_burst: u32,
    /// The clock: `system`, `fixed:2026-11-28T10:00:00+09:00` or `offset:+86400` (seconds), for
    /// demos that need another day.
    pub clock: String,
    /// Ed25519 signing key for postings (J5): the 32-byte seed as 64 hex digits. When empty the job
    /// feed makes one at first start and keeps it in its schema.
    pub signing_key: Secret,
    /// Where the Prometheus endpoint (`GET /metrics`) listens, e.g. `0.0.0.0:9464`: one per
    /// process, whatever services it runs. Unset (empty in the file and in `hwx config`): none.
    #[serde(with = "optional_addr")]
    pub metrics_addr: Option<SocketAddr>,
    /// The portal origins browsers may call the gateway from (CORS), each `https://host[:port]`
    /// exactly as the browser sends it in `Origin`; `HWX_CORS_ORIGINS` takes them comma-separated.
    /// Empty: no cross-origin browser calls at all.
    pub cors_origins: Vec<String>,
    /// Where each service listens and where the others reach it, by service name
    /// (`[services.job-feed]` in the file, `HWX_JOB_FEED_ADDR` / `HWX_JOB_FEED_URL` in the
    /// environment). Every service the binary has is listed, with its default port.
    pub services: BTreeMap<String, Endpoint>,
}

/// Where one service listens, and where other processes reach it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// Where it listens; the service's default port on 127.0.0.1 when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<SocketAddr>,
    /// `http://hwx-job-feed:50052` in a cluster; empty means `http://<addr>` (one process, or one
    /// machine).
    #[serde(default)]
    pub url: String,
}

/// `metrics_addr` as a string, empty for none: TOML has no null, and `hwx config` shows the
/// setting either way.
mod optional_addr {
    use std::net::SocketAddr;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        addr: &Option<SocketAddr>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match addr {
            Some(addr) => s.collect_str(addr),
            None => s.serialize_str(""),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<SocketAddr>, D::Error> {
        let text = String::deserialize(d)?;
        match text.trim() {
            "" => Ok(None),
            addr => addr.parse().map(Some).map_err(serde::de::Error::custom),
        }
    }
}

/// `scheme://host[:port]`, lowercase, as browsers send `Origin`.
fn is_origin(o: &str) -> bool {
    let Some((scheme, rest)) = o.split_once("://") else {
        return false;
    };
    matches!(scheme, "https" | "http")
        && !rest.is_empty()
        && rest.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | ':' | '[' | ']')
        })
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: Secret::new("postgres://postgres@127.0.0.1:5432/hwx"),
            database_max_connections: 10,
            nats_url: "nats://127.0.0.1:4222".into(),
            subject_prefix: String::new(),
            log_format: LogFormat::Pretty,
            log_filter: "info,sqlx=warn,async_nats=warn".into(),
            maintenance: MaintenanceMode::Off,
            rate_limit_per_second: 50,
            rate_limit_burst: 100,
            clock: "system".into(),
            signing_key: Secret::default(),
            metrics_addr: None,
            cors_origins: Vec::new(),
            services: BTreeMap::new(),
        }
    }
}

/// The configuration cannot be used: which setting, and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    File { path: String, message: String },
    #[error("{var}: {message}")]
    Env { var: String, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Every global setting with its environment variable, for `--help` texts and the env layer.
/// Each service adds `HWX_<NAME>_ADDR` and `HWX_<NAME>_URL` (`HWX_JOB_FEED_ADDR`).
pub const ENV_VARS: &[&str] = &[
    "HWX_DATABASE_URL",
    "HWX_DATABASE_MAX_CONNECTIONS",
    "HWX_NATS_URL",
    "HWX_SUBJECT_PREFIX",
    "HWX_LOG_FORMAT",
    "HWX_LOG_FILTER",
    "HWX_MAINTENANCE",
    "HWX_RATE_LIMIT_PER_SECOND",
    "HWX_RATE_LIMIT_BURST",
    "HWX_CLOCK",
    "HWX_SIGNING_KEY",
    "HWX_METRICS_ADDR",
    "HWX_CORS_ORIGINS",
];

/// The environment variables of a service's endpoint: `HWX_JOB_FEED_ADDR`, `HWX_JOB_FEED_URL`.
pub fn service_env(name: &str) -> (String, String) {
    let stem = name.to_ascii_uppercase().replace('-', "_");
    (format!("HWX_{stem}_ADDR"), format!("HWX_{stem}_URL"))
}

impl Config {
    /// Defaults, then `file` (when given), then the environment as `lookup` sees it. `services`
    /// are the services the binary has, each with its default port.
    pub fn load(
        file: Option<&Path>,
        lookup: impl Fn(&str) -> Option<String>,
        services: &[(&str, u16)],
    ) -> Result<Self, ConfigError> {
        let mut cfg = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::File {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?
            }
            None => Config::default(),
        };
        if let Some(name) = cfg
            .services
            .keys()
            .find(|n| !services.iter().any(|(s, _)| s == n))
        {
            return Err(ConfigError::Invalid(format!(
                "services.{name}: no such service (there are {})",
                services
                    .iter()
                    .map(|(s, _)| *s)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        for (name, port) in services {
            let e = cfg.services.entry((*name).to_owned()).or_default();
            e.addr.get_or_insert(addr(*port));
        }
        cfg.apply_env(&lookup)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Load from `HWX_CONFIG` (a TOML file, optional) and the process environment.
    pub fn from_env(services: &[(&str, u16)]) -> Result<Self, ConfigError> {
        let file = std::env::var_os("HWX_CONFIG").map(std::path::PathBuf::from);
        Config::load(file.as_deref(), |k| std::env::var(k).ok(), services)
    }

    fn apply_env(&mut self, lookup: &impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(var: &str, v: &str) -> Result<T, ConfigError>
        where
            T::Err: fmt::Display,
        {
            v.parse().map_err(|e: T::Err| ConfigError::Env {
                var: var.into(),
                message: format!("{v:?}: {e}"),
            })
        }
        for var in ENV_VARS {
            let Some(v) = lookup(var) else { continue };
            match *var {
                "HWX_DATABASE_URL" => self.database_url = Secret::new(v),
                "HWX_DATABASE_MAX_CONNECTIONS" => self.database_max_connections = parse(var, &v)?,
                "HWX_NATS_URL" => self.nats_url = v,
                "HWX_SUBJECT_PREFIX" => self.subject_prefix = v,
                "HWX_LOG_FORMAT" => {
                    self.log_format = match v.as_str() {
                        "json" => LogFormat::Json,
                        "pretty" => LogFormat::Pretty,
                        _ => {
                            return Err(ConfigError::Env {
                                var: (*var).into(),
                                message: format!("{v:?}: use json or pretty"),
                            });
                        }
                    }
                }
                "HWX_LOG_FILTER" => self.log_filter = v,
                "HWX_MAINTENANCE" => {
                    self.maintenance = match v.as_str() {
                        "official" => MaintenanceMode::Official,
                        "off" => MaintenanceMode::Off,
                        _ => {
                            return Err(ConfigError::Env {
                                var: (*var).into(),
                                message: format!("{v:?}: use official or off"),
                            });
                        }
                    }
                }
                "HWX_CLOCK" => self.clock = v,
                "HWX_RATE_LIMIT_PER_SECOND" => self.rate_limit_per_second = parse(var, &v)?,
                "HWX_RATE_LIMIT_BURST" => self.rate_limit_burst = parse(var, &v)?,
                "HWX_SIGNING_KEY" => self.signing_key = Secret::new(v),
                // Empty turns off what the file set.
                "HWX_METRICS_ADDR" => {
                    self.metrics_addr = match v.trim() {
                        "" => None,
                        addr => Some(parse(var, addr)?),
                    }
                }
                "HWX_CORS_ORIGINS" => {
                    self.cors_origins = v
                        .split(',')
                        .map(str::trim)
                        .filter(|o| !o.is_empty())
                        .map(str::to_owned)
                        .collect();
                }
                _ => {}
            }
        }
        for (name, endpoint) in &mut self.services {
            let (addr_var, url_var) = service_env(name);
            if let Some(v) = lookup(&addr_var) {
                endpoint.addr = Some(parse(&addr_var, &v)?);
            }
            if let Some(v) = lookup(&url_var) {
                endpoint.url = v;
            }
        }
        Ok(())
    }

    /// Fail fast at start on settings that cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = self.database_url.expose();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(ConfigError::Invalid(
                "database_url must be a postgres:// URL".into(),
            ));
        }
        if !self.nats_url.starts_with("nats://") && !self.nats_url.starts_with("tls://") {
            return Err(ConfigError::Invalid(format!(
                "nats_url {:?} must be a nats:// URL",
                self.nats_url
            )));
        }
        if self.rate_limit_per_second == 0 || self.rate_limit_burst == 0 {
            return Err(ConfigError::Invalid(
                "rate_limit_per_second and rate_limit_burst must be at least 1".into(),
            ));
        }
        if self.database_max_connections == 0 {
            return Err(ConfigError::Invalid(
                "database_max_connections must be at least 1".into(),
            ));
        }
        if !self
            .subject_prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(ConfigError::Invalid(format!(
                "subject_prefix {:?} may hold only letters, digits and _",
                self.subject_prefix
            )));
        }
        crate::clock::parse(&self.clock).map_err(ConfigError::Invalid)?;
        for origin in &self.cors_origins {
            if !is_origin(origin) {
                return Err(ConfigError::Invalid(format!(
                    "cors_origins: {origin:?} is not an origin; write it as the browser sends it, e.g. https://portal.example.jp (no path, no trailing /)"
                )));
            }
        }
        Ok(())
    }

    /// Where service `name` listens (127.0.0.1:0 for a service the binary does not have).
    pub fn addr(&self, name: &str) -> SocketAddr {
        self.services
            .get(name)
            .and_then(|e| e.addr)
            .unwrap_or(addr(0))
    }

    /// The URL other processes dial to reach service `name`.
    pub fn url(&self, name: &str) -> String {
        match self.services.get(name) {
            Some(e) if !e.url.is_empty() => e.url.clone(),
            Some(Endpoint {
                addr: Some(addr), ..
            }) => format!("http://{addr}"),
            _ => String::new(),
        }
    }

    /// The configuration as TOML, secrets masked (also credentials inside the NATS URL).
    pub fn to_masked_toml(&self) -> String {
        let mut shown = self.clone();
        shown.nats_url = redact_url(&self.nats_url);
        toml::to_string(&shown)
            .unwrap_or_else(|e| format!("# cannot print the configuration: {e}\n"))
    }
}

/// A URL with its password replaced: `nats://user:***@host`. For logs and printed settings.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            let user = creds.split_once(':').map_or(creds, |(u, _)| u);
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}
