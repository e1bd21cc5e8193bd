//! A write whose request is dropped (the client hung up) while it waits for a lock still commits
//! or rolls back, and leaves the store serving: on SQLite and, when `UNISHOP_TEST_MARIADB` is
//! set, on MariaDB through the MySQL store.

#[path = "support/database.rs"]
mod database;
#[path = "support/mariadb.rs"]
mod mariadb;
#[path = "support/moto.rs"]
mod moto;

use std::time::Duration;

use database::Database;
use unishop_api::seed::product_uuid;
use unishop_api::store::NewUser;
use unishop_model::CartLine;
use uuid::Uuid;

async fn a_dropped_write_leaves_the_store_serving(database: Database) {
    let stores = database.open(Some(Duration::from_secs(2))).await.stores();
    let user = stores
        .users
        .create_user(NewUser {
            email: format!("{}@dropped.example", Uuid::new_v4()),
            first_name: None,
            last_name: None,
            password_hash: "$argon2id$stand-in".to_owned(),
            signup_key: None,
        })
        .await
        .expect("user created")
        .uuid;
    let float = CartLine {
        uuid: product_uuid("UnicornFloat"),
        quantity: 2,
    };

    let lock = database.hold_write_lock(user).await;
    let incoming = [float];
    let mut write = Box::pin(stores.carts.merge(user, &incoming, Some("dropped")));
    // The write starts and waits for the lock (with SQLite, in `BEGIN IMMEDIATE`).
    let _ = tokio::time::timeout(Duration::from_millis(300), &mut write).await;
    lock.release().await;
    // The database meanwhile grants the lock and answers; the request, polled once more, takes
    // that answer and moves on to its next step, and is dropped there, as axum drops the
    // handler of a client that hung up.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let _ = tokio::time::timeout(Duration::ZERO, &mut write).await;
    drop(write);

    let cool = product_uuid("UnicornCool");
    for quantity in 1..=12 {
        stores
            .carts
            .set_quantity(user, cool, quantity)
            .await
            .expect("a later write succeeds");
    }
    // Committed: another store on the same database sees the last write, and the dropped merge
    // either whole or not at all.
    let seen = database.open(None).await.stores();
    let mut lines = seen.carts.cart(user).await.expect("reads");
    lines.sort_by_key(|line| line.uuid);
    let mut with_merge = vec![CartLine {
        uuid: cool,
        quantity: 12,
    }];
    let without_merge = with_merge.clone();
    with_merge.push(float);
    with_merge.sort_by_key(|line| line.uuid);
    assert!(
        lines == with_merge || lines == without_merge,
        "unexpected cart {lines:?}"
    );
}

#[tokio::test]
async fn on_sqlite_a_dropped_write_leaves_the_store_serving() {
    a_dropped_write_leaves_the_store_serving(Database::sqlite()).await;
}

#[tokio::test]
async fn on_mariadb_a_dropped_write_leaves_the_store_serving() {
    let Some(database) = Database::mariadb().await else {
        return;
    };
    a_dropped_write_leaves_the_store_serving(database).await;
}
