//! Carts and orders in DynamoDB: the two global tables of `infra/templates/global.yaml`, replicated
//! between us-east-1 and us-west-1. Selected by `UNISHOP_CARTS_TABLE` and `UNISHOP_ORDERS_TABLE`;
//! the catalogue and the accounts stay in the SQL store. `AWS_ENDPOINT_URL_DYNAMODB` (the SDK's
//! standard override) points the client at an emulator such as moto.
//!
//! # Table design
//!
//! **Carts** (`UNISHOP_CARTS_TABLE`, partition key `uuid`: S, no sort key). One item per user
//! holds the whole cart, so every cart write is one absolute item write:
//!
//! | attribute | type | what |
//! |---|---|---|
//! | `uuid` | S | the user's uuid |
//! | `lines` | L of M `{product: S, quantity: N}` | the lines, oldest first, at most 50, quantities 1..=99 |
//! | `merges` | L of M `{key: S, at: N}` | the idempotency keys of the guest-cart merges of the last 48 hours (ms since the epoch), at most 100 |
//! | `version` | S | a fresh random UUID per write: the condition of the next write |
//! | `updatedAt` | N | ms since the epoch of the write (what last-writer-wins compares) |
//!
//! Size: a full cart is about 3 KB (50 lines of ~60 bytes), the merge keys at most about 8 KB
//! (100 keys of up to 64 characters): far below DynamoDB's 400 KB item limit, and 1 to 11 write
//! units per write. The cap on keys is the one limit of the promise to remember a key for 24
//! hours: a shopper who merged more than 100 guest carts within a day (one per login) would find
//! the oldest keys forgotten. A write reads the item (strongly consistent), changes it in memory and puts it
//! back on the condition that `version` is still the one read; when another write of this region
//! came first, it reads again (at most [`WRITE_ATTEMPTS`] times, then [`StoreError::Stale`]). The
//! version is random rather than a counter so that an item replaced by the other region's write
//! never matches a version read before, even when both regions had counted to the same number.
//! A write that changes nothing (removing an absent line, a legacy add of a present one, a merge
//! whose key is known) writes nothing.
//!
//! **Orders** (`UNISHOP_ORDERS_TABLE`, partition key `pk`: S, sort key `sk`: S). One item per
//! order, and that item is also the idempotency record:
//!
//! | attribute | type | what |
//! |---|---|---|
//! | `pk` | S | the user's uuid |
//! | `sk` | S | `order#` + the order's idempotency key (1 to 64 visible ASCII characters) |
//! | `id` | S | the order's uuid |
//! | `createdAt` | S | RFC 3339, milliseconds, UTC (sorts as it reads) |
//! | `region` | S | the region that placed it |
//! | `totalCents` | N | the total |
//! | `items`, `shipping` | S | the lines and the address as sold, JSON (as in the SQL stores) |
//! | `requestHash` | S | tells a retry (same body) from a reuse of the key |
//! | `updatedAt` | N | ms since the epoch of the write |
//!
//! Size: under 10 KB for a full cart of 50 lines with long names. A user's orders are one
//! `Query` on `pk` (paged past 1 MB), newest first by `createdAt`; one order by id is the same
//! query filtered on `id` (a shopper's order history is short; no index needed).
//!
//! Nothing expires: the templates enable TTL on an `expiresAt` attribute, which the API does not
//! write (a cart's merge keys age out inside the item). Both tables are on-demand
//! (`PAY_PER_REQUEST`) with `NEW_AND_OLD_IMAGES` streams, as global tables require.
//!
//! Placing an order is one `TransactWriteItems`: the order item on the condition that it does
//! not exist yet ([`StoreError::Conflict`] otherwise), and the emptied cart on the condition that
//! its `version` is the one whose lines were priced ([`StoreError::Stale`] otherwise). Either both
//! are written or neither.
//!
//! Errors and timeouts of the SDK are [`StoreError::Unavailable`] (the API answers 503). The
//! client is bounded so a dead or hung endpoint fails fast: [`CONNECT_TIMEOUT`],
//! [`ATTEMPT_TIMEOUT`] per attempt, [`OPERATION_TIMEOUT`] per call including one retry. A write
//! whose attempt timed out after DynamoDB applied it is retried and then fails its condition;
//! every write is then read again and decided anew, which is harmless for the absolute writes,
//! the keyed merge and the order (its key is found), and would add an unkeyed merge twice: a
//! client should send its merges with a key (the storefront does not yet: issue 10).
//!
//! # Two regions
//!
//! Global tables replicate each item to the other region in about a second, last writer wins
//! (per item), and a condition is checked only in the region that runs it. The design makes a
//! write retried in the other region within that window converge instead of doubling:
//!
//! - An order's item key is derived from (user, idempotency key), so the order placed in one
//!   region and its retry in the other write the same item; replication keeps one of the two.
//!   Both regions empty the same cart, so the cart converges too.
//! - Cart writes are absolute (the whole cart in one item), and a merge is keyed: the key is
//!   stored in the same item as the lines it produced, so replication carries both together. A
//!   merge retried in the other region before replication starts from the same cart the first
//!   attempt started from and writes the same lines; one that comes after finds its key and
//!   changes nothing.
//!
//! What a shopper can see during the window (about a second, longer during a regional outage):
//! after a failover, the standby may answer with the cart as it was a moment before (the last
//! change not there yet), and an order just placed in the failed region may be missing from the
//! order list for that moment. If the same order is retried in the standby within the window, it
//! is placed there too and answered 201 instead of 200; when replication completes one of the two
//! items remains, so the shopper has exactly one order, though the surviving one may carry the
//! other region's id and `region`. Two different changes made in both regions within the same
//! second (two tabs during a failover) keep only the later one. This is acceptable because the
//! window is short, a region switch is rare, nothing is ever doubled (no second order, no
//! doubled quantities), the order list is read from the store on every visit so it heals by
//! itself, and the storefront sends every retry with the same idempotency key.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, Put,
    ScalarAttributeType, StreamSpecification, StreamViewType, TableStatus, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;
