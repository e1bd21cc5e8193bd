//! From settings to a ready API, the same for the local server and for Lambda: secrets read once,
//! stores opened, the token key chosen.

use crate::auth::TokenKey;
use crate::config::{Config, Secret};
use crate::http::origin::{OriginSecret, OriginSecretError};
use crate::http::AppState;
use crate::secrets::{SecretError, Secrets};
use crate::store::dynamodb::{DynamoStore, Tables};
use crate::store::mysql::{MySqlSettings, MySqlStore};
use crate::store::sqlite::SqliteStore;
use crate::store::StoreError;

/// Set by the Lambda service in every function's environment: the address of its Runtime API.
pub const LAMBDA_RUNTIME_API: &str = "AWS_LAMBDA_RUNTIME_API";

/// Whether this process runs as a Lambda function (and serves the Runtime API, not a port).
pub fn in_lambda() -> bool {
    std::env::var_os(LAMBDA_RUNTIME_API).is_some_and(|v| !v.is_empty())
}

/// Set by the Lambda service: the function's `Handler` setting, which provided runtimes leave to
/// the bootstrap to interpret.
pub const LAMBDA_HANDLER: &str = "_HANDLER";

/// The `Handler` of the migrate function (infra/templates/regional.yaml): the same zip, invoked
/// once per deploy, runs `unishop-api migrate` from inside the VPC instead of serving HTTP.
pub const MIGRATE_HANDLER: &str = "migrate";

/// What a Lambda function made from this binary does, from its `Handler` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LambdaRole {
    /// Serve the API (any handler but [`MIGRATE_HANDLER`], `bootstrap` in the template).
    Api,
    /// Apply the migrations and the seed on each invocation.
    Migrate,
}

impl LambdaRole {
    /// The role for a `Handler` setting (`_HANDLER`), absent meaning the API.
    pub fn from_handler(handler: Option<&str>) -> LambdaRole {
        match handler.map(str::trim) {
            Some(MIGRATE_HANDLER) => LambdaRole::Migrate,
            _ => LambdaRole::Api,
        }
    }

