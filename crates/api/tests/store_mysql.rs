//! The store contract (`tests/conformance/`) on the MySQL backend, against a real MariaDB server
//! (see `tests/support/mariadb.rs`).

mod conformance;
#[path = "support/mariadb.rs"]
mod mariadb;

use std::time::Duration;

use sqlx::{Connection, MySqlConnection};
use tokio::task::JoinSet;
use unishop_api::seed::CATALOGUE;
use unishop_api::store::mysql::{MySqlSettings, MySqlStore, ReadConsistency};
use unishop_api::store::{StoreError, Stores};
use unishop_model::CartLine;
use uuid::Uuid;

async fn migrated_store(purpose: &str) -> Option<(String, MySqlStore)> {
    let server = mariadb::shared()?;
    let url = server.fresh_database(purpose).await;
    let store = MySqlStore::connect(&MySqlSettings::new(&url)).expect("valid URL");
    store.migrate().await.expect("migrates");
    Some((url, store))
}

/// Puts `line` in the user's cart and orders it with idempotency key `key`.
async fn buy(stores: &Stores, user: Uuid, line: CartLine, key: &str) {
    stores
        .carts
        .set_quantity(user, line.uuid, line.quantity)
        .await
        .expect("adds");
    stores
        .orders
        .place_order(conformance::new_order(user, key, &[line], "us-east-1"))
        .await
        .expect("orders");
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

/// Many writes at once to one user's cart, then to the same cart's orders, and many users adding
/// and ordering side by side (what `cargo xtask bench api --store mysql` does): every write
/// succeeds, with the result it would have had alone.
#[tokio::test]
async fn concurrent_writes_to_carts_and_orders_all_succeed() {
    let Some((_, store)) = migrated_store("concurrent").await else {
        return;
    };
    let stores = store.into_stores();

    let user = conformance::new_user(&stores).await;
    let mut writes = JoinSet::new();
    for (n, seed) in CATALOGUE.iter().enumerate() {
        let stores = stores.clone();
        let product = seed.uuid();
        writes.spawn(async move { stores.carts.set_quantity(user, product, n as u32 + 1).await });
    }
    while let Some(done) = writes.join_next().await {
        done.expect("joins").expect("every line is written");
    }
    let mut cart = stores.carts.cart(user).await.expect("reads");
    cart.sort_by_key(|l| l.uuid);
    let mut expected: Vec<CartLine> = CATALOGUE
        .iter()
        .enumerate()
        .map(|(n, seed)| CartLine {
            uuid: seed.uuid(),
            quantity: n as u32 + 1,
        })
        .collect();
    expected.sort_by_key(|l| l.uuid);
    assert_eq!(cart, expected);

    // Orders of the same cart under different keys: exactly one takes it, the rest find it gone.
    let mut orders = JoinSet::new();
    for n in 0..6 {
        let stores = stores.clone();
        let cart = cart.clone();
        orders.spawn(async move {
            stores
                .orders
                .place_order(conformance::new_order(
                    user,
                    &format!("same-cart-{n}"),
                    &cart,
                    "us-east-1",
                ))
                .await
        });
    }
    let mut placed = 0;
    while let Some(done) = orders.join_next().await {
        match done.expect("joins") {
            Ok(()) => placed += 1,
            Err(StoreError::Stale) => {}
            Err(other) => panic!("an order failed: {other:?}"),
        }
    }
    assert_eq!(placed, 1);
    assert_eq!(stores.orders.orders(user).await.expect("reads").len(), 1);
    assert!(stores.carts.cart(user).await.expect("reads").is_empty());

    // Shoppers side by side, each adding a line and ordering it, round after round: the cart
    // clears leave deleted lines behind that the next adds meet.
    const SHOPPERS: usize = 8;
    const ROUNDS: usize = 12;
    let mut shoppers = JoinSet::new();
    for _ in 0..SHOPPERS {
        let stores = stores.clone();
        shoppers.spawn(async move {
            let user = conformance::new_user(&stores).await;
            for round in 0..ROUNDS {
                let line = conformance::line("UnicornFloat", 1 + round as u32 % 3);
                buy(&stores, user, line, &format!("round-{round}")).await;
            }
            user
        });
    }
    while let Some(done) = shoppers.join_next().await {
        let user = done.expect("every shopper's writes succeed");
        assert_eq!(
            stores.orders.orders(user).await.expect("reads").len(),
            ROUNDS
        );
        assert!(stores.carts.cart(user).await.expect("reads").is_empty());
    }
}

/// A transaction InnoDB rolls back to break a deadlock (error 1213) is run again, and the write
/// it makes lands after the one that won.
#[tokio::test]
async fn a_write_chosen_as_a_deadlock_victim_is_run_again() {
    let Some(server) = mariadb::shared() else {
        return;
    };
    let url = server.fresh_database("deadlock").await;
    // A generous wait limit: the test waits on locks on purpose, on a machine that may be busy.
    let settings = MySqlSettings {
        wait_limit: Duration::from_secs(10),
        ..MySqlSettings::new(&url)
    };
    let store = MySqlStore::connect(&settings).expect("valid URL");
    store.migrate().await.expect("migrates");
    let stores = store.into_stores();
    let user = conformance::new_user(&stores).await;
    let float = conformance::line("UnicornFloat", 1);
    stores
        .carts
        .set_quantity(user, float.uuid, 1)
        .await
        .expect("first write");

    // Another client holds the cart line, having written enough rows that InnoDB, which rolls
    // back the transaction that weighs less, picks the store's.
    let mut other = MySqlConnection::connect(&url).await.expect("connects");
    let mut probe = MySqlConnection::connect(&url).await.expect("connects");
    sqlx::query("BEGIN")
        .execute(&mut other)
        .await
        .expect("begins");
    for at in 0..50 {
        sqlx::query("INSERT INTO login_failures (email, at) VALUES ('weight@example.com', ?)")
            .bind(at)
            .execute(&mut other)
            .await
            .expect("inserts");
    }
    sqlx::query("SELECT quantity FROM unicorns_basket WHERE user_uuid = ? FOR UPDATE")
        .bind(user.to_string())
        .execute(&mut other)
        .await
        .expect("locks the line");

    // The store's write locks the user's row, then waits for the line.
    let write = tokio::spawn({
        let stores = stores.clone();
        async move { stores.carts.set_quantity(user, float.uuid, 5).await }
    });
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.INNODB_TRX t
               JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
             WHERE t.trx_state = 'LOCK WAIT' AND p.DB = DATABASE()",
        )
        .fetch_one(&mut probe)
        .await
        .expect("reads the lock waits");
        if waiting > 0 {
            break;
        }
        if write.is_finished() {
            panic!(
                "the write ended before it was seen waiting: {:?}",
                write.await
            );
        }
        // InnoDB refreshes the table of transactions only when it was not read for 100 ms.
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    // Asking for the user's row closes the cycle: a deadlock, and the store's write is the victim.
    sqlx::query("SELECT uuid FROM unicorn_user WHERE uuid = ? FOR UPDATE")
        .bind(user.to_string())
        .execute(&mut other)
        .await
        .expect("the heavier transaction survives the deadlock");
    sqlx::query("UPDATE unicorns_basket SET quantity = 3 WHERE user_uuid = ?")
        .bind(user.to_string())
        .execute(&mut other)
        .await
        .expect("updates");
    sqlx::query("COMMIT")
        .execute(&mut other)
        .await
        .expect("commits");

    write
        .await
        .expect("joins")
        .expect("the write is run again and succeeds");
    assert_eq!(
        stores.carts.cart(user).await.expect("reads"),
        vec![conformance::line("UnicornFloat", 5)]
    );
}