use unishop_model::{merge_lines, CartItem, CartLine, Merged, Order, ShippingAddress};
use unishop_model::{MAX_CART_LINES, MAX_QUANTITY};
use uuid::Uuid;

use super::{
    check_write_deadline, Carts, Catalogue, NewOrder, Orders, StoreError, StoredOrder, Stores,
    MERGE_KEY_MEMORY_SECS,
};
use crate::aws::https_client;

/// How long connecting to the endpoint may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// How long one attempt of a call may take (DynamoDB answers in milliseconds).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(700);
/// How long a call may take in all, its retry included: well inside the 2 s in which a request
/// facing a dead or hung DynamoDB must get its 503.
pub const OPERATION_TIMEOUT: Duration = Duration::from_millis(1200);
/// Attempts per call (the first and one retry).
const CALL_ATTEMPTS: u32 = 2;
/// How often a cart write reads again after losing to another write of this region.
pub const WRITE_ATTEMPTS: usize = 5;
/// How long a merge's idempotency key is remembered: twice the promised
/// [`MERGE_KEY_MEMORY_SECS`], a margin for clocks that disagree between regions.
const MERGE_KEY_MEMORY_MS: i64 = 2 * MERGE_KEY_MEMORY_SECS * 1000;
/// The most merge keys a cart item keeps (the newest), which bounds the item's size.
const MAX_MERGE_KEYS: usize = 100;
const ORDER_PREFIX: &str = "order#";
/// The key `ping` reads: no user has it.
const PING_KEY: &str = "health-check";

/// The two tables' names, as the templates pass them.
#[derive(Clone, Debug)]
pub struct Tables {
    pub carts: String,
    pub orders: String,
}

/// Carts and orders in DynamoDB. Cheap to clone (the SDK client is shared).
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    tables: Tables,
}

fn unavailable(error: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

/// An SDK error as an outage, with the service's own message when there is one.
fn sdk_unavailable<E>(error: aws_sdk_dynamodb::error::SdkError<E>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    StoreError::Unavailable(format!("DynamoDB: {}", DisplayErrorContext(&error)))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

fn bounded_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

fn bounded_retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(CALL_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_millis(200))
}

/// Table management (only `create_tables`, for emulators) may take its time: an emulator loads
/// its DynamoDB part on the first call, which takes moto over a second.
fn control_plane() -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::config::Builder::default().timeout_config(
        TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .operation_timeout(Duration::from_secs(30))
            .operation_attempt_timeout(Duration::from_secs(30))
            .build(),
    )
}

