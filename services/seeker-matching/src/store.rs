//! Seeker matching's tables: every SQL statement of the service, and the rows they read. An
//! ingest batch commits whole with its events; reads use the pool.

use chrono::{DateTime, NaiveDate, Utc};
use hwx_platform::codes::Code;
use hwx_platform::db::Database;
use hwx_platform::events::Outbox;
use hwx_proto::events::v1 as ev;
use hwx_rules::access::EnrolmentStatus;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::record::{Experience, SeekerRow};

/// The SQL of the service, checked against the migrated schema by `tests/api/sql.rs`.
pub mod sql {
    hwx_platform::statements! {
        /// A batch of records (a JSON array of stored forms), written where new or changed; the
        /// IDs written come back (the rest were unchanged).
        UPSERT_SEEKERS = "INSERT INTO seekers (seeker_id, age_band, gender, occupations, occupation_groups, prefectures,
               municipalities, employment_types, wage_type, wage_min, wage_max, working_hours, qualifications,
               experience, education, hello_work_office, consent_on, last_active_on, content_hash, updated_at)
             SELECT r.seeker_id, r.age_band, r.gender, r.occupations, r.occupation_groups, r.prefectures,
               r.municipalities, r.employment_types, r.wage_type, r.wage_min, r.wage_max, r.working_hours,
               r.qualifications, r.experience, r.education, r.hello_work_office, r.consent_on, r.last_active_on,
               decode(r.content_hash, 'hex'), $2
             FROM jsonb_to_recordset($1) AS r(seeker_id text, age_band smallint, gender text, occupations text[],
               occupation_groups text[], prefectures text[], municipalities text[], employment_types text[],
               wage_type text, wage_min bigint, wage_max bigint, working_hours text, qualifications text[],
               experience jsonb, education text, hello_work_office text, consent_on date, last_active_on date,
               content_hash text)
             ON CONFLICT (seeker_id) DO UPDATE SET
               age_band = EXCLUDED.age_band, gender = EXCLUDED.gender, occupations = EXCLUDED.occupations,
               occupation_groups = EXCLUDED.occupation_groups, prefectures = EXCLUDED.prefectures,
               municipalities = EXCLUDED.municipalities, employment_types = EXCLUDED.employment_types,
               wage_type = EXCLUDED.wage_type, wage_min = EXCLUDED.wage_min, wage_max = EXCLUDED.wage_max,
               working_hours = EXCLUDED.working_hours, qualifications = EXCLUDED.qualifications,
               experience = EXCLUDED.experience, education = EXCLUDED.education,
               hello_work_office = EXCLUDED.hello_work_office, consent_on = EXCLUDED.consent_on,
               last_active_on = EXCLUDED.last_active_on, content_hash = EXCLUDED.content_hash,
               updated_at = EXCLUDED.updated_at
             WHERE seekers.content_hash <> EXCLUDED.content_hash
             RETURNING seeker_id";
        /// Consent withdrawn: the seeker goes; the IDs that were there come back (a repeated
        /// withdrawal announces nothing again). Their blocks stay: a seeker who consents again
        /// stays hidden from the organisations they blocked (SK6b).
        WITHDRAW_SEEKERS = "DELETE FROM seekers WHERE seeker_id = ANY($1) RETURNING seeker_id";
        /// Newest activity first, then the ID: the cursor is the last row's pair. Every filter is
        /// off when its parameter is NULL. An occupation filter matches a wish under it (through
        /// every level of each wish) or a wish above it (a wish that is one of its levels).
        SEARCH = "SELECT s.* FROM seekers s
             WHERE ($1::text[] IS NULL OR s.occupation_groups && $1 OR s.occupations && $2)
               AND ($3::text[] IS NULL OR s.prefectures && $3)
               AND ($4::text[] IS NULL OR s.municipalities && $4)
               AND ($5::text[] IS NULL OR s.employment_types && $5)
               AND ($6::smallint IS NULL OR s.age_band >= $6)
               AND ($7::smallint IS NULL OR s.age_band <= $7)
               AND ($8::text IS NULL OR s.gender = $8)
               AND ($9::text IS NULL OR (s.wage_type = $9 AND coalesce(s.wage_min, 0) <= $10
                    AND (s.wage_max IS NULL OR s.wage_max >= $10)))
               AND ($11::text[] IS NULL OR s.qualifications @> $11)
               AND ($12::text[] IS NULL OR s.education = ANY($12))
               AND ($13::date IS NULL OR s.last_active_on >= $13)
               AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.organisation_id = $14 AND b.seeker_id = s.seeker_id)
               AND ($15::date IS NULL OR (s.last_active_on, s.seeker_id) < ($15, $16))
             ORDER BY s.last_active_on DESC, s.seeker_id DESC
             LIMIT $17";
        CUSTOM_PLANS = "SET LOCAL plan_cache_mode = force_custom_plan";
        /// An older event arriving late changes nothing.
        RECORD_ENROLMENT = "INSERT INTO enrolments (organisation_id, status, valid_until, decided_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (organisation_id) DO UPDATE SET status = EXCLUDED.status,
               valid_until = COALESCE(EXCLUDED.valid_until, enrolments.valid_until), decided_at = EXCLUDED.decided_at
             WHERE enrolments.decided_at <= EXCLUDED.decided_at";
        ENROLMENT = "SELECT status, valid_until FROM enrolments WHERE organisation_id = $1";
        /// A seeker as `org` may see them: not one who blocked it (SK6b). Locked for share while
        /// an acquisition is made or accepted: a withdrawal waits, so none is made for a seeker
        /// already gone.
        SEEKER_FOR = "SELECT s.* FROM seekers s WHERE s.seeker_id = $1
               AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.organisation_id = $2 AND b.seeker_id = s.seeker_id)
             FOR SHARE OF s";
        /// A hold past its deletion day has ended: opening the details again is a new acquisition.
        END_DUE = "UPDATE acquisitions SET deleted_at = $3
             WHERE organisation_id = $1 AND seeker_id = $2 AND deleted_at IS NULL AND deletion_due <= $4";
        /// A new acquisition, unless the organisation holds the seeker already.
        ACQUIRE = "INSERT INTO acquisitions (id, organisation_id, seeker_id, acquired_at, acquired_on, deletion_due, deletion_rule)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (organisation_id, seeker_id) WHERE deleted_at IS NULL DO NOTHING RETURNING *";
        HELD = "SELECT * FROM acquisitions WHERE organisation_id = $1 AND seeker_id = $2 AND deleted_at IS NULL";
        /// The organisation's own, locked: another's is answered as unknown.
        LOCK_ACQUISITION = "SELECT * FROM acquisitions WHERE id = $1 AND organisation_id = $2 AND deleted_at IS NULL FOR UPDATE";
        ACCEPT = "UPDATE acquisitions SET accepted_on = $2, deletion_due = $3, deletion_rule = $4 WHERE id = $1 RETURNING *";
        /// Soonest deletion first; the cursor is the last row's (deletion_due, id).
        LIST_ACQUISITIONS = "SELECT * FROM acquisitions WHERE organisation_id = $1 AND deleted_at IS NULL
               AND ($2::date IS NULL OR (deletion_due, id) > ($2, $3))
             ORDER BY deletion_due, id LIMIT $4";
    }
}