/// One shopper's open cart write does not hold up another's, even where an order just emptied
/// both carts (InnoDB keeps the deleted lines until purge, here held back by an open snapshot,
/// and a duplicate check over a unique secondary index would lock them together with the gap up
/// to the next shopper's lines).
#[tokio::test]
async fn an_open_cart_write_does_not_hold_up_another_shoppers() {
    let Some((url, store)) = migrated_store("independent").await else {
        return;
    };
    let stores = store.into_stores();
    let mut shoppers = [
        conformance::new_user(&stores).await,
        conformance::new_user(&stores).await,
    ];
    shoppers.sort_by_key(|u| u.to_string());
    let [first, second] = shoppers;
    let float = conformance::line("UnicornFloat", 1);

    let mut snapshot = MySqlConnection::connect(&url).await.expect("connects");
    sqlx::query("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        .execute(&mut snapshot)
        .await
        .expect("holds back purge");
    for (n, user) in shoppers.into_iter().enumerate() {
        buy(&stores, user, float, &format!("empty-{n}")).await;
    }

    // The first shopper's write, as the store makes it, left open.
    let mut open = MySqlConnection::connect(&url).await.expect("connects");
    sqlx::query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        .execute(&mut open)
        .await
        .expect("sets");
    sqlx::query("BEGIN")
        .execute(&mut open)
        .await
        .expect("begins");
    sqlx::query("SELECT uuid FROM unicorn_user WHERE uuid = ? FOR UPDATE")
        .bind(first.to_string())
        .execute(&mut open)
        .await
        .expect("locks the first shopper");
    sqlx::query(
        "INSERT INTO unicorns_basket (user_uuid, unicorn_uuid, quantity) VALUES (?, ?, 1)
         ON DUPLICATE KEY UPDATE quantity = VALUES(quantity)",
    )
    .bind(first.to_string())
    .bind(float.uuid.to_string())
    .execute(&mut open)
    .await
    .expect("adds the first shopper's line");

    stores
        .carts
        .set_quantity(second, float.uuid, 2)
        .await
        .expect("the second shopper's write goes through");
    sqlx::query("COMMIT")
        .execute(&mut open)
        .await
        .expect("commits");
    assert_eq!(stores.carts.cart(first).await.expect("reads"), vec![float]);
    assert_eq!(
        stores.carts.cart(second).await.expect("reads"),
        vec![conformance::line("UnicornFloat", 2)]
    );
}
