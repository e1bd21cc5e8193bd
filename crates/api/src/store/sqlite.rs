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
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};
use unishop_model::{merge_lines, CartLine, Merged, Order, Product, User, MAX_CART_LINES};
use uuid::Uuid;

use super::rows::{
    into_lines, same_lines, to_json, unavailable, write_error, CredentialsRow, LineRow, OrderRow,
    ProductRow, UserRow, CREDENTIALS_COLUMNS, ORDER_COLUMNS, PRODUCT_COLUMNS, USER_COLUMNS,
};
use super::{
    check_write_deadline, to_completion, Carts, Catalogue, Credentials, NewOrder, NewUser, Orders,
    StoreError, StoredOrder, Stores, Users, MERGE_KEY_MEMORY_SECS,
};
use crate::seed::CATALOGUE;

/// How long a request waits for a connection or a lock before the store reports itself
/// unavailable (and the API answers 503).
pub const WAIT_LIMIT: Duration = Duration::from_secs(3);

/// How long a failed login is remembered at most.
const FAILURE_MEMORY_SECS: i64 = 24 * 60 * 60;

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

/// The user's cart lines, oldest first, on a connection (inside a transaction or not).
async fn cart_lines(conn: &mut SqliteConnection, user: Uuid) -> Result<Vec<CartLine>, StoreError> {
    let rows: Vec<LineRow> = sqlx::query_as(
        "SELECT unicorn_uuid, quantity FROM unicorns_basket WHERE user_uuid = ? ORDER BY rowid",
    )
    .bind(user.to_string())
    .fetch_all(&mut *conn)
    .await
    .map_err(unavailable)?;
    into_lines(rows)
}

#[async_trait]
impl Catalogue for SqliteStore {
    async fn products(&self) -> Result<Vec<Product>, StoreError> {
        let rows: Vec<ProductRow> = sqlx::query_as(&format!(
            "SELECT {PRODUCT_COLUMNS} FROM unicorns ORDER BY position"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.into_iter().map(ProductRow::into_product).collect()
    }

    async fn product(&self, uuid: Uuid) -> Result<Option<Product>, StoreError> {
        let row: Option<ProductRow> = sqlx::query_as(&format!(
            "SELECT {PRODUCT_COLUMNS} FROM unicorns WHERE uuid = ?"
        ))
        .bind(uuid.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        row.map(ProductRow::into_product).transpose()
    }
}

#[async_trait]
impl Users for SqliteStore {
    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        let store = self.clone();
        to_completion(async move { store.write_user(user).await }).await
    }

    async fn user(&self, uuid: Uuid) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM unicorn_user WHERE uuid = ?"
        ))
        .bind(uuid.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        row.map(UserRow::into_user).transpose()
    }

    async fn credentials(&self, email: &str) -> Result<Option<Credentials>, StoreError> {
        let row: Option<CredentialsRow> = sqlx::query_as(&format!(
            "SELECT {CREDENTIALS_COLUMNS} FROM unicorn_user WHERE email = ?"
        ))
        .bind(email)
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        row.map(CredentialsRow::into_credentials).transpose()
    }

    async fn login_failures_since(&self, email: &str, since: i64) -> Result<Vec<i64>, StoreError> {
        sqlx::query_scalar("SELECT at FROM login_failures WHERE email = ? AND at >= ? ORDER BY at")
            .bind(email)
            .bind(since)
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)
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
        let created = User {
            uuid: Uuid::new_v4(),
            email: user.email,
            first_name: user.first_name,
            last_name: user.last_name,
        };
        sqlx::query(
            "INSERT INTO unicorn_user (uuid, email, first_name, last_name, password_hash, signup_key)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(created.uuid.to_string())
        .bind(&created.email)
        .bind(&created.first_name)
        .bind(&created.last_name)
        .bind(&user.password_hash)
        .bind(&user.signup_key)
        .execute(&mut *tx)
        .await
        .map_err(write_error)?;
        commit(tx).await?;
        Ok(created)
    }

    async fn write_login_failure(&self, email: &str, at: i64) -> Result<(), StoreError> {
        let _turn = self.write_turn().await?;
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM login_failures WHERE email = ? AND at < ?")
            .bind(email)
            .bind(at.saturating_sub(FAILURE_MEMORY_SECS))
            .execute(&mut *tx)
            .await
            .map_err(write_error)?;
        sqlx::query("INSERT INTO login_failures (email, at) VALUES (?, ?)")
            .bind(email)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(write_error)?;
        commit(tx).await
    }

    async fn write_cleared_failures(&self, email: &str) -> Result<(), StoreError> {
        let _turn = self.write_turn().await?;
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM login_failures WHERE email = ?")
            .bind(email)
            .execute(&mut *tx)
            .await
            .map_err(write_error)?;
        commit(tx).await
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
        commit(tx).await
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
            return commit(tx).await;
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
        sqlx::query("DELETE FROM unicorns_basket WHERE user_uuid = ? AND unicorn_uuid = ?")
            .bind(user.to_string())
            .bind(product.to_string())
            .execute(&mut *tx)
            .await
            .map_err(write_error)?;
        commit(tx).await
    }

