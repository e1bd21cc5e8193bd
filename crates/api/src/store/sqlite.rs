//! The embedded store: one SQLite file (or memory) holding catalogue, users, carts and orders.
//!
//! Several API processes may share one file (the local two-region stack does): WAL journaling lets
//! readers and a writer work at once, and the busy timeout makes a writer wait for another instead
//! of failing. Every write is a transaction started with `BEGIN IMMEDIATE`, taking the write lock
//! before reading, so two processes never both act on the same stale read, and checking the
//! request's write deadline just before it commits.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Sqlite, SqlitePool, Transaction};
use unishop_model::{CartLine, Merged, Order, Product, User, MAX_CART_LINES};
use uuid::Uuid;

use super::rows::{unavailable, write_error};
use super::sql::sql_statements;
use super::{
    to_completion, Carts, Catalogue, Credentials, NewOrder, NewUser, Orders, StoreError,
    StoredOrder, Stores, Users,
};

sql_statements! {
    database: sqlx::Sqlite,
    pool: sqlx::SqlitePool,
    connection: sqlx::SqliteConnection,
    line_order: "rowid",
    order_order: "rowid",
    set_quantity_on_duplicate:
        "ON CONFLICT (user_uuid, unicorn_uuid) DO UPDATE SET quantity = excluded.quantity",
    update_product_on_duplicate: "ON CONFLICT (uuid) DO UPDATE SET slug = excluded.slug,
        name = excluded.name, description = excluded.description,
        price_cents = excluded.price_cents, image = excluded.image, image_alt = excluded.image_alt,
        category = excluded.category, position = excluded.position",
}

/// How long a request waits for a connection or a lock before the store reports itself
/// unavailable (and the API answers 503).
pub const WAIT_LIMIT: Duration = Duration::from_secs(3);

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Writers of this process take turns here rather than in SQLite's busy handler, which
    /// sleeps in growing steps and turns write contention into long tail latencies. Writers of
    /// other processes on the same file still meet the busy timeout.
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
    wait_limit: Duration,
}

impl SqliteStore {
    /// Opens (creating when missing) the database at `url`, applies the migrations and makes sure
    /// the seed catalogue is present and current.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, WAIT_LIMIT).await
    }

    /// [`SqliteStore::open`], waiting at most `wait_limit` for a connection or a lock.
    pub async fn open_with(url: &str, wait_limit: Duration) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(unavailable)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(wait_limit)
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
            .acquire_timeout(wait_limit)
            .connect_with(options)
            .await
            .map_err(unavailable)?;
        sqlx::migrate!("migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migrating: {e}")))?;
        let store = Self {
            pool,
            writer: Default::default(),
            wait_limit,
        };
        store.seed().await?;
        Ok(store)
    }

    /// Closes every connection; later calls fail as [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The folder holding the database file; `None` for an in-memory database.
    pub fn data_folder(url: &str) -> Option<PathBuf> {
        if url.contains(":memory:") {
            return None;
        }
        let options = SqliteConnectOptions::from_str(url).ok()?;
        let folder = options.get_filename().parent()?.to_path_buf();
        Some(if folder.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            folder
        })
    }

    /// Every store, served by this database.
    pub fn into_stores(self) -> Stores {
        let store = std::sync::Arc::new(self);
        Stores {
            catalogue: store.clone(),
            users: store.clone(),
            carts: store.clone(),
            orders: store,
        }
    }

    /// This process's turn to write, waited for at most the wait limit.
    async fn write_turn(&self) -> Result<tokio::sync::MutexGuard<'_, ()>, StoreError> {
        tokio::time::timeout(self.wait_limit, self.writer.lock())
            .await
            .map_err(|_| StoreError::Unavailable("timed out waiting to write".to_owned()))
    }

    /// Takes SQLite's write lock (waiting at most the wait limit) in a new transaction.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(unavailable)
    }

    async fn seed(&self) -> Result<(), StoreError> {
        statements::seed(&self.pool).await
    }
}

