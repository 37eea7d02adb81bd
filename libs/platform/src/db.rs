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

/// The role a service's pool works as.
pub fn role_for(schema: &str) -> String {
    format!("{schema}_svc")
}

fn redact(url: &str) -> String {
    crate::config::redact_url(url)
}

/// Create the database named in `url` when it does not exist yet (a fresh machine's first start).
pub async fn ensure_database(url: &str) -> Result<(), DbError> {
    let options: PgConnectOptions = url.parse().map_err(|source| DbError::Connect {
        url: redact(url),
        source,
    })?;
    let Some(name) = options.get_database().map(str::to_owned) else {
        return Ok(());
    };
    let server = options.clone().database("postgres");
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(server)
        .await
        .map_err(|source| DbError::Connect {
            url: redact(url),
            source,
        })?;
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
        let options: PgConnectOptions = url.parse().map_err(|source| DbError::Connect {
            url: redact(url),
            source,
        })?;
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
        let options: PgConnectOptions = url.parse().map_err(|source| DbError::Connect {
            url: redact(url),
            source,
        })?;
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(|source| DbError::Connect {
                url: redact(url),
                source,
            })?;
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
                 );"
            );
            conn.execute(sqlx::raw_sql(AssertSqlSafe(setup))).await?;
            let applied: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT version FROM {schema}._migrations"
            )))
            .fetch_all(&mut *conn)
            .await?;
            let mut count = 0;
            for m in migrations.iter().filter(|m| !applied.contains(&m.version)) {
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
                    "INSERT INTO {schema}._migrations (version, name) VALUES ($1, $2)"
                )))
                .bind(m.version)
                .bind(m.name)
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
