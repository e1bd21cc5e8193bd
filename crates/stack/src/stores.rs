//! The servers the stack and xtask's commands run the API's stores on, beyond a SQLite file: a
//! MariaDB server of its own for MySQL (the stand-in for Aurora MySQL) and moto_server, a fake
//! DynamoDB (the stand-in for DynamoDB; for the two-region stack one per region, the copies of
//! the global tables that [`crate::replication::global_tables`] replicates). One starter for
//! `cargo xtask bench api` and the two-region stack (`cargo xtask dev --two-regions`,
//! `unishop-stack regions`, `unishop-stack drill`); dropping it stops the servers and removes their
//! folder, also on an error path.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::mariadb::MariaDb;
use crate::moto::MotoServer;
use crate::process::run;
use crate::replication::aurora::{AuroraGlobalDatabase, DEFAULT_ROUND_TRIP};
use crate::replication::global_tables::Replica;

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
    /// The production pair: catalogue and accounts in a MariaDB server per region, replicating
    /// and forwarding writes as an Aurora MySQL global database does
    /// ([`crate::replication::aurora`]), carts and orders in a moto_server per region (a fake
    /// DynamoDB) replicated as global tables are (by the stack's replicator,
    /// [`crate::replication::global_tables`]); `bench api` runs one of each for one region.
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

