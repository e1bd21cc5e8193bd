//! The statements the two SQL stores share, written once: every read, and the steps of the writes
//! once the store has its transaction (SQLite takes its write lock with `BEGIN IMMEDIATE`, MySQL
//! locks the user's row; each store opens, bounds and retries its transactions its own way).
//!
//! [`sql_statements!`] stamps them out as a module of plain sqlx functions on one backend's
//! concrete types. Generic functions over `sqlx::Database` would need, on every one of them,
//! higher-ranked bounds for each type bound and each row decoded (`for<'q> String: Encode<'q, DB>`,
//! `for<'r> OrderRow: FromRow<'r, DB::Row>`, `IntoArguments`, `Executor` for the connection),
//! which Rust does not let a trait bundle; the macro keeps each copy ordinary, fully checked sqlx
//! code. What differs between the dialects is passed in: the column that keeps insertion order,
//! and the upsert clauses.

/// Defines `mod statements` for one SQL backend; name the types by full paths (the module does
/// not see the caller's imports).
macro_rules! sql_statements {
    (
        database: $db:ty,
        pool: $pool:ty,
        connection: $conn:ty,
        line_order: $line_order:literal,
        order_order: $order_order:literal,
        set_quantity_on_duplicate: $set_quantity:literal,
        update_product_on_duplicate: $update_product:literal $(,)?
    ) => {
        /// The statements both SQL stores share (see `store/sql.rs`), on this backend's types.
        mod statements {
            use unishop_model::{merge_lines, CartLine, Merged, Order, Product, User};
            use uuid::Uuid;

            use $crate::store::rows::{
                into_lines, query_error, same_lines, to_json, unavailable, write_error,
                CredentialsRow, LineRow, OrderRow, ProductRow, UserRow, CREDENTIALS_COLUMNS,
                ORDER_COLUMNS, PRODUCT_COLUMNS, USER_COLUMNS,
            };
            use $crate::seed::CATALOGUE;
            use $crate::store::{
                check_write_deadline, Credentials, NewOrder, NewUser, StoreError, StoredOrder,
                MERGE_KEY_MEMORY_SECS,
            };

            /// How long a failed login is remembered at most.
            const FAILURE_MEMORY_SECS: i64 = 24 * 60 * 60;

            /// Makes sure the seed catalogue is present and current.
            pub async fn seed(pool: &$pool) -> Result<(), StoreError> {
                let mut tx = pool.begin().await.map_err(unavailable)?;
                for (position, seed) in CATALOGUE.iter().enumerate() {
                    let product = seed.to_product();
                    sqlx::query(concat!(
                        "INSERT INTO unicorns (uuid, slug, name, description, price_cents, image,
                                               image_alt, category, position)
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ",
                        $update_product
                    ))
                    .bind(product.uuid.to_string())
                    .bind(seed.legacy_name)
                    .bind(&product.name)
                    .bind(&product.description)
                    .bind(seed.price_cents)
                    .bind(&product.image)
                    .bind(&product.image_alt)
                    .bind(&product.category)
                    .bind(position as i64)
                    .execute(&mut *tx)
                    .await
                    .map_err(unavailable)?;
                }
                tx.commit().await.map_err(unavailable)
            }

            pub async fn products(pool: &$pool) -> Result<Vec<Product>, StoreError> {
                let rows: Vec<ProductRow> = sqlx::query_as(&format!(
                    "SELECT {PRODUCT_COLUMNS} FROM unicorns ORDER BY position"
                ))
                .fetch_all(pool)
                .await
                .map_err(unavailable)?;
                rows.into_iter().map(ProductRow::into_product).collect()
            }

            pub async fn product(pool: &$pool, uuid: Uuid) -> Result<Option<Product>, StoreError> {
                let row: Option<ProductRow> = sqlx::query_as(&format!(
                    "SELECT {PRODUCT_COLUMNS} FROM unicorns WHERE uuid = ?"
                ))
                .bind(uuid.to_string())
                .fetch_optional(pool)
                .await
                .map_err(unavailable)?;
                row.map(ProductRow::into_product).transpose()
            }

            pub async fn user(pool: &$pool, uuid: Uuid) -> Result<Option<User>, StoreError> {
                let row: Option<UserRow> = sqlx::query_as(&format!(
                    "SELECT {USER_COLUMNS} FROM unicorn_user WHERE uuid = ?"
                ))
                .bind(uuid.to_string())
                .fetch_optional(pool)
                .await
                .map_err(unavailable)?;
                row.map(UserRow::into_user).transpose()
            }

            pub async fn credentials(
                pool: &$pool,
                email: &str,
            ) -> Result<Option<Credentials>, StoreError> {
                let row: Option<CredentialsRow> = sqlx::query_as(&format!(
                    "SELECT {CREDENTIALS_COLUMNS} FROM unicorn_user WHERE email = ?"
                ))
                .bind(email)
                .fetch_optional(pool)
                .await
                .map_err(unavailable)?;
                row.map(CredentialsRow::into_credentials).transpose()
            }

            pub async fn login_failures_since(
                pool: &$pool,
                email: &str,
                since: i64,
            ) -> Result<Vec<i64>, StoreError> {
                sqlx::query_scalar(
                    "SELECT at FROM login_failures WHERE email = ? AND at >= ? ORDER BY at",
                )
                .bind(email)
                .bind(since)
                .fetch_all(pool)
                .await
                .map_err(unavailable)
            }

            pub async fn order_by_key(
                pool: &$pool,
                user: Uuid,
                key: &str,
            ) -> Result<Option<StoredOrder>, StoreError> {
                let row: Option<OrderRow> = sqlx::query_as(&format!(
                    "SELECT {ORDER_COLUMNS} FROM orders WHERE user_uuid = ? AND idempotency_key = ?"
                ))
                .bind(user.to_string())
                .bind(key)
                .fetch_optional(pool)
                .await
                .map_err(unavailable)?;
                row.map(OrderRow::into_stored).transpose()
            }

            /// The user's orders, newest first.
            pub async fn orders(pool: &$pool, user: Uuid) -> Result<Vec<Order>, StoreError> {
                let rows: Vec<OrderRow> = sqlx::query_as(&format!(
                    concat!(
                        "SELECT {} FROM orders WHERE user_uuid = ? ORDER BY created_at DESC, ",
                        $order_order,
                        " DESC"
                    ),
                    ORDER_COLUMNS
                ))
                .bind(user.to_string())
                .fetch_all(pool)
                .await
                .map_err(unavailable)?;
                rows.into_iter().map(OrderRow::into_order).collect()
            }

            pub async fn order(
                pool: &$pool,
                user: Uuid,
                id: Uuid,
            ) -> Result<Option<Order>, StoreError> {
                let row: Option<OrderRow> = sqlx::query_as(&format!(
                    "SELECT {ORDER_COLUMNS} FROM orders WHERE user_uuid = ? AND id = ?"
                ))
                .bind(user.to_string())
                .bind(id.to_string())
                .fetch_optional(pool)
                .await
                .map_err(unavailable)?;
                row.map(OrderRow::into_order).transpose()
            }

            pub async fn ping(pool: &$pool) -> Result<(), StoreError> {
                sqlx::query("SELECT 1")
                    .execute(pool)
                    .await
                    .map_err(unavailable)?;
                Ok(())
            }

            /// The user's cart lines, oldest first, on a connection (inside a transaction or not).
            pub async fn cart_lines(
                conn: &mut $conn,
                user: Uuid,
            ) -> Result<Vec<CartLine>, StoreError> {
                let rows: Vec<LineRow> = sqlx::query_as(concat!(
                    "SELECT unicorn_uuid, quantity FROM unicorns_basket WHERE user_uuid = ? ORDER BY ",
                    $line_order
                ))
                .bind(user.to_string())
                .fetch_all(&mut *conn)
                .await
                .map_err(query_error)?;
                into_lines(rows)
            }

            /// Commits unless the request's write deadline has passed (then dropping the
            /// transaction rolls it back).
            pub async fn commit(tx: sqlx::Transaction<'static, $db>) -> Result<(), StoreError> {
                check_write_deadline()?;
                tx.commit().await.map_err(query_error)
            }

            /// Creates the account with a fresh uuid.
            pub async fn insert_user(conn: &mut $conn, user: NewUser) -> Result<User, StoreError> {
                let created = User {
                    uuid: Uuid::new_v4(),
                    email: user.email,
                    first_name: user.first_name,
                    last_name: user.last_name,
                };
                sqlx::query(
                    "INSERT INTO unicorn_user
                       (uuid, email, first_name, last_name, password_hash, signup_key)
                     VALUES (?, ?, ?, ?, ?, ?)",
                )
                .bind(created.uuid.to_string())
                .bind(&created.email)
                .bind(&created.first_name)
                .bind(&created.last_name)
                .bind(&user.password_hash)
                .bind(&user.signup_key)
                .execute(&mut *conn)
                .await
                .map_err(write_error)?;
                Ok(created)
            }

            /// Records a failed login, forgetting the email's failures older than a day.
            pub async fn record_login_failure(
                conn: &mut $conn,
                email: &str,
                at: i64,
            ) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM login_failures WHERE email = ? AND at < ?")
                    .bind(email)
                    .bind(at.saturating_sub(FAILURE_MEMORY_SECS))
                    .execute(&mut *conn)
                    .await
                    .map_err(write_error)?;
                sqlx::query("INSERT INTO login_failures (email, at) VALUES (?, ?)")
                    .bind(email)
                    .bind(at)
                    .execute(&mut *conn)
                    .await
                    .map_err(write_error)?;
                Ok(())
            }

            pub async fn clear_login_failures(
                conn: &mut $conn,
                email: &str,
            ) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM login_failures WHERE email = ?")
                    .bind(email)
                    .execute(&mut *conn)
                    .await
                    .map_err(write_error)?;
                Ok(())
            }

            pub async fn remove_line(
                conn: &mut $conn,
                user: Uuid,
                product: Uuid,
            ) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM unicorns_basket WHERE user_uuid = ? AND unicorn_uuid = ?")
                    .bind(user.to_string())
                    .bind(product.to_string())
                    .execute(&mut *conn)
                    .await
                    .map_err(write_error)?;
                Ok(())
            }

            /// Sets a line's quantity, adding the line when missing.
            pub async fn set_line(
                conn: &mut $conn,
                user: Uuid,
                line: &CartLine,
            ) -> Result<(), StoreError> {
                sqlx::query(concat!(
                    "INSERT INTO unicorns_basket (user_uuid, unicorn_uuid, quantity) VALUES (?, ?, ?) ",
                    $set_quantity
                ))
                .bind(user.to_string())
                .bind(line.uuid.to_string())
                .bind(i64::from(line.quantity))
                .execute(&mut *conn)
                .await
                .map_err(write_error)?;
                Ok(())
            }

            /// [`Carts::merge`](crate::store::Carts::merge) inside a transaction that holds the
            /// user's writes; the caller commits.
            pub async fn merge(
                conn: &mut $conn,
                user: Uuid,
                incoming: &[CartLine],
                key: Option<&str>,
            ) -> Result<Merged, StoreError> {
                if let Some(key) = key {
                    let now = $crate::auth::now_secs();
                    sqlx::query("DELETE FROM cart_merges WHERE user_uuid = ? AND at < ?")
                        .bind(user.to_string())
                        .bind(now - MERGE_KEY_MEMORY_SECS)
                        .execute(&mut *conn)
                        .await
                        .map_err(write_error)?;
                    // A refused insert undoes that statement only, not the transaction.
                    let recorded = sqlx::query(
                        "INSERT INTO cart_merges (user_uuid, idempotency_key, at) VALUES (?, ?, ?)",
                    )
                    .bind(user.to_string())
                    .bind(key)
                    .bind(now)
                    .execute(&mut *conn)
                    .await
                    .map_err(write_error);
                    match recorded {
                        Ok(_) => {}
                        Err(StoreError::Conflict) => {
                            return Ok(Merged {
                                lines: cart_lines(conn, user).await?,
                                capped: Vec::new(),
                            });
                        }
                        Err(other) => return Err(other),
                    }
                }
                let existing = cart_lines(conn, user).await?;
                let merged = merge_lines(&existing, incoming).map_err(|_| StoreError::CartFull)?;
                for line in &merged.lines {
                    set_line(conn, user, line).await?;
                }
                Ok(merged)
            }

            /// [`Orders::place_order`](crate::store::Orders::place_order) inside a transaction
            /// that holds the user's writes; the caller commits (dropping the transaction on an
            /// error rolls it back: no partial order).
            pub async fn place_order(conn: &mut $conn, new: &NewOrder) -> Result<(), StoreError> {
                let held = cart_lines(conn, new.user).await?;
                if !same_lines(&held, &new.cart) {
                    return Err(StoreError::Stale);
                }
                let order = &new.order;
                sqlx::query(
                    "INSERT INTO orders (id, user_uuid, idempotency_key, request_hash, region,
                                         created_at, total_cents, items, shipping)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(order.id.to_string())
                .bind(new.user.to_string())
                .bind(&new.idempotency_key)
                .bind(&new.request_hash)
                .bind(&order.region)
                .bind(&order.created_at)
                .bind(order.total_cents)
                .bind(to_json(&order.items)?)
                .bind(to_json(&order.shipping)?)
                .execute(&mut *conn)
                .await
                .map_err(write_error)?;
                sqlx::query("DELETE FROM unicorns_basket WHERE user_uuid = ?")
                    .bind(new.user.to_string())
                    .execute(&mut *conn)
                    .await
                    .map_err(write_error)?;
                Ok(())
            }
        }
    };
}

pub(super) use sql_statements;
