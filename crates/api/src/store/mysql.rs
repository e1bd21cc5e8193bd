//! The MySQL store (Aurora MySQL 3, MySQL 8.0 and MariaDB speak the same protocol): catalogue,
//! users, login throttling, and carts and orders unless DynamoDB holds those.
//!
//! Built for Lambda in front of a database that may be gone: the pool is small and lazy (the
//! process starts without the database, and reconnects by itself when it is back), and every
//! store call, waiting for a connection included, is cut off after the wait limit, so a dead or
//! hung database costs a request one [`Unavailable`](StoreError::Unavailable) (503) after at most
//! that long, never a hung function. Row locks are bounded on the server as well
//! (`innodb_lock_wait_timeout`), so a request cut off mid-transaction cannot hold a cart locked.
//!
//! Read-then-write operations lock the user's row first (`SELECT … FOR UPDATE`), which puts every
//! change to one user's cart and orders in one line, whichever API instance makes it. Different
//! users' writes share no lock: sessions are READ COMMITTED (no gap locks on reads), and a cart
//! line is keyed by its clustered index (migration 0002), whose duplicate check locks one record
//! where a unique secondary index took next-key locks reaching into the next user's lines. Should
//! the server still give a write up to break a deadlock or a lock wait (errors 1213, 1205), the
//! whole transaction is run again within the wait limit (see `bounded_write`).
//!
//! Migrations are not applied on start (a Lambda in the standby region reaches the database through
//! write forwarding, which does not forward DDL): `unishop-api migrate` applies them and seeds the
//! catalogue.

use std::future::Future;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions, MySqlSslMode};
use sqlx::{MySqlConnection, MySqlPool};
use unishop_model::{CartLine, Merged, Order, Product, User, MAX_CART_LINES};
use uuid::Uuid;

use super::rows::{query_error, unavailable};
use super::sql::sql_statements;
use super::{
    to_completion, Carts, Catalogue, Credentials, NewOrder, NewUser, Orders, StoreError,
    StoredOrder, Stores, Users,
};

sql_statements! {
    database: sqlx::MySql,
    pool: sqlx::MySqlPool,
    connection: sqlx::MySqlConnection,
    line_order: "id",
    order_order: "seq",
    set_quantity_on_duplicate: "ON DUPLICATE KEY UPDATE quantity = VALUES(quantity)",
    update_product_on_duplicate: "ON DUPLICATE KEY UPDATE slug = VALUES(slug), name = VALUES(name),
        description = VALUES(description), price_cents = VALUES(price_cents),
        image = VALUES(image), image_alt = VALUES(image_alt), category = VALUES(category),
        position = VALUES(position)",
}

/// How long one store call may take, waiting for a connection included, before the store
/// reports itself unavailable: a dead database costs a request about this long (sqlx retries a
/// refused connection until then), well inside the 2 s a shopper's client gives a region.
pub const WAIT_LIMIT: Duration = Duration::from_secs(1);
/// How long a statement waits for a row lock on the server, in seconds.
const LOCK_WAIT_SECS: u32 = 1;
/// How many times a write given up under lock contention is run at most.
const WRITE_ATTEMPTS: u32 = 5;

/// The pause before running a write again: 2, 4, 8, 16 ms for attempts 1 to 4, each with up to as
/// much again at random, so that the writers that deadlocked do not meet again in step.
fn retry_pause(attempt: u32) -> Duration {
    let base_ms = 1u64 << attempt.min(5);
    let mut random = [0u8; 1];
    let jitter_ms = match getrandom::getrandom(&mut random) {
        Ok(()) => u64::from(random[0]) % (base_ms + 1),
        Err(_) => base_ms / 2,
    };
    Duration::from_millis(base_ms + jitter_ms)
}

/// Aurora's `aurora_replica_read_consistency`, which write forwarding in the standby region
/// requires: how fresh a forwarded session's reads are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadConsistency {
    Eventual,
    Session,
    Global,
}