/// Variables of an API process.
type Env = Vec<(&'static str, String)>;

/// The running store servers and the API environment that points at them.
pub struct StoreServers {
    // Fields drop in order: both servers are killed before the folder is removed.
    mariadb: Option<MariaDb>,
    /// The two-region stack's accounts: a server per region (instead of `mariadb`).
    aurora: Option<AuroraGlobalDatabase>,
    moto: Option<MotoServer>,
    /// The two-region stack's copies of the global tables, one per region (then `moto` is
    /// `None`), each with the variables that put a region's API on it.
    replicas: Vec<(Replica, MotoServer, Env)>,
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
    /// server per region, its tasks on `runtime`), and a moto_server per region of `regions`
    /// answering one request at a time ([`MotoServer::start_replica`]: the drill checks every
    /// acknowledged write), each region's API on its own ([`StoreServers::env_for`]).
    ///
    /// With `shared_carts`, one moto_server both regions share instead, as before the global
    /// tables were replicated (the short drill in `cargo xtask test`, until cart writes survive a
    /// failover within the replication lag: README, "What real replication found").
    pub fn start_for_two_regions(
        folder: &Path,
        regions: [&str; 2],
        runtime: &tokio::runtime::Handle,
        shared_carts: bool,
    ) -> Result<Self, String> {
        let mut servers = Self::launch(
            folder,
            false,
            shared_carts.then_some(MotoServer::start_serial as StartMoto),
        )?;
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
            .unwrap_or_else(|_| LAMBDA_READ_CONSISTENCY.to_owned());
        servers
            .env
            .push(("UNISHOP_AURORA_READ_CONSISTENCY", consistency));
        for region in regions.into_iter().filter(|_| !shared_carts) {
            let moto = MotoServer::start_replica(
                &folder.join(format!("moto_server-{region}.log")),
                region,
            )?;
            println!(
                "  carts and orders in {region}: DynamoDB on moto_server {} (a fake; the global tables' replication is the stack's)",
                moto.url
            );
            let replica = Replica {
                region: region.to_owned(),
                url: moto.url.clone(),
            };
            let env = dynamodb_env(&moto.url, region).to_vec();
            servers.replicas.push((replica, moto, env));
        }
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
            replicas: Vec::new(),
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
            servers.env.extend(dynamodb_env(&moto.url, "us-east-1"));
            servers.moto = Some(moto);
        }
        Ok(servers)
    }

    /// The variables that put an API process on these servers.
    pub fn env(&self) -> &[(&'static str, String)] {
        &self.env
    }

    /// [`StoreServers::env`] for the API in `region`: with the Aurora stand-in, its database URL is
    /// its region's write-forwarding proxy; with the global tables' copies, its own copy.
    pub fn env_for(&self, region: &str) -> Result<Vec<(&'static str, String)>, String> {
        let mut env = self.env.clone();
        if let Some(aurora) = &self.aurora {
            env.push(("UNISHOP_DATABASE_URL", aurora.api_url(region)?));
        }
        if let Some((_, _, dynamodb)) = self.replicas.iter().find(|(r, _, _)| r.region == region) {
            env.extend(dynamodb.iter().cloned());
        }
        Ok(env)
    }

    /// The Aurora global database stand-in, in the two-region stack.
    pub fn aurora(&mut self) -> Option<&mut AuroraGlobalDatabase> {
        self.aurora.as_mut()
    }

    /// The copies of the global tables, one per region (none unless started for two regions).
    pub fn replicas(&self) -> Vec<Replica> {
        self.replicas.iter().map(|(r, _, _)| r.clone()).collect()
    }

    /// SIGSTOP of `region`'s copy of the global tables (the region lost): it keeps its items
    /// and answers nothing until [`StoreServers::thaw_dynamodb`].
    pub fn freeze_dynamodb(&self, region: &str) -> Result<(), String> {
        self.replica_server(region)?.freeze()
    }

    /// SIGCONT, after [`StoreServers::freeze_dynamodb`].
    pub fn thaw_dynamodb(&self, region: &str) -> Result<(), String> {
        self.replica_server(region)?.thaw()
    }

    fn replica_server(&self, region: &str) -> Result<&MotoServer, String> {
        self.replicas
            .iter()
            .find(|(r, _, _)| r.region == region)
            .map(|(_, moto, _)| moto)
            .ok_or_else(|| format!("no DynamoDB copy for {region}"))
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
        let first_replica = self.replicas.first().map(|(_, _, env)| env);
        migrate.envs(
            first_replica
                .into_iter()
                .flatten()
                .map(|(name, value)| (name, value)),
        );
        if self.moto.is_some() || first_replica.is_some() {
            migrate.arg("--create-tables");
        }
        run(&mut migrate)?;
        // The other copies: the same tables, created by the same command on a throwaway SQL
        // store (global tables copy a table's definition to each replica).
        for (_, _, dynamodb) in self.replicas.iter().skip(1) {
            let mut create_tables = Command::new(api_binary);
            create_tables
                .envs(dynamodb.iter().map(|(name, value)| (name, value)))
                .env("UNISHOP_DATABASE_URL", "sqlite::memory:")
                .args(["migrate", "--create-tables"]);
            run(&mut create_tables)?;
        }
        Ok(())
    }
}

impl Drop for StoreServers {
    fn drop(&mut self) {
        drop(self.mariadb.take());
        drop(self.aurora.take());
        drop(self.moto.take());
        self.replicas.clear();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// `UNISHOP_AURORA_READ_CONSISTENCY` as `infra/templates/regional.yaml` gives it to the Lambda
/// functions: the stack's APIs run with the same settings.
pub const LAMBDA_READ_CONSISTENCY: &str = "GLOBAL";

/// The table names the stack's APIs use.
pub const CARTS_TABLE: &str = "unishop-carts";
pub const ORDERS_TABLE: &str = "unishop-orders";

/// A shared database needs a shared token key; a fresh one per run.
fn token_key() -> String {
    std::iter::repeat_with(fastrand::alphanumeric)
        .take(48)
        .collect()
}

/// The environment that puts the API's carts and orders in DynamoDB on the emulator at `url`, as
/// `region` (moto takes any credentials and keeps each region's tables apart).
fn dynamodb_env(url: &str, region: &str) -> [(&'static str, String); 6] {
    [
        ("UNISHOP_CARTS_TABLE", CARTS_TABLE.to_owned()),
        ("UNISHOP_ORDERS_TABLE", ORDERS_TABLE.to_owned()),
        ("AWS_ENDPOINT_URL_DYNAMODB", url.to_owned()),
        ("AWS_REGION", region.to_owned()),
        ("AWS_ACCESS_KEY_ID", "emulator".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "emulator".to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::LAMBDA_READ_CONSISTENCY;
    use crate::process::repo_root;

    #[test]
    fn the_stack_reads_with_the_lambdas_consistency() {
        let template = std::fs::read_to_string(repo_root().join("infra/templates/regional.yaml"))
            .expect("the regional template");
        let values: Vec<&str> = template
            .lines()
            .filter_map(|line| line.trim().strip_prefix("UNISHOP_AURORA_READ_CONSISTENCY:"))
            .map(str::trim)
            .collect();
        assert!(!values.is_empty(), "the template sets the consistency");
        assert!(
            values.iter().all(|value| *value == LAMBDA_READ_CONSISTENCY),
            "{values:?}"
        );
    }
}
