//! The contract of the store traits, written once against `&Stores` so that every backend
//! (SQLite now; MySQL and DynamoDB later) runs the same checks: add a test file that builds that
//! backend's `Stores` and calls [`run_all`].

use unishop_api::seed::{product_uuid, CATALOGUE};
use unishop_api::store::{with_write_deadline, NewOrder, NewUser, StoreError, Stores};
use unishop_model::{CartItem, CartLine, Order, ShippingAddress, MAX_CART_LINES};
use uuid::Uuid;

/// Every check, each on fresh users of the given stores.
pub async fn run_all(stores: &Stores) {
    catalogue_lists_the_seed_in_order(stores).await;
    users_are_unique_by_email_and_keep_their_hash(stores).await;
    login_failures_are_counted_per_email_and_cleared(stores).await;
    cart_lines_keep_order_and_quantities(stores).await;
    legacy_add_keeps_quantity_and_respects_the_line_limit(stores).await;
    merge_adds_up_atomically(stores).await;
    a_keyed_merge_applies_once(stores).await;
    orders_are_placed_once_and_empty_the_cart(stores).await;
    an_order_from_a_changed_cart_is_refused_whole(stores).await;
    a_write_past_its_deadline_changes_nothing(stores).await;
}

pub async fn new_user(stores: &Stores) -> Uuid {
    stores
        .users
        .create_user(NewUser {
            email: format!("{}@conformance.example", Uuid::new_v4()),
            first_name: None,
            last_name: None,
            password_hash: "$argon2id$stand-in".to_owned(),
            signup_key: None,
        })
        .await
        .expect("user created")
        .uuid
}

pub fn line(name: &str, quantity: u32) -> CartLine {
    CartLine {
        uuid: product_uuid(name),
        quantity,
    }
}

pub async fn catalogue_lists_the_seed_in_order(stores: &Stores) {
    let products = stores.catalogue.products().await.expect("products");
    let uuids: Vec<Uuid> = products.iter().map(|p| p.uuid).collect();
    let seed: Vec<Uuid> = CATALOGUE.iter().map(|s| s.uuid()).collect();
    assert_eq!(&uuids[..seed.len()], &seed[..]);
    let float = stores
        .catalogue
        .product(product_uuid("UnicornFloat"))
        .await
        .expect("reads");
    assert_eq!(float, Some(CATALOGUE[0].to_product()));
    assert_eq!(
        stores
            .catalogue
            .product(Uuid::new_v4())
            .await
            .expect("reads"),
        None
    );
}

pub async fn users_are_unique_by_email_and_keep_their_hash(stores: &Stores) {
    let email = format!("{}@conformance.example", Uuid::new_v4());
    let user = stores
        .users
        .create_user(NewUser {
            email: email.clone(),
            first_name: Some("Ada".into()),
            last_name: None,
            password_hash: "hash-1".into(),
            signup_key: Some("signup-key-1".into()),
        })
        .await
        .expect("created");
    assert_eq!(user.email, email);
    let again = stores
        .users
        .create_user(NewUser {
            email: email.clone(),
            first_name: None,
            last_name: None,
            password_hash: "hash-2".into(),
            signup_key: None,
        })
        .await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    let credentials = stores
        .users
        .credentials(&email)
        .await
        .expect("reads")
        .expect("found");
    assert_eq!(credentials.user, user);
    assert_eq!(credentials.password_hash.as_deref(), Some("hash-1"));
    assert_eq!(credentials.signup_key.as_deref(), Some("signup-key-1"));
    assert_eq!(
        stores.users.user(user.uuid).await.expect("reads"),
        Some(user)
    );
    assert!(stores
        .users
        .credentials("nobody@conformance.example")
        .await
        .expect("reads")
        .is_none());
}

