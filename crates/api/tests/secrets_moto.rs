//! The `unishop-api` binary as Lambda runs it against AWS: MySQL password and token key from
//! Secrets Manager (moto, an AWS emulator, standing in), read once at start and never printed;
//! `unishop-api migrate` prepares the database, and the server it then starts issues tokens
//! signed with the key from the secret.
//!
//! Needs `UNISHOP_TEST_MOTO_URL` (a running moto_server) and `UNISHOP_TEST_MARIADB`; both are set
//! by `cargo xtask test`, and the test is skipped, saying so, without them.

#[path = "support/api.rs"]
mod api;
#[path = "support/mariadb.rs"]
mod mariadb;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use serde_json::json;
use sqlx::Connection;
use unishop_api::auth::{now_secs, TokenKey};

const MOTO_URL: &str = "UNISHOP_TEST_MOTO_URL";

fn moto_url() -> Option<String> {
    match std::env::var(MOTO_URL) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("skipped: {MOTO_URL} is not set (`cargo xtask test` starts moto_server and sets it)");
            None
        }
    }
}

fn secrets_client(moto: &str) -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(moto)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .http_client(unishop_api::aws::https_client())
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

async fn create_secret(client: &aws_sdk_secretsmanager::Client, name: &str, value: &str) -> String {
    client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .expect("moto creates the secret")
        .arn()
        .expect("an ARN")
        .to_owned()
}

/// The binary with the environment Lambda would give it, and nothing of this process's own
/// `UNISHOP_*` or AWS settings.
fn api(moto: &str, database_url: &str, database_arn: &str, token_arn: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_unishop-api"));
    for (name, _) in std::env::vars() {
        if name.starts_with("UNISHOP_") || name.starts_with("AWS_") {
            command.env_remove(name);
        }
    }
    command
        .env("UNISHOP_DATABASE_URL", database_url)
        .env("UNISHOP_DATABASE_SECRET_ARN", database_arn)
        .env("UNISHOP_TOKEN_KEY_SECRET_ARN", token_arn)
        .env("UNISHOP_REGION", "us-west-1")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto)
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null());
    command
}

#[tokio::test]
async fn the_binary_reads_its_secrets_once_and_never_shows_them() {
    let (Some(moto), Some(server)) = (moto_url(), mariadb::shared()) else {
        return;
    };
    let id = uuid::Uuid::new_v4().simple().to_string();
    let database_url = server.fresh_database("secrets").await;
    let database = database_url.rsplit('/').next().expect("a database name");
    let user = format!("app_{}", &id[..8]);
    let password = format!("pw-{id}");
    let mut admin = sqlx::MySqlConnection::connect(&server.url(""))
        .await
        .expect("connects");
    for statement in [
        format!("CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{password}'"),
        format!("GRANT ALL PRIVILEGES ON `{database}`.* TO '{user}'@'127.0.0.1'"),
    ] {
        sqlx::raw_sql(&statement)
            .execute(&mut admin)
            .await
            .expect("creates the user");
    }
    // As in AWS: the URL names the user, the secret holds the password.
    let app_url = database_url.replacen("root@", &format!("{user}@"), 1);

    let client = secrets_client(&moto);
    let database_arn = create_secret(
        &client,
        &format!("unishop/database-{id}"),
        &json!({"username": user, "password": password}).to_string(),
    )
    .await;
    let token_key = format!("token-key-{id}-{id}");
    let token_arn = create_secret(&client, &format!("unishop/token-key-{id}"), &token_key).await;
    let secrets = [password.as_str(), token_key.as_str()];

    let migrated = api(&moto, &app_url, &database_arn, &token_arn)
        .arg("migrate")
        .output()
        .expect("runs unishop-api migrate");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&migrated.stdout),
        String::from_utf8_lossy(&migrated.stderr)
    );
    assert!(migrated.status.success(), "{printed}");
    assert!(!secrets.iter().any(|s| printed.contains(s)), "{printed}");

    let mut child = api(&moto, &app_url, &database_arn, &token_arn)
        .env("UNISHOP_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts unishop-api");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("reads the address");
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    let session =
        api::sign_up_and_log_in(&reqwest::Client::new(), &base, "secret@example.com").await;
    // The token is signed with the key from the secret, so every region holding it accepts it.
    let key = TokenKey::new(&token_key).expect("key");
    assert_eq!(
        key.verify(&session.token, now_secs()).expect("valid"),
        session.user.uuid
    );
    child.kill().expect("stops");
    let mut logged = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut logged)
        .expect("reads the log");
    let _ = child.wait();
    assert!(logged.contains("listening"), "{logged}");
    assert!(!secrets.iter().any(|s| logged.contains(s)), "{logged}");

    // A secret with a wrong password: migrate fails, naming the database, not the password.
    let wrong = create_secret(
        &client,
        &format!("unishop/wrong-{id}"),
        &json!({"username": user, "password": "not-the-password-at-all"}).to_string(),
    )
    .await;
    let refused = api(&moto, &app_url, &wrong, &token_arn)
        .arg("migrate")
        .output()
        .expect("runs unishop-api migrate");
    let printed = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(!refused.status.success());
    assert!(
        printed.contains("cannot open the database") || printed.contains("Access denied"),
        "{printed}"
    );
    assert!(!printed.contains("not-the-password-at-all"), "{printed}");
}