impl ReadConsistency {
    pub fn as_str(self) -> &'static str {
        match self {
            ReadConsistency::Eventual => "EVENTUAL",
            ReadConsistency::Session => "SESSION",
            ReadConsistency::Global => "GLOBAL",
        }
    }
}

impl FromStr for ReadConsistency {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw.to_ascii_uppercase().as_str() {
            "EVENTUAL" => Ok(ReadConsistency::Eventual),
            "SESSION" => Ok(ReadConsistency::Session),
            "GLOBAL" => Ok(ReadConsistency::Global),
            _ => Err(format!(
                "{raw:?} is not a read consistency: use EVENTUAL, SESSION or GLOBAL"
            )),
        }
    }
}

/// How to reach the database.
#[derive(Clone, Debug)]
pub struct MySqlSettings {
    /// `mysql://user[:password]@host[:port]/database`.
    pub url: String,
    /// The password, when it is not in the URL (read from Secrets Manager).
    pub password: Option<crate::config::Secret>,
    /// PEM file of the certificate authorities to trust; with it, the connection must be TLS and
    /// the server's certificate must match its host name.
    pub ca_bundle: Option<PathBuf>,
    pub read_consistency: Option<ReadConsistency>,
    pub max_connections: u32,
    pub wait_limit: Duration,
}

impl MySqlSettings {
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            password: None,
            ca_bundle: None,
            read_consistency: None,
            max_connections: 10,
            wait_limit: WAIT_LIMIT,
        }
    }

    fn connect_options(&self) -> Result<MySqlConnectOptions, StoreError> {
        let mut options = MySqlConnectOptions::from_str(&self.url)
            .map_err(|e| StoreError::Unavailable(format!("the database URL: {e}")))?
            .charset("utf8mb4");
        if let Some(password) = &self.password {
            options = options.password(&password.0);
        }
        if let Some(ca_bundle) = &self.ca_bundle {
            options = options
                .ssl_mode(MySqlSslMode::VerifyIdentity)
                .ssl_ca(ca_bundle);
        }
        Ok(options)
    }
}

#[derive(Clone)]
pub struct MySqlStore {
    pool: MySqlPool,
    wait_limit: Duration,
}

impl MySqlStore {
    /// A store on the database; connects on first use, so it starts even while the database is
    /// down. Only a malformed URL fails here.
    pub fn connect(settings: &MySqlSettings) -> Result<Self, StoreError> {
        let consistency = settings.read_consistency;
        let pool = MySqlPoolOptions::new()
            .max_connections(settings.max_connections)
            .min_connections(0)
            .acquire_timeout(settings.wait_limit)
            .idle_timeout(Some(Duration::from_secs(300)))
            .max_lifetime(Some(Duration::from_secs(1800)))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if let Some(consistency) = consistency {
                        let set = format!(
                            "SET aurora_replica_read_consistency = '{}'",
                            consistency.as_str()
                        );
                        if let Err(error) = sqlx::query(&set).execute(&mut *conn).await {
                            // The pool retries and then reports only a timeout: say why here.
                            tracing::error!(%error, "cannot set aurora_replica_read_consistency");
                            return Err(error);
                        }
                    }
                    let set = format!("SET SESSION innodb_lock_wait_timeout = {LOCK_WAIT_SECS}");
                    sqlx::query(&set).execute(&mut *conn).await?;
                    // Writes are put in line by the user's row lock, not by snapshots; READ
                    // COMMITTED spares the gap locks with which REPEATABLE READ makes two users'
                    // cart and order writes deadlock.
                    sqlx::query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })
            })
            .connect_lazy_with(settings.connect_options()?);
        Ok(Self {
            pool,
            wait_limit: settings.wait_limit,
        })
    }

    /// Applies the migrations (`migrations/mysql`) and makes sure the seed catalogue is present
    /// and current. Run by `unishop-api migrate`, against the primary region's writer.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("migrations/mysql")
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migrating: {e}")))?;
        self.seed().await
    }

    /// Closes every connection; later calls fail as [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.pool.close().await;
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

    /// Runs one store call within the wait limit.
    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.wait_limit, call)
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::Unavailable(format!(
                    "the database did not answer within {:?}",
                    self.wait_limit
                )))
            })
    }

    /// Runs one write within the wait limit on a task of its own, so that it commits or rolls
    /// back even when the request is dropped (see [`to_completion`]). A transaction the server
    /// gives up to break a deadlock or a lock wait ([`StoreError::Contended`]) is run again from
    /// the start after a short jittered pause, up to [`WRITE_ATTEMPTS`] times, all inside the
    /// wait limit; the commit still checks the request's write deadline.
    async fn bounded_write<T, W>(
        &self,
        write: impl Fn(MySqlStore) -> W + Send + Sync + 'static,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
        W: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let store = self.clone();
        to_completion(async move {
            store
                .bounded(async {
                    let mut attempt = 1;
                    loop {
                        match write(store.clone()).await {
                            Err(StoreError::Contended(reason)) if attempt < WRITE_ATTEMPTS => {
                                tracing::warn!(attempt, %reason, "running a MySQL write again");
                                tokio::time::sleep(retry_pause(attempt)).await;
                                attempt += 1;
                            }
                            Err(StoreError::Contended(reason)) => {
                                tracing::error!(attempt, %reason, "a MySQL write gave up");
                                return Err(StoreError::Contended(reason));
                            }
                            done => return done,
                        }
                    }
                })
                .await
        })
        .await
    }

    async fn seed(&self) -> Result<(), StoreError> {
        statements::seed(&self.pool).await
    }
}