    async fn write_merge(
        &self,
        user: Uuid,
        incoming: &[CartLine],
        key: Option<&str>,
    ) -> Result<Merged, StoreError> {
        let _turn = self.write_turn().await?;
        let mut tx = self.begin_write().await?;
        if let Some(key) = key {
            let now = crate::auth::now_secs();
            sqlx::query("DELETE FROM cart_merges WHERE user_uuid = ? AND at < ?")
                .bind(user.to_string())
                .bind(now - MERGE_KEY_MEMORY_SECS)
                .execute(&mut *tx)
                .await
                .map_err(write_error)?;
            let recorded = sqlx::query(
                "INSERT INTO cart_merges (user_uuid, idempotency_key, at) VALUES (?, ?, ?)
                 ON CONFLICT (user_uuid, idempotency_key) DO NOTHING",
            )
            .bind(user.to_string())
            .bind(key)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(write_error)?;
            if recorded.rows_affected() == 0 {
                return Ok(Merged {
                    lines: cart_lines(&mut tx, user).await?,
                    capped: Vec::new(),
                });
            }
        }
        let existing = cart_lines(&mut tx, user).await?;
        let merged = merge_lines(&existing, incoming).map_err(|_| StoreError::CartFull)?;
        for line in &merged.lines {
            sqlx::query(
                "INSERT INTO unicorns_basket (user_uuid, unicorn_uuid, quantity) VALUES (?, ?, ?)
                 ON CONFLICT (user_uuid, unicorn_uuid) DO UPDATE SET quantity = excluded.quantity",
            )
            .bind(user.to_string())
            .bind(line.uuid.to_string())
            .bind(i64::from(line.quantity))
            .execute(&mut *tx)
            .await
            .map_err(write_error)?;
        }
        commit(tx).await?;
        Ok(merged)
    }

    async fn write_order(&self, new: NewOrder) -> Result<(), StoreError> {
        let _turn = self.write_turn().await?;
        let mut tx = self.begin_write().await?;
        let held = cart_lines(&mut tx, new.user).await?;
        if !same_lines(&held, &new.cart) {
            return Err(StoreError::Stale);
        }
        let order = &new.order;
        sqlx::query(
            "INSERT INTO orders (id, user_uuid, idempotency_key, request_hash, region, created_at,
                                 total_cents, items, shipping)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(order.id.to_string())
        .bind(new.user.to_string())
        .bind(&new.idempotency_key)
        .bind(&new.request_hash)
        .bind(&order.region)
        .bind(&order.created_at)
        .bind(order.total_cents)
        .bind(to_json(&order.items)?)
        .bind(to_json(&order.shipping)?)
        .execute(&mut *tx)
        .await
        .map_err(write_error)?;
        sqlx::query("DELETE FROM unicorns_basket WHERE user_uuid = ?")
            .bind(new.user.to_string())
            .execute(&mut *tx)
            .await
            .map_err(write_error)?;
        // Dropping the transaction on any error above rolls it back: no partial order.
        commit(tx).await
    }
}

/// Commits unless the request's write deadline has passed (then dropping the transaction rolls
/// it back).
async fn commit(tx: Transaction<'static, Sqlite>) -> Result<(), StoreError> {
    check_write_deadline()?;
    tx.commit().await.map_err(unavailable)
}

#[async_trait]
impl Carts for SqliteStore {
    async fn cart(&self, user: Uuid) -> Result<Vec<CartLine>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(unavailable)?;
        cart_lines(&mut conn, user).await
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
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

#[async_trait]
impl Orders for SqliteStore {
    async fn order_by_key(&self, user: Uuid, key: &str) -> Result<Option<StoredOrder>, StoreError> {
        let row: Option<OrderRow> = sqlx::query_as(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE user_uuid = ? AND idempotency_key = ?"
        ))
        .bind(user.to_string())
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        row.map(OrderRow::into_stored).transpose()
    }

    async fn place_order(&self, new: NewOrder) -> Result<(), StoreError> {
        let store = self.clone();
        to_completion(async move { store.write_order(new).await }).await
    }

    async fn orders(&self, user: Uuid) -> Result<Vec<Order>, StoreError> {
        let rows: Vec<OrderRow> = sqlx::query_as(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE user_uuid = ?
             ORDER BY created_at DESC, rowid DESC"
        ))
        .bind(user.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.into_iter().map(OrderRow::into_order).collect()
    }

    async fn order(&self, user: Uuid, id: Uuid) -> Result<Option<Order>, StoreError> {
        let row: Option<OrderRow> = sqlx::query_as(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE user_uuid = ? AND id = ?"
        ))
        .bind(user.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        row.map(OrderRow::into_order).transpose()
    }
}
