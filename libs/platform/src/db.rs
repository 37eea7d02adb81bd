//! Postgres: one pool per service, one schema per service, migrations embedded in each service
//! and run at start (and by `hwx migrate`). The pool works as a role that can touch only its own
//! schema, so a service cannot read another's tables even by mistake.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Executor, PgPool};

/// A schema migration embedded in a service (`migrations/NNNN_name.sql` via `include_str!`).
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// A database error, with what was being done.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("invalid schema name {0:?}: use lower-case letters, digits and _")]
    SchemaName(String),
    #[error("cannot connect to Postgres at {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error(
        "migration {version} ({name}) of schema {schema} was changed after it was applied: \
         leave applied migrations as they are and add a new one"
    )]
    Changed {
        schema: String,
        version: i64,
        name: &'static str,
    },
    #[error("migration {version} ({name}) of schema {schema} failed: {source}")]
    Migration {
        schema: String,
        version: i64,
        name: &'static str,
        source: sqlx::Error,
    },
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
}

/// A service's view of the database: its pool and its schema.
#[derive(Debug, Clone)]
pub struct Database {
    pool: PgPool,
    schema: String,
}

/// `true` for a safe SQL identifier (we interpolate schema and role names).
pub fn valid_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 50
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// SHA-256 of a migration's text, kept with it once applied.
fn checksum(sql: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(sql.as_bytes()).to_vec()
}

/// The role a service's pool works as.
pub fn role_for(schema: &str) -> String {
    format!("{schema}_svc")
}

fn redact(url: &str) -> String {
    crate::config::redact_url(url)
}

fn connect_options(url: &str) -> Result<PgConnectOptions, DbError> {
    url.parse().map_err(|source| DbError::Connect {
        url: redact(url),
        source,
    })
}

/// One connection as the connecting user (not a service's role), to create databases, schemas
/// and roles.
async fn admin(url: &str, options: PgConnectOptions) -> Result<PgPool, DbError> {
    PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(|source| DbError::Connect {
            url: redact(url),
            source,
        })
}

/// Create the database named in `url` when it does not exist yet (a fresh machine's first start).
pub async fn ensure_database(url: &str) -> Result<(), DbError> {
    let options = connect_options(url)?;
    let Some(name) = options.get_database().map(str::to_owned) else {
        return Ok(());
    };
    let server = options.clone().database("postgres");
    let admin = admin(url, server).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&admin)
            .await?;
    if !exists {
        if !valid_identifier(&name) {
            return Err(DbError::SchemaName(name));
        }
        tracing::info!(database = %name, "creating the database");
        // Two starts racing: the loser's "already exists" is fine.
        if let Err(e) = admin
            .execute(sqlx::raw_sql(AssertSqlSafe(format!(
                "CREATE DATABASE {name}"
            ))))
            .await
        {
            tracing::debug!(error = %e, "CREATE DATABASE");
        }
    }
    admin.close().await;
    Ok(())
}

impl Database {
    /// Create the schema and its role if needed, apply `migrations`, and open the service's pool.
    pub async fn open(
        url: &str,
        schema: &str,
        max_connections: u32,
        migrations: &[Migration],
    ) -> Result<Self, DbError> {
        Self::migrate(url, schema, migrations).await?;
        Self::connect(url, schema, max_connections).await
    }

