-- Passwords, cart quantities, login throttling and orders.

-- An argon2id hash in PHC string form. Accounts made through the legacy email-only sign-up have
-- none and cannot log in: a password cannot be set without proving who owns the email.
ALTER TABLE unicorn_user ADD COLUMN password_hash TEXT;

-- The legacy basket becomes the cart: the same rows, now with a quantity. The legacy routes still
-- see a set of products; a legacy add keeps an existing line's quantity.
ALTER TABLE unicorns_basket ADD COLUMN quantity INTEGER NOT NULL DEFAULT 1
    CHECK (quantity BETWEEN 1 AND 99);

-- Failed logins per normalised email (whether or not an account has it), in seconds since the
-- epoch. Kept in the database so that every API process sharing it throttles alike.
CREATE TABLE login_failures (
    email TEXT    NOT NULL,
    at    INTEGER NOT NULL
);
CREATE INDEX login_failures_by_email ON login_failures (email, at);

-- An order keeps its lines and address as sold (JSON), so later catalogue changes never rewrite
-- history. The idempotency key is unique per user; the request hash tells a retry (same body)
-- from a reuse of the key for another order.
CREATE TABLE orders (
    id              TEXT    PRIMARY KEY NOT NULL,
    user_uuid       TEXT    NOT NULL REFERENCES unicorn_user (uuid) ON DELETE CASCADE,
    idempotency_key TEXT    NOT NULL,
    request_hash    TEXT    NOT NULL,
    region          TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    total_cents     INTEGER NOT NULL,
    items           TEXT    NOT NULL,
    shipping        TEXT    NOT NULL,
    UNIQUE (user_uuid, idempotency_key)
);
CREATE INDEX orders_by_user ON orders (user_uuid, created_at);
