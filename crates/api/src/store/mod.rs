//! Storage behind small traits, one per kind of data, so the HTTP layer works unchanged on any
//! backend. Each backend module implements every trait; `tests/conformance/` holds the contract
//! every implementation must pass.
//!
//! The traits hold data, not rules: validation, pricing and throttling policy live in the HTTP
//! layer, so a new backend only has to store and fetch faithfully (and atomically where a method
//! says so).

pub mod dynamodb;
pub mod mysql;
mod rows;
mod sql;
pub mod sqlite;

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use unishop_model::{CartLine, Merged, Order, Product, User};
use uuid::Uuid;

/// What can go wrong in a store, in terms the HTTP layer can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write (an email already registered, an idempotency key
    /// already used).
    #[error("already exists")]
    Conflict,
    /// The write names a row that does not exist (a user or product deleted meanwhile).
    #[error("a referenced record does not exist")]
    MissingReference,
    /// The write would take a cart past its line limit.
    #[error("the cart is full")]
    CartFull,
    /// A conditional write found the data changed since it was read (a cart edited while an order
    /// was being placed from it).
    #[error("the data changed meanwhile")]
    Stale,
    /// The database could not be reached, failed or took too long; the request may succeed later.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The database gave this write up to break a deadlock or a lock wait; running it again may
    /// succeed. The MySQL store runs it again itself within its wait limit, so a caller sees this
    /// only when that did not help either (then it is a 503 like [`StoreError::Unavailable`]).
    #[error("the database gave the write up under lock contention: {0}")]
    Contended(String),
    /// The write's deadline passed before it could commit: its caller has stopped waiting (and
    /// may have sent it elsewhere), so it was not applied.
    #[error("the write's deadline passed before it could commit")]
    DeadlinePassed,
}

tokio::task_local! {
    static WRITE_DEADLINE: tokio::time::Instant;
}

/// Runs `work` (one request's handling) so that any store write inside it that would commit
/// after `deadline` is refused with [`StoreError::DeadlinePassed`] and changes nothing.
///
/// The deadline belongs to the request, not to the data, so it travels beside the calls rather
/// than through every store method; outside such a scope (migrations, tests) writes have none.
pub async fn with_write_deadline<F: Future>(deadline: tokio::time::Instant, work: F) -> F::Output {
    WRITE_DEADLINE.scope(deadline, work).await
}

/// Called by a store just before a write commits (inside the transaction, or right before the
/// one request that makes the write).
pub(crate) fn check_write_deadline() -> Result<(), StoreError> {
    match WRITE_DEADLINE.try_with(|deadline| *deadline) {
        Ok(deadline) if tokio::time::Instant::now() >= deadline => Err(StoreError::DeadlinePassed),
        _ => Ok(()),
    }
}

/// Runs a store write on a task of its own, so that it commits or rolls back even when the
/// request that asked for it is dropped (a client that hangs up): a transaction cut off halfway
/// would otherwise go back to the pool open, still holding its locks. The request's write
/// deadline goes along.
pub(crate) async fn to_completion<T: Send + 'static>(
    write: impl Future<Output = Result<T, StoreError>> + Send + 'static,
) -> Result<T, StoreError> {
    let task = match WRITE_DEADLINE.try_with(|deadline| *deadline) {
        Ok(deadline) => tokio::spawn(WRITE_DEADLINE.scope(deadline, write)),
        Err(_) => tokio::spawn(write),
    };
    match task.await {
        Ok(result) => result,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(error) => Err(StoreError::Unavailable(format!("the write task: {error}"))),
    }
}

/// A new account, with its email already normalised and its password already hashed.
#[derive(Clone)]
pub struct NewUser {
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub password_hash: String,
    /// The `Idempotency-Key` the sign-up was sent with, kept with the account so that a retry
    /// can be told from a second sign-up.
    pub signup_key: Option<String>,
}

/// An account and its password hash (`None` for legacy accounts made without a password).
#[derive(Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: Option<String>,
    /// The `Idempotency-Key` of the sign-up that made the account, if it had one.
    pub signup_key: Option<String>,
}

/// How long an idempotency key of a cart merge is remembered at least, in seconds.
pub const MERGE_KEY_MEMORY_SECS: i64 = 24 * 60 * 60;

/// An order ready to be recorded.
#[derive(Clone, Debug)]
pub struct NewOrder {
    pub user: Uuid,
    pub idempotency_key: String,
    /// A hash of the request, so that a repeated key can be told from a reused one.
    pub request_hash: String,
    pub order: Order,
    /// The cart lines the order was priced from. The order is recorded only if the cart still
    /// holds exactly these lines, and the same write empties it.
    pub cart: Vec<CartLine>,
}

