//! The stand-in for an Aurora MySQL global database: one MariaDB server per region, us-east-1's
//! the writer and us-west-1's a read-only replica, joined by asynchronous GTID replication (binary
//! log on both, distinct `server_id`, `log_slave_updates`, ROW format, `gtid_strict_mode`) that
//! crosses a [`DelayLink`] paying the inter-region latency. The API reaches its region's server
//! through that region's [`ForwardingProxy`](super::forwarding::ForwardingProxy), as a Lambda
//! function reaches its cluster's endpoint.
//!
//! The controls are the global database's: [`AuroraGlobalDatabase::switchover`] (planned: the
//! writer stops taking writes, the target catches up, becomes the writer, the old writer replicates
//! from it), [`AuroraGlobalDatabase::promote`] (unplanned, "allow data loss": the replica stops
//! replicating and takes writes now), [`AuroraGlobalDatabase::lose`] and
//! [`AuroraGlobalDatabase::rejoin`] (a region's server gone, later rebuilt as the replica of the
//! current writer, its own transactions the writer never received discarded and reported, as
//! Aurora rebuilds an old primary).
//!
//! The replica's `read_only` binds every account without `READ_ONLY ADMIN`/`SUPER`: the API
//! connects as `unishop`, which has only data privileges, so a write that reaches the replica is
//! refused as on an Aurora secondary. Replication lag is measured, never configured: a heartbeat row
//! is written on the writer every [`HEARTBEAT_EVERY`], and the time until the replica has applied
//! that transaction (`MASTER_GTID_WAIT`) is one [`LagSample`].

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sqlx::mysql::MySqlConnectOptions;
use sqlx::{Connection, Executor, MySqlConnection};
use tokio::task::JoinHandle;

use super::forwarding::ForwardingProxy;
use super::link::DelayLink;
use crate::mariadb::{MariaDb, MARIADBD};
use crate::regions::{PRIMARY_REGION, STANDBY_REGION};

/// The two regions, in the order of every `[_; 2]` here.
pub const REGIONS: [&str; 2] = [PRIMARY_REGION, STANDBY_REGION];
/// The database the API's tables live in.
pub const DATABASE: &str = "unishop";
/// The account the API connects as: data privileges only, so `read_only` binds it.
pub const API_USER: &str = "unishop";
/// A round trip between us-east-1 and us-west-1, about what AWS's inter-region latency figures
/// give for that pair.
pub const DEFAULT_ROUND_TRIP: Duration = Duration::from_millis(65);
/// How often the heartbeat row is written on the writer.
pub const HEARTBEAT_EVERY: Duration = Duration::from_millis(100);
/// How long a switchover waits for the target to apply the writer's last transaction.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(10);
/// The most lag samples kept (the oldest are dropped): at 10 a second, over an hour.
const MAX_SAMPLES: usize = 50_000;

const REPLICATION_USER: &str = "replicator";
const HEARTBEAT_USER: &str = "heartbeat";
const CONTROL_DATABASE: &str = "aurora_stand_in";

/// Accounts and the heartbeat table, created on a fresh server (on the first writer they replicate
/// to the replica; on a rebuilt server they are created with the binary log off).
const BOOTSTRAP: &[&str] = &[
    "CREATE DATABASE IF NOT EXISTS `unishop`",
    "CREATE DATABASE IF NOT EXISTS `aurora_stand_in`",
    "CREATE TABLE IF NOT EXISTS aurora_stand_in.heartbeat (id INT PRIMARY KEY, beat BIGINT NOT NULL, written_at_us BIGINT NOT NULL) ENGINE = InnoDB",
    "INSERT IGNORE INTO aurora_stand_in.heartbeat VALUES (1, 0, 0)",
    "CREATE USER IF NOT EXISTS 'unishop'@'127.0.0.1'",
    "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, DROP, REFERENCES, CREATE TEMPORARY TABLES, LOCK TABLES ON `unishop`.* TO 'unishop'@'127.0.0.1'",
    "CREATE USER IF NOT EXISTS 'replicator'@'127.0.0.1'",
    "GRANT REPLICATION SLAVE ON *.* TO 'replicator'@'127.0.0.1'",
    "CREATE USER IF NOT EXISTS 'heartbeat'@'127.0.0.1'",
    "GRANT SELECT, UPDATE ON `aurora_stand_in`.* TO 'heartbeat'@'127.0.0.1'",
];

