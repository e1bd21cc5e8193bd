//! Creates the carts and orders tables named by `UNISHOP_CARTS_TABLE` and `UNISHOP_ORDERS_TABLE`
//! on the endpoint the AWS environment names (`AWS_ENDPOINT_URL_DYNAMODB` for an emulator), with
//! the key schema of `infra/templates/global.yaml`; tables already there are left alone.
//! `cargo xtask bench api --store dynamodb` runs it against moto_server. It does what
//! `unishop-api migrate --create-tables` does for DynamoDB, without the SQL part.

use unishop_api::store::dynamodb::{DynamoStore, Tables};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tables = Tables {
        carts: std::env::var("UNISHOP_CARTS_TABLE").map_err(|_| "set UNISHOP_CARTS_TABLE")?,
        orders: std::env::var("UNISHOP_ORDERS_TABLE").map_err(|_| "set UNISHOP_ORDERS_TABLE")?,
    };
    DynamoStore::from_env(tables.clone())
        .await?
        .create_tables()
        .await?;
    println!("tables {} and {} are ready", tables.carts, tables.orders);
    Ok(())
}
