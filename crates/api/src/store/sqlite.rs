//! The embedded store: one SQLite file (or memory) holding catalogue, users and baskets.
//!
//! Several API processes may share one file (the local two-region stack does): WAL journaling lets
//! readers and a writer work at once, and the busy timeout makes a writer wait for another instead
//! of failing.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow};
use sqlx::{Row, SqlitePool};
use unishop_model::{Product, User};
use uuid::Uuid;

use super::{Carts, Catalogue, NewUser, StoreError, Stores, Users};
use crate::seed::CATALOGUE;

/// How long a request waits for a connection or a lock before the store reports itself unavailable.
const WAIT_LIMIT: Duration = Duration::from_secs(3);

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating when missing) the database at `url`, applies the migrations and makes sure
    /// the seed catalogue is present and current.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(unavailable)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(WAIT_LIMIT)
            .foreign_keys(true);
        if let Some(folder) = options.get_filename().parent() {
            if !folder.as_os_str().is_empty() {
                std::fs::create_dir_all(folder).map_err(|e| {
                    StoreError::Unavailable(format!("cannot create {}: {e}", folder.display()))
                })?;
            }
        }
        let in_memory = url.contains(":memory:");
        let pool = SqlitePoolOptions::new()
            // An in-memory database lives and dies with its one connection.
            .max_connections(if in_memory { 1 } else { 8 })
            .min_connections(if in_memory { 1 } else { 0 })
            .idle_timeout(if in_memory {
                None
            } else {
                Some(Duration::from_secs(600))
            })
            .max_lifetime(if in_memory {
                None
            } else {
                Some(Duration::from_secs(1800))
            })
            .acquire_timeout(WAIT_LIMIT)
            .connect_with(options)
            .await
            .map_err(unavailable)?;
        sqlx::migrate!("migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migrating: {e}")))?;
        let store = Self { pool };
        store.seed().await?;
        Ok(store)
    }

    /// Closes every connection; later calls fail as [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// All three stores, served by this database.
    pub fn into_stores(self) -> Stores {
        let store = std::sync::Arc::new(self);
        Stores {
            catalogue: store.clone(),
            users: store.clone(),
            carts: store,
        }
    }

    async fn seed(&self) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        for (position, seed) in CATALOGUE.iter().enumerate() {
            let product = seed.to_product();
            sqlx::query(
                "INSERT INTO unicorns
                   (uuid, slug, name, description, price_cents, image, image_alt, category, position)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (uuid) DO UPDATE SET slug = excluded.slug, name = excluded.name,
                   description = excluded.description, price_cents = excluded.price_cents,
                   image = excluded.image, image_alt = excluded.image_alt,
                   category = excluded.category, position = excluded.position",
            )
            .bind(product.uuid.to_string())
            .bind(seed.legacy_name)
            .bind(&product.name)
            .bind(&product.description)
            .bind(seed.price_cents)
            .bind(&product.image)
            .bind(&product.image_alt)
            .bind(&product.category)
            .bind(position as i64)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        }
        tx.commit().await.map_err(unavailable)
    }
}

fn unavailable(error: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

/// Maps a failed write: constraint violations are the caller's business, the rest is an outage.
fn write_error(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &error {
        if db.is_unique_violation() {
            return StoreError::Conflict;
        }
        if db.is_foreign_key_violation() {
            return StoreError::MissingReference;
        }
    }
    unavailable(error)
}

fn uuid_column(row: &SqliteRow, column: &str) -> Result<Uuid, StoreError> {
    let text: String = row.try_get(column).map_err(unavailable)?;
    Uuid::parse_str(&text)
        .map_err(|e| StoreError::Unavailable(format!("corrupt uuid {text:?}: {e}")))
}

fn product_from_row(row: &SqliteRow) -> Result<Product, StoreError> {
    let price_cents: i64 = row.try_get("price_cents").map_err(unavailable)?;
    Ok(Product {
        uuid: uuid_column(row, "uuid")?,
        name: row.try_get("name").map_err(unavailable)?,
        description: Some(row.try_get("description").map_err(unavailable)?),
        price: price_cents as f64 / 100.0,
        price_cents: Some(price_cents),
        image: Some(row.try_get("image").map_err(unavailable)?),
        image_alt: Some(row.try_get("image_alt").map_err(unavailable)?),
        category: Some(row.try_get("category").map_err(unavailable)?),
    })
}

fn user_from_row(row: &SqliteRow) -> Result<User, StoreError> {
    Ok(User {
        uuid: uuid_column(row, "uuid")?,
        email: row.try_get("email").map_err(unavailable)?,
        first_name: row.try_get("first_name").map_err(unavailable)?,
        last_name: row.try_get("last_name").map_err(unavailable)?,
    })
}

const PRODUCT_COLUMNS: &str = "uuid, name, description, price_cents, image, image_alt, category";
const USER_COLUMNS: &str = "uuid, email, first_name, last_name";

#[async_trait]
impl Catalogue for SqliteStore {
    async fn products(&self) -> Result<Vec<Product>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {PRODUCT_COLUMNS} FROM unicorns ORDER BY position"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.iter().map(product_from_row).collect()
    }

    async fn product(&self, uuid: Uuid) -> Result<Option<Product>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PRODUCT_COLUMNS} FROM unicorns WHERE uuid = ?"
        ))
        .bind(uuid.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        row.as_ref().map(product_from_row).transpose()
    }
}

#[async_trait]
impl Users for SqliteStore {
    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        let created = User {
            uuid: Uuid::new_v4(),
            email: user.email,
            first_name: user.first_name,
            last_name: user.last_name,
        };
        sqlx::query(
            "INSERT INTO unicorn_user (uuid, email, first_name, last_name) VALUES (?, ?, ?, ?)",
        )
        .bind(created.uuid.to_string())
        .bind(&created.email)
        .bind(&created.first_name)
        .bind(&created.last_name)
        .execute(&self.pool)
        .await
        .map_err(write_error)?;
        Ok(created)
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM unicorn_user WHERE email = ?"
        ))
        .bind(email)
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user(&self, uuid: Uuid) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM unicorn_user WHERE uuid = ?"
        ))
        .bind(uuid.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        row.as_ref().map(user_from_row).transpose()
    }
}

#[async_trait]
impl Carts for SqliteStore {
    async fn basket(&self, user: Uuid) -> Result<Vec<Uuid>, StoreError> {
        let rows = sqlx::query(
            "SELECT unicorn_uuid FROM unicorns_basket WHERE user_uuid = ? ORDER BY rowid",
        )
        .bind(user.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.iter()
            .map(|row| uuid_column(row, "unicorn_uuid"))
            .collect()
    }

    async fn add_to_basket(&self, user: Uuid, product: Uuid) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT OR IGNORE INTO unicorns_basket (user_uuid, unicorn_uuid) VALUES (?, ?)",
        )
        .bind(user.to_string())
        .bind(product.to_string())
        .execute(&self.pool)
        .await
        .map_err(write_error)?;
        Ok(())
    }

    async fn remove_from_basket(&self, user: Uuid, product: Uuid) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM unicorns_basket WHERE user_uuid = ? AND unicorn_uuid = ?")
            .bind(user.to_string())
            .bind(product.to_string())
            .execute(&self.pool)
            .await
            .map_err(write_error)?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
