//! The servers the stack and xtask's commands run the API's stores on, beyond a SQLite file: a
//! MariaDB server of its own for MySQL (the stand-in for Aurora MySQL) and moto_server, a fake
//! DynamoDB (the stand-in for DynamoDB and its global tables). One starter for `cargo xtask bench
//! api` and the two-region stack (`cargo xtask dev --two-regions`, `unishop-stack regions`,
//! `unishop-stack drill`); dropping it stops both servers and removes their folder, also on an
//! error path.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::mariadb::MariaDb;
use crate::moto::MotoServer;
use crate::process::run;

/// Where the API processes keep their data: the one list of stores for the two-region stack
/// (`sqlite`, `mysql-dynamodb`) and `cargo xtask bench api` (all four).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreKind {
    /// Everything in one SQLite file (in the two-region stack both regions open it, the stand-in
    /// for the global tables).
    #[default]
    Sqlite,
    /// Catalogue and accounts in SQLite, carts and orders in DynamoDB on moto_server (an
    /// emulator, so figures measure moto, not DynamoDB). `bench api` only.
    Dynamodb,
    /// Everything in MySQL: a MariaDB server of its own, on loopback. `bench api` only.
    Mysql,
    /// The production pair: catalogue and accounts in one MariaDB database (the stand-in for an
    /// Aurora MySQL global database), carts and orders in one moto_server (a fake DynamoDB, the
    /// stand-in for the global tables), both shared by the two regions.
    MysqlDynamodb,
}

impl StoreKind {
    pub fn name(self) -> &'static str {
        match self {
            StoreKind::Sqlite => "sqlite",
            StoreKind::Dynamodb => "dynamodb",
            StoreKind::Mysql => "mysql",
            StoreKind::MysqlDynamodb => "mysql-dynamodb",
        }
    }

    /// Whether a MariaDB server holds the catalogue and accounts.
    pub fn uses_mysql(self) -> bool {
        matches!(self, StoreKind::Mysql | StoreKind::MysqlDynamodb)
    }

    /// Whether moto_server holds the carts and orders.
    pub fn uses_dynamodb(self) -> bool {
        matches!(self, StoreKind::Dynamodb | StoreKind::MysqlDynamodb)
    }
}

/// How moto_server is started ([`MotoServer::start`] or [`MotoServer::start_serial`]).
type StartMoto = fn(&Path) -> Result<MotoServer, String>;

/// The running store servers and the API environment that points at them.
pub struct StoreServers {
    // Fields drop in order: both servers are killed before the folder is removed.
    mariadb: Option<MariaDb>,
    moto: Option<MotoServer>,
    folder: PathBuf,
    env: Vec<(&'static str, String)>,
}

impl StoreServers {
    /// Starts MariaDB (with a database `unishop`) when `mysql`, moto_server when `dynamodb`, in a
    /// fresh `folder`.
    pub fn start(folder: &Path, mysql: bool, dynamodb: bool) -> Result<Self, String> {
        Self::launch(folder, mysql, dynamodb.then_some(MotoServer::start))
    }

    /// Both servers for the two-region stack, moto answering one request at a time
    /// ([`MotoServer::start_serial`]): the drill checks every acknowledged write.
    pub fn start_for_two_regions(folder: &Path) -> Result<Self, String> {
        Self::launch(folder, true, Some(MotoServer::start_serial))
    }

    fn launch(folder: &Path, mysql: bool, moto: Option<StartMoto>) -> Result<Self, String> {
        let _ = std::fs::remove_dir_all(folder);
        std::fs::create_dir_all(folder)
            .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
        let mut servers = StoreServers {
            mariadb: None,
            moto: None,
            folder: folder.to_path_buf(),
            env: Vec::new(),
        };
        if mysql {
            let mariadb = MariaDb::start(&folder.join("mariadb"))?;
            let url = mariadb.create_database("unishop")?;
            println!(
                "  MySQL store: MariaDB on port {} (the stand-in for Aurora MySQL)",
                mariadb.port()
            );
            servers.mariadb = Some(mariadb);
            servers.env.push(("UNISHOP_DATABASE_URL", url));
            // A shared database needs a shared token key; a fresh one per run.
            let key: String = std::iter::repeat_with(fastrand::alphanumeric)
                .take(48)
                .collect();
            servers.env.push(("UNISHOP_TOKEN_KEY", key));
        }
        if let Some(start_moto) = moto {
            let moto = start_moto(&folder.join("moto_server.log"))?;
            println!(
                "  carts and orders: DynamoDB on moto_server {} (a fake, the stand-in for DynamoDB)",
                moto.url
            );
            servers.env.extend(dynamodb_env(&moto.url));
            servers.moto = Some(moto);
        }
        Ok(servers)
    }

    /// The variables that put an API process on these servers.
    pub fn env(&self) -> &[(&'static str, String)] {
        &self.env
    }

    /// `unishop-api migrate` with `api_binary`: the MySQL schema and catalogue, and the DynamoDB
    /// tables on moto.
    pub fn migrate(&self, api_binary: &Path) -> Result<(), String> {
        let mut migrate = Command::new(api_binary);
        migrate
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .arg("migrate");
        if self.moto.is_some() {
            migrate.arg("--create-tables");
        }
        run(&mut migrate)
    }
}

impl Drop for StoreServers {
    fn drop(&mut self) {
        drop(self.mariadb.take());
        drop(self.moto.take());
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// The environment that puts the API's carts and orders in DynamoDB on the emulator at `url`
/// (moto takes any credentials). Every process gets the same AWS region, so every region's API
/// reads and writes the same tables, as global tables replicate them.
fn dynamodb_env(url: &str) -> [(&'static str, String); 6] {
    [
        ("UNISHOP_CARTS_TABLE", "unishop-carts".to_owned()),
        ("UNISHOP_ORDERS_TABLE", "unishop-orders".to_owned()),
        ("AWS_ENDPOINT_URL_DYNAMODB", url.to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "emulator".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "emulator".to_owned()),
    ]
}