/// The stored form as `jsonb_to_recordset` reads it.
fn json_row(r: &SeekerRow) -> serde_json::Value {
    serde_json::json!({
        "seeker_id": r.seeker_id, "age_band": r.age_band, "gender": r.gender,
        "occupations": r.occupations, "occupation_groups": r.occupation_groups,
        "prefectures": r.prefectures, "municipalities": r.municipalities,
        "employment_types": r.employment_types, "wage_type": r.wage_type, "wage_min": r.wage_min,
        "wage_max": r.wage_max, "working_hours": r.working_hours,
        "qualifications": r.qualifications, "experience": r.experience, "education": r.education,
        "hello_work_office": r.hello_work_office, "consent_on": r.consent_on,
        "last_active_on": r.last_active_on, "content_hash": hex::encode(r.content_hash()),
    })
}

fn seeker_row(r: &PgRow) -> Result<SeekerRow, sqlx::Error> {
    let experience: sqlx::types::Json<Vec<Experience>> = r.try_get("experience")?;
    Ok(SeekerRow {
        seeker_id: r.try_get("seeker_id")?,
        age_band: r.try_get("age_band")?,
        gender: r.try_get("gender")?,
        occupations: r.try_get("occupations")?,
        occupation_groups: r.try_get("occupation_groups")?,
        prefectures: r.try_get("prefectures")?,
        municipalities: r.try_get("municipalities")?,
        employment_types: r.try_get("employment_types")?,
        wage_type: r.try_get("wage_type")?,
        wage_min: r.try_get("wage_min")?,
        wage_max: r.try_get("wage_max")?,
        working_hours: r.try_get("working_hours")?,
        qualifications: r.try_get("qualifications")?,
        experience: experience.0,
        education: r.try_get("education")?,
        hello_work_office: r.try_get("hello_work_office")?,
        consent_on: r.try_get("consent_on")?,
        last_active_on: r.try_get("last_active_on")?,
    })
}

/// Occupations asked for: their keys, and every level of them.
#[derive(Debug, Clone, Default)]
pub struct Occupations {
    pub keys: Vec<String>,
    pub levels: Vec<String>,
}

