//! The API over real HTTP: a server bound to 127.0.0.1:0 on a fresh in-memory database, driven by
//! an HTTP client, for every route and every kind of bad input.

use std::net::SocketAddr;

use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use unishop_api::seed::{product_uuid, CATALOGUE};
use unishop_api::store::sqlite::SqliteStore;
use unishop_api::{router, AppState};
use unishop_model::{Basket, Health, Problem, Product, User};

struct Server {
    address: SocketAddr,
    client: Client,
    store: SqliteStore,
}

impl Server {
    async fn start() -> Self {
        let store = SqliteStore::open("sqlite::memory:")
            .await
            .expect("in-memory store opens");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds loopback");
        let address = listener.local_addr().expect("has an address");
        let app = router(AppState::new("us-west-1", store.clone().into_stores()));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Server {
            address,
            client: Client::new(),
            store,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let mut request = self.client.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request is answered")
    }

    async fn get(&self, path: &str) -> Response {
        self.send(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Response {
        self.send(Method::POST, path, Some(body)).await
    }

    async fn raw_post(&self, path: &str, body: impl Into<reqwest::Body>) -> Response {
        self.client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request is answered")
    }

    async fn signup(&self, email: &str) -> User {
        let response = self
            .post(
                "/user",
                json!({"email": email, "firstName": "Ada", "lastName": "Lovelace"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.expect("user body")
    }
}

/// Asserts a problem document with the given status and a detail containing `needle`.
async fn assert_problem(response: Response, status: StatusCode, needle: &str) -> Problem {
    assert_eq!(response.status(), status);
    assert_eq!(region_of(&response), "us-west-1");
    assert_eq!(
        response.headers()["content-type"].to_str().expect("ascii"),
        "application/problem+json"
    );
    let problem: Problem = response.json().await.expect("problem body");
    assert_eq!(problem.status, status.as_u16());
    assert!(!problem.title.is_empty());
    assert!(
        problem.detail.contains(needle),
        "detail {:?} should mention {needle:?}",
        problem.detail
    );
    problem
}

fn region_of(response: &Response) -> String {
    response.headers()["x-unishop-region"]
        .to_str()
        .expect("ascii")
        .to_owned()
}

#[tokio::test]
async fn catalogue_has_the_ten_seed_products_in_the_legacy_shape() {
    let server = Server::start().await;
    for path in ["/unicorns", "/unicorns/"] {
        let response = server.get(path).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(region_of(&response), "us-west-1");
        let raw: Vec<Value> = response.json().await.expect("json array");
        assert_eq!(raw.len(), 10);
        for item in &raw {
            for field in [
                "uuid",
                "name",
                "description",
                "price",
                "image",
                "priceCents",
                "category",
            ] {
                assert!(item.get(field).is_some(), "{field} missing in {item}");
            }
            assert!(item["price"].is_number());
        }
        let products: Vec<Product> = serde_json::from_value(Value::Array(raw)).expect("products");
        let expected: Vec<_> = CATALOGUE.iter().map(|seed| seed.uuid()).collect();
        let got: Vec<_> = products.iter().map(|p| p.uuid).collect();
        assert_eq!(got, expected);
        assert_eq!(products[0].uuid, product_uuid("UnicornFloat"));
        assert_eq!(products[0].cents(), 4_999);
        assert_eq!(products[0].price, 49.99);
    }
}

#[tokio::test]
async fn signup_and_login_follow_the_legacy_contract() {
    let server = Server::start().await;
    let user = server.signup("  Ada@Example.COM ").await;
    assert_eq!(user.email, "ada@example.com");
    assert_eq!(user.uuid.get_version_num(), 4);
    assert_eq!(user.first_name.as_deref(), Some("Ada"));

    // Older legacy pages send the email alone.
    let response = server
        .post("/user", json!({"email": "grace@example.com"}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);

    let response = server
        .post(
            "/user/login",
            json!({"email": "ADA@example.com", "password": "ignored"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let logged_in: User = response.json().await.expect("user");
    assert_eq!(logged_in, user);

    let response = server
        .post("/user/login", json!({"email": "nobody@example.com"}))
        .await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "no account").await;

    let response = server
        .post("/user", json!({"email": "ada@example.com"}))
        .await;
    assert_problem(response, StatusCode::CONFLICT, "already exists").await;
}

#[tokio::test]
async fn signup_refuses_bad_input_with_precise_problems() {
    let server = Server::start().await;
    let problem = assert_problem(
        server.post("/user", json!({"email": "not-an-email"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "email",
    )
    .await;
    assert_eq!(problem.errors[0].field, "email");

    let problem = assert_problem(
        server
            .post(
                "/user",
                json!({"email": "a@b.co", "firstName": "x".repeat(101)}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "firstName",
    )
    .await;
    assert_eq!(problem.errors[0].field, "firstName");

    assert_problem(
        server.post("/user", json!({"firstName": "Ada"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "missing field `email`",
    )
    .await;
    assert_problem(
        server.post("/user", json!({"email": 42})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid type",
    )
    .await;
    assert_problem(
        server.raw_post("/user", "{\"email\": ").await,
        StatusCode::BAD_REQUEST,
        "not valid JSON",
    )
    .await;
    assert_problem(
        server.raw_post("/user", "").await,
        StatusCode::BAD_REQUEST,
        "empty",
    )
    .await;
    assert_problem(
        server.raw_post("/user", "[1, 2").await,
        StatusCode::BAD_REQUEST,
        "not valid JSON",
    )
    .await;
    let oversized = format!("{{\"email\": \"{}@example.com\"}}", "a".repeat(70 * 1024));
    assert_problem(
        server.raw_post("/user", oversized).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "65536",
    )
    .await;
}

#[tokio::test]
async fn basket_is_a_set_of_products_per_user() {
    let server = Server::start().await;
    let user = server.signup("basket@example.com").await;
    let float = product_uuid("UnicornFloat");
    let slippers = product_uuid("UnicornFluffy");
    let change = |product| json!({"uuid": user.uuid, "unicorns": [{"uuid": product, "name": "extra fields are ignored"}]});

    let basket: Basket = server
        .get(&format!("/unicorns/basket/{}", user.uuid))
        .await
        .json()
        .await
        .expect("basket");
    assert!(basket.unicorns.is_empty());

    for product in [float, slippers, float] {
        let response = server.post("/unicorns/basket", change(product)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let text: String = response.json().await.expect("a JSON string");
        assert_eq!(text, "Added Unicorn to basket");
    }
    let basket: Basket = server
        .get(&format!("/unicorns/basket/{}", user.uuid))
        .await
        .json()
        .await
        .expect("basket");
    assert_eq!(basket.uuid, user.uuid);
    let uuids: Vec<_> = basket.unicorns.iter().map(|r| r.uuid).collect();
    assert_eq!(uuids, vec![float, slippers]);

    let response = server
        .send(Method::DELETE, "/unicorns/basket", Some(change(float)))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // Removing what is not there is not an error.
    let response = server
        .send(Method::DELETE, "/unicorns/basket", Some(change(float)))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let basket: Basket = server
        .get(&format!("/unicorns/basket/{}", user.uuid))
        .await
        .json()
        .await
        .expect("basket");
    assert_eq!(
        basket.unicorns.iter().map(|r| r.uuid).collect::<Vec<_>>(),
        vec![slippers]
    );
}

#[tokio::test]
async fn basket_refuses_unknown_users_products_and_malformed_changes() {
    let server = Server::start().await;
    let user = server.signup("careful@example.com").await;
    let stranger = uuid::Uuid::new_v4();
    let float = product_uuid("UnicornFloat");

    let response = server
        .post(
            "/unicorns/basket",
            json!({"uuid": stranger, "unicorns": [{"uuid": float}]}),
        )
        .await;
    assert_problem(response, StatusCode::NOT_FOUND, "no user").await;
    let response = server
        .post(
            "/unicorns/basket",
            json!({"uuid": user.uuid, "unicorns": [{"uuid": stranger}]}),
        )
        .await;
    assert_problem(response, StatusCode::NOT_FOUND, "no product").await;
    let response = server
        .post(
            "/unicorns/basket",
            json!({"uuid": user.uuid, "unicorns": []}),
        )
        .await;
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "unicorns").await;
    let response = server
        .post(
            "/unicorns/basket",
            json!({"uuid": "not-a-uuid", "unicorns": [{"uuid": float}]}),
        )
        .await;
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "UUID").await;
    assert_problem(
        server.get(&format!("/unicorns/basket/{stranger}")).await,
        StatusCode::NOT_FOUND,
        "no user",
    )
    .await;
    assert_problem(
        server.get("/unicorns/basket/12345").await,
        StatusCode::BAD_REQUEST,
        "not a UUID",
    )
    .await;
}

#[tokio::test]
async fn unknown_routes_and_methods_get_problems() {
    let server = Server::start().await;
    assert_problem(
        server.get("/nowhere").await,
        StatusCode::NOT_FOUND,
        "/nowhere",
    )
    .await;
    assert_problem(
        server.send(Method::PUT, "/unicorns", None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "PUT",
    )
    .await;
}

#[tokio::test]
async fn health_names_the_region_and_legacy_probes_answer_plain_text() {
    let server = Server::start().await;
    let health: Health = server.get("/health").await.json().await.expect("health");
    assert_eq!(health.region, "us-west-1");
    assert_eq!(health.status, "ok");
    assert_eq!(health.version, env!("CARGO_PKG_VERSION"));
    for (path, body) in [
        ("/health/ping", "pong"),
        ("/health/ishealthy", "true"),
        ("/health/dbping", "OK"),
    ] {
        let response = server.get(path).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.text().await.expect("text"), body);
    }
}

#[tokio::test]
async fn cross_origin_callers_may_read_the_region() {
    let server = Server::start().await;
    let response = server
        .client
        .request(Method::OPTIONS, server.url("/unicorns/basket"))
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "DELETE")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .expect("preflight answered");
    assert!(response.status().is_success());
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let response = server
        .client
        .get(server.url("/unicorns/"))
        .header("origin", "https://shop.example")
        .send()
        .await
        .expect("answered");
    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .expect("ascii");
    assert!(exposed.contains("x-unishop-region"), "{exposed}");
}

#[tokio::test]
async fn a_failed_store_answers_503_not_500() {
    let server = Server::start().await;
    server.store.close().await;
    assert_problem(
        server.get("/health").await,
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
    )
    .await;
    assert_problem(
        server.get("/unicorns/").await,
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
    )
    .await;
}
