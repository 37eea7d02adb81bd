use hwx_platform::db::{Database, Migration};
use hwx_testkit::TestEnv;

const MIGRATIONS: &[Migration] = &[
    hwx_platform::events::MIGRATION,
    Migration {
        version: 100,
        name: "notes",
        sql: "CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL);",
    },
];

#[tokio::test]
async fn migrations_apply_once_and_are_recorded() {
    let env = TestEnv::new().await;
    let db = env.database("alpha", MIGRATIONS).await;
    // A second start applies nothing.
    let again = Database::migrate(&hwx_testkit::database_url(), db.schema(), MIGRATIONS)
        .await
        .unwrap();
    assert_eq!(again, 0);
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM _migrations ORDER BY version")
        .fetch_all(db.pool())
        .await
        .unwrap();
    assert_eq!(versions, vec![1, 100]);
    sqlx::query("INSERT INTO notes (body) VALUES ('x')")
        .execute(db.pool())
        .await
        .unwrap();
    env.cleanup().await;
}

#[tokio::test]
async fn a_service_cannot_touch_another_services_schema() {
    let env = TestEnv::new().await;
    let alpha = env.database("alpha", MIGRATIONS).await;
    let beta = env.database("beta", MIGRATIONS).await;
    sqlx::query("INSERT INTO notes (body) VALUES ('beta only')")
        .execute(beta.pool())
        .await
        .unwrap();
    let sql = format!("SELECT count(*) FROM {}.notes", beta.schema());
    let err = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
        .fetch_one(alpha.pool())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    env.cleanup().await;
}

#[tokio::test]
async fn a_failing_migration_leaves_nothing_half_applied() {
    let env = TestEnv::new().await;
    let db = env.database("alpha", MIGRATIONS).await;
    let broken = [Migration {
        version: 101,
        name: "broken",
        sql: "CREATE TABLE half (id int); SELECT no_such_function();",
    }];
    let err = Database::migrate(&hwx_testkit::database_url(), db.schema(), &broken)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("migration 101 (broken)"), "{err}");
    let half: Option<String> = sqlx::query_scalar("SELECT to_regclass('half')::text")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(
        half, None,
        "the table of the failed migration was rolled back"
    );
    env.cleanup().await;
}

#[tokio::test]
async fn only_one_replica_leads_a_sweep() {
    use hwx_platform::db::Leadership;
    let env = TestEnv::new().await;
    let db = env.database("alpha", MIGRATIONS).await;
    let key = format!("sweep-{}", env.id);
    let mut a = Leadership::new(key.clone());
    let mut b = Leadership::new(key.clone());
    assert!(a.acquire(&db).await);
    assert!(a.acquire(&db).await, "the leader keeps the lead");
    assert!(!b.acquire(&db).await, "a second replica does not lead");
    drop(a); // the leader dies: its session closes and the lock goes with it
    let mut took = false;
    for _ in 0..40 {
        if b.acquire(&db).await {
            took = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(took, "another replica takes over");
    env.cleanup().await;
}

#[tokio::test]
async fn a_migration_changed_after_it_was_applied_is_refused() {
    let env = TestEnv::new().await;
    let db = env.database("alpha", MIGRATIONS).await;
    let edited = [
        MIGRATIONS[0],
        Migration {
            sql: "CREATE TABLE notes (id bigserial PRIMARY KEY, body text);",
            ..MIGRATIONS[1]
        },
    ];
    let err = Database::migrate(&hwx_testkit::database_url(), db.schema(), &edited)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("migration 100 (notes)")
            && err.to_string().contains("changed after it was applied"),
        "{err}"
    );
    // The text it was applied with still passes.
    assert_eq!(
        Database::migrate(&hwx_testkit::database_url(), db.schema(), MIGRATIONS)
            .await
            .unwrap(),
        0
    );
    env.cleanup().await;
}

#[tokio::test]
async fn the_outbox_and_inbox_statements_fit_their_tables() {
    let env = TestEnv::new().await;
    let db = env.database("alpha", MIGRATIONS).await;
    let statements = hwx_platform::events::sql::STATEMENTS;
    let refused = hwx_platform::db::prepare_all(&db, &[], statements)
        .await
        .unwrap();
    assert!(refused.is_empty(), "{refused:#?}");
    assert_eq!(statements.len(), 7);
    let events = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/events.rs");
    let found = hwx_testkit::sql_outside_statements(&events);
    assert!(found.is_empty(), "SQL outside events::sql: {found:?}");
    env.cleanup().await;
}

#[tokio::test]
async fn a_statement_that_does_not_fit_the_schema_is_named() {
    let env = TestEnv::new().await;
    let db = env.database("alpha", MIGRATIONS).await;
    let refused = hwx_platform::db::prepare_all(
        &db,
        &[],
        &[
            ("BAD_COLUMN", "SELECT title FROM notes"),
            ("INSERT_NOTE", "INSERT INTO notes (body) VALUES ($1)"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].0, "BAD_COLUMN");
    assert!(refused[0].1.contains("title"), "{refused:?}");
    env.cleanup().await;
}

/// A connection the server ends (a restart, a crash, an administrator) is "unavailable, try
/// again" (503 at the gateway), not an internal error (500): found by the fault harness when
/// PostgreSQL was killed under load.
#[tokio::test]
async fn a_connection_the_server_ends_is_unavailable_not_internal() {
    use hwx_platform::grpc::{ErrorKind, ServiceError, database_unavailable};
    let env = TestEnv::new().await;
    let db = env.database("alpha", MIGRATIONS).await;
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&hwx_testkit::database_url())
        .await
        .unwrap();
    // The server ends this very connection, as it does to every backend when it stops.
    let e = sqlx::query("SELECT pg_terminate_backend(pg_backend_pid())")
        .execute(&mut conn)
        .await
        .unwrap_err();
    assert!(database_unavailable(&e), "{e:?}");
    assert_eq!(ServiceError::from(e).kind, ErrorKind::Unavailable);
    drop(conn);
    // A value the database cannot take (a NUL in text, found by fuzzing) is the caller's to fix.
    let e = sqlx::query("SELECT $1::text")
        .bind("a\u{0}b")
        .execute(db.pool())
        .await
        .unwrap_err();
    assert_eq!(ServiceError::from(e).kind, ErrorKind::Invalid);
    // A mistake of ours stays internal.
    let e = sqlx::query("SELECT no_such_column FROM notes")
        .execute(db.pool())
        .await
        .unwrap_err();
    assert!(!database_unavailable(&e));
    assert_eq!(ServiceError::from(e).kind, ErrorKind::Internal);
    env.cleanup().await;
}
