//! The API served on loopback over given stores, with one signed-in shopper: what the fault tests
//! (a database or DynamoDB stopped mid-test) start from. Each test adds its own way of calling.
//! Also the sign-up and log-in of a shopper at any API base (the binary's test starts its own).

// Each test binary that includes this module uses a part of it.
#![allow(dead_code)]

use reqwest::{Client, StatusCode};
use serde_json::json;
use tokio::net::TcpListener;
use unishop_api::auth::TokenKey;
use unishop_api::store::Stores;
use unishop_api::{router, AppState};
use unishop_model::Session;

/// A running API and a shopper's session on it.
pub struct Api {
    pub base: String,
    pub client: Client,
    pub token: String,
}

/// Signs up `email` (password "correct horse battery") at the API at `base` and logs in.
pub async fn sign_up_and_log_in(client: &Client, base: &str, email: &str) -> Session {
    let credentials = json!({"email": email, "password": "correct horse battery"});
    let signed_up = client
        .post(format!("{base}/user"))
        .json(&credentials)
        .send()
        .await
        .expect("signs up");
    assert_eq!(signed_up.status(), StatusCode::CREATED);
    client
        .post(format!("{base}/user/login"))
        .json(&credentials)
        .send()
        .await
        .expect("logs in")
        .json()
        .await
        .expect("session")
}

/// Serves `stores` on a free loopback port (region us-east-1), then signs up and logs in one
/// shopper with `client`.
pub async fn serve_signed_in(stores: Stores, client: Client) -> Api {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds loopback");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let tokens = TokenKey::new("test-key-test-key-test-key-test-key").expect("key");
    let app = router(AppState::new("us-east-1", stores, tokens));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let session = sign_up_and_log_in(&client, &base, "fault@example.com").await;
    Api {
        base,
        client,
        token: session.token,
    }
}
