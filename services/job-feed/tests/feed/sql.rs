//! Every SQL statement of the job feed, prepared against the migrated schema: a column renamed in
//! a migration, or a typo, fails here rather than in a request.

use hwx_testkit::TestEnv;

#[tokio::test]
async fn every_statement_fits_the_migrated_schema() {
    let statements = hwx_job_feed::store::sql::STATEMENTS;
    // The bulk load's scratch table lives in its session. (FETCH and COPY pass here whatever they
    // say: the next test runs them.)
    let setup = [hwx_job_feed::store::sql::BULK_TABLE];
    let refused =
        hwx_testkit::refused_statements("job_feed", hwx_job_feed::MIGRATIONS, &setup, statements)
            .await;
    assert!(refused.is_empty(), "refused by Postgres: {refused:#?}");
    assert!(statements.len() >= 25, "{} statements", statements.len());
}

#[test]
fn no_sql_outside_the_statements() {
    hwx_testkit::assert_sql_in_statements(env!("CARGO_MANIFEST_DIR"));
}

/// Preparing does not analyse a cursor's FETCH or a COPY: these run for real, on nothing, in a
/// transaction that is rolled back.
#[tokio::test]
async fn the_cursor_and_copy_statements_run() {
    use hwx_job_feed::store::sql;
    let env = TestEnv::new().await;
    let db = env.database("job_feed", hwx_job_feed::MIGRATIONS).await;
    let mut tx = db.pool().begin().await.unwrap();
    for declare in [sql::SNAPSHOT, sql::SNAPSHOT_WITH_ADDITIONS] {
        sqlx::query(declare)
            .bind(uuid::Uuid::nil())
            .bind(Vec::<String>::new())
            .bind("")
            .bind(Vec::<String>::new())
            .bind(Vec::<String>::new())
            .bind(None::<chrono::DateTime<chrono::Utc>>)
            .execute(&mut *tx)
            .await
            .unwrap();
        let rows = sqlx::query(sql::FETCH).fetch_all(&mut *tx).await.unwrap();
        assert!(rows.is_empty());
        sqlx::raw_sql("CLOSE snapshot")
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    sqlx::raw_sql(sql::BULK_TABLE)
        .execute(&mut *tx)
        .await
        .unwrap();
    for copy in [sql::COPY_BULK, sql::COPY_POSTINGS] {
        let copy = tx.copy_in_raw(copy).await.unwrap();
        assert_eq!(copy.finish().await.unwrap(), 0);
    }
    let inserted = sqlx::query(sql::BULK_INSERT)
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(inserted.rows_affected(), 0);
    tx.rollback().await.unwrap();
    env.cleanup().await;
}