/// One user's cart item, as read.
#[derive(Clone, Debug, Default, PartialEq)]
struct CartItemState {
    lines: Vec<CartLine>,
    /// (key, ms since the epoch), oldest first.
    merges: Vec<(String, i64)>,
    /// `None` when the user has no item yet.
    version: Option<String>,
}

/// What a change to a cart decided.
enum Change<T> {
    /// Write the changed cart, then answer `T`.
    Write(T),
    /// Nothing to write; answer `T`.
    Keep(T),
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Unavailable(format!("corrupt item in DynamoDB: {what}"))
}

fn get_s<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Result<&'a str, StoreError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| corrupt(&format!("{name} is not a string")))
}

fn get_n<T: std::str::FromStr>(
    item: &HashMap<String, AttributeValue>,
    name: &str,
) -> Result<T, StoreError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| corrupt(&format!("{name} is not a number")))
}

fn get_list<'a>(
    item: &'a HashMap<String, AttributeValue>,
    name: &str,
) -> Result<&'a [AttributeValue], StoreError> {
    match item.get(name) {
        None => Ok(&[]),
        Some(value) => value
            .as_l()
            .map(Vec::as_slice)
            .map_err(|_| corrupt(&format!("{name} is not a list"))),
    }
}

fn as_map(value: &AttributeValue) -> Result<&HashMap<String, AttributeValue>, StoreError> {
    value
        .as_m()
        .map_err(|_| corrupt("a list entry is not a map"))
}