/// One measurement of replication lag: the heartbeat committed on the writer at `at_unix_ms` was
/// applied on the replica `lag_ms` later.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LagSample {
    pub at_unix_ms: u64,
    pub lag_ms: f64,
}

/// What a rejoining region had that the writer never received, thrown away when it was rebuilt.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Discarded {
    /// Transactions committed on the old writer after the last one the new writer applied (the
    /// stand-in's heartbeats among them).
    pub transactions: u64,
    /// The accounts (`unicorn_user` rows) among them: in the old writer's copy, not in the writer's.
    pub users: Vec<DiscardedUser>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscardedUser {
    pub uuid: String,
    pub email: String,
    /// `created_at`, as the server stored it (UTC, milliseconds).
    pub created_at: String,
}

/// Where each region's server is and which one takes writes; shared with the proxies and the
/// heartbeat, which read it for every session and beat.
#[derive(Clone, Debug)]
pub struct Topology {
    pub writer: usize,
    /// Each region's server's port; `None` while the region is lost.
    pub ports: [Option<u16>; 2],
    /// Bumped at every change of roles or servers (the heartbeat reconnects).
    pub epoch: u64,
}

impl Topology {
    pub fn writer_port(&self) -> Option<u16> {
        self.ports[self.writer]
    }
}

pub type SharedTopology = Arc<Mutex<Topology>>;

/// Locks the topology; a panic elsewhere while holding it does not make it unreadable.
pub fn lock(topology: &SharedTopology) -> MutexGuard<'_, Topology> {
    topology
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The index of `region` in [`REGIONS`], or a clear error.
pub fn region_index(region: &str) -> Result<usize, String> {
    REGIONS.iter().position(|r| *r == region).ok_or_else(|| {
        format!(
            "the local stack has the regions {PRIMARY_REGION} and {STANDBY_REGION}, not {region}"
        )
    })
}

/// A region's server as the global database sees it.
struct RegionServer {
    server: Option<MariaDb>,
    folder: PathBuf,
    server_id: u32,
    /// Stopped (lost), its data kept for [`AuroraGlobalDatabase::rejoin`]; serving again only once
    /// the topology has its port back.
    lost: bool,
    /// Was the writer when the other region was promoted: its copy may hold transactions the new
    /// writer never received, so it must be rebuilt before it serves again.
    diverged: bool,
}

/// The running pair, its proxies and its heartbeat; dropping it stops them all.
pub struct AuroraGlobalDatabase {
    servers: [RegionServer; 2],
    topology: SharedTopology,
    /// The replica's replication connection to the writer, through the inter-region latency.
    link: Option<DelayLink>,
    round_trip: Duration,
    proxies: Vec<ForwardingProxy>,
    samples: Arc<Mutex<Vec<LagSample>>>,
    heartbeat: JoinHandle<()>,
    /// At the last promotion: the GTID position the promoted replica had applied.
    applied_at_promotion: Option<String>,
    folder: PathBuf,
}

