//! The API under Lambda: API Gateway HTTP API events (payload format 2.0) through `lambda_http`'s
//! own adapter, exactly as the Lambda runtime hands them to `http::router` in `src/main.rs`, and
//! the answers as API Gateway receives them.

use base64::Engine;
use lambda_http::request::LambdaRequest;
use lambda_http::tower::ServiceExt;
use lambda_http::{Adapter, Context, LambdaEvent};
use serde_json::{json, Value};
use unishop_api::auth::TokenKey;
use unishop_api::config::Secret;
use unishop_api::http::origin::{OriginSecret, ORIGIN_SECRET_HEADER};
use unishop_api::seed::product_uuid;
use unishop_api::store::sqlite::SqliteStore;
use unishop_api::{router, AppState};

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

async fn app() -> axum::Router {
    let store = SqliteStore::open("sqlite::memory:")
        .await
        .expect("in-memory store opens");
    let tokens = TokenKey::new("lambda-key-lambda-key-lambda-key-lamb").expect("key");
    router(AppState::new("us-west-1", store.into_stores(), tokens))
}

/// Hands one API Gateway event to the router as the Lambda runtime does, and answers the JSON
/// API Gateway receives back.
async fn invoke(app: &axum::Router, event: Value) -> Value {
    let request: LambdaRequest = serde_json::from_value(event).expect("an API Gateway v2 event");
    let response = Adapter::from(app.clone())
        .oneshot(LambdaEvent::new(request, Context::default()))
        .await
        .expect("the router never fails");
    serde_json::to_value(&response).expect("serialisable")
}

/// An HTTP API (payload 2.0) event as API Gateway sends it on the `$default` stage.
fn event(method: &str, path: &str, headers: Value, body: Option<(&[u8], bool)>) -> Value {
    let (path_only, query) = path.split_once('?').unwrap_or((path, ""));
    let mut headers = headers;
    headers["host"] = json!("a1b2c3d4e5.execute-api.us-west-1.amazonaws.com");
    headers["x-forwarded-proto"] = json!("https");
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path_only,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "a1b2c3d4e5",
            "domainName": "a1b2c3d4e5.execute-api.us-west-1.amazonaws.com",
            "domainPrefix": "a1b2c3d4e5",
            "http": {"method": method, "path": path_only, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": "test"},
            "requestId": "Jx2kQhKvIAMEVhw=",
            "routeKey": "$default",
            "stage": "$default",
            "time": "27/Nov/2026:11:25:04 +0000",
            "timeEpoch": 1795778704000u64
        },
        "isBase64Encoded": false
    });
    if !query.is_empty() {
        let parameters: serde_json::Map<String, Value> = query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_owned(), json!(v)))
            .collect();
        event["queryStringParameters"] = Value::Object(parameters);
    }
    if let Some((bytes, encode)) = body {
        event["isBase64Encoded"] = json!(encode);
        event["body"] = if encode {
            json!(BASE64.encode(bytes))
        } else {
            json!(String::from_utf8(bytes.to_vec()).expect("text body"))
        };
    }
    event
}

fn json_body(response: &Value) -> Value {
    assert_eq!(response["isBase64Encoded"], json!(false), "{response}");
    serde_json::from_str(response["body"].as_str().expect("a text body")).expect("JSON body")
}

fn assert_problem(response: &Value, status: u16, needle: &str) {
    assert_eq!(response["statusCode"], json!(status), "{response}");
    assert_eq!(
        response["headers"]["content-type"],
        json!("application/problem+json")
    );
    assert_eq!(response["headers"]["x-unishop-region"], json!("us-west-1"));
    let problem = json_body(response);
    assert_eq!(problem["status"], json!(status));
    assert!(
        problem["detail"].as_str().expect("detail").contains(needle),
        "{problem}"
    );
}

#[tokio::test]
async fn a_recorded_api_gateway_event_reads_the_catalogue() {
    let app = app().await;
    let recorded: Value =
        serde_json::from_str(include_str!("lambda_events/get_unicorns.json")).expect("event");
    let response = invoke(&app, recorded).await;
    assert_eq!(response["statusCode"], json!(200), "{response}");
    let headers = &response["headers"];
    assert_eq!(headers["x-unishop-region"], json!("us-west-1"));
    assert_eq!(headers["content-type"], json!("application/json"));
    // The edge's request id is kept, for logs on both sides.
    assert_eq!(headers["x-request-id"], json!("edge-7f3c"));
    assert!(headers["etag"].is_string(), "{headers}");
    let products = json_body(&response);
    let prices: Vec<i64> = products
        .as_array()
        .expect("a list")
        .iter()
        .map(|p| {
            assert_eq!(p["category"], json!("Clothing"));
            p["priceCents"].as_i64().expect("price")
        })
        .collect();
    assert!(prices.len() >= 2, "{products}");
    assert!(prices.windows(2).all(|w| w[0] >= w[1]), "{prices:?}");
}

