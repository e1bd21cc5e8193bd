//! Rows as the SQL backends store them (uuids as text, order lines and addresses as JSON text),
//! decoded once for SQLite and MySQL alike.

use sqlx::{Decode, FromRow, MySql, Sqlite, Type};
use unishop_model::{CartItem, CartLine, Order, Product, ShippingAddress, User};
use uuid::Uuid;

use super::{Credentials, StoreError, StoredOrder};

/// Text as either backend returns it. MySQL flags a column of a binary collation (`utf8mb4_bin`,
/// which compares byte for byte as SQLite does) as binary, and sqlx decodes only non-binary
/// columns as `String`; the bytes are UTF-8 all the same.
pub struct Text(pub String);

impl Type<MySql> for Text {
    fn type_info() -> sqlx::mysql::MySqlTypeInfo {
        <String as Type<MySql>>::type_info()
    }

    fn compatible(ty: &sqlx::mysql::MySqlTypeInfo) -> bool {
        <String as Type<MySql>>::compatible(ty) || <Vec<u8> as Type<MySql>>::compatible(ty)
    }
}

impl<'r> Decode<'r, MySql> for Text {
    fn decode(value: sqlx::mysql::MySqlValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let bytes = <&[u8] as Decode<MySql>>::decode(value)?;
        Ok(Text(std::str::from_utf8(bytes)?.to_owned()))
    }
}

impl Type<Sqlite> for Text {
    fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &sqlx::sqlite::SqliteTypeInfo) -> bool {
        <String as Type<Sqlite>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Sqlite> for Text {
    fn decode(value: sqlx::sqlite::SqliteValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(Text(<String as Decode<Sqlite>>::decode(value)?))
    }
}

fn texts(value: Option<Text>) -> Option<String> {
    value.map(|t| t.0)
}

pub fn unavailable(error: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

/// MySQL's "deadlock found when trying to get lock" and "lock wait timeout exceeded": the server
/// rolled the transaction back (or the statement, for a lock wait), and running it again may work.
const MYSQL_DEADLOCK: u16 = 1213;
const MYSQL_LOCK_WAIT_TIMEOUT: u16 = 1205;

/// Maps a failed statement: lock contention may go away on a second run, the rest is an outage.
pub fn query_error(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &error {
        if let Some(mysql) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
            if matches!(mysql.number(), MYSQL_DEADLOCK | MYSQL_LOCK_WAIT_TIMEOUT) {
                return StoreError::Contended(error.to_string());
            }
        }
    }
    unavailable(error)
}

/// Maps a failed write: constraint violations are the caller's business, then as
/// [`query_error`].
pub fn write_error(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &error {
        if db.is_unique_violation() {
            return StoreError::Conflict;
        }
        if db.is_foreign_key_violation() {
            return StoreError::MissingReference;
        }
    }
    query_error(error)
}

pub fn parse_uuid(text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text)
        .map_err(|e| StoreError::Unavailable(format!("corrupt uuid {text:?}: {e}")))
}

pub fn to_json(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Unavailable(format!("encoding: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str, column: &str) -> Result<T, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Unavailable(format!("corrupt {column} JSON: {e}")))
}

/// Whether a cart still holds exactly the lines an order was priced from, in any order.
pub fn same_lines(held: &[CartLine], priced: &[CartLine]) -> bool {
    let mut held = held.to_vec();
    let mut priced = priced.to_vec();
    held.sort_by_key(|l| l.uuid);
    priced.sort_by_key(|l| l.uuid);
    held == priced
}

pub const PRODUCT_COLUMNS: &str =
    "uuid, name, description, price_cents, image, image_alt, category";
pub const USER_COLUMNS: &str = "uuid, email, first_name, last_name";
pub const CREDENTIALS_COLUMNS: &str =
    "uuid, email, first_name, last_name, password_hash, signup_key";
pub const ORDER_COLUMNS: &str =
    "id, items, total_cents, created_at, region, shipping, request_hash";

#[derive(FromRow)]
pub struct ProductRow {
    uuid: Text,
    name: Text,
    description: Text,
    price_cents: i64,
    image: Text,
    image_alt: Text,
    category: Text,
}

impl ProductRow {
    pub fn into_product(self) -> Result<Product, StoreError> {
        Ok(Product {
            uuid: parse_uuid(&self.uuid.0)?,
            name: self.name.0,
            description: Some(self.description.0),
            price: self.price_cents as f64 / 100.0,
            price_cents: Some(self.price_cents),
            image: Some(self.image.0),
            image_alt: Some(self.image_alt.0),
            category: Some(self.category.0),
        })
    }
}

#[derive(FromRow)]
pub struct UserRow {
    uuid: Text,
    email: Text,
    first_name: Option<Text>,
    last_name: Option<Text>,
}

impl UserRow {
    pub fn into_user(self) -> Result<User, StoreError> {
        Ok(User {
            uuid: parse_uuid(&self.uuid.0)?,
            email: self.email.0,
            first_name: texts(self.first_name),
            last_name: texts(self.last_name),
        })
    }
}

#[derive(FromRow)]
pub struct CredentialsRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: Option<Text>,
    signup_key: Option<Text>,
}

impl CredentialsRow {
    pub fn into_credentials(self) -> Result<Credentials, StoreError> {
        Ok(Credentials {
            user: self.user.into_user()?,
            password_hash: texts(self.password_hash),
            signup_key: texts(self.signup_key),
        })
    }
}

#[derive(FromRow)]
pub struct LineRow {
    unicorn_uuid: Text,
    quantity: i64,
}

impl LineRow {
    pub fn into_line(self) -> Result<CartLine, StoreError> {
        Ok(CartLine {
            uuid: parse_uuid(&self.unicorn_uuid.0)?,
            quantity: u32::try_from(self.quantity).map_err(|_| {
                StoreError::Unavailable(format!("corrupt quantity {}", self.quantity))
            })?,
        })
    }
}

pub fn into_lines(rows: Vec<LineRow>) -> Result<Vec<CartLine>, StoreError> {
    rows.into_iter().map(LineRow::into_line).collect()
}

#[derive(FromRow)]
pub struct OrderRow {
    id: Text,
    items: Text,
    total_cents: i64,
    created_at: Text,
    region: Text,
    shipping: Text,
    request_hash: Text,
}

impl OrderRow {
    pub fn into_stored(self) -> Result<StoredOrder, StoreError> {
        let items: Vec<CartItem> = from_json(&self.items.0, "items")?;
        let shipping: ShippingAddress = from_json(&self.shipping.0, "shipping")?;
        Ok(StoredOrder {
            order: Order {
                id: parse_uuid(&self.id.0)?,
                items,
                total_cents: self.total_cents,
                created_at: self.created_at.0,
                region: self.region.0,
                shipping,
            },
            request_hash: self.request_hash.0,
        })
    }

    pub fn into_order(self) -> Result<Order, StoreError> {
        Ok(self.into_stored()?.order)
    }
}