/// A search, in the stored forms (`None`: no filter).
#[derive(Debug, Default)]
pub struct Search {
    pub occupations: Option<Occupations>,
    pub prefectures: Option<Vec<String>>,
    pub municipalities: Option<Vec<String>>,
    pub employment_types: Option<Vec<String>>,
    pub age_band_min: Option<i16>,
    pub age_band_max: Option<i16>,
    pub gender: Option<String>,
    pub wage: Option<(String, i64)>,
    pub qualifications: Option<Vec<String>>,
    pub education: Option<Vec<String>>,
    pub active_since: Option<NaiveDate>,
    pub after: Option<(NaiveDate, String)>,
    pub limit: i64,
}

#[derive(Debug, Clone)]
pub struct Store {
    pub db: Database,
    pub outbox: Outbox,
}

impl Store {
    /// One ingest batch, whole or not at all: the records to store (each ID once) and the IDs
    /// withdrawn. Returns the IDs written and the IDs that were there to withdraw.
    pub async fn apply_batch(
        &self,
        store: &[SeekerRow],
        withdraw: &[String],
        now: DateTime<Utc>,
    ) -> Result<(Vec<String>, Vec<String>), sqlx::Error> {
        // Rows are locked in ID order, so two ingests sharing seekers (two gateways, a retry
        // while the first still runs) wait for each other instead of deadlocking.
        let mut store: Vec<&SeekerRow> = store.iter().collect();
        store.sort_by(|a, b| a.seeker_id.cmp(&b.seeker_id));
        let mut withdraw = withdraw.to_vec();
        withdraw.sort();
        let mut tx = self.db.pool().begin().await?;
        let written: Vec<String> = if store.is_empty() {
            Vec::new()
        } else {
            let rows = serde_json::Value::Array(store.iter().map(|r| json_row(r)).collect());
            sqlx::query_scalar(sql::UPSERT_SEEKERS)
                .bind(rows)
                .bind(now)
                .fetch_all(&mut *tx)
                .await?
        };
        let gone: Vec<String> = if withdraw.is_empty() {
            Vec::new()
        } else {
            sqlx::query_scalar(sql::WITHDRAW_SEEKERS)
                .bind(&withdraw)
                .fetch_all(&mut *tx)
                .await?
        };
        let mut events = self.outbox.batch();
        for id in &gone {
            events.push(ev::ConsentWithdrawn {
                meta: None,
                seeker_id: id.clone(),
            });
        }
        events.stage(&mut tx).await?;
        tx.commit().await?;
        Ok((written, gone))
    }

    /// A search. Each runs with a plan made for its own values: most filters are off (`NULL`) in
    /// any one search, and a plan cached for all of them would use no index.
    pub async fn search(&self, q: &Search, org: Uuid) -> Result<Vec<SeekerRow>, sqlx::Error> {
        let mut tx = self.db.pool().begin().await?;
        sqlx::query(sql::CUSTOM_PLANS).execute(&mut *tx).await?;
        let (keys, levels) = q.occupations.clone().map(|o| (o.keys, o.levels)).unzip();
        let (wage_type, wage) = q.wage.clone().unzip();
        let (after_day, after_id) = q.after.clone().unzip();
        let rows = sqlx::query(sql::SEARCH)
            .bind(keys)
            .bind(levels)
            .bind(&q.prefectures)
            .bind(&q.municipalities)
            .bind(&q.employment_types)
            .bind(q.age_band_min)
            .bind(q.age_band_max)
            .bind(&q.gender)
            .bind(wage_type)
            .bind(wage)
            .bind(&q.qualifications)
            .bind(&q.education)
            .bind(q.active_since)
            .bind(org)
            .bind(after_day)
            .bind(after_id)
            .bind(q.limit)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.iter().map(seeker_row).collect()
    }

    /// The organisation's S-SEEKER enrolment as last announced: its status and last day.
    pub async fn enrolment(
        &self,
        org: Uuid,
    ) -> Result<Option<(EnrolmentStatus, Option<NaiveDate>)>, sqlx::Error> {
        let row: Option<(String, Option<NaiveDate>)> = sqlx::query_as(sql::ENROLMENT)
            .bind(org)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|(status, until)| Ok((EnrolmentStatus::decode(&status)?, until)))
            .transpose()
    }
}

/// A held acquisition.
#[derive(Debug, Clone)]
pub struct AcquisitionRow {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub seeker_id: String,
    pub acquired_at: DateTime<Utc>,
    pub acquired_on: NaiveDate,
    pub accepted_on: Option<NaiveDate>,
    pub deletion_due: NaiveDate,
    pub deletion_rule: String,
}

fn acquisition_row(r: &PgRow) -> Result<AcquisitionRow, sqlx::Error> {
    Ok(AcquisitionRow {
        id: r.try_get("id")?,
        organisation_id: r.try_get("organisation_id")?,
        seeker_id: r.try_get("seeker_id")?,
        acquired_at: r.try_get("acquired_at")?,
        acquired_on: r.try_get("acquired_on")?,
        accepted_on: r.try_get("accepted_on")?,
        deletion_due: r.try_get("deletion_due")?,
        deletion_rule: r.try_get("deletion_rule")?,
    })
}