impl CartItemState {
    fn from_item(item: &HashMap<String, AttributeValue>) -> Result<Self, StoreError> {
        let lines = get_list(item, "lines")?
            .iter()
            .map(|entry| {
                let line = as_map(entry)?;
                let uuid = Uuid::parse_str(get_s(line, "product")?)
                    .map_err(|_| corrupt("a product is not a uuid"))?;
                Ok(CartLine {
                    uuid,
                    quantity: get_n(line, "quantity")?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let merges = get_list(item, "merges")?
            .iter()
            .map(|entry| {
                let merge = as_map(entry)?;
                Ok((get_s(merge, "key")?.to_owned(), get_n(merge, "at")?))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Self {
            lines,
            merges,
            version: Some(get_s(item, "version")?.to_owned()),
        })
    }

    fn to_item(&self, user: Uuid, version: &str, now: i64) -> HashMap<String, AttributeValue> {
        let lines = self
            .lines
            .iter()
            .map(|line| {
                AttributeValue::M(HashMap::from([
                    ("product".to_owned(), s(line.uuid.to_string())),
                    ("quantity".to_owned(), n(line.quantity)),
                ]))
            })
            .collect();
        let merges = self
            .merges
            .iter()
            .map(|(key, at)| {
                AttributeValue::M(HashMap::from([
                    ("key".to_owned(), s(key.as_str())),
                    ("at".to_owned(), n(at)),
                ]))
            })
            .collect();
        HashMap::from([
            ("uuid".to_owned(), s(user.to_string())),
            ("lines".to_owned(), AttributeValue::L(lines)),
            ("merges".to_owned(), AttributeValue::L(merges)),
            ("version".to_owned(), s(version)),
            ("updatedAt".to_owned(), n(now)),
        ])
    }

    /// Forgets merge keys past their memory, and the oldest beyond the most kept.
    fn forget_old_merges(&mut self, now: i64) {
        self.merges.retain(|(_, at)| now - at < MERGE_KEY_MEMORY_MS);
        let excess = self.merges.len().saturating_sub(MAX_MERGE_KEYS);
        self.merges.drain(..excess);
    }

    fn position(&self, product: Uuid) -> Option<usize> {
        self.lines.iter().position(|line| line.uuid == product)
    }
}

/// A put of the cart item on the condition that it is still the version read.
fn conditional_cart_put(
    table: &str,
    user: Uuid,
    state: &CartItemState,
    now: i64,
) -> Result<Put, StoreError> {
    let next_version = Uuid::new_v4().to_string();
    let builder = Put::builder()
        .table_name(table)
        .set_item(Some(state.to_item(user, &next_version, now)))
        .expression_attribute_names("#version", "version");
    let builder = match &state.version {
        Some(version) => builder
            .condition_expression("#version = :read")
            .expression_attribute_values(":read", s(version.as_str())),
        None => builder.condition_expression("attribute_not_exists(#version)"),
    };
    builder.build().map_err(unavailable)
}

fn order_sort_key(idempotency_key: &str) -> String {
    format!("{ORDER_PREFIX}{idempotency_key}")
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Unavailable(format!("encoding: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(&format!("{what} JSON: {e}")))
}

fn order_item(new: &NewOrder, now: i64) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let order = &new.order;
    Ok(HashMap::from([
        ("pk".to_owned(), s(new.user.to_string())),
        ("sk".to_owned(), s(order_sort_key(&new.idempotency_key))),
        ("id".to_owned(), s(order.id.to_string())),
        ("createdAt".to_owned(), s(order.created_at.as_str())),
        ("region".to_owned(), s(order.region.as_str())),
        ("totalCents".to_owned(), n(order.total_cents)),
        ("items".to_owned(), s(json(&order.items)?)),
        ("shipping".to_owned(), s(json(&order.shipping)?)),
        ("requestHash".to_owned(), s(new.request_hash.as_str())),
        ("updatedAt".to_owned(), n(now)),
    ]))
}

fn stored_order(item: &HashMap<String, AttributeValue>) -> Result<StoredOrder, StoreError> {
    let items: Vec<CartItem> = from_json(get_s(item, "items")?, "items")?;
    let shipping: ShippingAddress = from_json(get_s(item, "shipping")?, "shipping")?;
    Ok(StoredOrder {
        order: Order {
            id: Uuid::parse_str(get_s(item, "id")?).map_err(|_| corrupt("id is not a uuid"))?,
            items,
            total_cents: get_n(item, "totalCents")?,
            created_at: get_s(item, "createdAt")?.to_owned(),
            region: get_s(item, "region")?.to_owned(),
            shipping,
        },
        request_hash: get_s(item, "requestHash")?.to_owned(),
    })
}

impl DynamoStore {
    /// A store on `tables`, configured like every AWS SDK client (region, credentials and
    /// `AWS_ENDPOINT_URL_DYNAMODB` from the environment), with the bounded timeouts and retries.
    /// Fails when the environment names no region (Lambda always does).
    pub async fn from_env(tables: Tables) -> Result<Self, StoreError> {
        let shared = aws_config::defaults(BehaviorVersion::latest())
            .http_client(https_client())
            .timeout_config(bounded_timeouts())
            .retry_config(bounded_retries())
            .load()
            .await;
        if shared.region().is_none() {
            return Err(StoreError::Unavailable(
                "no AWS region for DynamoDB: set AWS_REGION".to_owned(),
            ));
        }
        Ok(Self {
            client: Client::new(&shared),
            tables,
        })
    }

    /// A store on an emulator at `endpoint` (moto), with fixed fake credentials: for tests and
    /// benchmarks, never for AWS.
    pub fn for_emulator(endpoint: &str, region: &str, tables: Tables) -> Self {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .credentials_provider(Credentials::new(
                "emulator", "emulator", None, None, "emulator",
            ))
            .endpoint_url(endpoint)
            .http_client(https_client())
            .timeout_config(bounded_timeouts())
            .retry_config(bounded_retries())
            .build();
        Self {
            client: Client::from_conf(config),
            tables,
        }
    }

    /// The SDK client, for tools that read the tables directly (tests, the bench).
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// `others` with carts and orders served by this store (catalogue and users stay). A
    /// product put in a cart is checked against `others.catalogue`, as a foreign key would.
    pub fn serve_carts_and_orders(self, others: Stores) -> Stores {
        let served = Arc::new(CartsAndOrders {
            store: self,
            catalogue: others.catalogue.clone(),
            sql: others.carts.clone(),
        });
        Stores {
            carts: served.clone(),
            orders: served,
            ..others
        }
    }

    /// Creates both tables with the key schema of `infra/templates/global.yaml` when they do not
    /// exist yet, and waits until they are active: for emulators (`unishop-api migrate
    /// --create-tables`); in AWS the templates create them.
    pub async fn create_tables(&self) -> Result<(), StoreError> {
        self.create_table(&self.tables.carts, &[("uuid", KeyType::Hash)])
            .await?;
        self.create_table(
            &self.tables.orders,
            &[("pk", KeyType::Hash), ("sk", KeyType::Range)],
        )
        .await
    }

    async fn create_table(&self, name: &str, keys: &[(&str, KeyType)]) -> Result<(), StoreError> {
        let mut request = self
            .client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewAndOldImages)
                    .build()
                    .map_err(unavailable)?,
            );
        for (attribute, key_type) in keys {
            request = request
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(*attribute)
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .map_err(unavailable)?,
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name(*attribute)
                        .key_type(key_type.clone())
                        .build()
                        .map_err(unavailable)?,
                );
        }
        match request
            .customize()
            .config_override(control_plane())
            .send()
            .await
        {
            Ok(_) => {}
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) => {}
            Err(error) => return Err(sdk_unavailable(error)),
        }
        for _ in 0..120 {
            let described = self
                .client
                .describe_table()
                .table_name(name)
                .customize()
                .config_override(control_plane())
                .send()
                .await
                .map_err(sdk_unavailable)?;
            if described.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(StoreError::Unavailable(format!(
            "table {name} did not become active within a minute"
        )))
    }

    /// The user's cart item, strongly consistent.
    async fn read_cart(&self, user: Uuid) -> Result<CartItemState, StoreError> {
        let read = self
            .client
            .get_item()
            .table_name(&self.tables.carts)
            .key("uuid", s(user.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_unavailable)?;
        match read.item() {
            Some(item) => CartItemState::from_item(item),
            None => Ok(CartItemState::default()),
        }
    }

    /// Reads the cart, lets `change` decide, and writes the result on the condition that nobody
    /// wrote in between; reads again when somebody did.
    async fn change_cart<T>(
        &self,
        user: Uuid,
        mut change: impl FnMut(&mut CartItemState, i64) -> Result<Change<T>, StoreError>,
    ) -> Result<T, StoreError> {
        for _ in 0..WRITE_ATTEMPTS {
            let mut state = self.read_cart(user).await?;
            let now = now_ms();
            let answer = match change(&mut state, now)? {
                Change::Keep(answer) => return Ok(answer),
                Change::Write(answer) => answer,
            };
            let put = conditional_cart_put(&self.tables.carts, user, &state, now)?;
            check_write_deadline()?;
            let written = self
                .client
                .put_item()
                .table_name(put.table_name())
                .set_item(Some(put.item().clone()))
                .set_condition_expression(put.condition_expression().map(str::to_owned))
                .set_expression_attribute_names(put.expression_attribute_names().cloned())
                .set_expression_attribute_values(put.expression_attribute_values().cloned())
                .send()
                .await;
            match written {
                Ok(_) => return Ok(answer),
                Err(error)
                    if error
                        .as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
                {
                    continue
                }
                Err(error) => return Err(sdk_unavailable(error)),
            }
        }
        Err(StoreError::Stale)
    }

    /// Every order item of the user, in no particular order.
    async fn order_items(
        &self,
        user: Uuid,
        id: Option<Uuid>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.tables.orders)
                .key_condition_expression("pk = :user AND begins_with(sk, :prefix)")
                .expression_attribute_values(":user", s(user.to_string()))
                .expression_attribute_values(":prefix", s(ORDER_PREFIX))
                .set_exclusive_start_key(start);
            if let Some(id) = id {
                query = query
                    .filter_expression("#id = :id")
                    .expression_attribute_names("#id", "id")
                    .expression_attribute_values(":id", s(id.to_string()));
            }
            let page = query.send().await.map_err(sdk_unavailable)?;
            items.extend(page.items().iter().cloned());
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(items),
            }
        }
    }
}

/// Carts and orders of a [`DynamoStore`], with the catalogue their lines refer to.
struct CartsAndOrders {
    store: DynamoStore,
    catalogue: Arc<dyn Catalogue>,
    /// The SQL store's own carts, kept only for `ping`: the API is healthy only while both of
    /// its stores answer.
    sql: Arc<dyn Carts>,
}

impl CartsAndOrders {
    /// [`StoreError::MissingReference`] unless the catalogue sells every one of `products`
    /// (DynamoDB has no foreign keys to say so).
    async fn check_sold(&self, products: &[Uuid]) -> Result<(), StoreError> {
        let sold = match products {
            [] => true,
            [product] => self.catalogue.product(*product).await?.is_some(),
            _ => {
                let catalogue = self.catalogue.products().await?;
                products
                    .iter()
                    .all(|uuid| catalogue.iter().any(|p| p.uuid == *uuid))
            }
        };
        if sold {
            Ok(())
        } else {
            Err(StoreError::MissingReference)
        }
    }
}

#[async_trait]
impl Carts for CartsAndOrders {
    async fn cart(&self, user: Uuid) -> Result<Vec<CartLine>, StoreError> {
        Ok(self.store.read_cart(user).await?.lines)
    }

