//! The API over real HTTP: a server bound to 127.0.0.1:0 on a fresh in-memory database, driven by
//! an HTTP client, for every route and every kind of bad input.
//!
//! `http_mariadb.rs` compiles this same file as its module `suite` and runs every test again with
//! the API on MariaDB (the MySQL store); `http_mysql_dynamodb.rs` does so with the production
//! pairing: catalogue and users on MariaDB, carts and orders in DynamoDB (moto).

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use unishop_api::auth::TokenKey;
use unishop_api::seed::{product_uuid, CATALOGUE};
use unishop_api::store::sqlite::SqliteStore;
use unishop_api::{router, AppState};
use unishop_model::{
    Basket, Cart, Category, Health, MergeResult, Order, Problem, Product, Session,
};

/// The token key every test server shares, as two regions do.
const KEY: &str = "test-key-test-key-test-key-test-key";
const PASSWORD: &str = "correct horse battery";

#[path = "support/database.rs"]
mod database;
#[path = "support/mariadb.rs"]
mod mariadb;
#[path = "support/moto.rs"]
mod moto;

use database::{Database, Store};

/// The stores this copy of the suite runs the API on.
#[derive(PartialEq)]
enum Setup {
    Sqlite,
    MariaDb,
    MariaDbDynamo,
}

fn setup() -> Setup {
    match module_path!() {
        "http" => Setup::Sqlite,
        "http_mariadb::suite" => Setup::MariaDb,
        "http_mysql_dynamodb::suite" => Setup::MariaDbDynamo,
        other => panic!("{other} compiles http.rs with no setup of its own"),
    }
}

/// A fresh database that several servers may share (as two regions do); `None` when this copy of
/// the suite needs a server (MariaDB, moto) that is not available (the test skips).
async fn shared_database() -> Option<Database> {
    match setup() {
        Setup::Sqlite => Some(Database::sqlite()),
        Setup::MariaDb => Database::mariadb().await,
        Setup::MariaDbDynamo => Database::mariadb_dynamodb().await,
    }
}

struct Server {
    address: SocketAddr,
    client: Client,
    store: Store,
}

impl Server {
    /// A server on a fresh database of its own; `None` when the test must skip (see
    /// [`shared_database`]).
    async fn start() -> Option<Self> {
        let store = if setup() != Setup::Sqlite {
            shared_database().await?.open(None).await
        } else {
            Store::Sqlite(
                SqliteStore::open("sqlite::memory:")
                    .await
                    .expect("in-memory store opens"),
            )
        };
        Some(Self::serve(store, "us-west-1").await)
    }

    async fn serve(store: Store, region: &str) -> Self {
        Self::serve_with(store, region, unishop_api::http::DEFAULT_WRITE_DEADLINE).await
    }

    /// A server whose writes may commit at most `write_deadline` after their request arrived.
    async fn serve_with(store: Store, region: &str, write_deadline: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds loopback");
        let address = listener.local_addr().expect("has an address");
        let tokens = TokenKey::new(KEY).expect("key");
        let app = router(
            AppState::new(region, store.stores(), tokens).with_write_deadline(write_deadline),
        );
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

    /// A request to build further (headers, body), sent with [`Answered::answered`].
    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.answered().await
    }

    async fn get(&self, path: &str) -> Response {
        self.send(Method::GET, path, None).await
    }

    /// A GET with one request header.
    async fn get_with(&self, path: &str, header: &str, value: &str) -> Response {
        self.request(Method::GET, path)
            .header(header, value)
            .answered()
            .await
    }

    async fn post(&self, path: &str, body: Value) -> Response {
        self.send(Method::POST, path, Some(body)).await
    }

    async fn raw_post(&self, path: &str, body: impl Into<reqwest::Body>) -> Response {
        self.request(Method::POST, path)
            .header("content-type", "application/json")
            .body(body)
            .answered()
            .await
    }