/// An order as placed, with the hash of the request that placed it.
#[derive(Clone, Debug)]
pub struct StoredOrder {
    pub order: Order,
    pub request_hash: String,
}

#[async_trait]
pub trait Catalogue: Send + Sync {
    /// Every product, in the catalogue's own order.
    async fn products(&self) -> Result<Vec<Product>, StoreError>;
    async fn product(&self, uuid: Uuid) -> Result<Option<Product>, StoreError>;
}

#[async_trait]
pub trait Users: Send + Sync {
    /// Creates the account with a fresh uuid; [`StoreError::Conflict`] when the email is taken.
    async fn create_user(&self, user: NewUser) -> Result<User, StoreError>;
    async fn user(&self, uuid: Uuid) -> Result<Option<User>, StoreError>;
    /// The account with this (normalised) email and its password hash.
    async fn credentials(&self, email: &str) -> Result<Option<Credentials>, StoreError>;
    /// When logins for this email failed at or after `since` (seconds since the epoch), oldest
    /// first. Shared by every API instance on this store, so throttling holds across them.
    async fn login_failures_since(&self, email: &str, since: i64) -> Result<Vec<i64>, StoreError>;
    /// Records a failed login at `at`; may forget failures older than a day.
    async fn record_login_failure(&self, email: &str, at: i64) -> Result<(), StoreError>;
    /// Forgets the email's failures (after a successful login).
    async fn clear_login_failures(&self, email: &str) -> Result<(), StoreError>;
}

/// Carts: per user, lines of (product, quantity 1..=99), at most
/// [`unishop_model::MAX_CART_LINES`] of them, oldest first. The legacy basket is the same cart
/// seen as a set of products.
#[async_trait]
pub trait Carts: Send + Sync {
    /// The user's lines, oldest first.
    async fn cart(&self, user: Uuid) -> Result<Vec<CartLine>, StoreError>;
    /// Sets a line's quantity, adding the line when missing ([`StoreError::CartFull`] when that
    /// would pass the line limit).
    async fn set_quantity(
        &self,
        user: Uuid,
        product: Uuid,
        quantity: u32,
    ) -> Result<(), StoreError>;
    /// The legacy add: adds the product with quantity 1 when missing, and otherwise changes
    /// nothing ([`StoreError::CartFull`] as above).
    async fn add_line(&self, user: Uuid, product: Uuid) -> Result<(), StoreError>;
    /// Removes the line; removing one that is not there changes nothing.
    async fn remove_line(&self, user: Uuid, product: Uuid) -> Result<(), StoreError>;
    /// Folds `incoming` into the cart with [`unishop_model::merge_lines`], atomically
    /// ([`StoreError::CartFull`], and no change, when the result would pass the line limit).
    ///
    /// With a `key` (the request's `Idempotency-Key`) the merge happens once: when this user
    /// already merged with that key, nothing changes and the answer is the cart as it is now
    /// with nothing `capped`. The key is recorded in the same atomic write as the merge and
    /// remembered for at least [`MERGE_KEY_MEMORY_SECS`].
    async fn merge(
        &self,
        user: Uuid,
        incoming: &[CartLine],
        key: Option<&str>,
    ) -> Result<Merged, StoreError>;
    /// Whether the database answers at all.
    async fn ping(&self) -> Result<(), StoreError>;
}

#[async_trait]
pub trait Orders: Send + Sync {
    /// The order this user placed with this idempotency key, if any.
    async fn order_by_key(&self, user: Uuid, key: &str) -> Result<Option<StoredOrder>, StoreError>;
    /// Records the order and empties the cart, together or not at all.
    /// [`StoreError::Conflict`] when the user already used the key; [`StoreError::Stale`] when
    /// the cart no longer holds exactly `order.cart`.
    async fn place_order(&self, order: NewOrder) -> Result<(), StoreError>;
    /// The user's orders, newest first.
    async fn orders(&self, user: Uuid) -> Result<Vec<Order>, StoreError>;
    /// One of the user's orders; `None` for an unknown id or another user's order.
    async fn order(&self, user: Uuid, id: Uuid) -> Result<Option<Order>, StoreError>;
}

/// The stores one API instance uses, shareable across requests.
#[derive(Clone)]
pub struct Stores {
    pub catalogue: Arc<dyn Catalogue>,
    pub users: Arc<dyn Users>,
    pub carts: Arc<dyn Carts>,
    pub orders: Arc<dyn Orders>,
}
