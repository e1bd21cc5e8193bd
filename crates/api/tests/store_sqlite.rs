//! The store contract (`tests/conformance/`) on the embedded SQLite backend, in memory and on a
//! file shared by two stores (the local two-region stack).

mod conformance;

use unishop_api::store::sqlite::SqliteStore;

#[tokio::test]
async fn sqlite_in_memory_meets_the_store_contract() {
    let store = SqliteStore::open("sqlite::memory:").await.expect("opens");
    conformance::run_all(&store.into_stores()).await;
}

#[tokio::test]
async fn sqlite_on_a_file_meets_the_store_contract() {
    let folder = tempfile::tempdir().expect("temp dir");
    let url = format!(
        "sqlite://{}",
        folder.path().join("conformance.db").display()
    );
    let store = SqliteStore::open(&url).await.expect("opens");
    conformance::run_all(&store.into_stores()).await;
    // Reopening runs the migrations and the seed again without harm.
    let reopened = SqliteStore::open(&url).await.expect("reopens");
    conformance::catalogue_lists_the_seed_in_order(&reopened.into_stores()).await;
}
