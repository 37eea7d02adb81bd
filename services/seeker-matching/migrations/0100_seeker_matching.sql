-- Seeker matching: consenting seekers as Hello Work provides them (never identifying, SK1), the
-- organisations' S-SEEKER enrolments (from registration's events) and seekers' blocks (SK6b).

-- One row per consenting seeker; a withdrawn consent deletes the row. `occupation_groups` holds
-- every level of every desired occupation (`05`, `051`, `05103` for `051-03`), so a search by a
-- broader code finds narrower wishes through one GIN index.
CREATE TABLE seekers (
    seeker_id          text PRIMARY KEY,
    age_band           smallint NOT NULL,
    gender             text,
    occupations        text[] NOT NULL,
    occupation_groups  text[] NOT NULL,
    prefectures        text[] NOT NULL,
    municipalities     text[] NOT NULL,
    employment_types   text[] NOT NULL,
    wage_type          text,
    wage_min           bigint,
    wage_max           bigint,
    working_hours      text NOT NULL,
    qualifications     text[] NOT NULL,
    experience         jsonb NOT NULL,
    education          text,
    hello_work_office  text NOT NULL,
    consent_on         date NOT NULL,
    last_active_on     date NOT NULL,
    -- SHA-256 of the record as stored: a record sent again unchanged writes nothing.
    content_hash       bytea NOT NULL,
    updated_at         timestamptz NOT NULL
);
CREATE INDEX seekers_occupation_groups ON seekers USING gin (occupation_groups);
CREATE INDEX seekers_occupations ON seekers USING gin (occupations);
CREATE INDEX seekers_prefectures ON seekers USING gin (prefectures);
CREATE INDEX seekers_employment_types ON seekers USING gin (employment_types);
-- The search's order and cursor: newest activity first.
CREATE INDEX seekers_recent ON seekers (last_active_on DESC, seeker_id DESC);

-- S-SEEKER enrolments as registration (and later compliance) announce them (E3, SN1, SN2).
CREATE TABLE enrolments (
    organisation_id uuid PRIMARY KEY,
    status          text NOT NULL,
    valid_until     date,
    -- When registration decided it: an older event arriving late changes nothing.
    decided_at      timestamptz NOT NULL
);

-- SK6b: a seeker who blocked an organisation never appears to it.
CREATE TABLE blocks (
    seeker_id       text NOT NULL,
    organisation_id uuid NOT NULL,
    blocked_at      timestamptz NOT NULL,
    PRIMARY KEY (organisation_id, seeker_id)
);
CREATE INDEX blocks_seeker ON blocks (seeker_id);
