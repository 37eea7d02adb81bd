//! Every SQL statement of the job feed, prepared against the migrated schema: a column renamed in
//! a migration, or a typo, fails here rather than in a request.

use hwx_testkit::TestEnv;

#[tokio::test]
async fn every_statement_fits_the_migrated_schema() {
    let env = TestEnv::new().await;
    let db = env.database("job_feed", hwx_job_feed::MIGRATIONS).await;
    let statements = hwx_job_feed::store::sql::STATEMENTS;
    // The bulk load's scratch table lives in its session, and a FETCH needs its cursor.
    let setup = [
        hwx_job_feed::store::sql::BULK_TABLE,
        "DECLARE snapshot NO SCROLL CURSOR FOR SELECT 1",
    ];
    let refused = hwx_platform::db::prepare_all(&db, &setup, statements)
        .await
        .unwrap();
    assert!(refused.is_empty(), "refused by Postgres: {refused:#?}");
    assert!(statements.len() >= 25, "{} statements", statements.len());
    env.cleanup().await;
}

#[test]
fn no_sql_outside_the_statements() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = hwx_testkit::sql_outside_statements(&src);
    assert!(
        found.is_empty(),
        "SQL written straight into sqlx, not in store::sql: {found:?}"
    );
}