impl AuroraGlobalDatabase {
    /// Starts both servers in `folder` (us-east-1 the writer), replication between them through
    /// the latency of `round_trip`, a forwarding proxy per region forwarding with that latency, and
    /// the heartbeat. Must run on a multi-threaded Tokio runtime, which keeps its tasks.
    pub async fn start(folder: &Path, round_trip: Duration) -> Result<Self, String> {
        let _ = std::fs::remove_dir_all(folder);
        std::fs::create_dir_all(folder)
            .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
        let mut servers = Vec::new();
        for (index, region) in REGIONS.iter().enumerate() {
            let region_folder = folder.join(region);
            let server_id = index as u32 + 1;
            let server = start_server(region_folder.clone(), server_id).await?;
            servers.push(RegionServer {
                server: Some(server),
                folder: region_folder,
                server_id,
                lost: false,
                diverged: false,
            });
        }
        let servers: [RegionServer; 2] = servers
            .try_into()
            .map_err(|_| "two servers expected".to_owned())?;
        let ports = [port_of(&servers[0])?, port_of(&servers[1])?];
        let mut writer = root(ports[0]).await?;
        for statement in BOOTSTRAP {
            run_sql(&mut writer, statement).await?;
        }
        run_sql(&mut writer, "SET GLOBAL read_only = 0").await?;
        let topology = Arc::new(Mutex::new(Topology {
            writer: 0,
            ports: [Some(ports[0]), Some(ports[1])],
            epoch: 0,
        }));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let heartbeat = tokio::spawn(heartbeat(topology.clone(), samples.clone()));
        let mut database = AuroraGlobalDatabase {
            servers,
            topology: topology.clone(),
            link: None,
            round_trip,
            proxies: Vec::new(),
            samples,
            heartbeat,
            applied_at_promotion: None,
            folder: folder.to_owned(),
        };
        database.replicate(1, ports[0], None).await?;
        database.wait_caught_up(1).await?;
        for index in 0..REGIONS.len() {
            database
                .proxies
                .push(ForwardingProxy::start(index, topology.clone(), round_trip).await?);
        }
        Ok(database)
    }