#[async_trait]
impl Catalogue for SqliteStore {
    async fn products(&self) -> Result<Vec<Product>, StoreError> {
        statements::products(&self.pool).await
    }

    async fn product(&self, uuid: Uuid) -> Result<Option<Product>, StoreError> {
        statements::product(&self.pool, uuid).await
    }
}

#[async_trait]
impl Users for SqliteStore {
    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        let store = self.clone();
        to_completion(async move { store.write_user(user).await }).await
    }

    async fn user(&self, uuid: Uuid) -> Result<Option<User>, StoreError> {
        statements::user(&self.pool, uuid).await
    }

    async fn credentials(&self, email: &str) -> Result<Option<Credentials>, StoreError> {
        statements::credentials(&self.pool, email).await
    }

    async fn login_failures_since(&self, email: &str, since: i64) -> Result<Vec<i64>, StoreError> {
        statements::login_failures_since(&self.pool, email, since).await
    }

    async fn record_login_failure(&self, email: &str, at: i64) -> Result<(), StoreError> {
        let store = self.clone();
        let email = email.to_owned();
        to_completion(async move { store.write_login_failure(&email, at).await }).await
    }

    async fn clear_login_failures(&self, email: &str) -> Result<(), StoreError> {
        let store = self.clone();
        let email = email.to_owned();
        to_completion(async move { store.write_cleared_failures(&email).await }).await
    }
}

/// The writes, each one transaction that checks the request's deadline just before it commits;
/// the trait methods run them with [`to_completion`].
impl SqliteStore {
    async fn write_user(&self, user: NewUser) -> Result<User, StoreError> {
        let _turn = self.write_turn().await?;
        let mut tx = self.begin_write().await?;
        let created = statements::insert_user(&mut tx, user).await?;
        statements::commit(tx).await?;
        Ok(created)
    }

    async fn write_login_failure(&self, email: &str, at: i64) -> Result<(), StoreError> {
        let _turn = self.write_turn().await?;
        let mut tx = self.begin_write().await?;
        statements::record_login_failure(&mut tx, email, at).await?;
        statements::commit(tx).await
    }

    async fn write_cleared_failures(&self, email: &str) -> Result<(), StoreError> {
        let _turn = self.write_turn().await?;
        let mut tx = self.begin_write().await?;
        statements::clear_login_failures(&mut tx, email).await?;
        statements::commit(tx).await
    }

    async fn write_quantity(
        &self,
        user: Uuid,
        product: Uuid,
        quantity: u32,
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn().await?;
        let mut tx = self.begin_write().await?;
        // One statement, so the line-limit check and the write cannot be split by another writer.
        let written = sqlx::query(
            "INSERT INTO unicorns_basket (user_uuid, unicorn_uuid, quantity)
             SELECT ?1, ?2, ?3
             WHERE (SELECT count(*) FROM unicorns_basket WHERE user_uuid = ?1) < ?4
                OR EXISTS (SELECT 1 FROM unicorns_basket WHERE user_uuid = ?1 AND unicorn_uuid = ?2)
             ON CONFLICT (user_uuid, unicorn_uuid) DO UPDATE SET quantity = excluded.quantity",
        )
        .bind(user.to_string())
        .bind(product.to_string())
        .bind(i64::from(quantity))
        .bind(MAX_CART_LINES as i64)
        .execute(&mut *tx)
        .await
        .map_err(write_error)?;
        if written.rows_affected() == 0 {
            return Err(StoreError::CartFull);
        }
        statements::commit(tx).await
    }