/// Locks the user's row for the rest of the transaction; [`StoreError::MissingReference`] when
/// there is no such user.
async fn lock_user(conn: &mut MySqlConnection, user: Uuid) -> Result<(), StoreError> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM unicorn_user WHERE uuid = ? FOR UPDATE")
            .bind(user.to_string())
            .fetch_optional(&mut *conn)
            .await
            .map_err(query_error)?;
    found.map(|_| ()).ok_or(StoreError::MissingReference)
}

#[async_trait]
impl Catalogue for MySqlStore {
    async fn products(&self) -> Result<Vec<Product>, StoreError> {
        self.bounded(statements::products(&self.pool)).await
    }

    async fn product(&self, uuid: Uuid) -> Result<Option<Product>, StoreError> {
        self.bounded(statements::product(&self.pool, uuid)).await
    }
}

#[async_trait]
impl Users for MySqlStore {
    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        self.bounded_write(move |store| {
            let user = user.clone();
            async move {
                let mut tx = store.pool.begin().await.map_err(query_error)?;
                let created = statements::insert_user(&mut tx, user).await?;
                statements::commit(tx).await?;
                Ok(created)
            }
        })
        .await
    }

    async fn user(&self, uuid: Uuid) -> Result<Option<User>, StoreError> {
        self.bounded(statements::user(&self.pool, uuid)).await
    }

    async fn credentials(&self, email: &str) -> Result<Option<Credentials>, StoreError> {
        self.bounded(statements::credentials(&self.pool, email))
            .await
    }

    async fn login_failures_since(&self, email: &str, since: i64) -> Result<Vec<i64>, StoreError> {
        self.bounded(statements::login_failures_since(&self.pool, email, since))
            .await
    }

    async fn record_login_failure(&self, email: &str, at: i64) -> Result<(), StoreError> {
        let email = email.to_owned();
        self.bounded_write(move |store| {
            let email = email.clone();
            async move {
                let mut tx = store.pool.begin().await.map_err(query_error)?;
                statements::record_login_failure(&mut tx, &email, at).await?;
                statements::commit(tx).await
            }
        })
        .await
    }

    async fn clear_login_failures(&self, email: &str) -> Result<(), StoreError> {
        let email = email.to_owned();
        self.bounded_write(move |store| {
            let email = email.clone();
            async move {
                let mut tx = store.pool.begin().await.map_err(query_error)?;
                statements::clear_login_failures(&mut tx, &email).await?;
                statements::commit(tx).await
            }
        })
        .await
    }
}