    /// Signs up and logs in; the session carries the token.
    async fn shopper(&self, email: &str) -> Session {
        let response = self
            .post(
                "/user",
                json!({"email": email, "password": PASSWORD, "firstName": "Ada", "lastName": "Lovelace"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let response = self
            .post("/user/login", json!({"email": email, "password": PASSWORD}))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("session body")
    }

    /// A request with the session's bearer token.
    async fn authed(
        &self,
        session: &Session,
        method: Method,
        path: impl AsRef<str>,
        body: Option<Value>,
    ) -> Response {
        let mut request = self
            .request(method, path.as_ref())
            .bearer_auth(&session.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.answered().await
    }

    /// Sets the quantity of one cart line (`PUT /cart/items/{product}`).
    async fn set_line(
        &self,
        session: &Session,
        product: impl std::fmt::Display,
        quantity: u32,
    ) -> Response {
        let body = json!({ "quantity": quantity });
        self.authed(
            session,
            Method::PUT,
            format!("/cart/items/{product}"),
            Some(body),
        )
        .await
    }
}

/// Sends a request the server must answer (any status); a transport error fails the test.
trait Answered {
    async fn answered(self) -> Response;
}

impl Answered for RequestBuilder {
    async fn answered(self) -> Response {
        self.send().await.expect("request is answered")
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
    let Some(server) = Server::start().await else {
        return;
    };
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
async fn unknown_routes_and_methods_get_problems() {
    let Some(server) = Server::start().await else {
        return;
    };
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
    let Some(server) = Server::start().await else {
        return;
    };
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
    let Some(server) = Server::start().await else {
        return;
    };
    let response = server
        .request(Method::OPTIONS, "/unicorns/basket")
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "DELETE")
        .header("access-control-request-headers", "content-type")
        .answered()
        .await;
    assert!(response.status().is_success());
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let response = server
        .get_with("/unicorns/", "origin", "https://shop.example")
        .await;
    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .expect("ascii");
    assert!(exposed.contains("x-unishop-region"), "{exposed}");
}

#[tokio::test]
async fn a_failed_store_answers_503_not_500() {
    let Some(server) = Server::start().await else {
        return;
    };
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

// ---------------------------------------------------------------------------------------------
// Accounts and tokens

#[tokio::test]
async fn signup_and_login_with_a_password_answer_the_user_and_a_token() {
    let Some(server) = Server::start().await else {
        return;
    };
    let response = server
        .post(
            "/user",
            json!({"email": "  Ada@Example.COM ", "password": PASSWORD, "firstName": "Ada", "extra": 1}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let user: Value = response.json().await.expect("user");
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["firstName"], "Ada");
    let text = user.to_string();
    assert!(
        !text.contains("password") && !text.contains("argon2"),
        "{text}"
    );

    let response = server
        .post(
            "/user/login",
            json!({"email": "ADA@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let raw: Value = response.json().await.expect("session");
    for field in ["uuid", "email", "firstName", "token", "expiresAt"] {
        assert!(raw.get(field).is_some(), "{field} missing in {raw}");
    }
    assert!(!raw.to_string().contains("argon2"));
    let session: Session = serde_json::from_value(raw).expect("session shape");
    assert_eq!(
        session.user.uuid.to_string(),
        user["uuid"].as_str().expect("uuid")
    );
    assert_eq!(session.user.uuid.get_version_num(), 4);

    // The token opens the cart.
    let response = server.authed(&session, Method::GET, "/cart", None).await;
    assert_eq!(response.status(), StatusCode::OK);

    assert_problem(
        server
            .post(
                "/user",
                json!({"email": "ada@example.com", "password": PASSWORD}),
            )
            .await,
        StatusCode::CONFLICT,
        "already exists",
    )
    .await;
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let Some(server) = Server::start().await else {
        return;
    };
    server.shopper("known@example.com").await;
    let wrong = assert_problem(
        server
            .post(
                "/user/login",
                json!({"email": "known@example.com", "password": "not the password"}),
            )
            .await,
        StatusCode::UNAUTHORIZED,
        "email or password",
    )
    .await;
    let unknown = assert_problem(
        server
            .post(
                "/user/login",
                json!({"email": "nobody@example.com", "password": "not the password"}),
            )
            .await,
        StatusCode::UNAUTHORIZED,
        "email or password",
    )
    .await;
    assert_eq!(wrong, unknown);
    // A legacy login without a password names the missing field.
    let problem = assert_problem(
        server
            .post("/user/login", json!({"email": "known@example.com"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "password",
    )
    .await;
    assert_eq!(problem.errors[0].field, "password");
}

#[tokio::test]
async fn repeated_failed_logins_for_one_email_are_throttled() {
    let Some(server) = Server::start().await else {
        return;
    };
    let session = server.shopper("target@example.com").await;
    let attempt = || {
        server.post(
            "/user/login",
            json!({"email": "target@example.com", "password": "guess-guess"}),
        )
    };
    for _ in 0..5 {
        assert_eq!(attempt().await.status(), StatusCode::UNAUTHORIZED);
    }
    let response = attempt().await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert_problem(
        response,
        StatusCode::TOO_MANY_REQUESTS,
        "too many failed logins",
    )
    .await;
    // Even the right password waits: the throttle is checked before the password.
    let response = server
        .post(
            "/user/login",
            json!({"email": "target@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // Unknown emails are throttled alike (no enumeration through 429 either), and other emails
    // are not affected.
    for _ in 0..5 {
        server
            .post(
                "/user/login",
                json!({"email": "ghost@example.com", "password": "guess-guess"}),
            )
            .await;
    }
    let response = server
        .post(
            "/user/login",
            json!({"email": "ghost@example.com", "password": "guess-guess"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    server.shopper("other@example.com").await;
    // A token issued before keeps working.
    let response = server.authed(&session, Method::GET, "/cart", None).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn throttling_is_shared_by_two_regions_on_one_database() {
    let Some((_database, east, west)) = two_regions().await else {
        return;
    };
    let session = east.shopper("both@example.com").await;
    for server in [&east, &west, &east, &west, &east] {
        let response = server
            .post(
                "/user/login",
                json!({"email": "both@example.com", "password": "guess-guess"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = west
        .post(
            "/user/login",
            json!({"email": "both@example.com", "password": "guess-guess"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // And a token from one region opens the other (shared key).
    let response = west.authed(&session, Method::GET, "/cart", None).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn signup_refuses_bad_input_with_precise_problems() {
    let Some(server) = Server::start().await else {
        return;
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"email": "not-an-email", "password": PASSWORD}),
            "email",
        ),
        (json!({"email": "a@b.co", "password": "short"}), "password"),
        (
            json!({"email": "a@b.co", "password": "x".repeat(129)}),
            "password",
        ),
        (json!({"email": "a@b.co"}), "password"),
        (
            json!({"email": "a@b.co", "password": PASSWORD, "firstName": "x".repeat(101)}),
            "firstName",
        ),
        (
            json!({"email": "a@b.co", "password": PASSWORD, "lastName": "a\u{7}b"}),
            "lastName",
        ),
        (json!({"firstName": "Ada"}), "email"),
        (json!({"email": 42}), "email"),
    ];
    for (body, field) in cases {
        let problem = assert_problem(
            server.post("/user", body.clone()).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            field,
        )
        .await;
        assert_eq!(problem.errors[0].field, field, "{body}");
    }
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
    let oversized = format!("{{\"email\": \"{}@example.com\"}}", "a".repeat(70 * 1024));
    assert_problem(
        server.raw_post("/user", oversized).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "65536",
    )
    .await;
}

#[tokio::test]
async fn missing_expired_tampered_and_foreign_tokens_are_refused() {
    let Some(server) = Server::start().await else {
        return;
    };
    let session = server.shopper("tokens@example.com").await;
    let response = server.get("/cart").await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_problem(response, StatusCode::UNAUTHORIZED, "log in").await;

    let with = |value: String| {
        server
            .request(Method::GET, "/cart")
            .header("authorization", value)
            .send()
    };
    let key = TokenKey::new(KEY).expect("key");
    let (expired, _) = key.issue(session.user.uuid, 1_000, 60);
    assert_problem(
        with(format!("Bearer {expired}")).await.expect("answered"),
        StatusCode::UNAUTHORIZED,
        "expired",
    )
    .await;
    let (payload, signature) = session.token.split_once('.').expect("two parts");
    let (other, _) = key.issue(uuid::Uuid::new_v4(), 1_000, 1 << 40);
    let forged = format!("{}.{signature}", other.split_once('.').expect("two").0);
    let foreign_key = TokenKey::new("another-key-another-key-another-key").expect("key");
    let (foreign, _) = foreign_key.issue(session.user.uuid, unishop_api::auth::now_secs(), 60);
    for bad in [
        format!("Bearer {forged}"),
        format!("Bearer {payload}.AAAA{signature}"),
        format!("Bearer {foreign}"),
        "Bearer nonsense".to_owned(),
        "Bearer a.b.c".to_owned(),
    ] {
        assert_problem(
            with(bad.clone()).await.expect("answered"),
            StatusCode::UNAUTHORIZED,
            "not valid",
        )
        .await;
    }
    for scheme_only in [format!("Basic {}", session.token), "Bearer".to_owned()] {
        assert_problem(
            with(scheme_only).await.expect("answered"),
            StatusCode::UNAUTHORIZED,
            "must be `Bearer <token>`",
        )
        .await;
    }
    // The scheme is case-insensitive.
    let response = with(format!("bearer {}", session.token))
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// Cart and legacy basket

async fn cart_of(server: &Server, session: &Session) -> Cart {
    let response = server.authed(session, Method::GET, "/cart", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("cart")
}

#[tokio::test]
async fn the_cart_holds_quantities_priced_from_the_catalogue() {
    let Some(server) = Server::start().await else {
        return;
    };
    let session = server.shopper("cart@example.com").await;
    let float = product_uuid("UnicornFloat");
    let slippers = product_uuid("UnicornFluffy");
    assert_eq!(cart_of(&server, &session).await, Cart::default());

    let put = |product, quantity: Value| {
        server.authed(
            &session,
            Method::PUT,
            format!("/cart/items/{product}"),
            Some(json!({"quantity": quantity, "priceCents": 1})),
        )
    };
    assert_eq!(put(float, json!(2)).await.status(), StatusCode::OK);
    let response = put(slippers, json!(1)).await;
    let cart: Cart = response.json().await.expect("cart");
    assert_eq!(cart.items.len(), 2);
    assert_eq!(cart.items[0].uuid, float);
    assert_eq!(
        cart.items[0].price_cents, 4_999,
        "the client's price is ignored"
    );
    assert_eq!(cart.items[0].line_total_cents, 9_998);
    assert_eq!(cart.total_cents, 9_998 + 2_199);
    // Setting again replaces the quantity, keeping the line's place.
    put(float, json!(5)).await;
    let cart = cart_of(&server, &session).await;
    assert_eq!((cart.items[0].uuid, cart.items[0].quantity), (float, 5));

    for bad in [json!(0), json!(100), json!(-1), json!(1.5), json!("2")] {
        let problem = assert_problem(
            put(float, bad.clone()).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity",
        )
        .await;
        assert_eq!(problem.errors[0].field, "quantity", "{bad}");
    }
    assert_problem(
        put(uuid::Uuid::new_v4(), json!(1)).await,
        StatusCode::NOT_FOUND,
        "no product",
    )
    .await;
    assert_problem(
        server.set_line(&session, "nope", 1).await,
        StatusCode::BAD_REQUEST,
        "productUuid",
    )
    .await;

    let response = server
        .authed(
            &session,
            Method::DELETE,
            &format!("/cart/items/{float}"),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let cart: Cart = response.json().await.expect("cart");
    assert_eq!(cart.items.len(), 1);
    assert_eq!(cart.total_cents, 2_199);
    // Deleting again is not an error.
    let response = server
        .authed(
            &session,
            Method::DELETE,
            &format!("/cart/items/{float}"),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn a_guest_cart_merges_without_losing_lines() {
    let Some(server) = Server::start().await else {
        return;
    };
    let session = server.shopper("merge@example.com").await;
    let float = product_uuid("UnicornFloat");
    let dress = product_uuid("UnicornPartyDress");
    let unknown = uuid::Uuid::new_v4();
    server.set_line(&session, float, 90).await;
    let response = server
        .authed(
            &session,
            Method::POST,
            "/cart/merge",
            Some(json!({"items": [
                {"uuid": float, "quantity": 20},
                {"uuid": unknown, "quantity": 1},
                {"uuid": dress, "quantity": 2},
            ]})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let merged: MergeResult = response.json().await.expect("merge result");
    let lines: Vec<_> = merged
        .cart
        .items
        .iter()
        .map(|i| (i.uuid, i.quantity))
        .collect();
    assert_eq!(lines, vec![(float, 99), (dress, 2)]);
    assert_eq!(merged.unknown, vec![unknown]);
    assert_eq!(merged.capped, vec![float]);
    assert_eq!(cart_of(&server, &session).await, merged.cart);

    let problem = assert_problem(
        server
            .authed(
                &session,
                Method::POST,
                "/cart/merge",
                Some(json!({"items": [{"uuid": dress, "quantity": 0}]})),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "quantity",
    )
    .await;
    assert_eq!(problem.errors[0].field, "items[0].quantity");
    let too_many: Vec<Value> = (0..51)
        .map(|_| json!({"uuid": dress, "quantity": 1}))
        .collect();
    assert_problem(
        server
            .authed(
                &session,
                Method::POST,
                "/cart/merge",
                Some(json!({"items": too_many})),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "at most 50",
    )
    .await;
}

#[tokio::test]
async fn legacy_basket_is_the_cart_as_a_set_and_needs_the_owners_token() {
    let Some(server) = Server::start().await else {
        return;
    };
    let session = server.shopper("basket@example.com").await;
    let user = session.user.uuid;
    let float = product_uuid("UnicornFloat");
    let slippers = product_uuid("UnicornFluffy");
    let change = |product| json!({"uuid": user, "unicorns": [{"uuid": product, "name": "extra fields are ignored"}]});

    let basket: Basket = server
        .authed(
            &session,
            Method::GET,
            &format!("/unicorns/basket/{user}"),
            None,
        )
        .await
        .json()
        .await
        .expect("basket");
    assert!(basket.unicorns.is_empty());
    for product in [float, slippers, float] {
        let response = server
            .authed(
                &session,
                Method::POST,
                "/unicorns/basket",
                Some(change(product)),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let text: String = response.json().await.expect("a JSON string");
        assert_eq!(text, "Added Unicorn to basket");
    }
    let basket: Basket = server
        .authed(
            &session,
            Method::GET,
            &format!("/unicorns/basket/{user}"),
            None,
        )
        .await
        .json()
        .await
        .expect("basket");
    assert_eq!(basket.uuid, user);
    assert_eq!(
        basket.unicorns.iter().map(|r| r.uuid).collect::<Vec<_>>(),
        vec![float, slippers]
    );
    // The same lines in the cart, at quantity 1; a legacy add keeps a larger quantity.
    server.set_line(&session, float, 3).await;
    server
        .authed(
            &session,
            Method::POST,
            "/unicorns/basket",
            Some(change(float)),
        )
        .await;
    let cart = cart_of(&server, &session).await;
    assert_eq!(
        cart.items
            .iter()
            .map(|i| (i.uuid, i.quantity))
            .collect::<Vec<_>>(),
        vec![(float, 3), (slippers, 1)]
    );

    for _ in 0..2 {
        let response = server
            .authed(
                &session,
                Method::DELETE,
                "/unicorns/basket",
                Some(change(float)),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let cart = cart_of(&server, &session).await;
    assert_eq!(
        cart.items.iter().map(|i| i.uuid).collect::<Vec<_>>(),
        vec![slippers]
    );
}

#[tokio::test]
async fn a_token_never_reaches_another_users_basket_or_orders() {
    let Some(server) = Server::start().await else {
        return;
    };
    let alice = server.shopper("alice@example.com").await;
    let bob = server.shopper("bob@example.com").await;
    let float = product_uuid("UnicornFloat");
    let bobs = bob.user.uuid;
    assert_problem(
        server
            .authed(
                &alice,
                Method::GET,
                &format!("/unicorns/basket/{bobs}"),
                None,
            )
            .await,
        StatusCode::FORBIDDEN,
        "another user",
    )
    .await;
    for method in [Method::POST, Method::DELETE] {
        assert_problem(
            server
                .authed(
                    &alice,
                    method,
                    "/unicorns/basket",
                    Some(json!({"uuid": bobs, "unicorns": [{"uuid": float}]})),
                )
                .await,
            StatusCode::FORBIDDEN,
            "another user",
        )
        .await;
    }
    assert_problem(
        server
            .send(
                Method::POST,
                "/unicorns/basket",
                Some(json!({"uuid": bobs, "unicorns": [{"uuid": float}]})),
            )
            .await,
        StatusCode::UNAUTHORIZED,
        "log in",
    )
    .await;
    assert_problem(
        server.get(&format!("/unicorns/basket/{bobs}")).await,
        StatusCode::UNAUTHORIZED,
        "log in",
    )
    .await;
    assert!(cart_of(&server, &bob).await.items.is_empty());

    // Bob's order is invisible to Alice.
    server.set_line(&bob, float, 1).await;
    let order = place(&server, &bob, "bob-1", shipping()).await;
    assert_eq!(order.status(), StatusCode::CREATED);
    let order: Order = order.json().await.expect("order");
    assert_problem(
        server
            .authed(&alice, Method::GET, &format!("/orders/{}", order.id), None)
            .await,
        StatusCode::NOT_FOUND,
        "no order",
    )
    .await;
    let alices: Vec<Order> = server
        .authed(&alice, Method::GET, "/orders", None)
        .await
        .json()
        .await
        .expect("orders");
    assert!(alices.is_empty());
    // The same key used by Alice is her own key.
    server.set_line(&alice, float, 2).await;
    let response = place(&server, &alice, "bob-1", shipping()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn legacy_basket_refuses_unknown_products_and_malformed_changes() {
    let Some(server) = Server::start().await else {
        return;
    };
    let session = server.shopper("careful@example.com").await;
    let user = session.user.uuid;
    let stranger = uuid::Uuid::new_v4();
    let float = product_uuid("UnicornFloat");
    let post = |body: Value| server.authed(&session, Method::POST, "/unicorns/basket", Some(body));
    assert_problem(
        post(json!({"uuid": user, "unicorns": [{"uuid": stranger}]})).await,
        StatusCode::NOT_FOUND,
        "no product",
    )
    .await;
    assert_problem(
        post(json!({"uuid": user, "unicorns": []})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unicorns",
    )
    .await;
    let problem = assert_problem(
        post(json!({"uuid": "not-a-uuid", "unicorns": [{"uuid": float}]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "UUID",
    )
    .await;
    assert_eq!(problem.errors[0].field, "uuid");
    let problem = assert_problem(
        post(json!({"uuid": user, "unicorns": [{"uuid": 5}]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid type",
    )
    .await;
    assert_eq!(problem.errors[0].field, "unicorns[0].uuid");
    assert_problem(
        server
            .authed(&session, Method::GET, "/unicorns/basket/12345", None)
            .await,
        StatusCode::BAD_REQUEST,
        "not a UUID",
    )
    .await;
}

#[tokio::test]
async fn a_cart_holds_at_most_fifty_products() {
    let Some(database) = shared_database().await else {
        return;
    };
    let store = database.open(None).await;
    let server = Server::serve(store.clone(), "us-west-1").await;
    let session = server.shopper("full@example.com").await;
    // Fill the cart through the store (the catalogue has only ten products).
    let carts = store.stores().carts;
    database.insert_products(51).await;
    for i in 0..50u128 {
        carts
            .set_quantity(session.user.uuid, uuid::Uuid::from_u128(i + 1), 1)
            .await
            .expect("fits");
    }
    let float = product_uuid("UnicornFloat");
    assert_problem(
        server.set_line(&session, float, 1).await,
        StatusCode::CONFLICT,
        "at most 50",
    )
    .await;
    assert_problem(
        server
            .authed(
                &session,
                Method::POST,
                "/unicorns/basket",
                Some(json!({"uuid": session.user.uuid, "unicorns": [{"uuid": float}]})),
            )
            .await,
        StatusCode::CONFLICT,
        "at most 50",
    )
    .await;
    // Changing a line already there is fine.
    carts
        .set_quantity(session.user.uuid, uuid::Uuid::from_u128(1), 7)
        .await
        .expect("existing line");
}

// ---------------------------------------------------------------------------------------------
// Orders

fn shipping() -> Value {
    json!({"shipping": {"name": "Ada Lovelace", "line1": "1 Analytical St", "city": "London",
        "postalCode": "N1 9GU", "country": "GB"}})
}

async fn place(server: &Server, session: &Session, key: &str, body: Value) -> Response {
    post_with_key(server, Some(session), "/orders", key, body).await
}

/// A POST with an `Idempotency-Key`, and the session's token when there is one.
async fn post_with_key(
    server: &Server,
    session: Option<&Session>,
    path: &str,
    key: &str,
    body: Value,
) -> Response {
    let mut request = server
        .request(Method::POST, path)
        .header("idempotency-key", key)
        .json(&body);
    if let Some(session) = session {
        request = request.bearer_auth(&session.token);
    }
    request.answered().await
}

#[tokio::test]
async fn an_order_is_placed_once_per_key_at_catalogue_prices() {
    let Some(server) = Server::start().await else {
        return;
    };
    let session = server.shopper("orders@example.com").await;
    let float = product_uuid("UnicornFloat");
    let dress = product_uuid("UnicornPartyDress");
    assert_problem(
        place(&server, &session, "k1", shipping()).await,
        StatusCode::CONFLICT,
        "empty",
    )
    .await;
    for (product, quantity) in [(float, 2), (dress, 1)] {
        server.set_line(&session, product, quantity).await;
    }
    let response = place(&server, &session, "k1", shipping()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let order: Order = response.json().await.expect("order");
    assert_eq!(order.region, "us-west-1");
    assert_eq!(order.total_cents, 2 * 4_999 + 3_950);
    assert_eq!(order.items.len(), 2);
    assert_eq!(order.shipping.postal_code, "N1 9GU");
    assert!(order.created_at.ends_with('Z'));
    assert!(
        cart_of(&server, &session).await.items.is_empty(),
        "the order empties the cart"
    );

    // The same key and body again: the same order, not a second one (the cart is empty now).
    let response = place(&server, &session, "k1", shipping()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let again: Order = response.json().await.expect("order");
    assert_eq!(again, order);
    // Whitespace and extra fields do not make it another request.
    let mut padded = shipping();
    padded["shipping"]["name"] = json!("  Ada Lovelace ");
    padded["note"] = json!("ignored");
    assert_eq!(
        place(&server, &session, "k1", padded).await.status(),
        StatusCode::OK
    );
    // The same key with another body is refused.
    let mut other = shipping();
    other["shipping"]["city"] = json!("Paris");
    let problem = assert_problem(
        place(&server, &session, "k1", other).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "already used",
    )
    .await;
    assert_eq!(problem.errors[0].field, "Idempotency-Key");

    // A second order, then the list is newest first and each can be read.
    server.set_line(&session, dress, 4).await;
    let second: Order = place(&server, &session, "k2", shipping())
        .await
        .json()
        .await
        .expect("order");
    assert_ne!(second.id, order.id);
    let orders: Vec<Order> = server
        .authed(&session, Method::GET, "/orders", None)
        .await
        .json()
        .await
        .expect("orders");
    assert_eq!(
        orders.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![second.id, order.id]
    );
    let fetched: Order = server
        .authed(
            &session,
            Method::GET,
            &format!("/orders/{}", order.id),
            None,
        )
        .await
        .json()
        .await
        .expect("order");
    assert_eq!(fetched, order);
    assert_problem(
        server
            .authed(&session, Method::GET, "/orders/not-an-id", None)
            .await,
        StatusCode::BAD_REQUEST,
        "not a UUID",
    )
    .await;
}

#[tokio::test]
async fn an_order_names_what_is_wrong_with_its_request() {
    let Some(server) = Server::start().await else {
        return;
    };
    let session = server.shopper("picky@example.com").await;
    let float = product_uuid("UnicornFloat");
    server.set_line(&session, float, 1).await;
    let response = server
        .request(Method::POST, "/orders")
        .bearer_auth(&session.token)
        .json(&shipping())
        .answered()
        .await;
    assert_problem(response, StatusCode::BAD_REQUEST, "Idempotency-Key").await;
    for bad in ["", &"k".repeat(65), "has space"] {
        assert_problem(
            place(&server, &session, bad, shipping()).await,
            StatusCode::BAD_REQUEST,
            "Idempotency-Key",
        )
        .await;
    }
    let problem = assert_problem(
        place(
            &server,
            &session,
            "k",
            json!({"shipping": {"name": " ", "line1": "x", "city": "c".repeat(101), "postalCode": "p", "country": "GB"}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "shipping.name",
    )
    .await;
    let fields: Vec<_> = problem.errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, vec!["shipping.name", "shipping.city"]);
    let problem = assert_problem(
        place(&server, &session, "k", json!({"shipping": {"name": "A"}})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "missing field",
    )
    .await;
    assert_eq!(problem.errors[0].field, "shipping.line1");
    // Nothing was ordered by the refused attempts.
    assert_eq!(cart_of(&server, &session).await.items.len(), 1);
    assert_problem(
        server.send(Method::POST, "/orders", Some(shipping())).await,
        StatusCode::UNAUTHORIZED,
        "log in",
    )
    .await;
}

#[tokio::test]
async fn concurrent_retries_with_one_key_place_one_order() {
    let Some((_database, east, west)) = two_regions().await else {
        return;
    };
    let session = east.shopper("retry@example.com").await;
    let float = product_uuid("UnicornFloat");
    east.set_line(&session, float, 1).await;
    // The storefront retries against the standby with the same key: both answer one order.
    let (a, b) = tokio::join!(
        place(&east, &session, "same-key", shipping()),
        place(&west, &session, "same-key", shipping())
    );
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CREATED]);
    let a: Order = a.json().await.expect("order");
    let b: Order = b.json().await.expect("order");
    assert_eq!(a, b);
    let orders: Vec<Order> = west
        .authed(&session, Method::GET, "/orders", None)
        .await
        .json()
        .await
        .expect("orders");
    assert_eq!(orders.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Writes safe to retry, in the same region or the other

/// Two regions sharing one database, as the local two-region stack runs them.
async fn two_regions() -> Option<(Database, Server, Server)> {
    let database = shared_database().await?;
    let east = Server::serve(database.open(None).await, "us-east-1").await;
    let west = Server::serve(database.open(None).await, "us-west-1").await;
    Some((database, east, west))
}

async fn signup_with_key(server: &Server, key: &str, body: Value) -> Response {
    post_with_key(server, None, "/user", key, body).await
}

async fn merge_with_key(server: &Server, session: &Session, key: &str, body: Value) -> Response {
    post_with_key(server, Some(session), "/cart/merge", key, body).await
}

#[tokio::test]
async fn a_signup_sent_twice_with_its_key_makes_one_account() {
    let Some((_database, east, west)) = two_regions().await else {
        return;
    };
    let body = json!({"email": "twice@example.com", "password": PASSWORD, "firstName": "Ada"});
    let first = signup_with_key(&east, "signup-1", body.clone()).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.expect("user");
    // The answer was lost; the client sends the same sign-up to the standby.
    let again = signup_with_key(&west, "signup-1", body.clone()).await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(region_of(&again), "us-west-1");
    let again: Value = again.json().await.expect("user");
    assert_eq!(again, first);

    // Another key, no key, or the key with another password: the email is taken.
    for response in [
        signup_with_key(&east, "signup-2", body.clone()).await,
        east.post("/user", body.clone()).await,
        signup_with_key(
            &east,
            "signup-1",
            json!({"email": "twice@example.com", "password": "another password"}),
        )
        .await,
    ] {
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let problem: Problem = response.json().await.expect("problem");
        assert!(problem.detail.contains("already exists"), "{problem:?}");
    }
    let session: Session = west
        .post(
            "/user/login",
            json!({"email": "twice@example.com", "password": PASSWORD}),
        )
        .await
        .json()
        .await
        .expect("session");
    assert_eq!(
        session.user.uuid.to_string(),
        first["uuid"].as_str().expect("uuid")
    );

    let bad_key = signup_with_key(&east, "with space", body).await;
    assert_eq!(bad_key.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_merge_sent_twice_with_its_key_is_applied_once() {
    let Some((_database, east, west)) = two_regions().await else {
        return;
    };
    let session = east.shopper("merge-twice@example.com").await;
    let float = product_uuid("UnicornFloat");
    let cool = product_uuid("UnicornCool");
    let guest = json!({"items": [{"uuid": float, "quantity": 2}, {"uuid": cool, "quantity": 1}]});
    let first = merge_with_key(&east, &session, "merge-1", guest.clone()).await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: MergeResult = first.json().await.expect("merge result");
    let again = merge_with_key(&west, &session, "merge-1", guest.clone()).await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: MergeResult = again.json().await.expect("merge result");
    assert_eq!(again.cart, first.cart);
    let lines: Vec<_> = cart_of(&west, &session)
        .await
        .items
        .iter()
        .map(|i| (i.uuid, i.quantity))
        .collect();
    assert_eq!(lines, vec![(float, 2), (cool, 1)]);

    // A new key is a new merge: quantities add up.
    let other = merge_with_key(&east, &session, "merge-2", guest).await;
    let other: MergeResult = other.json().await.expect("merge result");
    let lines: Vec<_> = other
        .cart
        .items
        .iter()
        .map(|i| (i.uuid, i.quantity))
        .collect();
    assert_eq!(lines, vec![(float, 4), (cool, 2)]);

    assert_problem(
        merge_with_key(&west, &session, "", json!({"items": []})).await,
        StatusCode::BAD_REQUEST,
        "Idempotency-Key",
    )
    .await;
}

#[tokio::test]
async fn setting_and_removing_a_line_twice_is_the_same_as_once() {
    let Some((_database, east, west)) = two_regions().await else {
        return;
    };
    let session = east.shopper("absolute@example.com").await;
    let float = product_uuid("UnicornFloat");
    let path = format!("/cart/items/{float}");
    for server in [&east, &west] {
        let response = server.set_line(&session, float, 3).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let lines: Vec<_> = cart_of(&east, &session)
        .await
        .items
        .iter()
        .map(|i| (i.uuid, i.quantity))
        .collect();
    assert_eq!(lines, vec![(float, 3)]);
    for server in [&west, &east] {
        let response = server.authed(&session, Method::DELETE, &path, None).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert!(cart_of(&west, &session).await.items.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Catalogue

#[tokio::test]
async fn the_catalogue_filters_sorts_and_refuses_unknown_sorts() {
    let Some(server) = Server::start().await else {
        return;
    };
    let products = |path: &str| {
        let path = path.to_owned();
        let server = &server;
        async move {
            let response = server.get(&path).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            response.json::<Vec<Product>>().await.expect("products")
        }
    };
    let clothing = products("/unicorns?category=Clothing&sort=-price").await;
    assert_eq!(clothing.len(), 4);
    assert!(clothing.windows(2).all(|w| w[0].cents() >= w[1].cents()));
    let cheap_first = products("/unicorns/?sort=price").await;
    assert_eq!(cheap_first.len(), 10);
    assert!(cheap_first.windows(2).all(|w| w[0].cents() <= w[1].cents()));
    let by_name = products("/unicorns?sort=name").await;
    assert!(by_name
        .windows(2)
        .all(|w| w[0].name.to_lowercase() <= w[1].name.to_lowercase()));
    let found = products("/unicorns?q=BACKPACK").await;
    assert_eq!(found.len(), 2);
    assert!(products("/unicorns?q=nothing-like-this").await.is_empty());
    assert!(products("/unicorns?category=nope").await.is_empty());
    assert_eq!(products("/unicorns?unknown=1").await.len(), 10);

    let problem = assert_problem(
        server.get("/unicorns?sort=cheapest").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "name, price, -price",
    )
    .await;
    assert_eq!(problem.errors[0].field, "sort");
    assert_problem(
        server
            .get(&format!("/unicorns?q={}", "x".repeat(101)))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "at most 100",
    )
    .await;
}

#[tokio::test]
async fn products_and_categories_can_be_read_one_by_one() {
    let Some(server) = Server::start().await else {
        return;
    };
    let float = product_uuid("UnicornFloat");
    let response = server.get(&format!("/unicorns/{float}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let product: Product = response.json().await.expect("product");
    assert_eq!(product, CATALOGUE[0].to_product());
    assert_problem(
        server
            .get(&format!("/unicorns/{}", uuid::Uuid::new_v4()))
            .await,
        StatusCode::NOT_FOUND,
        "no product",
    )
    .await;
    assert_problem(
        server.get("/unicorns/float").await,
        StatusCode::BAD_REQUEST,
        "not a UUID",
    )
    .await;

    let categories: Vec<Category> = server
        .get("/categories")
        .await
        .json()
        .await
        .expect("categories");
    let names: Vec<_> = categories.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["Bags", "Clothing", "Footwear", "Home", "Pool & Beach"]
    );
    assert_eq!(categories.iter().map(|c| c.count).sum::<u32>(), 10);
}

#[tokio::test]
async fn catalogue_reads_are_cacheable_and_revalidate_with_304() {
    let Some(server) = Server::start().await else {
        return;
    };
    let float = product_uuid("UnicornFloat");
    for path in [
        "/unicorns",
        "/unicorns/",
        "/unicorns?sort=price",
        &format!("/unicorns/{float}"),
        "/categories",
    ] {
        let response = server.get(path).await;
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=60, stale-if-error=86400",
            "{path}"
        );
        let etag = response.headers()["etag"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(
            etag.starts_with('"') && etag.ends_with('"') && etag.len() == 34,
            "{etag}"
        );
        let body = response.bytes().await.expect("body");
        let response = server.get_with(path, "if-none-match", &etag).await;
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(response.headers()["etag"].to_str().expect("ascii"), etag);
        assert!(response.bytes().await.expect("body").is_empty());
        let response = server.get_with(path, "if-none-match", "\"stale\"").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.bytes().await.expect("body"),
            body,
            "{path}: same body, same tag"
        );
    }
    // Different selections have different tags.
    let all = server.get("/unicorns").await.headers()["etag"].clone();
    let sorted = server.get("/unicorns?sort=price").await.headers()["etag"].clone();
    assert_ne!(all, sorted);
}

// ---------------------------------------------------------------------------------------------
// Request ids, faults, the document

#[tokio::test]
async fn request_ids_are_kept_when_sensible_and_made_otherwise() {
    let Some(server) = Server::start().await else {
        return;
    };
    let response = server
        .get_with("/health", "x-request-id", "shopper-report-42")
        .await;
    assert_eq!(response.headers()["x-request-id"], "shopper-report-42");
    for bad in ["", "has space", &"x".repeat(65)] {
        let response = server.get_with("/nowhere", "x-request-id", bad).await;
        let id = response.headers()["x-request-id"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(
            uuid::Uuid::parse_str(&id).is_ok(),
            "{bad:?} replaced by {id}"
        );
    }
    let first = server.get("/health").await.headers()["x-request-id"].clone();
    let second = server.get("/health").await.headers()["x-request-id"].clone();
    assert_ne!(first, second);
}

#[tokio::test]
async fn a_locked_database_answers_503_and_writes_nothing() {
    // Carts and orders in DynamoDB have no lock to hold: a moto_server of this test's own is
    // stopped instead (see `Database::hold_write_lock`).
    let database = match setup() {
        Setup::MariaDbDynamo => Database::mariadb_dynamodb_own_moto().await,
        _ => shared_database().await,
    };
    let Some(database) = database else {
        return;
    };
    // SQLite waits for its lock as long as the store lets it; MySQL's store waits its own limit
    // while the server's lock wait (one second) runs out; DynamoDB's client its own timeouts.
    let wait_limit = match database {
        Database::Sqlite { .. } => Some(std::time::Duration::from_millis(200)),
        Database::MariaDb { .. } | Database::MariaDbDynamo { .. } => None,
    };
    let server = Server::serve(database.open(wait_limit).await, "us-west-1").await;
    let session = server.shopper("locked@example.com").await;
    let float = product_uuid("UnicornFloat");
    server.set_line(&session, float, 1).await;
    // Another process holds the lock (as a stuck writer would).
    let lock = database.hold_write_lock(session.user.uuid).await;
    assert_problem(
        place(&server, &session, "locked", shipping()).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
    )
    .await;
    assert_problem(
        server.set_line(&session, float, 2).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
    )
    .await;
    drop(lock);
    // Nothing was half-written: the cart is as it was, and the key still places the order.
    let cart = cart_of(&server, &session).await;
    assert_eq!(
        cart.items.iter().map(|i| i.quantity).collect::<Vec<_>>(),
        vec![1]
    );
    assert_eq!(
        place(&server, &session, "locked", shipping())
            .await
            .status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn the_openapi_document_covers_every_route() {
    let Some(server) = Server::start().await else {
        return;
    };
    let response = server.get("/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = response.json().await.expect("json");
    assert!(doc["openapi"].as_str().expect("version").starts_with("3.1"));
    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/unicorns", "get"),
        ("/unicorns/", "get"),
        ("/unicorns/{uuid}", "get"),
        ("/categories", "get"),
        ("/user", "post"),
        ("/user/login", "post"),
        ("/cart", "get"),
        ("/cart/items/{productUuid}", "put"),
        ("/cart/items/{productUuid}", "delete"),
        ("/cart/merge", "post"),
        ("/unicorns/basket", "post"),
        ("/unicorns/basket", "delete"),
        ("/unicorns/basket/{userUuid}", "get"),
        ("/orders", "post"),
        ("/orders", "get"),
        ("/orders/{id}", "get"),
        ("/health", "get"),
        ("/health/ping", "get"),
        ("/health/ishealthy", "get"),
        ("/health/dbping", "get"),
        ("/openapi.json", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} undocumented"
        );
    }
    assert_eq!(paths.len(), 18, "a route to add to the list above");
    for schema in [
        "Product",
        "Problem",
        "Session",
        "Cart",
        "Order",
        "MergeResult",
        "SignupRequest",
    ] {
        assert!(
            doc["components"]["schemas"].get(schema).is_some(),
            "{schema}"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

// ---------------------------------------------------------------------------------------------
// Write deadlines

/// A region that takes up a write only after its client gave up (it was frozen, say) must not
/// apply it: the client has sent it to the other region meanwhile, where newer writes may follow.
#[tokio::test]
async fn a_write_past_its_deadline_is_refused_and_changes_nothing() {
    let Some(database) = shared_database().await else {
        return;
    };
    let in_time = Server::serve(database.open(None).await, "us-west-1").await;
    // A deadline of zero has passed by the time any write could commit.
    let late = Server::serve_with(database.open(None).await, "us-west-1", Duration::ZERO).await;
    let session = in_time.shopper("late@example.com").await;
    let float = product_uuid("UnicornFloat");
    let cool = product_uuid("UnicornCool");
    assert_eq!(
        in_time.set_line(&session, float, 2).await.status(),
        StatusCode::OK
    );
    let before = cart_of(&in_time, &session).await;

    assert_problem(
        late.set_line(&session, float, 5).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "Idempotency-Key",
    )
    .await;
    assert_problem(
        late.set_line(&session, cool, 1).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "not applied",
    )
    .await;
    let removed = late
        .authed(
            &session,
            Method::DELETE,
            format!("/cart/items/{float}"),
            None,
        )
        .await;
    assert_problem(removed, StatusCode::SERVICE_UNAVAILABLE, "not applied").await;
    let merge = json!({"items": [{"uuid": cool, "quantity": 1}]});
    assert_problem(
        merge_with_key(&late, &session, "late-merge", merge.clone()).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "not applied",
    )
    .await;
    assert_problem(
        place(&late, &session, "late-order", shipping()).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "not applied",
    )
    .await;
    let signup = json!({"email": "late-signup@example.com", "password": PASSWORD});
    assert_problem(
        signup_with_key(&late, "late-signup", signup.clone()).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "not applied",
    )
    .await;

    // Reads have no deadline, and show that nothing changed.
    assert_eq!(cart_of(&late, &session).await, before);
    let orders = late.authed(&session, Method::GET, "/orders", None).await;
    assert_eq!(orders.status(), StatusCode::OK);
    let orders: Vec<Order> = orders.json().await.expect("orders");
    assert!(orders.is_empty(), "{orders:?}");
    assert_eq!(late.get("/unicorns").await.status(), StatusCode::OK);

    // Sent again with the same keys to a region with time to spare, each applies once.
    let merged = merge_with_key(&in_time, &session, "late-merge", merge).await;
    assert_eq!(merged.status(), StatusCode::OK);
    assert_eq!(
        signup_with_key(&in_time, "late-signup", signup)
            .await
            .status(),
        StatusCode::CREATED
    );
    let order = place(&in_time, &session, "late-order", shipping()).await;
    assert_eq!(order.status(), StatusCode::CREATED);
    let order: Order = order.json().await.expect("order");
    let quantities: Vec<_> = order.items.iter().map(|i| (i.uuid, i.quantity)).collect();
    assert_eq!(quantities, vec![(float, 2), (cool, 1)]);
}

#[tokio::test]
async fn a_write_that_waited_past_its_deadline_before_being_read_is_refused() {
    let Some(server) = Server::start().await else {
        return;
    };
    let session = server.shopper("waited@example.com").await;
    let float = product_uuid("UnicornFloat");
    let now_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("the clock is past 1970")
            .as_millis()
    };
    let put = |received_at: String, quantity: u32| {
        server
            .request(Method::PUT, &format!("/cart/items/{float}"))
            .bearer_auth(&session.token)
            .header(unishop_model::RECEIVED_AT_HEADER, received_at)
            .json(&json!({ "quantity": quantity }))
            .send()
    };

    // Received by the edge a minute ago (it sat in a frozen process's socket): refused untouched.
    let stale = put((now_ms() - 60_000).to_string(), 7)
        .await
        .expect("request is answered");
    assert_problem(stale, StatusCode::SERVICE_UNAVAILABLE, "not applied").await;
    assert!(cart_of(&server, &session).await.items.is_empty());

    // Received just now, or with a timestamp that is unreadable or in the future: applied, with
    // the deadline counted from the API's own receipt (never a 500).
    for (quantity, received_at) in [
        (1, None),
        (2, Some("yesterday".to_owned())),
        (3, Some((now_ms() + 60_000).to_string())),
        (4, Some(u64::MAX.to_string())),
        (5, Some("18446744073709551616".to_owned())),
        (6, Some("-5".to_owned())),
        (7, Some(String::new())),
        (8, Some(format!("{}.5", now_ms()))),
    ] {
        let received_at = received_at.unwrap_or_else(|| now_ms().to_string());
        let fresh = put(received_at, quantity)
            .await
            .expect("request is answered");
        assert_eq!(fresh.status(), StatusCode::OK);
        let cart = cart_of(&server, &session).await;
        assert_eq!(cart.items[0].quantity, quantity);
    }
}