    /// Open the service's pool on an existing schema: every connection works as the schema's role
    /// with the schema on its search path.
    pub async fn connect(url: &str, schema: &str, max_connections: u32) -> Result<Self, DbError> {
        if !valid_identifier(schema) {
            return Err(DbError::SchemaName(schema.into()));
        }
        let options = connect_options(url)?;
        let setup = format!(
            "SET ROLE {role}; SET search_path TO {schema}",
            role = role_for(schema)
        );
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                let setup = setup.clone();
                Box::pin(async move {
                    conn.execute(sqlx::raw_sql(AssertSqlSafe(setup))).await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|source| DbError::Connect {
                url: redact(url),
                source,
            })?;
        Ok(Database {
            pool,
            schema: schema.into(),
        })
    }

    /// Apply the migrations not yet applied, each in its own transaction, under an advisory lock so
    /// replicas starting together apply each once. Returns how many were applied.
    pub async fn migrate(
        url: &str,
        schema: &str,
        migrations: &[Migration],
    ) -> Result<usize, DbError> {
        if !valid_identifier(schema) {
            return Err(DbError::SchemaName(schema.into()));
        }
        let role = role_for(schema);
        let options = connect_options(url)?;
        let admin = admin(url, options).await?;
        let mut conn = admin.acquire().await?;
        sqlx::query("SELECT pg_advisory_lock(hashtext($1))")
            .bind(format!("hwx-migrate-{schema}"))
            .execute(&mut *conn)
            .await?;
        let result = async {
            let setup = format!(
                "CREATE SCHEMA IF NOT EXISTS {schema};
                 DO $$ BEGIN
                   IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                     CREATE ROLE {role} NOLOGIN;
                   END IF;
                 END $$;
                 GRANT {role} TO CURRENT_USER;
                 GRANT USAGE, CREATE ON SCHEMA {schema} TO {role};
                 CREATE TABLE IF NOT EXISTS {schema}._migrations (
                   version bigint PRIMARY KEY,
                   name text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now()
                 );
                 ALTER TABLE {schema}._migrations ADD COLUMN IF NOT EXISTS checksum bytea;"
            );
            conn.execute(sqlx::raw_sql(AssertSqlSafe(setup))).await?;
            let applied: Vec<(i64, Option<Vec<u8>>)> = sqlx::query_as(AssertSqlSafe(format!(
                "SELECT version, checksum FROM {schema}._migrations"
            )))
            .fetch_all(&mut *conn)
            .await?;
            // An applied migration must be the one this binary has: a schema built from other
            // text is not the schema the code expects.
            for m in migrations {
                let sum = checksum(m.sql);
                match applied.iter().find(|(v, _)| *v == m.version) {
                    Some((_, Some(stored))) if *stored != sum => {
                        return Err(DbError::Changed {
                            schema: schema.into(),
                            version: m.version,
                            name: m.name,
                        });
                    }
                    // Applied before checksums were kept: this text is taken as the one.
                    Some((_, None)) => {
                        sqlx::query(AssertSqlSafe(format!(
                            "UPDATE {schema}._migrations SET checksum = $2 WHERE version = $1"
                        )))
                        .bind(m.version)
                        .bind(&sum)
                        .execute(&mut *conn)
                        .await?;
                    }
                    _ => {}
                }
            }
            for (version, _) in &applied {
                if !migrations.iter().any(|m| m.version == *version) {
                    // A newer binary migrated already (a rolling upgrade): this one keeps working
                    // with what it knows.
                    tracing::warn!(
                        schema,
                        version,
                        "the schema has a migration this binary does not know"
                    );
                }
            }
            let mut count = 0;
            for m in migrations
                .iter()
                .filter(|m| !applied.iter().any(|(v, _)| *v == m.version))
            {
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                let body = format!("SET LOCAL search_path TO {schema}; {}", m.sql);
                tx.execute(sqlx::raw_sql(AssertSqlSafe(body)))
                    .await
                    .map_err(|source| DbError::Migration {
                        schema: schema.into(),
                        version: m.version,
                        name: m.name,
                        source,
                    })?;
                sqlx::query(AssertSqlSafe(format!(
                    "INSERT INTO {schema}._migrations (version, name, checksum) VALUES ($1, $2, $3)"
                )))
                .bind(m.version)
                .bind(m.name)
                .bind(checksum(m.sql))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                count += 1;
            }
            // The service's role owns nothing but may use everything in its schema, and only there.
            let grants = format!(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role};
                 GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {role};"
            );
            conn.execute(sqlx::raw_sql(AssertSqlSafe(grants))).await?;
            Ok::<usize, DbError>(count)
        }
        .await;
        let _ = sqlx::query("SELECT pg_advisory_unlock(hashtext($1))")
            .bind(format!("hwx-migrate-{schema}"))
            .execute(&mut *conn)
            .await;
        drop(conn);
        admin.close().await;
        result
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn schema(&self) -> &str {
        &self.schema
    }
}

/// Leader election for a singleton sweep outside Kubernetes: a session-level Postgres advisory
/// lock held on a dedicated connection. Whoever holds it runs the sweep; when that process dies
/// its connection closes and another replica takes over on its next try.
#[derive(Debug)]
pub struct Leadership {
    /// Detached from the pool: dropping it closes the session, which releases the lock. A pooled
    /// connection would go back to the pool still holding it.
    conn: Option<sqlx::PgConnection>,
    key: String,
}

impl Leadership {
    pub fn new(key: impl Into<String>) -> Self {
        Leadership {
            conn: None,
            key: key.into(),
        }
    }