    /// The region whose server takes writes.
    pub fn current_writer(&self) -> &'static str {
        REGIONS[lock(&self.topology).writer]
    }

    /// The URL the API in `region` connects to: its region's forwarding proxy, as user
    /// [`API_USER`].
    pub fn api_url(&self, region: &str) -> Result<String, String> {
        let index = region_index(region)?;
        Ok(format!(
            "mysql://{API_USER}@127.0.0.1:{}/{DATABASE}",
            self.proxies[index].port()
        ))
    }

    /// The forwarding proxy of `region`.
    pub fn proxy(&self, region: &str) -> Result<&ForwardingProxy, String> {
        let index = region_index(region)?;
        self.proxies
            .get(index)
            .ok_or_else(|| format!("{region} has no proxy"))
    }

    /// The writer's server itself, as root, for `unishop-api migrate` (DDL is not forwarded).
    pub fn writer_admin_url(&self) -> Result<String, String> {
        let port = lock(&self.topology)
            .writer_port()
            .ok_or("the writer is lost")?;
        Ok(format!("mysql://root@127.0.0.1:{port}/{DATABASE}"))
    }

    /// A region's server itself, as root (tests and checks read each copy).
    pub fn admin_url(&self, region: &str) -> Result<String, String> {
        let index = region_index(region)?;
        let port = lock(&self.topology).ports[index].ok_or_else(|| format!("{region} is lost"))?;
        Ok(format!("mysql://root@127.0.0.1:{port}/{DATABASE}"))
    }

    /// The topology the proxies route by.
    pub fn topology(&self) -> SharedTopology {
        self.topology.clone()
    }

    /// Every lag sample so far, oldest first.
    pub fn lag_samples(&self) -> Vec<LagSample> {
        self.samples
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The 99th percentile of the lag samples so far, in milliseconds (0 without samples).
    pub fn lag_p99_ms(&self) -> f64 {
        let mut lags: Vec<f64> = self.lag_samples().iter().map(|s| s.lag_ms).collect();
        if lags.is_empty() {
            return 0.0;
        }
        lags.sort_by(f64::total_cmp);
        let rank = ((lags.len() as f64) * 0.99).ceil() as usize;
        lags[rank.clamp(1, lags.len()) - 1]
    }

    /// Planned switchover to `target`: the writer is made read-only, `target` waits until it has
    /// applied the writer's last transaction, is promoted, and the old writer replicates from it
    /// (the call returns once it has caught up, or failed to within the limit). Answers how long
    /// writes were refused (from read-only on the old writer to writable on the new one).
    pub async fn switchover(&mut self, target: &str) -> Result<Duration, String> {
        let target = region_index(target)?;
        let (old, old_port, target_port) = {
            let topology = lock(&self.topology);
            if topology.writer == target {
                return Err(format!("{} is already the writer", REGIONS[target]));
            }
            let old = topology.writer;
            let old_port = topology.ports[old].ok_or_else(|| {
                format!(
                    "the writer in {} is lost: a switchover needs both regions; promote {} instead",
                    REGIONS[old], REGIONS[target]
                )
            })?;
            let target_port = topology.ports[target]
                .ok_or_else(|| format!("{} is lost: rejoin it first", REGIONS[target]))?;
            (old, old_port, target_port)
        };
        if self.servers[target].diverged {
            return Err(format!(
                "{} must be rejoined before it can take writes",
                REGIONS[target]
            ));
        }
        let mut old_writer = root(old_port).await?;
        run_sql(&mut old_writer, "SET GLOBAL read_only = 1").await?;
        let refused_since = Instant::now();
        let position: String = scalar(&mut old_writer, "SELECT @@GLOBAL.gtid_binlog_pos").await?;
        let mut new_writer = root(target_port).await?;
        if let Err(error) = wait_for_position(&mut new_writer, &position).await {
            // Writes go back to the old writer rather than stay refused.
            run_sql(&mut old_writer, "SET GLOBAL read_only = 0").await?;
            return Err(format!(
                "switchover to {} given up: {error}",
                REGIONS[target]
            ));
        }
        run_sql(&mut new_writer, "STOP SLAVE").await?;
        run_sql(&mut new_writer, "RESET SLAVE ALL").await?;
        run_sql(&mut new_writer, "SET GLOBAL read_only = 0").await?;
        {
            let mut topology = lock(&self.topology);
            topology.writer = target;
            topology.epoch += 1;
        }
        let refused_for = refused_since.elapsed();
        run_sql(
            &mut old_writer,
            "SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos",
        )
        .await?;
        self.replicate(old, target_port, Some(&mut old_writer))
            .await?;
        // Done when the old writer replicates again, as Aurora's switchover ends with the
        // topology healthy; writes were open meanwhile. Not catching up is not a failed switchover.
        let _ = self.wait_caught_up(old).await;
        Ok(refused_for)
    }

    /// Unplanned failover to `target` ("allow data loss"): it stops replicating and takes writes
    /// now; whatever the writer had not shipped to it is not in its copy. The old writer, when it
    /// can still be reached, is made read-only; either way it must be [`rejoin`](Self::rejoin)ed.
    pub async fn promote(&mut self, target: &str) -> Result<(), String> {
        let target = region_index(target)?;
        let (old, old_port, target_port) = {
            let topology = lock(&self.topology);
            if topology.writer == target {
                return Err(format!("{} is already the writer", REGIONS[target]));
            }
            let target_port = topology.ports[target]
                .ok_or_else(|| format!("{} is lost: it cannot be promoted", REGIONS[target]))?;
            (
                topology.writer,
                topology.ports[topology.writer],
                target_port,
            )
        };
        if self.servers[target].diverged {
            return Err(format!(
                "{} must be rejoined before it can take writes",
                REGIONS[target]
            ));
        }
        self.link = None;
        let mut new_writer = root(target_port).await?;
        run_sql(&mut new_writer, "STOP SLAVE").await?;
        let applied: String = scalar(&mut new_writer, "SELECT @@GLOBAL.gtid_slave_pos").await?;
        run_sql(&mut new_writer, "RESET SLAVE ALL").await?;
        run_sql(&mut new_writer, "SET GLOBAL read_only = 0").await?;
        {
            let mut topology = lock(&self.topology);
            topology.writer = target;
            topology.epoch += 1;
        }
        self.applied_at_promotion = Some(applied);
        self.servers[old].diverged = true;
        if let Some(port) = old_port {
            // Fence the old writer if it still answers; a lost one cannot take writes anyway.
            let fence = async {
                let mut old_writer = root(port).await?;
                run_sql(&mut old_writer, "SET GLOBAL read_only = 1").await
            };
            let _ = tokio::time::timeout(Duration::from_secs(2), fence).await;
        }
        Ok(())
    }

    /// The region's server is gone (SIGKILL, as a lost region): its proxy's sessions end and
    /// nothing reaches it until [`rejoin`](Self::rejoin). Its data stays on disk.
    pub async fn lose(&mut self, region: &str) -> Result<(), String> {
        let index = region_index(region)?;
        let writer = {
            let topology = lock(&self.topology);
            if topology.ports[index].is_none() {
                return Err(format!("{region} is already lost"));
            }
            topology.writer
        };
        if index != writer {
            self.link = None;
        }
        if let Some(server) = self.servers[index].server.as_mut() {
            server.kill();
        }
        self.servers[index].lost = true;
        let mut topology = lock(&self.topology);
        topology.ports[index] = None;
        topology.epoch += 1;
        Ok(())
    }

    /// Brings a lost (or fenced) region back. Still the writer (never failed over): restarted and
    /// takes writes again. The replica: restarted and catches up from where it was. An old writer
    /// after a promotion: what it has that the writer never received is reported, then it is
    /// rebuilt from a copy of the writer and replicates from it, as Aurora rebuilds an old primary.
    pub async fn rejoin(&mut self, region: &str) -> Result<Discarded, String> {
        let index = region_index(region)?;
        let (writer, serving) = {
            let topology = lock(&self.topology);
            (topology.writer, topology.ports[index].is_some())
        };
        let diverged = self.servers[index].diverged;
        if serving && !diverged {
            return Err(format!("{region} is not lost"));
        }
        if self.servers[index].lost {
            restart(&mut self.servers[index]).await?;
            // A rejoin that fails after this point can be run again without restarting.
            self.servers[index].lost = false;
        }
        let port = port_of(&self.servers[index])?;
        let mut discarded = Discarded::default();
        if index == writer {
            let mut connection = root(port).await?;
            run_sql(&mut connection, "SET GLOBAL read_only = 0").await?;
        } else {
            let writer_port = lock(&self.topology)
                .writer_port()
                .ok_or("the writer is lost: promote a region before rejoining another")?;
            if diverged {
                discarded = self.discarded(port, writer_port).await?;
                self.rebuild(index, writer_port).await?;
            } else {
                self.replicate(index, writer_port, None).await?;
            }
        }
        let server = &mut self.servers[index];
        server.lost = false;
        server.diverged = false;
        let port = port_of(server)?;
        {
            let mut topology = lock(&self.topology);
            topology.ports[index] = Some(port);
            topology.epoch += 1;
        }
        if index != writer {
            // Back once it has caught up, as an Aurora secondary is reported available once synced.
            self.wait_caught_up(index).await?;
        }
        Ok(discarded)
    }

    /// Waits until `region`'s server has applied everything the writer has committed so far.
    pub async fn wait_caught_up_region(&self, region: &str) -> Result<(), String> {
        self.wait_caught_up(region_index(region)?).await
    }

    async fn wait_caught_up(&self, index: usize) -> Result<(), String> {
        let (writer_port, port) = {
            let topology = lock(&self.topology);
            (topology.writer_port(), topology.ports[index])
        };
        let writer_port = writer_port.ok_or("the writer is lost")?;
        let port = port.ok_or_else(|| format!("{} is lost", REGIONS[index]))?;
        if writer_port == port {
            return Ok(());
        }
        let position: String = scalar(
            &mut root(writer_port).await?,
            "SELECT @@GLOBAL.gtid_binlog_pos",
        )
        .await?;
        wait_for_position(&mut root(port).await?, &position).await
    }

    /// Points region `index`'s server at the writer on `writer_port` through a new link and starts
    /// replicating from its `gtid_slave_pos`.
    async fn replicate(
        &mut self,
        index: usize,
        writer_port: u16,
        connection: Option<&mut MySqlConnection>,
    ) -> Result<(), String> {
        let link = DelayLink::start(writer_port, self.round_trip / 2).await?;
        let mut own;
        let connection = match connection {
            Some(connection) => connection,
            None => {
                own = root(port_of(&self.servers[index])?).await?;
                &mut own
            }
        };
        run_sql(connection, "SET GLOBAL read_only = 1").await?;
        run_sql(connection, "STOP SLAVE").await?;
        run_sql(
            connection,
            &format!(
                "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = {}, \
                 MASTER_USER = '{REPLICATION_USER}', MASTER_USE_GTID = slave_pos, \
                 MASTER_CONNECT_RETRY = 1",
                link.port()
            ),
        )
        .await?;
        run_sql(connection, "START SLAVE").await?;
        self.link = Some(link);
        Ok(())
    }

    /// The transactions and accounts the server on `port` has that the writer lacks.
    async fn discarded(&self, port: u16, writer_port: u16) -> Result<Discarded, String> {
        let mut old = root(port).await?;
        let mut writer = root(writer_port).await?;
        let old_position: String = scalar(&mut old, "SELECT @@GLOBAL.gtid_binlog_pos").await?;
        let applied = self.applied_at_promotion.clone().unwrap_or_default();
        let transactions = sequence_of(&old_position).saturating_sub(sequence_of(&applied));
        let users_sql = "SELECT uuid, email, CAST(created_at AS CHAR) FROM unishop.unicorn_user";
        let old_users = users(&mut old, users_sql).await?;
        let writer_users: std::collections::HashSet<String> = users(&mut writer, users_sql)
            .await?
            .into_iter()
            .map(|user| user.uuid)
            .collect();
        Ok(Discarded {
            transactions,
            users: old_users
                .into_iter()
                .filter(|user| !writer_users.contains(&user.uuid))
                .collect(),
        })
    }

    /// Replaces region `index`'s server by a fresh one loaded from a consistent copy of the writer
    /// (`mariadb-dump --single-transaction --gtid`), replicating from the copy's GTID position.
    async fn rebuild(&mut self, index: usize, writer_port: u16) -> Result<(), String> {
        let server = &mut self.servers[index];
        drop(server.server.take());
        let fresh = start_server(server.folder.clone(), server.server_id).await?;
        let port = fresh.port();
        server.server = Some(fresh);
        let dump = self.folder.join(format!("rebuild-{}.sql", REGIONS[index]));
        let dump_for_task = dump.clone();
        let position =
            tokio::task::spawn_blocking(move || copy_writer(writer_port, port, &dump_for_task))
                .await
                .map_err(|e| format!("the copy of the writer: {e}"))??;
        let _ = std::fs::remove_file(&dump);
        let mut connection = root(port).await?;
        run_sql(&mut connection, "SET SESSION sql_log_bin = 0").await?;
        for statement in BOOTSTRAP {
            run_sql(&mut connection, statement).await?;
        }
        run_sql(
            &mut connection,
            &format!("SET GLOBAL gtid_slave_pos = '{position}'"),
        )
        .await?;
        self.replicate(index, writer_port, Some(&mut connection))
            .await
    }
}