pub async fn login_failures_are_counted_per_email_and_cleared(stores: &Stores) {
    let email = format!("{}@conformance.example", Uuid::new_v4());
    let other = format!("{}@conformance.example", Uuid::new_v4());
    for at in [100, 200, 300] {
        stores
            .users
            .record_login_failure(&email, at)
            .await
            .expect("recorded");
    }
    stores
        .users
        .record_login_failure(&other, 250)
        .await
        .expect("recorded");
    assert_eq!(
        stores
            .users
            .login_failures_since(&email, 150)
            .await
            .expect("reads"),
        vec![200, 300]
    );
    stores
        .users
        .clear_login_failures(&email)
        .await
        .expect("cleared");
    assert!(stores
        .users
        .login_failures_since(&email, 0)
        .await
        .expect("reads")
        .is_empty());
    assert_eq!(
        stores
            .users
            .login_failures_since(&other, 0)
            .await
            .expect("reads"),
        vec![250]
    );
}

pub async fn cart_lines_keep_order_and_quantities(stores: &Stores) {
    let user = new_user(stores).await;
    let carts = &stores.carts;
    assert!(carts.cart(user).await.expect("reads").is_empty());
    carts
        .set_quantity(user, product_uuid("UnicornPink"), 2)
        .await
        .expect("set");
    carts
        .set_quantity(user, product_uuid("UnicornCool"), 1)
        .await
        .expect("set");
    carts
        .set_quantity(user, product_uuid("UnicornPink"), 7)
        .await
        .expect("set");
    assert_eq!(
        carts.cart(user).await.expect("reads"),
        vec![line("UnicornPink", 7), line("UnicornCool", 1)]
    );
    carts
        .remove_line(user, product_uuid("UnicornPink"))
        .await
        .expect("removed");
    carts
        .remove_line(user, product_uuid("UnicornPink"))
        .await
        .expect("absent is fine");
    assert_eq!(
        carts.cart(user).await.expect("reads"),
        vec![line("UnicornCool", 1)]
    );
    let missing = carts.set_quantity(user, Uuid::new_v4(), 1).await;
    assert!(
        matches!(missing, Err(StoreError::MissingReference)),
        "{missing:?}"
    );
    // Another user's cart is untouched.
    let other = new_user(stores).await;
    assert!(carts.cart(other).await.expect("reads").is_empty());
}

pub async fn legacy_add_keeps_quantity_and_respects_the_line_limit(stores: &Stores) {
    let user = new_user(stores).await;
    let carts = &stores.carts;
    carts
        .set_quantity(user, product_uuid("UnicornFloat"), 4)
        .await
        .expect("set");
    carts
        .add_line(user, product_uuid("UnicornFloat"))
        .await
        .expect("added");
    carts
        .add_line(user, product_uuid("UnicornBlanket"))
        .await
        .expect("added");
    assert_eq!(
        carts.cart(user).await.expect("reads"),
        vec![line("UnicornFloat", 4), line("UnicornBlanket", 1)]
    );
    assert!(
        CATALOGUE.len() < MAX_CART_LINES,
        "the limit is checked by the HTTP tests"
    );
}

pub async fn merge_adds_up_atomically(stores: &Stores) {
    let user = new_user(stores).await;
    let carts = &stores.carts;
    carts
        .set_quantity(user, product_uuid("UnicornFloat"), 98)
        .await
        .expect("set");
    let merged = carts
        .merge(
            user,
            &[line("UnicornFloat", 5), line("UnicornGlitter", 2)],
            None,
        )
        .await
        .expect("merged");
    assert_eq!(merged.capped, vec![product_uuid("UnicornFloat")]);
    let expected = vec![line("UnicornFloat", 99), line("UnicornGlitter", 2)];
    assert_eq!(merged.lines, expected);
    assert_eq!(carts.cart(user).await.expect("reads"), expected);
}

