//! The databases the HTTP suite runs on: SQLite, and MariaDB for the MySQL store.

// Each test binary that includes this module uses a part of it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use sqlx::Connection;
use unishop_api::store::mysql::{MySqlSettings, MySqlStore};
use unishop_api::store::sqlite::SqliteStore;
use unishop_api::store::Stores;
use uuid::Uuid;

use super::mariadb;

/// A database for one test, which several API servers may share (as two regions do).
#[derive(Clone)]
pub enum Database {
    Sqlite {
        url: String,
        _folder: Arc<tempfile::TempDir>,
    },
    MariaDb {
        url: String,
    },
}

/// One API server's store on a [`Database`].
#[derive(Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    MySql(MySqlStore),
}

impl Database {
    /// A fresh SQLite file.
    pub fn sqlite() -> Self {
        let folder = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", folder.path().join("shop.db").display());
        Database::Sqlite {
            url,
            _folder: Arc::new(folder),
        }
    }

    /// A fresh, migrated database on the shared MariaDB server; `None` (the test skips) when
    /// MariaDB is not available.
    pub async fn mariadb() -> Option<Self> {
        let url = mariadb::shared()?.fresh_database("http").await;
        MySqlStore::connect(&MySqlSettings::new(&url))
            .expect("valid URL")
            .migrate()
            .await
            .expect("migrates");
        Some(Database::MariaDb { url })
    }

    /// A store on this database, waiting at most `wait_limit` for it.
    pub async fn open(&self, wait_limit: Option<Duration>) -> Store {
        match self {
            Database::Sqlite { url, .. } => Store::Sqlite(
                match wait_limit {
                    Some(limit) => SqliteStore::open_with(url, limit).await,
                    None => SqliteStore::open(url).await,
                }
                .expect("opens"),
            ),
            Database::MariaDb { url } => {
                let mut settings = MySqlSettings::new(url);
                if let Some(limit) = wait_limit {
                    settings.wait_limit = limit;
                }
                Store::MySql(MySqlStore::connect(&settings).expect("valid URL"))
            }
        }
    }

    /// Adds products with uuids 1..=n straight to the catalogue table.
    pub async fn insert_products(&self, n: u128) {
        const INSERT: &str = "INSERT INTO unicorns
              (uuid, slug, name, description, price_cents, image, image_alt, category, position)
            VALUES (?, ?, 'Test', 'd', 100, 'i', 'a', 'Test', ?)";
        for i in 1..=n {
            let (uuid, slug, position) = (
                Uuid::from_u128(i).to_string(),
                format!("test-{i}"),
                100 + i as i64,
            );
            match self {
                Database::Sqlite { url, .. } => {
                    let mut conn = sqlx::SqliteConnection::connect(url)
                        .await
                        .expect("connects");
                    sqlx::query(INSERT)
                        .bind(uuid)
                        .bind(slug)
                        .bind(position)
                        .execute(&mut conn)
                        .await
                        .expect("inserts");
                }
                Database::MariaDb { url } => {
                    let mut conn = sqlx::MySqlConnection::connect(url).await.expect("connects");
                    sqlx::query(INSERT)
                        .bind(uuid)
                        .bind(slug)
                        .bind(position)
                        .execute(&mut conn)
                        .await
                        .expect("inserts");
                }
            }
        }
    }

    /// Holds what a write for `user` needs (SQLite's write lock, the user's row in MySQL) until
    /// the guard is dropped, as a stuck writer elsewhere would.
    pub async fn hold_write_lock(&self, user: Uuid) -> LockGuard {
        match self {
            Database::Sqlite { url, .. } => {
                let mut conn = sqlx::SqliteConnection::connect(url)
                    .await
                    .expect("connects");
                sqlx::query("BEGIN IMMEDIATE")
                    .execute(&mut conn)
                    .await
                    .expect("takes the write lock");
                LockGuard {
                    _sqlite: Some(conn),
                    _mysql: None,
                }
            }
            Database::MariaDb { url } => {
                let mut conn = sqlx::MySqlConnection::connect(url).await.expect("connects");
                sqlx::query("BEGIN")
                    .execute(&mut conn)
                    .await
                    .expect("begins");
                sqlx::query("SELECT uuid FROM unicorn_user WHERE uuid = ? FOR UPDATE")
                    .bind(user.to_string())
                    .execute(&mut conn)
                    .await
                    .expect("locks the user");
                LockGuard {
                    _sqlite: None,
                    _mysql: Some(conn),
                }
            }
        }
    }
}

/// An open connection holding a lock; dropping it closes the connection and frees the lock.
pub struct LockGuard {
    _sqlite: Option<sqlx::SqliteConnection>,
    _mysql: Option<sqlx::MySqlConnection>,
}

impl LockGuard {
    /// Frees the lock at once (dropping the guard frees it once the connection has closed).
    pub async fn release(mut self) {
        if let Some(conn) = &mut self._sqlite {
            sqlx::query("COMMIT").execute(conn).await.expect("commits");
        }
        if let Some(conn) = &mut self._mysql {
            sqlx::query("COMMIT").execute(conn).await.expect("commits");
        }
    }
}

impl Store {
    pub fn stores(&self) -> Stores {
        match self {
            Store::Sqlite(store) => store.clone().into_stores(),
            Store::MySql(store) => store.clone().into_stores(),
        }
    }

    pub async fn close(&self) {
        match self {
            Store::Sqlite(store) => store.close().await,
            Store::MySql(store) => store.close().await,
        }
    }
}
