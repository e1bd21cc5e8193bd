//! The store contract (`tests/conformance/`) on the MySQL backend, against a real MariaDB server
//! (see `tests/support/mariadb.rs`).

mod conformance;
#[path = "support/mariadb.rs"]
mod mariadb;

use unishop_api::store::mysql::{MySqlSettings, MySqlStore, ReadConsistency};
use unishop_api::store::StoreError;

async fn migrated_store(purpose: &str) -> Option<(String, MySqlStore)> {
    let server = mariadb::shared()?;
    let url = server.fresh_database(purpose).await;
    let store = MySqlStore::connect(&MySqlSettings::new(&url)).expect("valid URL");
    store.migrate().await.expect("migrates");
    Some((url, store))
}

#[tokio::test]
async fn mariadb_meets_the_store_contract() {
    let Some((url, store)) = migrated_store("conformance").await else {
        return;
    };
    conformance::run_all(&store.into_stores()).await;
    // Migrating again (a second `unishop-api migrate`) changes nothing and keeps the seed.
    let again = MySqlStore::connect(&MySqlSettings::new(&url)).expect("valid URL");
    again.migrate().await.expect("migrates again");
    conformance::catalogue_lists_the_seed_in_order(&again.into_stores()).await;
}

#[tokio::test]
async fn every_connection_sets_the_aurora_read_consistency() {
    let Some(server) = mariadb::shared() else {
        return;
    };
    let url = server.fresh_database("consistency").await;
    let settings = MySqlSettings {
        read_consistency: Some(ReadConsistency::Session),
        ..MySqlSettings::new(&url)
    };
    // MariaDB has no such variable: a refused connection shows the setting is sent on
    // connecting, and that a connection that could not set it is never used.
    let store = MySqlStore::connect(&settings).expect("valid URL");
    let refused = store.into_stores().carts.ping().await;
    assert!(
        matches!(refused, Err(StoreError::Unavailable(_))),
        "{refused:?}"
    );
    let plain = MySqlStore::connect(&MySqlSettings::new(&url)).expect("valid URL");
    plain.into_stores().carts.ping().await.expect("answers");
}
