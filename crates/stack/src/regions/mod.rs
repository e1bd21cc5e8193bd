//! The local two-region stack, the one way `dev --two-regions`, the drill and the browser specs
//! start it: two API processes, us-east-1 and us-west-1, on their own ports and sharing one store
//! (the stand-in for the global tables), and the [`edge`] in front of them routing `/api` and
//! `/api-standby` as CloudFront does, with an active-region flag for writes.
//!
//! The store is a SQLite file in the stack's folder, or ([`StoreKind::MysqlDynamodb`]) the Aurora
//! global database stand-in (a MariaDB server per region, replicating; each API through its
//! region's write-forwarding proxy, controlled through [`TwoRegions::accounts`]) and a
//! moto_server per region for carts and orders, replicated as DynamoDB global tables are
//! ([`GlobalTables`], lag [`REPLICATION_LAG_VARIABLE`] ms, default 1 s). Every `UNISHOP_*`
//! variable of the environment reaches both API processes too.

pub mod accounts;
pub mod edge;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::process::{repo_root, run, target_dir, Service};
use crate::replication::global_tables::{GlobalTables, DEFAULT_LAG};
use crate::stores::{StoreKind, StoreServers};

pub const PRIMARY_REGION: &str = "us-east-1";
pub const STANDBY_REGION: &str = "us-west-1";
/// The variable that sets the global tables' replication lag in ms (default [`DEFAULT_LAG`]).
pub const REPLICATION_LAG_VARIABLE: &str = "UNISHOP_STACK_REPLICATION_LAG_MS";

/// The local stand-in for the CloudFront KeyValueStore key `active_region`: a file holding the
/// region that takes writes on `/api`. Missing or unknown means us-east-1, as `api-write.js` reads
/// the key.
#[derive(Clone, Debug)]
pub struct ActiveRegion {
    file: PathBuf,
}

impl ActiveRegion {
    pub fn in_folder(folder: &Path) -> Self {
        ActiveRegion {
            file: folder.join("active-region"),
        }
    }

    pub fn get(&self) -> String {
        match std::fs::read_to_string(&self.file) {
            Ok(text) if text.trim() == STANDBY_REGION => STANDBY_REGION.to_owned(),
            _ => PRIMARY_REGION.to_owned(),
        }
    }

    pub fn set(&self, region: &str) -> Result<(), String> {
        if region != PRIMARY_REGION && region != STANDBY_REGION {
            return Err(format!(
                "the local stack has the regions {PRIMARY_REGION} and {STANDBY_REGION}, not {region}"
            ));
        }
        // Written aside and renamed, so the edge never reads half a name.
        let aside = self.file.with_extension("new");
        std::fs::write(&aside, format!("{region}\n"))
            .and_then(|()| std::fs::rename(&aside, &self.file))
            .map_err(|e| format!("cannot write {}: {e}", self.file.display()))
    }
}

/// Which build of the API runs: debug for `dev`, release for the drill and the specs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Build {
    Debug,
    Release,
}

impl Build {
    fn binary(self) -> PathBuf {
        target_dir()
            .join(match self {
                Build::Debug => "debug",
                Build::Release => "release",
            })
            .join("unishop-api")
    }

    /// Builds the API binary.
    pub fn build(self) -> Result<(), String> {
        let mut cargo = Command::new("cargo");
        cargo.args(["build", "--package", "unishop-api"]);
        if self == Build::Release {
            cargo.arg("--release");
        }
        run(cargo.current_dir(repo_root()))
    }
}

/// How to start the stack. A port of 0 lets the system pick one.
pub struct Options {
    pub build: Build,
    /// Holds the shared SQLite file (unless `UNISHOP_DATABASE_URL` says otherwise), the token key
    /// and the active-region flag.
    pub folder: PathBuf,
    /// The storefront's build, served by the edge.
    pub dist: PathBuf,
    pub primary_port: u16,
    pub standby_port: u16,
    pub edge_port: u16,
    /// Where the API processes' logs go (standard error) when not to the terminal.
    pub api_log: Option<PathBuf>,
    pub store: StoreKind,
    /// The global tables' replication lag; `None`: [`REPLICATION_LAG_VARIABLE`] ms, else
    /// [`DEFAULT_LAG`].
    pub replication_lag: Option<std::time::Duration>,
    /// Carts and orders in one moto_server both regions share, not replicated
    /// ([`StoreServers::start_for_two_regions`]).
    pub shared_carts: bool,
}