    async fn set_quantity(
        &self,
        user: Uuid,
        product: Uuid,
        quantity: u32,
    ) -> Result<(), StoreError> {
        self.check_sold(&[product]).await?;
        let quantity = quantity.clamp(1, MAX_QUANTITY);
        self.store
            .change_cart(user, |cart, _| {
                match cart.position(product) {
                    Some(i) if cart.lines[i].quantity == quantity => return Ok(Change::Keep(())),
                    Some(i) => cart.lines[i].quantity = quantity,
                    None if cart.lines.len() >= MAX_CART_LINES => return Err(StoreError::CartFull),
                    None => cart.lines.push(CartLine {
                        uuid: product,
                        quantity,
                    }),
                }
                Ok(Change::Write(()))
            })
            .await
    }

    async fn add_line(&self, user: Uuid, product: Uuid) -> Result<(), StoreError> {
        self.check_sold(&[product]).await?;
        self.store
            .change_cart(user, |cart, _| {
                if cart.position(product).is_some() {
                    return Ok(Change::Keep(()));
                }
                if cart.lines.len() >= MAX_CART_LINES {
                    return Err(StoreError::CartFull);
                }
                cart.lines.push(CartLine {
                    uuid: product,
                    quantity: 1,
                });
                Ok(Change::Write(()))
            })
            .await
    }