    /// This function's role, from its environment.
    pub fn current() -> LambdaRole {
        LambdaRole::from_handler(std::env::var(LAMBDA_HANDLER).ok().as_deref())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("cannot open the database {url}: {error}")]
    Database { url: String, error: StoreError },
    #[error("the origin secret: {0}")]
    OriginSecret(#[from] OriginSecretError),
    #[error("the token key: {0}")]
    TokenKey(String),
    #[error("{0}")]
    Settings(String),
}

/// The SQL database named by `UNISHOP_DATABASE_URL`.
enum SqlStore {
    Sqlite(SqliteStore),
    MySql(MySqlStore),
}

fn is_mysql(url: &str) -> bool {
    url.starts_with("mysql://") || url.starts_with("mariadb://")
}

/// Everything a request needs, from the settings.
pub async fn app_state(config: &Config) -> Result<AppState, StartError> {
    let secrets = secrets_if_named(config).await;
    let (stores, data_folder) = match open_sql(config, secrets.as_ref()).await? {
        SqlStore::Sqlite(store) => (
            store.into_stores(),
            SqliteStore::data_folder(&config.database_url),
        ),
        SqlStore::MySql(store) => (store.into_stores(), None),
    };
    // Carts and orders move to DynamoDB when its tables are configured.
    let stores = match config.dynamodb_tables() {
        Some(tables) => dynamodb(tables).await?.serve_carts_and_orders(stores),
        None => stores,
    };
    let tokens = token_key(config, secrets.as_ref(), data_folder.as_deref()).await?;
    let state = AppState::new(&config.region, stores, tokens)
        .with_write_deadline(std::time::Duration::from_millis(config.write_deadline_ms));
    Ok(match origin_secret(config, secrets).await? {
        Some(secret) => state.with_origin_secret(secret),
        None => state,
    })
}

/// The origin secret requests must carry, when one is configured.
async fn origin_secret(
    config: &Config,
    secrets: Option<Secrets>,
) -> Result<Option<OriginSecret>, StartError> {
    let secret = match (&config.origin_secret, &config.origin_secret_arn, secrets) {
        (Some(value), _, _) => OriginSecret::fixed(value)?,
        (None, Some(arn), Some(secrets)) => {
            OriginSecret::from_secrets_manager(secrets, arn).await?
        }
        _ => return Ok(None),
    };
    Ok(Some(secret))
}

/// `unishop-api migrate [--create-tables]`: applies the SQL migrations and the seed.
pub async fn migrate(config: &Config, create_tables: bool) -> Result<(), StartError> {
    let secrets = secrets_if_named(config).await;
    match open_sql(config, secrets.as_ref()).await? {
        // Opening a SQLite database migrates and seeds it.
        SqlStore::Sqlite(store) => store.close().await,
        SqlStore::MySql(store) => {
            store
                .migrate()
                .await
                .map_err(|error| StartError::Database {
                    url: config.database_url.clone(),
                    error,
                })?;
            store.close().await;
        }
    }
    if create_tables {
        let tables = config.dynamodb_tables().ok_or_else(|| {
            StartError::Settings(
                "--create-tables: no DynamoDB tables are configured (UNISHOP_CARTS_TABLE, UNISHOP_ORDERS_TABLE)"
                    .to_owned(),
            )
        })?;
        dynamodb(tables)
            .await?
            .create_tables()
            .await
            .map_err(|e| StartError::Settings(format!("creating the DynamoDB tables: {e}")))?;
    }
    Ok(())
}

async fn dynamodb(tables: Tables) -> Result<DynamoStore, StartError> {
    DynamoStore::from_env(tables)
        .await
        .map_err(|e| StartError::Settings(format!("DynamoDB: {e}")))
}

/// A Secrets Manager client, when a setting names a secret.
async fn secrets_if_named(config: &Config) -> Option<Secrets> {
    if config.database_secret_arn.is_none()
        && config.token_key_secret_arn.is_none()
        && config.origin_secret_arn.is_none()
    {
        return None;
    }
    Some(Secrets::new(&crate::aws::sdk_config().await))
}

async fn open_sql(config: &Config, secrets: Option<&Secrets>) -> Result<SqlStore, StartError> {
    let url = &config.database_url;
    if !is_mysql(url) {
        if config.database_secret_arn.is_some() || config.database_ca_bundle.is_some() {
            return Err(StartError::Settings(
                "UNISHOP_DATABASE_SECRET_ARN and UNISHOP_DATABASE_CA_BUNDLE apply to a mysql:// database only"
                    .to_owned(),
            ));
        }
        let store = SqliteStore::open(url)
            .await
            .map_err(|error| StartError::Database {
                url: url.clone(),
                error,
            })?;
        return Ok(SqlStore::Sqlite(store));
    }
    let password = match (&config.database_secret_arn, secrets) {
        (Some(arn), Some(secrets)) => Some(secrets.database_password(arn).await?),
        _ => None,
    };
    let settings = MySqlSettings {
        password,
        ca_bundle: config.database_ca_bundle.clone(),
        read_consistency: config.aurora_read_consistency,
        max_connections: config.database_max_connections,
        ..MySqlSettings::new(url)
    };
    if let Some(bundle) = &settings.ca_bundle {
        if !bundle.is_file() {
            return Err(StartError::Settings(format!(
                "UNISHOP_DATABASE_CA_BUNDLE: there is no file {}",
                bundle.display()
            )));
        }
    }
    let store = MySqlStore::connect(&settings).map_err(|error| StartError::Database {
        url: url.clone(),
        error,
    })?;
    Ok(SqlStore::MySql(store))
}

async fn token_key(
    config: &Config,
    secrets: Option<&Secrets>,
    data_folder: Option<&std::path::Path>,
) -> Result<TokenKey, StartError> {
    let from_secret: Option<Secret> = match (&config.token_key_secret_arn, secrets) {
        (Some(arn), Some(secrets)) => Some(secrets.read(arn).await?),
        _ => None,
    };
    let explicit = from_secret.as_ref().or(config.token_key.as_ref());
    if explicit.is_none() && config.token_key_file.is_none() && is_mysql(&config.database_url) {
        // A made-up key per process would log shoppers out whenever another instance answers.
        return Err(StartError::TokenKey(
            "a shared database needs a shared token key: set UNISHOP_TOKEN_KEY_SECRET_ARN, UNISHOP_TOKEN_KEY or UNISHOP_TOKEN_KEY_FILE"
                .to_owned(),
        ));
    }
    TokenKey::load(
        explicit.map(|s| s.0.as_str()),
        config.token_key_file.as_deref(),
        data_folder,
    )
    .map_err(|e| StartError::TokenKey(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_migrate_handler_migrates() {
        assert_eq!(
            LambdaRole::from_handler(Some("migrate")),
            LambdaRole::Migrate
        );
        assert_eq!(LambdaRole::from_handler(Some("bootstrap")), LambdaRole::Api);
        assert_eq!(LambdaRole::from_handler(Some("Migrate")), LambdaRole::Api);
        assert_eq!(LambdaRole::from_handler(None), LambdaRole::Api);
    }
}
