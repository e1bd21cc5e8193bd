-- The Unishop schema on MySQL 8.0 (Aurora MySQL 3) and MariaDB: the same tables and columns as the
-- SQLite migrations, in one step. UUIDs are stored as their lower-case text form; order lines and
-- addresses as JSON text, kept exactly as written. Text compares byte for byte (utf8mb4_bin), as in
-- SQLite: emails are normalised before they are stored, so uniqueness must not fold anything else.
-- Tables that list things in the order they were added get an AUTO_INCREMENT column for it (SQLite
-- uses its rowid).

CREATE TABLE unicorns (
    uuid        CHAR(36)     NOT NULL PRIMARY KEY,
    slug        VARCHAR(100) NOT NULL UNIQUE,
    name        VARCHAR(200) NOT NULL,
    description TEXT         NOT NULL,
    price_cents BIGINT       NOT NULL CHECK (price_cents >= 0),
    image       VARCHAR(500) NOT NULL,
    image_alt   VARCHAR(500) NOT NULL,
    category    VARCHAR(100) NOT NULL,
    position    BIGINT       NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- An argon2id hash in PHC string form (none for legacy accounts, which cannot log in), and the
-- Idempotency-Key of the sign-up that made the account.
CREATE TABLE unicorn_user (
    uuid          CHAR(36)     NOT NULL PRIMARY KEY,
    email         VARCHAR(254) NOT NULL UNIQUE,
    first_name    VARCHAR(100),
    last_name     VARCHAR(100),
    password_hash VARCHAR(255),
    signup_key    VARCHAR(64),
    created_at    TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE unicorns_basket (
    id           BIGINT   NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_uuid    CHAR(36) NOT NULL,
    unicorn_uuid CHAR(36) NOT NULL,
    quantity     BIGINT   NOT NULL DEFAULT 1 CHECK (quantity BETWEEN 1 AND 99),
    UNIQUE KEY basket_line (user_uuid, unicorn_uuid),
    CONSTRAINT basket_user FOREIGN KEY (user_uuid) REFERENCES unicorn_user (uuid) ON DELETE CASCADE,
    CONSTRAINT basket_unicorn FOREIGN KEY (unicorn_uuid) REFERENCES unicorns (uuid) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Failed logins per normalised email, in seconds since the epoch.
CREATE TABLE login_failures (
    id    BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email VARCHAR(254) NOT NULL,
    at    BIGINT       NOT NULL,
    KEY login_failures_by_email (email, at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The idempotency key is unique per user; the request hash tells a retry from a reuse.
CREATE TABLE orders (
    id              CHAR(36)    NOT NULL PRIMARY KEY,
    seq             BIGINT      NOT NULL AUTO_INCREMENT UNIQUE,
    user_uuid       CHAR(36)    NOT NULL,
    idempotency_key VARCHAR(64) NOT NULL,
    request_hash    VARCHAR(64) NOT NULL,
    region          VARCHAR(32) NOT NULL,
    created_at      VARCHAR(32) NOT NULL,
    total_cents     BIGINT      NOT NULL,
    items           MEDIUMTEXT  NOT NULL,
    shipping        TEXT        NOT NULL,
    UNIQUE KEY orders_by_key (user_uuid, idempotency_key),
    KEY orders_by_user (user_uuid, created_at),
    CONSTRAINT orders_user FOREIGN KEY (user_uuid) REFERENCES unicorn_user (uuid) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Guest-cart merges already applied, per user and Idempotency-Key (seconds since the epoch).
CREATE TABLE cart_merges (
    user_uuid       CHAR(36)    NOT NULL,
    idempotency_key VARCHAR(64) NOT NULL,
    at              BIGINT      NOT NULL,
    PRIMARY KEY (user_uuid, idempotency_key),
    CONSTRAINT cart_merges_user FOREIGN KEY (user_uuid) REFERENCES unicorn_user (uuid) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
