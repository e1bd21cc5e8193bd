use clap::Parser;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;
use unishop_api::auth::TokenKey;
use unishop_api::store::dynamodb::DynamoStore;
use unishop_api::{router, store::sqlite::SqliteStore, AppState, Config};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("unishop_api=info,tower_http=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match serve(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("unishop-api: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let store = SqliteStore::open(&config.database_url)
        .await
        .map_err(|e| format!("cannot open the database {}: {e}", config.database_url))?;
    let data_folder = SqliteStore::data_folder(&config.database_url);
    let tokens = TokenKey::load(
        config.token_key.as_ref().map(|s| s.0.as_str()),
        config.token_key_file.as_deref(),
        data_folder.as_deref(),
    )?;
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
    let address = listener.local_addr()?;
    // Scripts and tests that start the API on port 0 read the chosen address from this line.
    println!(
        "unishop-api listening on http://{address} (region {})",
        config.region
    );
    tracing::info!(%address, region = %config.region, "listening");
    let mut stores = store.into_stores();
    if let Some(tables) = config.dynamodb_tables() {
        tracing::info!(carts = %tables.carts, orders = %tables.orders, "carts and orders in DynamoDB");
        stores = DynamoStore::from_env(tables)
            .await
            .map_err(|e| format!("cannot use DynamoDB: {e}"))?
            .serve_carts_and_orders(stores);
    }
    let app = router(AppState::new(&config.region, stores, tokens));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM, letting requests in flight finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
