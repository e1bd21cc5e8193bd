-- The legacy Unishop schema (unicorns, unicorn_user, unicorns_basket), with exact prices in cents
-- and a category per product. UUIDs are stored as their lower-case text form. A basket lists its
-- products in the order they were added (rowid order).
CREATE TABLE unicorns (
    uuid        TEXT    PRIMARY KEY NOT NULL,
    slug        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
    image       TEXT    NOT NULL,
    image_alt   TEXT    NOT NULL,
    category    TEXT    NOT NULL,
    position    INTEGER NOT NULL
);

CREATE TABLE unicorn_user (
    uuid       TEXT PRIMARY KEY NOT NULL,
    email      TEXT NOT NULL UNIQUE,
    first_name TEXT,
    last_name  TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE unicorns_basket (
    user_uuid    TEXT NOT NULL REFERENCES unicorn_user (uuid) ON DELETE CASCADE,
    unicorn_uuid TEXT NOT NULL REFERENCES unicorns (uuid) ON DELETE CASCADE,
    PRIMARY KEY (user_uuid, unicorn_uuid)
);