    async fn write_added_line(&self, user: Uuid, product: Uuid) -> Result<(), StoreError> {
        let _turn = self.write_turn().await?;
        let mut tx = self.begin_write().await?;
        let written = sqlx::query(
            "INSERT INTO unicorns_basket (user_uuid, unicorn_uuid, quantity)
             SELECT ?1, ?2, 1
             WHERE (SELECT count(*) FROM unicorns_basket WHERE user_uuid = ?1) < ?3
             ON CONFLICT (user_uuid, unicorn_uuid) DO NOTHING",
        )
        .bind(user.to_string())
        .bind(product.to_string())
        .bind(MAX_CART_LINES as i64)
        .execute(&mut *tx)
        .await
        .map_err(write_error)?;
        if written.rows_affected() == 1 {
            return statements::commit(tx).await;
        }
        // Nothing written: either the line was there already (fine) or the cart is full.
        let present: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM unicorns_basket WHERE user_uuid = ? AND unicorn_uuid = ?",
        )
        .bind(user.to_string())
        .bind(product.to_string())
        .fetch_optional(&mut *tx)
        .await
        .map_err(unavailable)?;
        present.map(|_| ()).ok_or(StoreError::CartFull)
    }

    async fn write_removed_line(&self, user: Uuid, product: Uuid) -> Result<(), StoreError> {
        let _turn = self.write_turn().await?;
        let mut tx = self.begin_write().await?;
        statements::remove_line(&mut tx, user, product).await?;
        statements::commit(tx).await
    }

    async fn write_merge(
        &self,
        user: Uuid,
        incoming: &[CartLine],
        key: Option<&str>,
    ) -> Result<Merged, StoreError> {
        let _turn = self.write_turn().await?;
        let mut tx = self.begin_write().await?;
        let merged = statements::merge(&mut tx, user, incoming, key).await?;
        statements::commit(tx).await?;
        Ok(merged)
    }

    async fn write_order(&self, new: NewOrder) -> Result<(), StoreError> {
        let _turn = self.write_turn().await?;
        let mut tx = self.begin_write().await?;
        statements::place_order(&mut tx, &new).await?;
        statements::commit(tx).await
    }
}

#[async_trait]
impl Carts for SqliteStore {
    async fn cart(&self, user: Uuid) -> Result<Vec<CartLine>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(unavailable)?;
        statements::cart_lines(&mut conn, user).await
    }

    async fn set_quantity(
        &self,
        user: Uuid,
        product: Uuid,
        quantity: u32,
    ) -> Result<(), StoreError> {
        let store = self.clone();
        to_completion(async move { store.write_quantity(user, product, quantity).await }).await
    }

    async fn add_line(&self, user: Uuid, product: Uuid) -> Result<(), StoreError> {
        let store = self.clone();
        to_completion(async move { store.write_added_line(user, product).await }).await
    }

    async fn remove_line(&self, user: Uuid, product: Uuid) -> Result<(), StoreError> {
        let store = self.clone();
        to_completion(async move { store.write_removed_line(user, product).await }).await
    }

    async fn merge(
        &self,
        user: Uuid,
        incoming: &[CartLine],
        key: Option<&str>,
    ) -> Result<Merged, StoreError> {
        let store = self.clone();
        let incoming = incoming.to_vec();
        let key = key.map(str::to_owned);
        to_completion(async move { store.write_merge(user, &incoming, key.as_deref()).await }).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        statements::ping(&self.pool).await
    }
}

#[async_trait]
impl Orders for SqliteStore {
    async fn order_by_key(&self, user: Uuid, key: &str) -> Result<Option<StoredOrder>, StoreError> {
        statements::order_by_key(&self.pool, user, key).await
    }

    async fn place_order(&self, new: NewOrder) -> Result<(), StoreError> {
        let store = self.clone();
        to_completion(async move { store.write_order(new).await }).await
    }

    async fn orders(&self, user: Uuid) -> Result<Vec<Order>, StoreError> {
        statements::orders(&self.pool, user).await
    }

    async fn order(&self, user: Uuid, id: Uuid) -> Result<Option<Order>, StoreError> {
        statements::order(&self.pool, user, id).await
    }
}