impl Drop for AuroraGlobalDatabase {
    fn drop(&mut self) {
        self.heartbeat.abort();
        self.proxies.clear();
        self.link = None;
        for server in &mut self.servers {
            drop(server.server.take());
        }
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// A server with the replication options, on a fresh data folder, read-only until it is made the
/// writer.
async fn start_server(folder: PathBuf, server_id: u32) -> Result<MariaDb, String> {
    let options = vec![
        format!("--server-id={server_id}"),
        "--log-bin=mariadb-bin".to_owned(),
        "--binlog-format=ROW".to_owned(),
        "--log-slave-updates=ON".to_owned(),
        "--gtid-strict-mode=ON".to_owned(),
        "--relay-log=relay-bin".to_owned(),
        "--skip-slave-start".to_owned(),
        "--read-only=ON".to_owned(),
        "--slave-net-timeout=5".to_owned(),
        "--innodb-flush-log-at-trx-commit=2".to_owned(),
        "--sync-binlog=0".to_owned(),
    ];
    tokio::task::spawn_blocking(move || MariaDb::start_with(Path::new(MARIADBD), &folder, options))
        .await
        .map_err(|e| format!("starting MariaDB: {e}"))?
}

/// Starts a lost region's server again on its data.
async fn restart(server: &mut RegionServer) -> Result<(), String> {
    let mut mariadb = server.server.take().ok_or("the server is gone")?;
    let (mariadb, result) = tokio::task::spawn_blocking(move || {
        let result = mariadb.restart();
        (mariadb, result)
    })
    .await
    .map_err(|e| format!("restarting MariaDB: {e}"))?;
    server.server = Some(mariadb);
    result
}

fn port_of(server: &RegionServer) -> Result<u16, String> {
    server
        .server
        .as_ref()
        .map(MariaDb::port)
        .ok_or_else(|| "the server is not running".to_owned())
}

/// Dumps the writer's databases into `dump`, loads them into the server on `port` with its binary
/// log off, and answers the GTID position the copy was taken at.
fn copy_writer(writer_port: u16, port: u16, dump: &Path) -> Result<String, String> {
    let file = std::fs::File::create(dump)
        .map_err(|e| format!("cannot create {}: {e}", dump.display()))?;
    let status = Command::new("mariadb-dump")
        .args(["--no-defaults", "-h", "127.0.0.1", "-u", "root"])
        .arg(format!("--port={writer_port}"))
        .args([
            "--single-transaction",
            "--gtid",
            "--master-data=2",
            "--databases",
            DATABASE,
            CONTROL_DATABASE,
        ])
        .stdout(file)
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run mariadb-dump: {e}"))?;
    if !status.status.success() {
        return Err(format!(
            "mariadb-dump of the writer failed: {}",
            String::from_utf8_lossy(&status.stderr)
        ));
    }
    // With --master-data the position comes at the end of the dump, as a comment.
    let bytes = std::fs::read(dump).map_err(|e| format!("cannot read {}: {e}", dump.display()))?;
    let position = String::from_utf8_lossy(&bytes)
        .lines()
        .rev()
        .find_map(|line| {
            line.split("gtid_slave_pos='")
                .nth(1)
                .and_then(|rest| rest.split('\'').next())
                .map(str::to_owned)
        })
        .ok_or("mariadb-dump wrote no GTID position")?;
    let input =
        std::fs::File::open(dump).map_err(|e| format!("cannot read {}: {e}", dump.display()))?;
    let load = Command::new("mariadb")
        .args(["--no-defaults", "-h", "127.0.0.1", "-u", "root"])
        .arg(format!("--port={port}"))
        .arg("--init-command=SET sql_log_bin = 0")
        .stdin(input)
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run mariadb: {e}"))?;
    if !load.status.success() {
        return Err(format!(
            "loading the copy of the writer failed: {}",
            String::from_utf8_lossy(&load.stderr)
        ));
    }
    Ok(position)
}

/// The sequence number of domain 0 in a GTID position such as `0-1-57` (0 when absent).
fn sequence_of(position: &str) -> u64 {
    position
        .split(',')
        .map(str::trim)
        .filter_map(|gtid| {
            let mut parts = gtid.split('-');
            let domain = parts.next()?;
            let _server = parts.next()?;
            let sequence = parts.next()?;
            (domain == "0")
                .then(|| sequence.parse::<u64>().ok())
                .flatten()
        })
        .next()
        .unwrap_or(0)
}

async fn users(connection: &mut MySqlConnection, sql: &str) -> Result<Vec<DiscardedUser>, String> {
    // Bytes: the API's columns are utf8mb4_bin, which the driver reports as binary.
    let rows: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> = sqlx::query_as(sql)
        .fetch_all(connection)
        .await
        .map_err(|e| format!("reading the accounts: {e}"))?;
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    Ok(rows
        .into_iter()
        .map(|(uuid, email, created_at)| DiscardedUser {
            uuid: text(uuid),
            email: text(email),
            created_at: text(created_at),
        })
        .collect())
}

/// A root connection to the server on `port`.
pub async fn root(port: u16) -> Result<MySqlConnection, String> {
    connect(port, "root").await
}

async fn connect(port: u16, user: &str) -> Result<MySqlConnection, String> {
    let options = MySqlConnectOptions::new()
        .host("127.0.0.1")
        .port(port)
        .username(user);
    tokio::time::timeout(
        Duration::from_secs(5),
        MySqlConnection::connect_with(&options),
    )
    .await
    .map_err(|_| format!("MariaDB on port {port} did not answer within 5 s"))?
    .map_err(|e| format!("cannot connect to MariaDB on port {port} as {user}: {e}"))
}

async fn run_sql(connection: &mut MySqlConnection, sql: &str) -> Result<(), String> {
    connection
        .execute(sql)
        .await
        .map(drop)
        .map_err(|e| format!("{sql}: {e}"))
}

async fn scalar(connection: &mut MySqlConnection, sql: &str) -> Result<String, String> {
    sqlx::query_scalar::<_, String>(sql)
        .fetch_one(connection)
        .await
        .map_err(|e| format!("{sql}: {e}"))
}

/// `MASTER_GTID_WAIT(position)` within [`CATCH_UP_LIMIT`].
async fn wait_for_position(connection: &mut MySqlConnection, position: &str) -> Result<(), String> {
    let waited: i64 = sqlx::query_scalar("SELECT MASTER_GTID_WAIT(?, ?)")
        .bind(position)
        .bind(CATCH_UP_LIMIT.as_secs_f64())
        .fetch_one(connection)
        .await
        .map_err(|e| format!("waiting for GTID position {position}: {e}"))?;
    if waited == 0 {
        Ok(())
    } else {
        Err(format!(
            "it had not applied GTID position {position} within {CATCH_UP_LIMIT:?}"
        ))
    }
}

/// Writes the heartbeat on the writer every [`HEARTBEAT_EVERY`] and times its arrival on the
/// replica; reconnects after every change of topology.
async fn heartbeat(topology: SharedTopology, samples: Arc<Mutex<Vec<LagSample>>>) {
    let mut connections: Option<(u64, MySqlConnection, MySqlConnection)> = None;
    let mut ticker = tokio::time::interval(HEARTBEAT_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let current = lock(&topology).clone();
        if connections
            .as_ref()
            .is_none_or(|(epoch, _, _)| *epoch != current.epoch)
        {
            connections = None;
            let replica = 1 - current.writer;
            let (Some(writer_port), Some(replica_port)) =
                (current.writer_port(), current.ports[replica])
            else {
                continue;
            };
            let (Ok(writer), Ok(replica)) = (
                connect(writer_port, HEARTBEAT_USER).await,
                connect(replica_port, HEARTBEAT_USER).await,
            ) else {
                continue;
            };
            connections = Some((current.epoch, writer, replica));
        }
        let Some((_, writer, replica)) = connections.as_mut() else {
            continue;
        };
        match beat(writer, replica).await {
            Ok(sample) => {
                let mut samples = samples
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if samples.len() >= MAX_SAMPLES {
                    samples.remove(0);
                }
                samples.push(sample);
            }
            Err(_) => connections = None,
        }
    }
}

async fn beat(
    writer: &mut MySqlConnection,
    replica: &mut MySqlConnection,
) -> Result<LagSample, sqlx::Error> {
    let now_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros() as i64;
    sqlx::query(
        "UPDATE aurora_stand_in.heartbeat SET beat = beat + 1, written_at_us = ? WHERE id = 1",
    )
    .bind(now_us)
    .execute(&mut *writer)
    .await?;
    let committed = Instant::now();
    let gtid: String = sqlx::query_scalar("SELECT @@SESSION.last_gtid")
        .fetch_one(&mut *writer)
        .await?;
    let waited: i64 = sqlx::query_scalar("SELECT MASTER_GTID_WAIT(?, 5)")
        .bind(&gtid)
        .fetch_one(&mut *replica)
        .await?;
    if waited != 0 {
        return Err(sqlx::Error::Protocol(format!(
            "the replica had not applied {gtid} within 5 s"
        )));
    }
    Ok(LagSample {
        at_unix_ms: (now_us / 1000) as u64,
        lag_ms: committed.elapsed().as_secs_f64() * 1000.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_of_reads_domain_zero() {
        assert_eq!(sequence_of("0-1-57"), 57);
        assert_eq!(sequence_of("1-3-9,0-2-101"), 101);
        assert_eq!(sequence_of(""), 0);
    }
}
