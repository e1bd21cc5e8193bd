//! Carts and orders on DynamoDB, against moto (an AWS emulator, `moto_server` from PyPI's
//! `moto[server]`): the store contract (`tests/conformance/`, catalogue and users from SQLite),
//! convergence of a write retried in the other region, and a stopped DynamoDB seen through HTTP.
//!
//! Every test needs `UNISHOP_TEST_MOTO_URL` (the address of a running moto_server) and is skipped
//! without it; `cargo xtask test` starts moto_server and sets it. Each test makes its own tables,
//! so tests share the server without meeting.

#[path = "support/api.rs"]
mod api;
mod conformance;
#[path = "support/moto.rs"]
mod moto;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use reqwest::StatusCode;
use serde_json::{json, Value};
use unishop_api::seed::product_uuid;
use unishop_api::store::dynamodb::DynamoStore;
use unishop_api::store::sqlite::SqliteStore;
use unishop_api::store::{StoreError, Stores};
use unishop_model::CartLine;
use uuid::Uuid;

use api::Api;
use conformance::{line, new_order};
use moto::{fresh_tables, moto_url, OwnMoto};

/// SQLite for catalogue and users, `dynamo` for carts and orders.
async fn stores_on(dynamo: DynamoStore) -> Stores {
    let sql = SqliteStore::open("sqlite::memory:")
        .await
        .expect("in-memory store opens");
    dynamo.serve_carts_and_orders(sql.into_stores())
}

#[tokio::test]
async fn dynamodb_meets_the_store_contract() {
    let Some(url) = moto_url() else { return };
    let dynamo = fresh_tables(&url, "us-east-1").await;
    // Creating the tables again (a second `migrate --create-tables`) is harmless.
    dynamo.create_tables().await.expect("created again");
    conformance::run_all(&stores_on(dynamo).await).await;
}

// ------------------------------------------------------------------------------------------------
// Two regions: two table sets, and replication as global tables do it (last writer wins).

/// Two regions' tables and stores, sharing one SQL store (the Aurora global database's part).
struct TwoRegions {
    east: DynamoStore,
    west: DynamoStore,
    east_stores: Stores,
    west_stores: Stores,
}

impl TwoRegions {
    async fn new(url: &str) -> Self {
        let sql = SqliteStore::open("sqlite::memory:")
            .await
            .expect("in-memory store opens")
            .into_stores();
        let east = fresh_tables(url, "us-east-1").await;
        let west = fresh_tables(url, "us-west-1").await;
        TwoRegions {
            east_stores: east.clone().serve_carts_and_orders(sql.clone()),
            west_stores: west.clone().serve_carts_and_orders(sql),
            east,
            west,
        }
    }

    /// A shopper whose cart in us-east-1 holds `line`, replicated to us-west-1. DynamoDB keeps no
    /// reference to the account: any uuid stands for a user here.
    async fn shopper_with(&self, line: CartLine) -> Uuid {
        let user = Uuid::new_v4();
        self.east_stores
            .carts
            .set_quantity(user, line.uuid, line.quantity)
            .await
            .expect("set");
        self.replicate().await;
        user
    }

    /// Replicates both ways as global tables do: per item, the write with the later `updatedAt`
    /// wins in both regions.
    async fn replicate(&self) {
        let pairs = [
            (
                &self.east.tables().carts,
                &self.west.tables().carts,
                &["uuid"][..],
            ),
            (
                &self.east.tables().orders,
                &self.west.tables().orders,
                &["pk", "sk"][..],
            ),
        ];
        for (east_table, west_table, keys) in pairs {
            let mut winners: HashMap<Vec<String>, HashMap<String, AttributeValue>> = HashMap::new();
            for (store, table) in [(&self.east, east_table), (&self.west, west_table)] {
                for item in scan(store, table).await {
                    let key: Vec<String> = keys
                        .iter()
                        .map(|k| item[*k].as_s().expect("string key").clone())
                        .collect();
                    let later = winners
                        .get(&key)
                        .is_none_or(|known| updated_at(&item) > updated_at(known));
                    if later {
                        winners.insert(key, item);
                    }
                }
            }
            for item in winners.into_values() {
                for (store, table) in [(&self.east, east_table), (&self.west, west_table)] {
                    store
                        .client()
                        .put_item()
                        .table_name(table.as_str())
                        .set_item(Some(item.clone()))
                        .send()
                        .await
                        .expect("replicated");
                }
            }
        }
    }
}

