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
use crate::replication::aurora::{AuroraGlobalDatabase, DEFAULT_ROUND_TRIP};

/// Where the two-region stack's API processes keep their data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreKind {
    /// One SQLite file both regions open (the stand-in for the global tables).
    #[default]
    Sqlite,
    /// The production pair: catalogue and accounts in a MariaDB server per region, replicating
    /// and forwarding writes as an Aurora MySQL global database does
    /// ([`crate::replication::aurora`]), carts and orders in one moto_server both regions share (a
    /// fake DynamoDB, the stand-in for the global tables).
    MysqlDynamodb,
}

impl StoreKind {
    pub fn name(self) -> &'static str {
        match self {
            StoreKind::Sqlite => "sqlite",
            StoreKind::MysqlDynamodb => "mysql-dynamodb",
        }
    }
}

/// How moto_server is started ([`MotoServer::start`] or [`MotoServer::start_serial`]).
type StartMoto = fn(&Path) -> Result<MotoServer, String>;

/// The running store servers and the API environment that points at them.
pub struct StoreServers {
    // Fields drop in order: both servers are killed before the folder is removed.
    mariadb: Option<MariaDb>,
    /// The two-region stack's accounts: a server per region (instead of `mariadb`).
    aurora: Option<AuroraGlobalDatabase>,
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

    /// The servers for the two-region stack: the Aurora global database stand-in (a MariaDB
    /// server per region, its tasks on `runtime`), and moto answering one request at a time
    /// ([`MotoServer::start_serial`]): the drill checks every acknowledged write.
    pub fn start_for_two_regions(
        folder: &Path,
        runtime: &tokio::runtime::Handle,
    ) -> Result<Self, String> {
        let mut servers = Self::launch(folder, false, Some(MotoServer::start_serial))?;
        let aurora = runtime.block_on(AuroraGlobalDatabase::start(
            &folder.join("aurora"),
            DEFAULT_ROUND_TRIP,
        ))?;
        println!(
            "  accounts: MariaDB per region replicating, {} the writer, each API through its region's \
             write-forwarding proxy (the stand-in for an Aurora MySQL global database)",
            aurora.current_writer()
        );
        servers.aurora = Some(aurora);
        servers.env.push(("UNISHOP_TOKEN_KEY", token_key()));
        // What the Lambda functions get (write forwarding needs it in the standby region), unless
        // the environment says otherwise.
        let consistency = std::env::var("UNISHOP_AURORA_READ_CONSISTENCY")
            .unwrap_or_else(|_| "SESSION".to_owned());
        servers
            .env
            .push(("UNISHOP_AURORA_READ_CONSISTENCY", consistency));
        Ok(servers)
    }

    fn launch(folder: &Path, mysql: bool, moto: Option<StartMoto>) -> Result<Self, String> {
        let _ = std::fs::remove_dir_all(folder);
        std::fs::create_dir_all(folder)
            .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
        let mut servers = StoreServers {
            mariadb: None,
            aurora: None,
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
            servers.env.push(("UNISHOP_TOKEN_KEY", token_key()));
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

    /// [`StoreServers::env`] for the API in `region`: with the Aurora stand-in, its database URL is
    /// its region's write-forwarding proxy.
    pub fn env_for(&self, region: &str) -> Result<Vec<(&'static str, String)>, String> {
        let mut env = self.env.clone();
        if let Some(aurora) = &self.aurora {
            env.push(("UNISHOP_DATABASE_URL", aurora.api_url(region)?));
        }
        Ok(env)
    }

    /// The Aurora global database stand-in, in the two-region stack.
    pub fn aurora(&mut self) -> Option<&mut AuroraGlobalDatabase> {
        self.aurora.as_mut()
    }

    /// `unishop-api migrate` with `api_binary`: the MySQL schema and catalogue, and the DynamoDB
    /// tables on moto.
    pub fn migrate(&self, api_binary: &Path) -> Result<(), String> {
        let mut migrate = Command::new(api_binary);
        migrate
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .arg("migrate");
        if let Some(aurora) = &self.aurora {
            // DDL is not forwarded: the schema goes to the writer, through its region's endpoint.
            migrate.env(
                "UNISHOP_DATABASE_URL",
                aurora.api_url(aurora.current_writer())?,
            );
        }
        if self.moto.is_some() {
            migrate.arg("--create-tables");
        }
        run(&mut migrate)
    }
}

impl Drop for StoreServers {
    fn drop(&mut self) {
        drop(self.mariadb.take());
        drop(self.aurora.take());
        drop(self.moto.take());
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// A shared database needs a shared token key; a fresh one per run.
fn token_key() -> String {
    std::iter::repeat_with(fastrand::alphanumeric)
        .take(48)
        .collect()
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
