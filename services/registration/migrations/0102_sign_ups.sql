-- Sign-ups waiting for their email to be confirmed. The answer to a sign-up is the same whether or
-- not the email is free, so the account is made only when the token sent to the email comes back.
-- Only the SHA-256 of a token is kept, like sessions and resets; the row (and its password hash)
-- goes when it is confirmed or when it expires.
CREATE TABLE sign_ups (
    token_hash    bytea PRIMARY KEY,
    email         text NOT NULL,
    password_hash text NOT NULL,
    role          text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);
CREATE INDEX sign_ups_email ON sign_ups (email);
CREATE INDEX sign_ups_expiry ON sign_ups (expires_at);

-- A sign-up notice goes to an email that has no account yet; each notice keeps its text only as
-- long as the token in it works; and what one address received lately bounds what it receives.
ALTER TABLE notices ALTER COLUMN account_id DROP NOT NULL;
ALTER TABLE notices ADD COLUMN kind text NOT NULL DEFAULT 'password-reset';
ALTER TABLE notices ADD COLUMN expires_at timestamptz;
UPDATE notices SET expires_at = created_at + interval '1 hour';
ALTER TABLE notices ALTER COLUMN expires_at SET NOT NULL;
ALTER TABLE notices ALTER COLUMN kind DROP DEFAULT;
CREATE INDEX notices_to_address ON notices (to_address, created_at);
CREATE INDEX notices_unblanked ON notices (expires_at) WHERE body <> '';