pub async fn a_keyed_merge_applies_once(stores: &Stores) {
    let user = new_user(stores).await;
    let carts = &stores.carts;
    let incoming = [line("UnicornFloat", 2), line("UnicornCool", 1)];
    let first = carts
        .merge(user, &incoming, Some("merge-key-1"))
        .await
        .expect("merged");
    assert_eq!(first.lines, incoming.to_vec());
    carts
        .set_quantity(user, product_uuid("UnicornCool"), 5)
        .await
        .expect("set");
    // The retry changes nothing and answers the cart as it is now.
    let again = carts
        .merge(user, &incoming, Some("merge-key-1"))
        .await
        .expect("merged");
    let now = vec![line("UnicornFloat", 2), line("UnicornCool", 5)];
    assert_eq!(again.lines, now);
    assert!(again.capped.is_empty());
    assert_eq!(carts.cart(user).await.expect("reads"), now);
    // Another key merges again; the key is the user's own, not global.
    let other_key = carts
        .merge(user, &[line("UnicornFloat", 1)], Some("merge-key-2"))
        .await
        .expect("merged");
    assert_eq!(
        other_key.lines,
        vec![line("UnicornFloat", 3), line("UnicornCool", 5)]
    );
    let stranger = new_user(stores).await;
    let theirs = carts
        .merge(stranger, &incoming, Some("merge-key-1"))
        .await
        .expect("merged");
    assert_eq!(theirs.lines, incoming.to_vec());
}

pub fn order_for(lines: &[CartLine], region: &str) -> Order {
    let items: Vec<CartItem> = lines
        .iter()
        .map(|l| CartItem::new(l.uuid, "product".into(), 100, l.quantity))
        .collect();
    Order {
        id: Uuid::new_v4(),
        total_cents: unishop_model::cart_total(&items),
        items,
        created_at: "2025-01-01T00:00:00.000Z".into(),
        region: region.into(),
        shipping: ShippingAddress {
            name: "Ada".into(),
            line1: "1 Street".into(),
            line2: None,
            city: "London".into(),
            postal_code: "N1".into(),
            country: "GB".into(),
        },
    }
}

/// The order of `cart` placed with idempotency key `key` in `region`, as the API hands it to the
/// store (the request's hash follows from the key: one key, one request).
pub fn new_order(user: Uuid, key: &str, cart: &[CartLine], region: &str) -> NewOrder {
    NewOrder {
        user,
        idempotency_key: key.into(),
        request_hash: format!("request-{key}"),
        order: order_for(cart, region),
        cart: cart.to_vec(),
    }
}

pub async fn orders_are_placed_once_and_empty_the_cart(stores: &Stores) {
    let user = new_user(stores).await;
    stores
        .carts
        .set_quantity(user, product_uuid("UnicornFloat"), 2)
        .await
        .expect("set");
    let cart = stores.carts.cart(user).await.expect("reads");
    let order = order_for(&cart, "us-east-1");
    let new = NewOrder {
        user,
        idempotency_key: "key-1".into(),
        request_hash: "hash-a".into(),
        order: order.clone(),
        cart: cart.clone(),
    };
    stores
        .orders
        .place_order(new.clone())
        .await
        .expect("placed");
    assert!(stores.carts.cart(user).await.expect("reads").is_empty());
    let stored = stores
        .orders
        .order_by_key(user, "key-1")
        .await
        .expect("reads")
        .expect("found");
    assert_eq!(
        (stored.order, stored.request_hash.as_str()),
        (order.clone(), "hash-a")
    );
    // The key cannot place a second order, whatever the cart holds.
    stores
        .carts
        .set_quantity(user, product_uuid("UnicornFloat"), 2)
        .await
        .expect("set");
    let again = stores
        .orders
        .place_order(NewOrder {
            order: order_for(&cart, "us-west-1"),
            ..new
        })
        .await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    assert_eq!(
        stores.orders.orders(user).await.expect("reads"),
        vec![order.clone()]
    );
    assert_eq!(
        stores.orders.order(user, order.id).await.expect("reads"),
        Some(order.clone())
    );
    let stranger = new_user(stores).await;
    assert_eq!(
        stores
            .orders
            .order(stranger, order.id)
            .await
            .expect("reads"),
        None
    );
    assert!(stores
        .orders
        .order_by_key(stranger, "key-1")
        .await
        .expect("reads")
        .is_none());
}

