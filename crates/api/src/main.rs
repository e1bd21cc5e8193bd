//! One binary for both places the API runs: under Lambda (when the Lambda service has set
//! `AWS_LAMBDA_RUNTIME_API`) it serves the Runtime API with `lambda_http`; anywhere else it binds
//! `UNISHOP_BIND`. One artifact, one set of settings and one `--help` for both, and the same router.
//! A Lambda function whose `Handler` is `migrate` runs `unishop-api migrate` on each invocation
//! instead (how a deploy migrates the schema from inside the VPC).

use clap::Parser;
use lambda_http::{service_fn, LambdaEvent};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;
use unishop_api::config::Command;
use unishop_api::startup::LambdaRole;
use unishop_api::{router, startup, Config};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("unishop_api=info,tower_http=info")),
        )
        // CloudWatch shows escape codes as they are.
        .with_ansi(!startup::in_lambda())
        .with_writer(std::io::stderr)
        .init();
    let outcome = match config.command.clone() {
        Some(Command::Migrate { create_tables }) => startup::migrate(&config, create_tables)
            .await
            .map(|()| println!("unishop-api: the database is migrated and seeded"))
            .map_err(Into::into),
        None if startup::in_lambda() => match LambdaRole::current() {
            LambdaRole::Api => serve_lambda(config).await,
            LambdaRole::Migrate => serve_lambda_migrate(config).await,
        },
        None => serve(config).await,
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("unishop-api: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve_lambda(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let app = router(startup::app_state(&config).await?);
    tracing::info!(region = %config.region, "serving the Lambda Runtime API");
    lambda_http::run(app)
        .await
        .map_err(|e| e.to_string().into())
}

/// The migrate function: each invocation applies the migrations and the seed (idempotent) and
/// answers `{"migrated": true}`, or fails the invocation with the error.
async fn serve_lambda_migrate(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    tracing::info!(region = %config.region, "serving the Lambda Runtime API as the migrate function");
    let config = &config;
    lambda_http::lambda_runtime::run(service_fn(
        move |_event: LambdaEvent<serde_json::Value>| async move {
            startup::migrate(config, false).await?;
            tracing::info!("the database is migrated and seeded");
            Ok::<_, lambda_http::Error>(serde_json::json!({ "migrated": true }))
        },
    ))
    .await
    .map_err(|e| e.to_string().into())
}

async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let state = startup::app_state(&config).await?;
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
    axum::serve(listener, router(state))
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