impl MySqlStore {
    /// Adds or changes one line, refusing a new line past the limit. `keep_quantity` is the
    /// legacy add: an existing line is left as it is.
    async fn put_line(
        &self,
        user: Uuid,
        line: CartLine,
        keep_quantity: bool,
    ) -> Result<(), StoreError> {
        self.bounded_write(move |store| async move {
            let mut tx = store.pool.begin().await.map_err(query_error)?;
            lock_user(&mut tx, user).await?;
            let lines = statements::cart_lines(&mut tx, user).await?;
            let present = lines.iter().any(|l| l.uuid == line.uuid);
            if present && keep_quantity {
                return Ok(());
            }
            if !present && lines.len() >= MAX_CART_LINES {
                return Err(StoreError::CartFull);
            }
            statements::set_line(&mut tx, user, &line).await?;
            statements::commit(tx).await
        })
        .await
    }
}

#[async_trait]
impl Carts for MySqlStore {
    async fn cart(&self, user: Uuid) -> Result<Vec<CartLine>, StoreError> {
        self.bounded(async {
            let mut conn = self.pool.acquire().await.map_err(unavailable)?;
            statements::cart_lines(&mut conn, user).await
        })
        .await
    }

    async fn set_quantity(
        &self,
        user: Uuid,
        product: Uuid,
        quantity: u32,
    ) -> Result<(), StoreError> {
        let line = CartLine {
            uuid: product,
            quantity,
        };
        self.put_line(user, line, false).await
    }

    async fn add_line(&self, user: Uuid, product: Uuid) -> Result<(), StoreError> {
        let line = CartLine {
            uuid: product,
            quantity: 1,
        };
        self.put_line(user, line, true).await
    }

    async fn remove_line(&self, user: Uuid, product: Uuid) -> Result<(), StoreError> {
        self.bounded_write(move |store| async move {
            let mut tx = store.pool.begin().await.map_err(query_error)?;
            statements::remove_line(&mut tx, user, product).await?;
            statements::commit(tx).await
        })
        .await
    }

    async fn merge(
        &self,
        user: Uuid,
        incoming: &[CartLine],
        key: Option<&str>,
    ) -> Result<Merged, StoreError> {
        let incoming = incoming.to_vec();
        let key = key.map(str::to_owned);
        self.bounded_write(move |store| {
            let incoming = incoming.clone();
            let key = key.clone();
            async move {
                let mut tx = store.pool.begin().await.map_err(query_error)?;
                lock_user(&mut tx, user).await?;
                let merged = statements::merge(&mut tx, user, &incoming, key.as_deref()).await?;
                statements::commit(tx).await?;
                Ok(merged)
            }
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.bounded(statements::ping(&self.pool)).await
    }
}

#[async_trait]
impl Orders for MySqlStore {
    async fn order_by_key(&self, user: Uuid, key: &str) -> Result<Option<StoredOrder>, StoreError> {
        self.bounded(statements::order_by_key(&self.pool, user, key))
            .await
    }

    async fn place_order(&self, new: NewOrder) -> Result<(), StoreError> {
        self.bounded_write(move |store| {
            let new = new.clone();
            async move {
                let mut tx = store.pool.begin().await.map_err(query_error)?;
                lock_user(&mut tx, new.user).await?;
                statements::place_order(&mut tx, &new).await?;
                statements::commit(tx).await
            }
        })
        .await
    }

    async fn orders(&self, user: Uuid) -> Result<Vec<Order>, StoreError> {
        self.bounded(statements::orders(&self.pool, user)).await
    }

    async fn order(&self, user: Uuid, id: Uuid) -> Result<Option<Order>, StoreError> {
        self.bounded(statements::order(&self.pool, user, id)).await
    }
}
