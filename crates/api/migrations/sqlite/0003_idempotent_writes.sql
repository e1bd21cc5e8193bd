-- Writes that are safe to retry, in the same region or the other after a failover.

-- The Idempotency-Key a sign-up was sent with: the same key (and password) again answers the
-- account it made instead of 409.
ALTER TABLE unicorn_user ADD COLUMN signup_key TEXT;

-- Guest-cart merges already applied, per user and Idempotency-Key, recorded in the merge's own
-- transaction. `at` is in seconds since the epoch; keys are kept at least a day.
CREATE TABLE cart_merges (
    user_uuid       TEXT    NOT NULL REFERENCES unicorn_user (uuid) ON DELETE CASCADE,
    idempotency_key TEXT    NOT NULL,
    at              INTEGER NOT NULL,
    PRIMARY KEY (user_uuid, idempotency_key)
);