    async fn remove_line(&self, user: Uuid, product: Uuid) -> Result<(), StoreError> {
        self.store
            .change_cart(user, |cart, _| match cart.position(product) {
                None => Ok(Change::Keep(())),
                Some(i) => {
                    cart.lines.remove(i);
                    Ok(Change::Write(()))
                }
            })
            .await
    }

    async fn merge(
        &self,
        user: Uuid,
        incoming: &[CartLine],
        key: Option<&str>,
    ) -> Result<Merged, StoreError> {
        let products: Vec<Uuid> = incoming.iter().map(|line| line.uuid).collect();
        self.check_sold(&products).await?;
        self.store
            .change_cart(user, |cart, now| {
                cart.forget_old_merges(now);
                if let Some(key) = key {
                    if cart.merges.iter().any(|(known, _)| known == key) {
                        return Ok(Change::Keep(Merged {
                            lines: cart.lines.clone(),
                            capped: vec![],
                        }));
                    }
                }
                let merged =
                    merge_lines(&cart.lines, incoming).map_err(|_| StoreError::CartFull)?;
                cart.lines = merged.lines.clone();
                if let Some(key) = key {
                    cart.merges.push((key.to_owned(), now));
                    cart.forget_old_merges(now);
                }
                Ok(Change::Write(merged))
            })
            .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.sql.ping().await?;
        self.store
            .client
            .get_item()
            .table_name(&self.store.tables.carts)
            .key("uuid", s(PING_KEY))
            .send()
            .await
            .map_err(sdk_unavailable)?;
        Ok(())
    }
}

#[async_trait]
impl Orders for CartsAndOrders {
    async fn order_by_key(&self, user: Uuid, key: &str) -> Result<Option<StoredOrder>, StoreError> {
        let read = self
            .store
            .client
            .get_item()
            .table_name(&self.store.tables.orders)
            .key("pk", s(user.to_string()))
            .key("sk", s(order_sort_key(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_unavailable)?;
        read.item().map(stored_order).transpose()
    }

    async fn place_order(&self, new: NewOrder) -> Result<(), StoreError> {
        let mut cart = self.store.read_cart(new.user).await?;
        let mut held = cart.lines.clone();
        let mut priced = new.cart.clone();
        held.sort_by_key(|l| l.uuid);
        priced.sort_by_key(|l| l.uuid);
        if held != priced {
            return Err(StoreError::Stale);
        }
        let now = now_ms();
        let order = Put::builder()
            .table_name(&self.store.tables.orders)
            .set_item(Some(order_item(&new, now)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(unavailable)?;
        cart.lines.clear();
        let emptied = conditional_cart_put(&self.store.tables.carts, new.user, &cart, now)?;
        check_write_deadline()?;
        let written = self
            .store
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(order).build())
            .transact_items(TransactWriteItem::builder().put(emptied).build())
            .send()
            .await;
        let error = match written {
            Ok(_) => return Ok(()),
            Err(error) => error,
        };
        match error.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(canceled)) => {
                let failed = |i: usize| {
                    canceled
                        .cancellation_reasons()
                        .get(i)
                        .and_then(|reason| reason.code())
                        .is_some_and(|code| code == "ConditionalCheckFailed")
                };
                if failed(0) {
                    Err(StoreError::Conflict)
                } else if failed(1) || !canceled.cancellation_reasons().is_empty() {
                    // The cart changed, or another transaction held one of the items.
                    Err(StoreError::Stale)
                } else if self
                    .order_by_key(new.user, &new.idempotency_key)
                    .await?
                    .is_some()
                {
                    // No reasons given: tell the two conditions apart by looking.
                    Err(StoreError::Conflict)
                } else {
                    Err(StoreError::Stale)
                }
            }
            Some(other) if other.code() == Some("TransactionConflictException") => {
                Err(StoreError::Stale)
            }
            _ => Err(sdk_unavailable(error)),
        }
    }

    async fn orders(&self, user: Uuid) -> Result<Vec<Order>, StoreError> {
        let mut orders = self
            .store
            .order_items(user, None)
            .await?
            .iter()
            .map(|item| stored_order(item).map(|stored| stored.order))
            .collect::<Result<Vec<_>, _>>()?;
        orders.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(orders)
    }

    async fn order(&self, user: Uuid, id: Uuid) -> Result<Option<Order>, StoreError> {
        let items = self.store.order_items(user, Some(id)).await?;
        items
            .first()
            .map(|item| stored_order(item).map(|stored| stored.order))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: u128, quantity: u32) -> CartLine {
        CartLine {
            uuid: Uuid::from_u128(n),
            quantity,
        }
    }

    #[test]
    fn a_cart_item_reads_back_as_written() {
        let state = CartItemState {
            lines: vec![line(2, 3), line(1, 99)],
            merges: vec![("key-1".to_owned(), 10), (String::new(), 20)],
            version: Some("v1".to_owned()),
        };
        let item = state.to_item(Uuid::from_u128(7), "v1", 30);
        assert_eq!(CartItemState::from_item(&item).expect("reads"), state);
        assert_eq!(
            get_s(&item, "uuid").expect("uuid"),
            Uuid::from_u128(7).to_string()
        );
        assert_eq!(get_n::<i64>(&item, "updatedAt").expect("time"), 30);
    }

    #[test]
    fn a_damaged_cart_item_is_an_outage_not_a_panic() {
        let mut item = CartItemState::default().to_item(Uuid::nil(), "v", 0);
        item.insert("lines".to_owned(), s("not a list"));
        assert!(matches!(
            CartItemState::from_item(&item),
            Err(StoreError::Unavailable(_))
        ));
    }

    #[test]
    fn merge_keys_are_forgotten_after_their_memory_and_beyond_the_limit() {
        let now = 10 * MERGE_KEY_MEMORY_MS;
        let mut state = CartItemState {
            merges: vec![
                ("expired".to_owned(), now - MERGE_KEY_MEMORY_MS),
                ("fresh".to_owned(), now - 1),
            ],
            ..Default::default()
        };
        state.forget_old_merges(now);
        assert_eq!(state.merges, vec![("fresh".to_owned(), now - 1)]);
        state.merges = (0..MAX_MERGE_KEYS + 3)
            .map(|i| (format!("k{i}"), now))
            .collect();
        state.forget_old_merges(now);
        assert_eq!(state.merges.len(), MAX_MERGE_KEYS);
        assert_eq!(state.merges[0].0, "k3");
    }
}
