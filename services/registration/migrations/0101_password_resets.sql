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