fn updated_at(item: &HashMap<String, AttributeValue>) -> i64 {
    item["updatedAt"]
        .as_n()
        .expect("updatedAt is a number")
        .parse()
        .expect("updatedAt parses")
}

async fn scan(store: &DynamoStore, table: &str) -> Vec<HashMap<String, AttributeValue>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = store
            .client()
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scanned");
        items.extend(page.items().iter().cloned());
        match page.last_evaluated_key() {
            Some(key) if !key.is_empty() => start = Some(key.clone()),
            _ => return items,
        }
    }
}

#[tokio::test]
async fn an_order_retried_in_the_other_region_remains_one_order() {
    let Some(url) = moto_url() else { return };
    let regions = TwoRegions::new(&url).await;
    let user = regions.shopper_with(line("UnicornFloat", 2)).await;

    // The order is placed in us-east-1; its answer is lost, and the client retries it with the
    // same key in us-west-1 before replication: each region's conditions pass locally.
    let placed_in = |stores: &Stores, region: &'static str| {
        let stores = stores.clone();
        async move {
            let cart = stores.carts.cart(user).await.expect("reads");
            assert_eq!(cart, vec![line("UnicornFloat", 2)]);
            stores
                .orders
                .place_order(new_order(user, "checkout-1", &cart, region))
                .await
        }
    };
    placed_in(&regions.east_stores, "us-east-1")
        .await
        .expect("placed in us-east-1");
    placed_in(&regions.west_stores, "us-west-1")
        .await
        .expect("placed again in us-west-1");

    regions.replicate().await;
    let east = regions
        .east_stores
        .orders
        .orders(user)
        .await
        .expect("reads");
    let west = regions
        .west_stores
        .orders
        .orders(user)
        .await
        .expect("reads");
    assert_eq!(east.len(), 1, "exactly one order remains: {east:?}");
    assert_eq!(east, west);
    for stores in [&regions.east_stores, &regions.west_stores] {
        assert!(stores.carts.cart(user).await.expect("reads").is_empty());
        let by_key = stores
            .orders
            .order_by_key(user, "checkout-1")
            .await
            .expect("reads")
            .expect("found");
        assert_eq!(by_key.order, east[0]);
        // A third attempt, now that both regions agree, is refused as a used key (the API then
        // answers the stored order).
        let cart = vec![line("UnicornFloat", 2)];
        stores
            .carts
            .set_quantity(user, product_uuid("UnicornFloat"), 2)
            .await
            .expect("set");
        let again = stores
            .orders
            .place_order(new_order(user, "checkout-1", &cart, "us-east-1"))
            .await;
        assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
        stores
            .carts
            .remove_line(user, product_uuid("UnicornFloat"))
            .await
            .expect("removed");
    }
}

