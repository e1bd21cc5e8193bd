//! Storage behind small traits, one per kind of data, so the HTTP layer works unchanged on any
//! backend. Each backend module implements every trait.

pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use unishop_model::{Product, User};
use uuid::Uuid;

/// What can go wrong in a store, in terms the HTTP layer can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write (for example an email already registered).
    #[error("already exists")]
    Conflict,
    /// The write names a row that does not exist (a user or product deleted meanwhile).
    #[error("a referenced record does not exist")]
    MissingReference,
    /// The database could not be reached or failed; the request may succeed later.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
}

/// A new account, with its email already normalised.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
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
    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError>;
    async fn user(&self, uuid: Uuid) -> Result<Option<User>, StoreError>;
}

/// The legacy basket: a set of products per user.
#[async_trait]
pub trait Carts: Send + Sync {
    /// The products in the user's basket, oldest addition first.
    async fn basket(&self, user: Uuid) -> Result<Vec<Uuid>, StoreError>;
    /// Adds the product; adding one that is already there changes nothing.
    async fn add_to_basket(&self, user: Uuid, product: Uuid) -> Result<(), StoreError>;
    /// Removes the product; removing one that is not there changes nothing.
    async fn remove_from_basket(&self, user: Uuid, product: Uuid) -> Result<(), StoreError>;
    /// Whether the database answers at all.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// The stores one API instance uses, shareable across requests.
#[derive(Clone)]
pub struct Stores {
    pub catalogue: Arc<dyn Catalogue>,
    pub users: Arc<dyn Users>,
    pub carts: Arc<dyn Carts>,
}
