//! `hwx-testkit`: every test gets its own Postgres schemas and its own NATS stream and subject
//! prefix, so tests run in parallel against the real servers and leave nothing behind.
//!
//! The servers are the ones the README's commands start (`HWX_TEST_DATABASE_URL`,
//! `HWX_TEST_NATS_URL`, defaulting to the local ones).
//!
//! [`Stack`] starts services exactly as `hwx serve` does (through the service kit), on free
//! ports, in the test's schemas and stream.

pub mod http;
pub mod mailbox;
mod stack;

pub use stack::{Stack, StackBuilder};

/// A small deterministic generator (SplitMix64): the same seed gives the same workload on every
/// machine, and no dependency is needed for it.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A pause of `from..=to` milliseconds.
    pub fn millis(&mut self, from: u64, to: u64) -> std::time::Duration {
        std::time::Duration::from_millis(from + self.below(to.saturating_sub(from) + 1))
    }
}

use hwx_platform::db::{self, Database, Migration};
use hwx_platform::events::Events;
use sqlx::AssertSqlSafe;
use sqlx::postgres::PgPoolOptions;

/// The Postgres the tests use.
pub fn database_url() -> String {
    std::env::var("HWX_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The NATS the tests use.
pub fn nats_url() -> String {
    std::env::var("HWX_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// Publish one event on `events` as a service's relay would (with a fresh `Nats-Msg-Id`), and
/// wait for JetStream's ack: for tests and benchmarks that play another service.
pub async fn publish(
    events: &Events,
    subject: &str,
    payload: Vec<u8>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", uuid::Uuid::now_v7().to_string().as_str());
    events
        .jetstream()
        .publish_with_headers(events.subject(subject), headers, payload.into())
        .await?
        .await?;
    Ok(())
}

/// One test's private corner of the real servers.
#[derive(Debug)]
pub struct TestEnv {
    /// Unique per test: `t` + 12 hex digits. Schemas are `<id>_<service>`, the stream `HWX_<id>`.
    pub id: String,
    schemas: std::sync::Mutex<Vec<String>>,
    events: Option<Events>,
}

impl TestEnv {
    /// A fresh environment with its own stream.
    pub async fn new() -> Self {
        let id = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let events = Events::connect(&nats_url(), &id)
            .await
            .unwrap_or_else(|e| panic!("tests need NATS with JetStream at {}: {e}", nats_url()));
        TestEnv {
            id,
            schemas: Default::default(),
            events: Some(events),
        }
    }

    /// The schema name for `service` in this test.
    pub fn schema(&self, service: &str) -> String {
        format!("{}_{service}", self.id)
    }

    /// A migrated database for `service`, dropped when the environment is.
    pub async fn database(&self, service: &str, migrations: &[Migration]) -> Database {
        self.database_with(service, migrations, 5).await
    }

    /// The same with a pool of `connections`.
    pub async fn database_with(
        &self,
        service: &str,
        migrations: &[Migration],
        connections: u32,
    ) -> Database {
        let schema = self.schema(service);
        self.schemas
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(schema.clone());
        Database::open(&database_url(), &schema, connections, migrations)
            .await
            .unwrap_or_else(|e| panic!("tests need Postgres at {}: {e}", database_url()))
    }

    /// This test's event stream.
    pub fn events(&self) -> Events {
        self.events
            .clone()
            .unwrap_or_else(|| unreachable!("set in new"))
    }

    /// Drop the schemas, their roles and the stream now (also done on drop, in the background).
    pub async fn cleanup(mut self) {
        let (schemas, events) = self.take();
        drop_all(schemas, events).await;
    }

    /// What is left to drop, taken (so it is dropped once).
    fn take(&mut self) -> (Vec<String>, Option<Events>) {
        let schemas = std::mem::take(
            &mut *self
                .schemas
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        (schemas, self.events.take())
    }
}

async fn drop_all(schemas: Vec<String>, events: Option<Events>) {
    if let Some(events) = &events {
        let _ = events.delete_stream().await;
    }
    if !schemas.is_empty()
        && let Ok(pool) = PgPoolOptions::new()
            .max_connections(1)
            .connect(&database_url())
            .await
    {
        // Never wait long on a lock a stopping test still holds.
        let _ = sqlx::raw_sql("SET lock_timeout = '2s'")
            .execute(&pool)
            .await;
        for schema in schemas.iter().filter(|s| db::valid_identifier(s)) {
            drop_schema(&pool, schema).await;
        }
        pool.close().await;
    }
    // A consumer task of the test that is still winding down may have re-created the stream.
    if let Some(events) = &events {
        let _ = events.delete_stream().await;
    }
}

/// Drop a test's schema and role. When a session of the test (a server still stopping) holds a
/// lock in the schema, end that session and try again: a test must leave nothing behind.
async fn drop_schema(pool: &sqlx::PgPool, schema: &str) {
    let role = db::role_for(schema);
    let sql = format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE;
         DO $$ BEGIN
           IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
             EXECUTE 'DROP OWNED BY {role}'; EXECUTE 'DROP ROLE {role}';
           END IF;
         END $$;"
    );
    for _ in 0..3 {
        if sqlx::raw_sql(AssertSqlSafe(sql.clone()))
            .execute(pool)
            .await
            .is_ok()
        {
            return;
        }
        let _ = sqlx::query(
            "SELECT pg_terminate_backend(l.pid) FROM pg_locks l
             JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND l.pid <> pg_backend_pid()",
        )
        .bind(schema)
        .execute(pool)
        .await;
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        let (schemas, events) = self.take();
        if schemas.is_empty() && events.is_none() {
            return;
        }
        // A failed test still cleans up: on a thread of its own, since Drop cannot await. The wait
        // is bounded: servers of the failed test run on the runtime this thread blocks, and one of
        // them may hold a lock the DROP needs.
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(drop_all(schemas, events));
            }
            let _ = done.send(());
        });
        let _ = finished.recv_timeout(std::time::Duration::from_secs(10));
    }
}

/// Places under `src` (a folder or one file) where SQL is written straight into a `sqlx` call
/// instead of a store's `statements!` list (`file:line`), so every statement stays where the
/// prepare test sees it.
pub fn sql_outside_statements(src: &std::path::Path) -> Vec<String> {
    const CALLS: &[&str] = &["query_scalar", "query_as", "query", "raw_sql"];
    let mut found = Vec::new();
    let mut paths = vec![src.to_path_buf()];
    while let Some(path) = paths.pop() {
        if let Ok(entries) = std::fs::read_dir(&path) {
            paths.extend(entries.flatten().map(|e| e.path()));
            continue;
        }
        {
            if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                for (at, _) in text.match_indices("sqlx::") {
                    let rest = &text[at + "sqlx::".len()..];
                    let Some(call) = CALLS.iter().find(|c| rest.starts_with(*c)) else {
                        continue;
                    };
                    let mut rest = &rest[call.len()..];
                    // A turbofish: `query_scalar::<_, String>(`.
                    if let Some(generic) = rest.strip_prefix("::<") {
                        rest = generic.find('>').map_or("", |i| &generic[i + 1..]);
                    }
                    let Some(argument) = rest.strip_prefix('(') else {
                        continue;
                    };
                    let argument = argument.trim_start();
                    if argument.starts_with('"') || argument.starts_with("r#\"") {
                        let line = text[..at].matches('\n').count() + 1;
                        found.push(format!("{}:{line}", path.display()));
                    }
                }
            }
        }
    }
    found.sort();
    found
}

/// Fail (naming each place) when a crate writes SQL straight into `sqlx` under its `src`: every
/// statement belongs in its store's `statements!` list. `crate_dir` is `env!("CARGO_MANIFEST_DIR")`.
pub fn assert_sql_in_statements(crate_dir: &str) {
    let found = sql_outside_statements(&std::path::Path::new(crate_dir).join("src"));
    assert!(
        found.is_empty(),
        "SQL written straight into sqlx, not in a statements! list: {found:?}"
    );
}

/// `statements` prepared against a fresh schema of `service` with its `migrations` (`setup` first,
/// in the same rolled-back transaction): the ones Postgres refuses, with why.
pub async fn refused_statements(
    service: &str,
    migrations: &[Migration],
    setup: &[&'static str],
    statements: &[(&'static str, &'static str)],
) -> Vec<(String, String)> {
    let env = TestEnv::new().await;
    let db = env.database(service, migrations).await;
    let refused = db::prepare_all(&db, setup, statements)
        .await
        .unwrap_or_else(|e| panic!("preparing {service}'s statements: {e}"));
    drop(db);
    env.cleanup().await;
    refused
}
