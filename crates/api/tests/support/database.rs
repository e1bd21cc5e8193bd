//! The databases the HTTP suite runs on: SQLite, MariaDB for the MySQL store, and MariaDB with
//! carts and orders on DynamoDB (moto), as in production.

// Each test binary that includes this module uses a part of it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use sqlx::Connection;
use unishop_api::store::dynamodb::DynamoStore;
use unishop_api::store::mysql::{MySqlSettings, MySqlStore};
use unishop_api::store::sqlite::SqliteStore;
use unishop_api::store::Stores;
use uuid::Uuid;

use super::mariadb;
use super::moto::{self, OwnMoto};

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
    /// Catalogue and users on MariaDB, carts and orders in DynamoDB tables of their own, on the
    /// shared moto_server or on `own_moto`.
    MariaDbDynamo {
        url: String,
        dynamo: DynamoStore,
        own_moto: Option<Arc<OwnMoto>>,
    },
}

/// One API server's store on a [`Database`].
#[derive(Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    MySql(MySqlStore),
    MySqlDynamo(MySqlStore, DynamoStore),
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

    /// A fresh MariaDB database and fresh DynamoDB tables on the shared moto_server; `None` (the
    /// test skips) when either is not available.
    pub async fn mariadb_dynamodb() -> Option<Self> {
        let moto_url = moto::moto_url()?;
        Self::mariadb_dynamodb_on(&moto_url, None).await
    }

    /// [`Database::mariadb_dynamodb`] with a moto_server of this database alone, which
    /// [`Database::hold_write_lock`] may stop.
    pub async fn mariadb_dynamodb_own_moto() -> Option<Self> {
        moto::moto_url()?;
        mariadb::shared()?;
        let own_moto = Arc::new(OwnMoto::start());
        let url = own_moto.url.clone();
        Self::mariadb_dynamodb_on(&url, Some(own_moto)).await
    }

    async fn mariadb_dynamodb_on(moto_url: &str, own_moto: Option<Arc<OwnMoto>>) -> Option<Self> {
        let Database::MariaDb { url } = Self::mariadb().await? else {
            unreachable!("Database::mariadb makes a MariaDB database")
        };
        Some(Database::MariaDbDynamo {
            url,
            dynamo: moto::fresh_tables(moto_url, "us-east-1").await,
            own_moto,
        })
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
            Database::MariaDb { url } => Store::MySql(mysql_store(url, wait_limit)),
            Database::MariaDbDynamo { url, dynamo, .. } => {
                Store::MySqlDynamo(mysql_store(url, wait_limit), dynamo.clone())
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
                Database::MariaDb { url } | Database::MariaDbDynamo { url, .. } => {
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
    /// the guard is dropped, as a stuck writer elsewhere would. Carts and orders in DynamoDB take
    /// no lock a writer could keep: there, the own moto_server is stopped (it accepts connections
    /// and answers none, as a hung endpoint would) until the guard is dropped.
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
                    _stopped: None,
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
                    _stopped: None,
                }
            }
            Database::MariaDbDynamo { own_moto, .. } => {
                let moto = own_moto
                    .clone()
                    .expect("a database from Database::mariadb_dynamodb_own_moto");
                moto.freeze();
                LockGuard {
                    _sqlite: None,
                    _mysql: None,
                    _stopped: Some(Stopped(moto)),
                }
            }
        }
    }
}

/// An open connection holding a lock; dropping it closes the connection and frees the lock.
pub struct LockGuard {
    _sqlite: Option<sqlx::SqliteConnection>,
    _mysql: Option<sqlx::MySqlConnection>,
    _stopped: Option<Stopped>,
}

/// A stopped moto_server, continued when dropped.
struct Stopped(Arc<OwnMoto>);

impl Drop for Stopped {
    fn drop(&mut self) {
        self.0.thaw();
    }
}

fn mysql_store(url: &str, wait_limit: Option<Duration>) -> MySqlStore {
    let mut settings = MySqlSettings::new(url);
    if let Some(limit) = wait_limit {
        settings.wait_limit = limit;
    }
    MySqlStore::connect(&settings).expect("valid URL")
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
            Store::MySqlDynamo(sql, dynamo) => dynamo
                .clone()
                .serve_carts_and_orders(sql.clone().into_stores()),
        }
    }

    pub async fn close(&self) {
        match self {
            Store::Sqlite(store) => store.close().await,
            Store::MySql(store) | Store::MySqlDynamo(store, _) => store.close().await,
        }
    }
}
