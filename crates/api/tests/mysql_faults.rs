//! The API on MariaDB when the database dies mid-test: every call that needs it answers a 503
//! problem document within 2 s (a client's patience before it tries the standby), nothing is half
//! written, and the service resumes by itself when the database is back.

#[path = "support/api.rs"]
mod api;
#[path = "support/mariadb.rs"]
mod mariadb;

use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

use api::Api;
use unishop_api::seed::product_uuid;
use unishop_api::store::mysql::{MySqlSettings, MySqlStore};
use unishop_model::{Cart, Order, Problem};

/// How long a shopper's client waits for a region before it tries the other.
const CLIENT_PATIENCE: Duration = Duration::from_secs(2);

impl Api {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("idempotency-key", "fault-order");
        if let Some(body) = body {
            request = request.json(&body);
        }
        request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path} is answered within {CLIENT_PATIENCE:?}: {e}"))
    }
}

impl Api {
    /// Polls `/health` (at most 100 times, 100 ms apart) until it answers 200.
    async fn wait_until_healthy(&self, when: &str) {
        for _ in 0..100 {
            if self.call(Method::GET, "/health", None).await.status() == StatusCode::OK {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the API should answer again {when}");
    }
}

fn shipping() -> Value {
    json!({"shipping": {"name": "Ada Lovelace", "line1": "1 Analytical St", "city": "London",
        "postalCode": "N1 9GU", "country": "GB"}})
}

#[tokio::test]
async fn a_dead_database_answers_503_fast_and_the_api_recovers_by_itself() {
    let Some(binary) = mariadb::mariadbd() else {
        return;
    };
    let mut server = mariadb::MariaDb::start(&binary);
    let url = server.fresh_database("faults").await;
    let store = MySqlStore::connect(&MySqlSettings::new(&url)).expect("valid URL");
    store.migrate().await.expect("migrates");
    let client = Client::builder()
        .timeout(CLIENT_PATIENCE)
        .build()
        .expect("client");
    let api = api::serve_signed_in(store.into_stores(), client).await;
    let float = product_uuid("UnicornFloat");
    let line = format!("/cart/items/{float}");
    let set = api
        .call(Method::PUT, &line, Some(json!({"quantity": 1})))
        .await;
    assert_eq!(set.status(), StatusCode::OK);
    let before: Cart = api
        .call(Method::GET, "/cart", None)
        .await
        .json()
        .await
        .expect("cart");

    server.kill();
    let merge = json!({"items": [{"uuid": float, "quantity": 5}]});
    for (method, path, body) in [
        (Method::GET, "/health", None),
        (Method::GET, "/cart", None),
        (Method::PUT, line.as_str(), Some(json!({"quantity": 2}))),
        (Method::POST, "/cart/merge", Some(merge)),
        (Method::POST, "/orders", Some(shipping())),
        (Method::GET, "/orders", None),
    ] {
        let response = api.call(method.clone(), path, body).await;
        assert_eq!(
            response.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{method} {path}"
        );
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Problem = response.json().await.expect("problem");
        assert!(problem.detail.contains("unavailable"), "{problem:?}");
    }

    server.restart();
    // The pool reconnects by itself: no restart of the API.
    api.wait_until_healthy("once the database is back").await;
    // Nothing was half-written while the database was down.
    let after: Cart = api
        .call(Method::GET, "/cart", None)
        .await
        .json()
        .await
        .expect("cart");
    assert_eq!(after, before);
    let orders: Vec<Order> = api
        .call(Method::GET, "/orders", None)
        .await
        .json()
        .await
        .expect("orders");
    assert!(orders.is_empty());
    // And the same order request now goes through, once.
    let placed = api.call(Method::POST, "/orders", Some(shipping())).await;
    assert_eq!(placed.status(), StatusCode::CREATED);

    // A hung database (the process frozen, its connections open and silent) is cut off alike.
    server.freeze();
    for (method, path, body) in [
        (Method::GET, "/health", None),
        (Method::PUT, line.as_str(), Some(json!({"quantity": 3}))),
    ] {
        let response = api.call(method.clone(), path, body).await;
        assert_eq!(
            response.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{method} {path}"
        );
    }
    server.thaw();
    api.wait_until_healthy("once the database thaws").await;
    let set = api
        .call(Method::PUT, &line, Some(json!({"quantity": 4})))
        .await;
    assert_eq!(set.status(), StatusCode::OK);
}
