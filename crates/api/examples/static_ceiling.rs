//! The benchmark's ceiling: the same catalogue JSON bytes `GET /unicorns/` answers, served from
//! memory by the same axum + tokio stack with no store, no middleware and no work per request.
//! `cargo xtask bench api` divides the API's throughput by this server's.
//!
//! Listens on `UNISHOP_BIND` (default 127.0.0.1:0) and prints `listening on http://ADDR`.

use axum::body::Bytes;
use axum::http::header;
use axum::routing::get;
use axum::Router;
use unishop_api::seed::CATALOGUE;
use unishop_model::Product;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let products: Vec<Product> = CATALOGUE.iter().map(|s| s.to_product()).collect();
    let body = Bytes::from(serde_json::to_vec(&products)?);
    let serve = move || {
        let body = body.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], body) }
    };
    let app = Router::new()
        .route("/unicorns", get(serve.clone()))
        .route("/unicorns/", get(serve));
    let bind = std::env::var("UNISHOP_BIND").unwrap_or_else(|_| "127.0.0.1:0".to_owned());
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    println!(
        "static-ceiling listening on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
