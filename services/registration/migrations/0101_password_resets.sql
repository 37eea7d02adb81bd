-- Password resets: one-time tokens sent to the account's email (through the notifier). Only the
-- SHA-256 of a token is kept, like sessions: a stolen table yields no usable token.
CREATE TABLE password_resets (
    token_hash bytea PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX password_resets_account ON password_resets (account_id);

-- Messages for people (a reset token) until the notifier delivered them: the event names the
-- notice, never its text, so the token is in no event, outbox row or stream. The text is blanked
-- once delivered.
CREATE TABLE notices (
    id           uuid PRIMARY KEY,
    account_id   uuid NOT NULL REFERENCES accounts (id),
    to_address   text NOT NULL,
    subject      text NOT NULL,
    body         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz
);