#[tokio::test]
async fn a_keyed_merge_retried_in_the_other_region_applies_once() {
    let Some(url) = moto_url() else { return };
    let regions = TwoRegions::new(&url).await;
    let user = regions.shopper_with(line("UnicornPink", 1)).await;

    let guest = [line("UnicornPink", 2), line("UnicornCool", 1)];
    let merged = vec![line("UnicornPink", 3), line("UnicornCool", 1)];
    // Merged in us-east-1, retried in us-west-1 before replication.
    for stores in [&regions.east_stores, &regions.west_stores] {
        let answer = stores
            .carts
            .merge(user, &guest, Some("login-1"))
            .await
            .expect("merged");
        assert_eq!(answer.lines, merged);
    }
    regions.replicate().await;
    // Once replicated, a retry in either region finds its key and changes nothing.
    for stores in [&regions.east_stores, &regions.west_stores] {
        assert_eq!(stores.carts.cart(user).await.expect("reads"), merged);
        let answer = stores
            .carts
            .merge(user, &guest, Some("login-1"))
            .await
            .expect("answered");
        assert_eq!(answer.lines, merged);
        assert_eq!(stores.carts.cart(user).await.expect("reads"), merged);
    }

    // A merge replicated before its retry arrives: the retry in the other region is a no-op.
    regions
        .east_stores
        .carts
        .merge(user, &[line("UnicornCool", 4)], Some("login-2"))
        .await
        .expect("merged");
    regions.replicate().await;
    let retried = regions
        .west_stores
        .carts
        .merge(user, &[line("UnicornCool", 4)], Some("login-2"))
        .await
        .expect("answered");
    let expected = vec![line("UnicornPink", 3), line("UnicornCool", 5)];
    assert_eq!(retried.lines, expected);
    regions.replicate().await;
    for stores in [&regions.east_stores, &regions.west_stores] {
        assert_eq!(stores.carts.cart(user).await.expect("reads"), expected);
    }
}

// ------------------------------------------------------------------------------------------------
// A stopped DynamoDB, seen through the HTTP layer.

impl Api {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            // The bound the issue sets: a stopped DynamoDB gives its 503 within 2 s.
            .timeout(Duration::from_secs(2));
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.expect("answered within 2 s");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn a_stopped_dynamodb_gives_503_changes_nothing_and_service_resumes() {
    if moto_url().is_none() {
        return;
    }
    let moto = OwnMoto::start();
    let dynamo = fresh_tables(&moto.url, "us-east-1").await;
    let stores = stores_on(dynamo).await;
    let api = api::serve_signed_in(stores, reqwest::Client::new()).await;
    let float = product_uuid("UnicornFloat");
    let (status, _) = api
        .send(
            reqwest::Method::PUT,
            &format!("/cart/items/{float}"),
            Some(json!({"quantity": 2})),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let shipping = json!({"shipping": {"name": "Ada", "line1": "1 Street", "city": "London",
        "postalCode": "N1", "country": "GB"}});
    let merge = json!({"items": [{"uuid": product_uuid("UnicornPink"), "quantity": 1}]});

    // Hung: the process is stopped, connections are accepted and never answered.
    moto.freeze();
    for (method, path, body, key) in [
        (reqwest::Method::GET, "/cart", None, None),
        (
            reqwest::Method::POST,
            "/orders",
            Some(shipping.clone()),
            Some("order-1"),
        ),
        (
            reqwest::Method::POST,
            "/cart/merge",
            Some(merge.clone()),
            None,
        ),
        (reqwest::Method::GET, "/health", None, None),
    ] {
        let (status, problem) = api.send(method, path, body, key).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {problem}");
        assert_eq!(problem["status"], 503, "{path}: a problem document");
    }
    moto.thaw();

    // Nothing was half done, and service resumes by itself.
    let (status, cart) = api.send(reqwest::Method::GET, "/cart", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cart["items"].as_array().map(Vec::len), Some(1), "{cart}");
    assert_eq!(cart["items"][0]["quantity"], 2, "{cart}");
    let (status, orders) = api.send(reqwest::Method::GET, "/orders", None, None).await;
    assert_eq!((status, orders), (StatusCode::OK, json!([])));
    let (status, order) = api
        .send(
            reqwest::Method::POST,
            "/orders",
            Some(shipping),
            Some("order-1"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{order}");

    // Refused: the process is gone.
    moto.kill();
    let (status, problem) = api.send(reqwest::Method::GET, "/orders", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
}