impl Store {
    /// The seeker as `org` may see them, locked for share in `tx`; none when unknown, withdrawn
    /// or blocking `org`.
    pub async fn seeker_for(
        tx: &mut PgConnection,
        seeker: &str,
        org: Uuid,
    ) -> Result<Option<SeekerRow>, sqlx::Error> {
        let row = sqlx::query(sql::SEEKER_FOR)
            .bind(seeker)
            .bind(org)
            .fetch_optional(tx)
            .await?;
        row.as_ref().map(seeker_row).transpose()
    }

    /// Open a seeker's details for `org`: the seeker, and the acquisition it holds, made now with
    /// its event if it held none (or only one past its deletion day). None when the seeker is not
    /// one `org` may see.
    pub async fn open(
        &self,
        org: Uuid,
        seeker: &str,
        now: DateTime<Utc>,
        today: NaiveDate,
        due: &hwx_rules::retention::DeletionDeadline,
    ) -> Result<Option<(SeekerRow, AcquisitionRow)>, sqlx::Error> {
        let mut tx = self.db.pool().begin().await?;
        let Some(row) = Self::seeker_for(&mut tx, seeker, org).await? else {
            return Ok(None);
        };
        let seeker = row.seeker_id.as_str();
        sqlx::query(sql::END_DUE)
            .bind(org)
            .bind(seeker)
            .bind(now)
            .bind(today)
            .execute(&mut *tx)
            .await?;
        let made = sqlx::query(sql::ACQUIRE)
            .bind(Uuid::now_v7())
            .bind(org)
            .bind(seeker)
            .bind(now)
            .bind(today)
            .bind(due.due)
            .bind(due.rule.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        let held = match made {
            Some(r) => {
                let a = acquisition_row(&r)?;
                self.outbox
                    .stage(
                        &mut tx,
                        ev::SeekerAcquired {
                            meta: None,
                            acquisition_id: a.id.to_string(),
                            organisation_id: org.to_string(),
                            seeker_id: seeker.to_owned(),
                            deletion_due: Some(hwx_platform::grpc::date(a.deletion_due)),
                        },
                    )
                    .await?;
                a
            }
            None => {
                let r = sqlx::query(sql::HELD)
                    .bind(org)
                    .bind(seeker)
                    .fetch_one(&mut *tx)
                    .await?;
                acquisition_row(&r)?
            }
        };
        tx.commit().await?;
        Ok(Some((row, held)))
    }

    pub async fn lock_acquisition(
        tx: &mut PgConnection,
        id: Uuid,
        org: Uuid,
    ) -> Result<Option<AcquisitionRow>, sqlx::Error> {
        let row = sqlx::query(sql::LOCK_ACQUISITION)
            .bind(id)
            .bind(org)
            .fetch_optional(tx)
            .await?;
        row.as_ref().map(acquisition_row).transpose()
    }

    /// Record the acceptance and its new deadline, with its event.
    pub async fn accept(
        &self,
        tx: &mut PgConnection,
        id: Uuid,
        on: NaiveDate,
        due: &hwx_rules::retention::DeletionDeadline,
    ) -> Result<AcquisitionRow, sqlx::Error> {
        let r = sqlx::query(sql::ACCEPT)
            .bind(id)
            .bind(on)
            .bind(due.due)
            .bind(due.rule.to_string())
            .fetch_one(&mut *tx)
            .await?;
        let a = acquisition_row(&r)?;
        self.outbox
            .stage(
                tx,
                ev::AcquisitionAccepted {
                    meta: None,
                    acquisition_id: id.to_string(),
                    accepted_on: Some(hwx_platform::grpc::date(on)),
                    deletion_due: Some(hwx_platform::grpc::date(a.deletion_due)),
                },
            )
            .await?;
        Ok(a)
    }

    pub async fn acquisitions(
        &self,
        org: Uuid,
        after: Option<(NaiveDate, Uuid)>,
        limit: i64,
    ) -> Result<Vec<AcquisitionRow>, sqlx::Error> {
        let (day, id) = after.unzip();
        let rows = sqlx::query(sql::LIST_ACQUISITIONS)
            .bind(org)
            .bind(day)
            .bind(id)
            .bind(limit)
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(acquisition_row).collect()
    }
}

pub async fn record_enrolment(
    tx: &mut PgConnection,
    org: Uuid,
    status: EnrolmentStatus,
    valid_until: Option<NaiveDate>,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(sql::RECORD_ENROLMENT)
        .bind(org)
        .bind(status.as_str())
        .bind(valid_until)
        .bind(at)
        .execute(tx)
        .await?;
    Ok(())
}