#[tokio::test]
async fn a_shopper_signs_up_logs_in_and_fills_the_cart_through_lambda() {
    let app = app().await;
    let json_type = json!({"content-type": "application/json"});
    // API Gateway hands some bodies over base64-encoded; they arrive intact.
    let signup = br#"{"email": "lambda@example.com", "password": "correct horse battery"}"#;
    let created = invoke(
        &app,
        event("POST", "/user", json_type.clone(), Some((signup, true))),
    )
    .await;
    assert_eq!(created["statusCode"], json!(201), "{created}");
    assert_eq!(json_body(&created)["email"], json!("lambda@example.com"));

    let login = invoke(
        &app,
        event(
            "POST",
            "/user/login",
            json_type.clone(),
            Some((signup, false)),
        ),
    )
    .await;
    assert_eq!(login["statusCode"], json!(200), "{login}");
    let token = json_body(&login)["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let authed =
        json!({"content-type": "application/json", "authorization": format!("Bearer {token}")});

    let float = product_uuid("UnicornFloat");
    let put = invoke(
        &app,
        event(
            "PUT",
            &format!("/cart/items/{float}"),
            authed.clone(),
            Some((br#"{"quantity": 3}"#, false)),
        ),
    )
    .await;
    assert_eq!(put["statusCode"], json!(200), "{put}");
    assert_eq!(put["headers"]["cache-control"], json!("no-store"));
    let cart = invoke(&app, event("GET", "/cart", authed, None)).await;
    let cart = json_body(&cart);
    assert_eq!(cart["items"][0]["uuid"], json!(float.to_string()));
    assert_eq!(cart["items"][0]["quantity"], json!(3));
}

#[tokio::test]
async fn errors_reach_api_gateway_as_problem_documents() {
    let app = app().await;
    let unknown = invoke(&app, event("GET", "/nowhere", json!({}), None)).await;
    assert_problem(&unknown, 404, "no route GET /nowhere");

    let json_type = json!({"content-type": "application/json"});
    let broken = invoke(
        &app,
        event(
            "POST",
            "/user",
            json_type.clone(),
            Some((b"{not json", false)),
        ),
    )
    .await;
    assert_problem(&broken, 400, "");

    // Bytes that are not UTF-8 (a binary upload, base64-encoded by API Gateway): a 400, not a
    // crash of the function.
    let binary = invoke(
        &app,
        event(
            "POST",
            "/user",
            json!({"content-type": "application/octet-stream"}),
            Some((&[0xff, 0xfe, 0x00, 0x9f], true)),
        ),
    )
    .await;
    assert_problem(&binary, 400, "");

    let no_token = invoke(&app, event("GET", "/cart", json!({}), None)).await;
    assert_problem(&no_token, 401, "");
    assert_eq!(no_token["headers"]["www-authenticate"], json!("Bearer"));

    let wrong_method = invoke(&app, event("DELETE", "/unicorns", json!({}), None)).await;
    assert_problem(&wrong_method, 405, "DELETE");
}

#[tokio::test]
async fn health_and_cors_preflight_answer_through_lambda() {
    let app = app().await;
    let health = invoke(&app, event("GET", "/health", json!({}), None)).await;
    assert_eq!(health["statusCode"], json!(200), "{health}");
    assert_eq!(json_body(&health)["region"], json!("us-west-1"));

    let preflight = invoke(
        &app,
        event(
            "OPTIONS",
            "/cart",
            json!({"origin": "https://shop.example", "access-control-request-method": "PUT",
                   "access-control-request-headers": "authorization,content-type,idempotency-key"}),
            None,
        ),
    )
    .await;
    assert_eq!(preflight["statusCode"], json!(200), "{preflight}");
    let headers = &preflight["headers"];
    assert_eq!(headers["access-control-allow-origin"], json!("*"));
    assert!(headers["access-control-allow-headers"]
        .as_str()
        .expect("allowed headers")
        .contains("idempotency-key"));
}

#[tokio::test]
async fn behind_an_origin_secret_lambda_answers_only_the_edge() {
    let store = SqliteStore::open("sqlite::memory:")
        .await
        .expect("in-memory store opens");
    let tokens = TokenKey::new("lambda-key-lambda-key-lambda-key-lamb").expect("key");
    let secret = OriginSecret::fixed(&Secret("from-cloudfront-only".into())).expect("secret");
    let app =
        router(AppState::new("us-west-1", store.into_stores(), tokens).with_origin_secret(secret));

    // Straight at the execute-api address: no header, or a guessed one.
    let direct = invoke(&app, event("GET", "/unicorns", json!({}), None)).await;
    assert_problem(&direct, 403, ORIGIN_SECRET_HEADER);
    let guessed = invoke(
        &app,
        event(
            "GET",
            "/unicorns",
            json!({ORIGIN_SECRET_HEADER: "from-cloudfront-onl"}),
            None,
        ),
    )
    .await;
    assert_problem(&guessed, 403, "through the shop's CloudFront distribution");

    let through_the_edge = invoke(
        &app,
        event(
            "GET",
            "/unicorns",
            json!({ORIGIN_SECRET_HEADER: "from-cloudfront-only"}),
            None,
        ),
    )
    .await;
    assert_eq!(
        through_the_edge["statusCode"],
        json!(200),
        "{through_the_edge}"
    );

    let health = invoke(&app, event("GET", "/health", json!({}), None)).await;
    assert_eq!(health["statusCode"], json!(200), "{health}");
}