/// One region's API process.
pub struct RegionApi {
    pub region: &'static str,
    pub base: String,
    port: u16,
    build: Build,
    folder: PathBuf,
    api_log: Option<PathBuf>,
    /// Points the process at the store servers, when there are some.
    store_env: Vec<(&'static str, String)>,
    service: Option<Service>,
}

impl RegionApi {
    fn start(
        region: &'static str,
        port: u16,
        options: &Options,
        store_env: Vec<(&'static str, String)>,
    ) -> Result<Self, String> {
        let mut api = RegionApi {
            region,
            base: String::new(),
            port,
            build: options.build,
            folder: options.folder.clone(),
            api_log: options.api_log.clone(),
            store_env,
            service: None,
        };
        api.spawn()?;
        Ok(api)
    }

    /// Starts the process and waits for the address it prints once it listens.
    fn spawn(&mut self) -> Result<(), String> {
        let name = if self.region == PRIMARY_REGION {
            "the API in us-east-1"
        } else {
            "the API in us-west-1"
        };
        let mut command = Command::new(self.build.binary());
        command
            .env("UNISHOP_BIND", format!("127.0.0.1:{}", self.port))
            .env("UNISHOP_REGION", self.region)
            .env("UNISHOP_ORIGIN_SECRET", edge::origin_secret())
            .env_remove("UNISHOP_ORIGIN_SECRET_ARN")
            .stdout(Stdio::piped())
            .current_dir(repo_root());
        if std::env::var_os("UNISHOP_DATABASE_URL").is_none() {
            command.env(
                "UNISHOP_DATABASE_URL",
                format!("sqlite://{}/unishop.db", self.folder.display()),
            );
        }
        command.envs(self.store_env.iter().map(|(name, value)| (name, value)));
        if let Some(log) = &self.api_log {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
            command.stderr(file);
        }
        let mut service = Service::spawn(name, &mut command)?;
        let stdout = service
            .take_stdout()
            .ok_or_else(|| format!("{name}: no standard output"))?;
        let mut lines = BufReader::new(stdout).lines();
        let address = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(rest) = line.split("listening on http://").nth(1) {
                        break rest
                            .split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_owned();
                    }
                }
                _ => return Err(format!("{name} ended before listening")),
            }
        };
        // Keep reading, so the process never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        self.port = address
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| format!("{name} printed an address without a port: {address}"))?;
        self.base = format!("http://{address}");
        self.service = Some(service);
        Ok(())
    }

    /// SIGKILL: the region dies at once, connections refused from now on.
    pub fn kill(&mut self) -> Result<(), String> {
        let mut service = self.service.take().ok_or("the API is not running")?;
        service.signal("KILL")
    }

    /// Starts the region again on the same port, after [`RegionApi::kill`].
    pub fn restart(&mut self) -> Result<(), String> {
        if self.service.is_some() {
            return Err(format!("the API in {} is still running", self.region));
        }
        self.spawn()
    }

    /// SIGSTOP: the region hangs (connections are accepted, nothing answers).
    pub fn freeze(&mut self) -> Result<(), String> {
        self.service
            .as_mut()
            .ok_or("the API is not running")?
            .signal("STOP")
    }

    /// SIGCONT, after [`RegionApi::freeze`].
    pub fn thaw(&mut self) -> Result<(), String> {
        self.service
            .as_mut()
            .ok_or("the API is not running")?
            .signal("CONT")
    }

    /// Whether the process ended by itself (a crash), and how.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.service.as_mut().and_then(Service::exited)
    }

    fn stop(&mut self) {
        if let Some(mut service) = self.service.take() {
            // A frozen process would not see SIGTERM.
            let _ = service.signal("CONT");
            service.stop();
        }
    }
}

