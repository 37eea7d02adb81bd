-- Job feed: postings, their change-feed position, signing keys, the organisations' S-JOB
-- enrolments (from registration's events), J8 additions and the access log (RULES §6).

-- The change-feed position. Values are taken only while the feed lock is held (see store.rs), so
-- they commit in order and a reader after a cursor can never miss a change.
CREATE SEQUENCE feed_seq;

-- The current state of every posting ever provided; a withdrawn one is a tombstone (J6). Each
-- change moves the posting to a new seq, so the change feed is "postings with seq > cursor".
CREATE TABLE postings (
    posting_number   text PRIMARY KEY CHECK (posting_number ~ '^[0-9]{5}-[0-9]{8}$'),
    version          integer NOT NULL CHECK (version > 0),
    seq              bigint NOT NULL UNIQUE DEFAULT nextval('feed_seq'),
    withdrawn        boolean NOT NULL DEFAULT false,
    withdrawn_reason text,
    -- The canonical JSON the hash is taken over (J5), byte for byte.
    content          text NOT NULL,
    content_hash     text NOT NULL,
    signature        bytea NOT NULL,
    key_id           text NOT NULL,
    prefecture_code  text NOT NULL,
    occupation_code  text NOT NULL,
    industry_code    text NOT NULL,
    employment_type  text NOT NULL,
    updated_at       timestamptz NOT NULL
);

-- Ed25519 keys made by the service when none is configured (HWX_SIGNING_KEY).
CREATE TABLE signing_keys (
    key_id     text PRIMARY KEY,
    secret     bytea NOT NULL,
    public_key bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- S-JOB enrolments as registration (and later compliance) announce them (J2, SN1, SN2).
CREATE TABLE enrolments (
    organisation_id uuid PRIMARY KEY,
    status          text NOT NULL CHECK (status IN ('active', 'suspended', 'revoked', 'withdrawn', 'expired')),
    valid_from      date,
    valid_until     date,
    -- When the deciding event occurred: an older event never overwrites a newer one.
    changed_at      timestamptz NOT NULL
);

-- J8: an organisation's own information on a posting, with the employer's consent.
CREATE TABLE additions (
    organisation_id uuid NOT NULL,
    posting_number  text NOT NULL,
    text            text NOT NULL CHECK (text <> ''),
    consented_at    timestamptz NOT NULL,
    PRIMARY KEY (organisation_id, posting_number)
);

-- Every feed read and download: who, what, when, how many records.
CREATE TABLE access_log (
    id              bigserial PRIMARY KEY,
    organisation_id uuid NOT NULL,
    account_id      uuid NOT NULL,
    action          text NOT NULL,
    detail          text NOT NULL,
    records         bigint NOT NULL DEFAULT 0,
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX access_log_org ON access_log (organisation_id, id DESC);