    /// Whether this process leads now (taking the lead when it is free).
    pub async fn acquire(&mut self, db: &Database) -> bool {
        if let Some(conn) = self.conn.as_mut() {
            // Still ours as long as the connection lives.
            if sqlx::query("SELECT 1").execute(&mut *conn).await.is_ok() {
                return true;
            }
            self.conn = None;
        }
        let Ok(conn) = db.pool().acquire().await else {
            return false;
        };
        let mut conn = conn.detach();
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1))")
            .bind(&self.key)
            .fetch_one(&mut conn)
            .await
            .unwrap_or(false);
        if got {
            self.conn = Some(conn);
        }
        got
    }
}

/// A service's migrations: the platform's outbox and inbox (version 1), then each
/// `version => "file"`, the calling crate's `migrations/<file>.sql`.
#[macro_export]
macro_rules! migrations {
    ($($version:literal => $file:literal),* $(,)?) => {
        &[
            $crate::events::MIGRATION,
            $($crate::db::Migration {
                version: $version,
                name: $file,
                sql: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/", $file, ".sql")),
            }),*
        ]
    };
}

/// Declares a store's SQL statements as constants and lists them in `STATEMENTS`, so a test can
/// prepare every one against the migrated schema ([`prepare_all`]): a typo in a column or a
/// statement that no longer fits the tables fails the tests, not a request.
#[macro_export]
macro_rules! statements {
    ($($(#[$meta:meta])* $name:ident = $sql:expr;)*) => {
        $($(#[$meta])* pub const $name: &str = $sql;)*
        /// Every statement above, by name.
        pub const STATEMENTS: &[(&'static str, &'static str)] = &[$((stringify!($name), $name)),*];
    };
}

/// Prepare each of `statements` on `db` (its schema, migrated); returns the ones Postgres refuses,
/// with its reason. Preparing parses and plans a statement against the real tables without running
/// it. Everything happens in one transaction that is rolled back; `setup` runs first in it (a
/// temporary table, a cursor some statements use).
pub async fn prepare_all(
    db: &Database,
    setup: &[&'static str],
    statements: &[(&'static str, &'static str)],
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    for sql in setup {
        sqlx::raw_sql(*sql).execute(&mut *tx).await?;
    }
    let mut refused = Vec::new();
    for (name, sql) in statements {
        // A refusal aborts the transaction: each statement gets a savepoint to return to.
        sqlx::raw_sql("SAVEPOINT statement")
            .execute(&mut *tx)
            .await?;
        if let Err(e) = (&mut *tx)
            .prepare(sqlx::SqlSafeStr::into_sql_str(*sql))
            .await
        {
            refused.push(((*name).to_owned(), e.to_string()));
            sqlx::raw_sql("ROLLBACK TO SAVEPOINT statement")
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.rollback().await?;
    Ok(refused)
}