impl Drop for RegionApi {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The running stack. Dropping it stops both regions and the edge.
pub struct TwoRegions {
    pub primary: RegionApi,
    pub standby: RegionApi,
    pub active: ActiveRegion,
    /// The storefront and both API paths, as a shopper reaches them.
    pub site: String,
    pub folder: PathBuf,
    /// Carts and orders replicated between the regions' moto_servers
    /// ([`StoreKind::MysqlDynamodb`]): lag samples, conflicts, pause and resume, both copies.
    pub global_tables: Option<GlobalTables>,
    runtime: tokio::runtime::Runtime,
    /// Last, so that it stops after both regions.
    stores: Option<StoreServers>,
}

impl TwoRegions {
    /// Starts the store servers and migrates them (for [`StoreKind::MysqlDynamodb`]), us-east-1
    /// (first, so that it creates a SQLite store and its token key), us-west-1, then the edge.
    /// The API binary must be built ([`Build::build`]).
    pub fn start(options: Options) -> Result<Self, String> {
        std::fs::create_dir_all(&options.folder)
            .map_err(|e| format!("cannot create {}: {e}", options.folder.display()))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the edge's runtime: {e}"))?;
        let stores = match options.store {
            StoreKind::Sqlite => None,
            StoreKind::MysqlDynamodb => {
                let servers = StoreServers::start_for_two_regions(
                    &options.folder.join("stores"),
                    [PRIMARY_REGION, STANDBY_REGION],
                    runtime.handle(),
                    options.shared_carts,
                )?;
                servers.migrate(&options.build.binary())?;
                Some(servers)
            }
            other @ (StoreKind::Dynamodb | StoreKind::Mysql) => {
                return Err(format!(
                    "the two-region stack runs on sqlite or mysql-dynamodb, not {} (which `cargo xtask bench api` measures)",
                    other.name()
                ))
            }
        };
        let store_env = |region| {
            stores
                .as_ref()
                .map_or_else(|| Ok(Vec::new()), |servers| servers.env_for(region))
        };
        let primary = RegionApi::start(
            PRIMARY_REGION,
            options.primary_port,
            &options,
            store_env(PRIMARY_REGION)?,
        )?;
        let standby = RegionApi::start(
            STANDBY_REGION,
            options.standby_port,
            &options,
            store_env(STANDBY_REGION)?,
        )?;
        let active = ActiveRegion::in_folder(&options.folder);
        active.set(PRIMARY_REGION)?;
        let global_tables = match stores.as_ref().map(StoreServers::replicas) {
            Some(replicas) if !replicas.is_empty() => {
                let pair: [_; 2] = replicas
                    .try_into()
                    .map_err(|_| "the global tables need exactly two copies".to_owned())?;
                let lag = match options.replication_lag {
                    Some(lag) => lag,
                    None => replication_lag()?,
                };
                println!("  global tables: replication lag {} ms", lag.as_millis());
                Some(GlobalTables::start(runtime.handle(), pair, lag)?)
            }
            _ => None,
        };
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind((
                "127.0.0.1",
                options.edge_port,
            )))
            .map_err(|e| format!("the edge cannot listen on port {}: {e}", options.edge_port))?;
        let address = listener
            .local_addr()
            .map_err(|e| format!("the edge's address: {e}"))?;
        let edge = edge::Edge::new(
            primary.base.clone(),
            standby.base.clone(),
            active.clone(),
            options.dist,
        )?;
        runtime.spawn(async move {
            if let Err(error) = edge.serve(listener).await {
                eprintln!("{error}");
            }
        });
        Ok(TwoRegions {
            primary,
            standby,
            active,
            site: format!("http://{address}"),
            folder: options.folder,
            global_tables,
            runtime,
            stores,
        })
    }

    /// The API of `region`.
    pub fn region_api(&mut self, region: &str) -> Result<&mut RegionApi, String> {
        match region {
            PRIMARY_REGION => Ok(&mut self.primary),
            STANDBY_REGION => Ok(&mut self.standby),
            other => Err(format!(
                "no region {other} ({PRIMARY_REGION} or {STANDBY_REGION})"
            )),
        }
    }

    /// The region lost whole: its API killed, its copy of the global tables frozen (it keeps
    /// its items) and replication out of it and into it paused, so what it wrote and had not
    /// shipped waits for [`TwoRegions::region_back`].
    pub fn lose_region(&mut self, region: &str) -> Result<(), String> {
        self.region_api(region)?.kill()?;
        if let (Some(stores), Some(global_tables)) = (&self.stores, &self.global_tables) {
            global_tables.pause(region)?;
            stores.freeze_dynamodb(region)?;
        }
        Ok(())
    }

