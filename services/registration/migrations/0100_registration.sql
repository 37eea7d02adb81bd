-- Registration: organisations, accounts, sessions, applications, enrolments (RULES §1–§3, §5, L1).

CREATE TABLE organisations (
    id                   uuid PRIMARY KEY,
    name                 text NOT NULL CHECK (name <> ''),
    kind                 text NOT NULL CHECK (kind IN ('K1', 'K2', 'K3', 'K4')),
    school               text,
    licence_number       text NOT NULL CHECK (licence_number <> ''),
    licence_expiry       date,
    address              text NOT NULL,
    prefecture_code      text NOT NULL CHECK (prefecture_code ~ '^(0[1-9]|[1-3][0-9]|4[0-7])$'),
    handles_subsidies    boolean NOT NULL DEFAULT false,
    certifications       text[] NOT NULL DEFAULT '{}',
    contact_person       jsonb NOT NULL,
    pi_manager           jsonb NOT NULL,
    registered_on        date NOT NULL,
    -- D2: the bureau's application email is due by this day.
    bureau_email_due     date NOT NULL,
    bureau_email_sent_on date,
    revoked_on           date,
    suspended            boolean NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX organisations_bureau ON organisations (prefecture_code);

-- SK7 mandatory information, every version kept.
CREATE TABLE mandatory_info (
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    version         int NOT NULL,
    info            jsonb NOT NULL,
    changed_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, version)
);

CREATE TABLE accounts (
    id              uuid PRIMARY KEY,
    -- Lower-cased; an email stays taken for 5 years after the account closes (E7).
    email           text NOT NULL,
    password_hash   text NOT NULL,
    role            text NOT NULL CHECK (role IN ('org', 'seeker', 'bureau', 'mhlw', 'ops', 'upstream')),
    organisation_id uuid REFERENCES organisations (id),
    bureau_code     text CHECK (bureau_code IS NULL OR bureau_code ~ '^(0[1-9]|[1-3][0-9]|4[0-7])$'),
    failed_logins   int NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    locked_reason   text,
    closed_on       date,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (role <> 'bureau' OR bureau_code IS NOT NULL)
);
CREATE UNIQUE INDEX accounts_open_email ON accounts (email) WHERE closed_on IS NULL;

CREATE TABLE sessions (
    -- SHA-256 of the bearer token: a stolen table yields no usable token.
    token_hash bytea PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX sessions_account ON sessions (account_id);

CREATE TABLE applications (
    id                    uuid PRIMARY KEY,
    organisation_id       uuid NOT NULL REFERENCES organisations (id),
    service               text NOT NULL CHECK (service IN ('job', 'seeker')),
    kind                  text NOT NULL CHECK (kind IN ('use', 'change', 'renewal', 'withdrawal')),
    status                text NOT NULL CHECK (status IN ('registered', 'submitted', 'approved', 'rejected', 'expired')),
    registered_on         date NOT NULL,
    submission_deadline   date NOT NULL,
    submitted_on          date,
    decided_on            date,
    decided_by            uuid,
    decision_note         text,
    regular_placements_3m int NOT NULL DEFAULT 0,
    created_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX applications_org ON applications (organisation_id);
CREATE INDEX applications_registered ON applications (registered_on) WHERE status = 'registered';

CREATE TABLE enrolments (
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    service         text NOT NULL CHECK (service IN ('job', 'seeker')),
    status          text NOT NULL CHECK (status IN ('active', 'suspended', 'revoked', 'withdrawn', 'expired')),
    valid_from      date NOT NULL,
    valid_until     date NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, service)
);
