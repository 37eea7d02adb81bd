//! Every SQL statement of the service, prepared against the migrated schema: a column renamed in a
//! migration, or a typo, fails here rather than in a request.

use hwx_testkit::TestEnv;

#[tokio::test]
async fn every_statement_fits_the_migrated_schema() {
    let env = TestEnv::new().await;
    let db = env
        .database("registration", hwx_registration::MIGRATIONS)
        .await;
    let statements = hwx_registration::store::sql::STATEMENTS;
    let refused = hwx_platform::db::prepare_all(&db, &[], statements)
        .await
        .unwrap();
    assert!(refused.is_empty(), "refused by Postgres: {refused:#?}");
    assert!(statements.len() >= 30, "{} statements", statements.len());
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