    /// The region back after [`TwoRegions::lose_region`]: its copy thawed, replication resumed
    /// (what waited is shipped both ways), its API started again.
    pub fn region_back(&mut self, region: &str) -> Result<(), String> {
        self.region_api(region)?;
        if let (Some(stores), Some(global_tables)) = (&self.stores, &self.global_tables) {
            stores.thaw_dynamodb(region)?;
            global_tables.resume(region)?;
        }
        self.region_api(region)?.restart()
    }

    /// The runtime the edge runs on, for the drill's shoppers.
    pub fn handle(&self) -> tokio::runtime::Handle {
        self.runtime.handle().clone()
    }
}

/// `unishop-stack regions`: the stack for a program that drives it from outside (the browser
/// specs). Prints one JSON line, `{"site", "primary", "standby", "folder"}`, then obeys one command
/// per line on standard input, answering `ok` or `error: ...` once it is done: `kill`, `restart`,
/// `freeze`, `thaw` (of the primary, or of the region named after them: `kill us-west-1`),
/// `lose`, `back` (the region whole: its API and its copy of the global tables, and their
/// replication), `active REGION` (the write flag), and on `mysql-dynamodb` `accounts
/// switchover|promote|lose|rejoin REGION` (the global database's controls, [`accounts::command`]).
/// Other lines on standard output are progress to show, not answers. Stops everything at the end
/// of its input.
pub fn serve_stack(
    build: Build,
    dist: PathBuf,
    folder: PathBuf,
    store: StoreKind,
) -> Result<(), String> {
    let mut stack = TwoRegions::start(Options {
        build,
        folder,
        dist,
        primary_port: 0,
        standby_port: 0,
        edge_port: 0,
        api_log: None,
        store,
        replication_lag: None,
        shared_carts: false,
    })?;
    let json = |s: &str| serde_json::Value::from(s).to_string();
    println!(
        "{{\"site\": {}, \"primary\": {}, \"standby\": {}, \"folder\": {}}}",
        json(&stack.site),
        json(&stack.primary.base),
        json(&stack.standby.base),
        json(&stack.folder.to_string_lossy())
    );
    for line in std::io::stdin().lines() {
        let line = line.map_err(|e| format!("reading commands: {e}"))?;
        if let Some(result) = accounts::command(&mut stack, &line) {
            match result {
                Ok(()) => println!("ok"),
                Err(error) => println!("error: {error}"),
            }
            continue;
        }
        let mut words = line.split_whitespace();
        let (verb, argument) = (words.next(), words.next());
        let named = argument.unwrap_or(PRIMARY_REGION);
        let result = match (verb, words.next()) {
            (None, _) => continue,
            (Some("lose"), None) => stack.lose_region(named),
            (Some("back"), None) => stack.region_back(named),
            (Some("active"), None) => match argument {
                Some(region) => stack.active.set(region),
                None => Err("active needs a region".to_owned()),
            },
            (Some("kill"), None) => stack.region_api(named).and_then(RegionApi::kill),
            (Some("restart"), None) => stack.region_api(named).and_then(RegionApi::restart),
            (Some("freeze"), None) => stack.region_api(named).and_then(RegionApi::freeze),
            (Some("thaw"), None) => stack.region_api(named).and_then(RegionApi::thaw),
            _ => Err(format!("unknown command: {line}")),
        };
        match result {
            Ok(()) => println!("ok"),
            Err(error) => println!("error: {error}"),
        }
    }
    drop(stack.runtime);
    Ok(())
}

/// The global tables' replication lag: [`REPLICATION_LAG_VARIABLE`] ms, else [`DEFAULT_LAG`].
fn replication_lag() -> Result<std::time::Duration, String> {
    match std::env::var(REPLICATION_LAG_VARIABLE) {
        Ok(text) => text
            .trim()
            .parse()
            .map(std::time::Duration::from_millis)
            .map_err(|_| {
                format!("{REPLICATION_LAG_VARIABLE} must be a whole number of ms, not {text:?}")
            }),
        Err(_) => Ok(DEFAULT_LAG),
    }
}