pub async fn an_order_from_a_changed_cart_is_refused_whole(stores: &Stores) {
    let user = new_user(stores).await;
    stores
        .carts
        .set_quantity(user, product_uuid("UnicornCool"), 1)
        .await
        .expect("set");
    let priced = stores.carts.cart(user).await.expect("reads");
    // The shopper changes the cart in another tab between pricing and placing.
    stores
        .carts
        .set_quantity(user, product_uuid("UnicornCool"), 3)
        .await
        .expect("set");
    let placed = stores
        .orders
        .place_order(new_order(user, "key-stale", &priced, "us-east-1"))
        .await;
    assert!(matches!(placed, Err(StoreError::Stale)), "{placed:?}");
    assert!(stores
        .orders
        .order_by_key(user, "key-stale")
        .await
        .expect("reads")
        .is_none());
    assert_eq!(
        stores.carts.cart(user).await.expect("reads"),
        vec![line("UnicornCool", 3)]
    );
}

/// Inside a request whose write deadline has passed, every write is refused with
/// [`StoreError::DeadlinePassed`] and changes nothing; with time to spare the same writes apply.
pub async fn a_write_past_its_deadline_changes_nothing(stores: &Stores) {
    let user = new_user(stores).await;
    let carts = &stores.carts;
    carts
        .set_quantity(user, product_uuid("UnicornFloat"), 2)
        .await
        .expect("set");
    let before = carts.cart(user).await.expect("reads");
    let passed = tokio::time::Instant::now();
    let refused = |result: Result<(), StoreError>, what: &str| {
        assert!(
            matches!(result, Err(StoreError::DeadlinePassed)),
            "{what} past its deadline: {result:?}"
        );
    };
    refused(
        with_write_deadline(
            passed,
            carts.set_quantity(user, product_uuid("UnicornFloat"), 7),
        )
        .await,
        "set_quantity",
    );
    refused(
        with_write_deadline(passed, carts.add_line(user, product_uuid("UnicornCool"))).await,
        "add_line",
    );
    refused(
        with_write_deadline(
            passed,
            carts.remove_line(user, product_uuid("UnicornFloat")),
        )
        .await,
        "remove_line",
    );
    refused(
        with_write_deadline(
            passed,
            carts.merge(user, &[line("UnicornGlitter", 1)], Some("late-merge")),
        )
        .await
        .map(|_| ()),
        "merge",
    );
    let order = NewOrder {
        user,
        idempotency_key: "late-order".into(),
        request_hash: "hash-late".into(),
        order: order_for(&before, "us-east-1"),
        cart: before.clone(),
    };
    refused(
        with_write_deadline(passed, stores.orders.place_order(order.clone())).await,
        "place_order",
    );
    let email = format!("{}@late.example", Uuid::new_v4());
    refused(
        with_write_deadline(
            passed,
            stores.users.create_user(NewUser {
                email: email.clone(),
                first_name: None,
                last_name: None,
                password_hash: "$argon2id$stand-in".to_owned(),
                signup_key: Some("late-signup".to_owned()),
            }),
        )
        .await
        .map(|_| ()),
        "create_user",
    );
    assert!(stores
        .users
        .credentials(&email)
        .await
        .expect("reads")
        .is_none());
    assert_eq!(carts.cart(user).await.expect("reads"), before);
    assert!(stores
        .orders
        .order_by_key(user, "late-order")
        .await
        .expect("reads")
        .is_none());

    // The same writes, retried with their keys in time, apply (the refused merge did not use up
    // its key).
    let later = tokio::time::Instant::now() + std::time::Duration::from_secs(3600);
    let merged = with_write_deadline(
        later,
        carts.merge(user, &[line("UnicornGlitter", 1)], Some("late-merge")),
    )
    .await
    .expect("merged in time");
    assert_eq!(
        merged.lines,
        vec![line("UnicornFloat", 2), line("UnicornGlitter", 1)]
    );
    with_write_deadline(
        later,
        carts.set_quantity(user, product_uuid("UnicornFloat"), 7),
    )
    .await
    .expect("set in time");
    let cart = carts.cart(user).await.expect("reads");
    let order = NewOrder {
        order: order_for(&cart, "us-east-1"),
        cart,
        ..order
    };
    with_write_deadline(later, stores.orders.place_order(order))
        .await
        .expect("placed in time");
    assert!(carts.cart(user).await.expect("reads").is_empty());
}
