//! The migrate function (`Handler: migrate` in infra/templates/regional.yaml): the API's binary,
//! started as Lambda starts it (`AWS_LAMBDA_RUNTIME_API`, `_HANDLER=migrate`), takes one
//! invocation from a Runtime API on loopback and migrates and seeds a real MariaDB database.
//!
//! The Runtime API here is a stand-in for the Lambda service (the three routes a function uses:
//! next invocation, response, error), not Amazon's emulator: what it proves is the binary's side
//! of the protocol and the migration; the arm64 zip itself is exercised by `cargo xtask
//! package-lambda --smoke`. Skips, saying so, when `UNISHOP_TEST_MARIADB` is not set.

#[path = "support/mariadb.rs"]
mod mariadb;

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use sqlx::Connection;
use tokio::sync::mpsc;

/// What the function sent back: its response, or an error document.
#[derive(Debug)]
enum Answer {
    Response(String),
    Error(String),
}

#[derive(Clone)]
struct Runtime {
    /// The one event to hand out; later polls wait forever (the function idles as in Lambda).
    event: Arc<Mutex<Option<String>>>,
    answers: mpsc::UnboundedSender<Answer>,
}

async fn next(State(runtime): State<Runtime>) -> (HeaderMap, String) {
    let event = runtime
        .event
        .lock()
        .map(|mut slot| slot.take())
        .ok()
        .flatten();
    let Some(event) = event else {
        std::future::pending::<()>().await;
        unreachable!("pending never resolves");
    };
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("lambda-runtime-aws-request-id", "migrate-test-1"),
        ("lambda-runtime-deadline-ms", "4102444800000"),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:unishop-migrate",
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    (headers, event)
}

async fn response(
    State(runtime): State<Runtime>,
    Path(_id): Path<String>,
    body: String,
) -> StatusCode {
    let _ = runtime.answers.send(Answer::Response(body));
    StatusCode::ACCEPTED
}

async fn error(State(runtime): State<Runtime>, body: String) -> StatusCode {
    let _ = runtime.answers.send(Answer::Error(body));
    StatusCode::ACCEPTED
}

/// Kills the function's process when the test ends, passed or not.
struct Function(Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_migrate_handler_migrates_and_seeds_on_an_invocation() {
    let Some(server) = mariadb::shared() else {
        return;
    };
    let url = server.fresh_database("lambda_migrate").await;

    let (answers, mut received) = mpsc::unbounded_channel();
    let runtime = Runtime {
        event: Arc::new(Mutex::new(Some("{}".to_string()))),
        answers,
    };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(error))
        .with_state(runtime);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds a loopback port");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let _function = Function(
        Command::new(env!("CARGO_BIN_EXE_unishop-api"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("_HANDLER", "migrate")
            .env("AWS_LAMBDA_FUNCTION_NAME", "unishop-migrate")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/unishop/test/api")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_REGION", "us-east-1")
            .env("UNISHOP_REGION", "us-east-1")
            .env("UNISHOP_DATABASE_URL", &url)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starts unishop-api"),
    );

    // A guard against a hang, not a measurement.
    let answer = tokio::time::timeout(Duration::from_secs(120), received.recv())
        .await
        .expect("the function answers the invocation")
        .expect("the runtime stays up");
    match answer {
        Answer::Response(body) => {
            let body: serde_json::Value = serde_json::from_str(&body).expect("a JSON answer");
            assert_eq!(body, serde_json::json!({ "migrated": true }));
        }
        Answer::Error(body) => panic!("the migrate function failed: {body}"),
    }

    let mut database = sqlx::MySqlConnection::connect(&url)
        .await
        .expect("connects to the migrated database");
    let unicorns: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM unicorns")
        .fetch_one(&mut database)
        .await
        .expect("the catalogue table exists");
    assert!(unicorns > 0, "the catalogue is seeded");
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM unicorn_user")
        .fetch_one(&mut database)
        .await
        .expect("the users table exists");
    assert_eq!(users, 0);
}
