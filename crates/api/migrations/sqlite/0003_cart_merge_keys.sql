-- Idempotency keys of guest-cart merges (seconds since the epoch), so that a merge retried with
-- its key applies once. Kept for 48 hours.
CREATE TABLE cart_merges (
    user_uuid TEXT    NOT NULL REFERENCES unicorn_user (uuid) ON DELETE CASCADE,
    merge_key TEXT    NOT NULL,
    at        INTEGER NOT NULL,
    PRIMARY KEY (user_uuid, merge_key)
);
