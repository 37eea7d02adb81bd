//! Every SQL statement of seeker matching, prepared against the migrated schema: a column renamed
//! in a migration, or a typo, fails here rather than in a request.

#[tokio::test]
async fn every_statement_fits_the_migrated_schema() {
    let statements = hwx_seeker_matching::store::sql::STATEMENTS;
    let refused = hwx_testkit::refused_statements(
        "seeker_matching",
        hwx_seeker_matching::MIGRATIONS,
        &[],
        statements,
    )
    .await;
    assert!(refused.is_empty(), "refused by Postgres: {refused:#?}");
    assert!(statements.len() >= 5, "{} statements", statements.len());
}

#[test]
fn no_sql_outside_the_statements() {
    hwx_testkit::assert_sql_in_statements(env!("CARGO_MANIFEST_DIR"));
}
