//! The stand-in for Aurora MySQL's global write forwarding: a MySQL-protocol proxy per region, the
//! endpoint that region's API connects to (`UNISHOP_DATABASE_URL`).
//!
//! While its region's server is the writer, sessions pass through to it. While it is the replica,
//! a session behaves as AWS documents write forwarding on a secondary cluster ("Using write
//! forwarding in an Aurora MySQL global database", Amazon Aurora User Guide,
//! <https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database-write-forwarding-ams.html>,
//! and "Read consistency for write forwarding",
//! <https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-mysql-write-forwarding-consistency.html>):
//!
//! - Reads are served by the local replica. Writes (`INSERT`, `UPDATE`, `DELETE`, `REPLACE`,
//!   `SELECT … FOR UPDATE`/`LOCK IN SHARE MODE`/`FOR SHARE`) go to the current writer on a
//!   connection of the session's own, each paying the inter-region round trip. A transaction that
//!   writes is opened on the writer at its first write and committed there (then locally), and
//!   under `SESSION` or `GLOBAL` its later reads go to the writer too, so it sees its own
//!   uncommitted changes.
//! - `aurora_replica_read_consistency` (unknown to MariaDB) is taken by the proxy, in both roles:
//!   "Always set [it] when you want to forward writes. If you don't, then Aurora doesn't forward
//!   writes": without it a write is refused as on a read-only server (error 1290). `EVENTUAL`:
//!   reads do not wait. `SESSION`: after a forwarded commit the session's next read waits until the
//!   replica has applied that transaction (the writer's `@@last_gtid`, `MASTER_GTID_WAIT` on the
//!   replica). `GLOBAL`: every read first waits until the replica has applied everything the
//!   writer had committed when the read began (one more round trip to the writer).
//! - Isolation: a secondary's sessions run REPEATABLE READ. Aurora's readers "ignore any SET
//!   TRANSACTION ISOLATION LEVEL statements and continue using the REPEATABLE READ isolation level"
//!   ("Aurora MySQL isolation levels"), and the write forwarding page says forwarded sessions use
//!   REPEATABLE READ only: the proxy answers OK to such a `SET` and does not pass it on, so the
//!   forwarded writes run REPEATABLE READ on the writer.
//! - Statements write forwarding does not support are refused with error 1235 (`ER_NOT_SUPPORTED_YET`,
//!   SQLSTATE 42000) naming the statement: DDL (`CREATE`, `ALTER`, `DROP`, `TRUNCATE`, `RENAME`,
//!   `GRANT`, `REVOKE`), `LOAD DATA`/`LOAD XML`, `SELECT … INTO OUTFILE/DUMPFILE`, `SAVEPOINT`,
//!   `ROLLBACK TO`, `RELEASE SAVEPOINT` and `XA`.
//!
//! Prepared statements (sqlx sends every query with arguments as COM_STMT_PREPARE/EXECUTE) are
//! prepared on the local server, whose statement id the client gets; a statement executed on the
//! writer is prepared there at its first use and its id mapped. A change of roles, or of the servers
//! a session uses, ends the sessions opened before it (Aurora restarts the instances of a switched
//! or failed-over global database; the API's pool reconnects).

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use super::aurora::{lock, SharedTopology, REGIONS};
use super::wire::{
    err_packet, first_text_value, handshake_response, ok_packet, read_packet, read_response,
    response_capabilities, response_user_and_database, without_tls_and_compression,
    write_all_packets, write_packet, Answer, Packet, COM_QUERY, COM_QUIT, COM_STMT_CLOSE,
    COM_STMT_EXECUTE, COM_STMT_PREPARE, COM_STMT_RESET, COM_STMT_SEND_LONG_DATA,
    SERVER_STATUS_AUTOCOMMIT, SERVER_STATUS_IN_TRANS,
};

/// How long a read waits for the replica to catch up under `SESSION` or `GLOBAL`, in seconds.
const CATCH_UP_WAIT_SECS: u32 = 5;
/// Synthetic statement ids (statements the proxy answers itself) start here, far above a
/// server's own.
const SYNTHETIC_IDS: u32 = 0x4000_0000;

/// `aurora_replica_read_consistency`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadConsistency {
    Eventual,
    Session,
    Global,
}

/// What a statement is, for routing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Statement {
    Read,
    /// INSERT, UPDATE, DELETE, REPLACE, or a locking read.
    Write,
    Begin,
    Commit,
    Rollback,
    /// Another `SET`: session state, replayed on the session's writer connection.
    Set,
    SetConsistency(ReadConsistency),
    /// `aurora_replica_read_consistency` set to something else.
    BadConsistency(String),
    SetIsolation,
    /// Not supported with write forwarding: what to call it in the error.
    Refused(&'static str),
}

/// Classifies one SQL statement by its first words.
pub fn classify(sql: &str) -> Statement {
    let text = strip_leading_comments(sql).to_ascii_uppercase();
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == '(' || c == ';')
        .filter(|w| !w.is_empty())
        .collect();
    let first = words.first().copied().unwrap_or("");
    let has = |phrase: &str| {
        let squeezed = words.join(" ");
        squeezed.contains(phrase)
    };
    match first {
        "SET" => {
            if text.contains("AURORA_REPLICA_READ_CONSISTENCY") {
                let value = text
                    .split_once('=')
                    .map(|(_, value)| {
                        value
                            .trim()
                            .trim_end_matches(';')
                            .trim()
                            .trim_matches(|c| c == '\'' || c == '"' || c == '`')
                            .to_owned()
                    })
                    .unwrap_or_default();
                match value.as_str() {
                    "EVENTUAL" => Statement::SetConsistency(ReadConsistency::Eventual),
                    "SESSION" => Statement::SetConsistency(ReadConsistency::Session),
                    "GLOBAL" => Statement::SetConsistency(ReadConsistency::Global),
                    _ => Statement::BadConsistency(value),
                }
            } else if matches!(words.get(1), Some(&"TRANSACTION"))
                || matches!(words.get(2), Some(&"TRANSACTION"))
                || text.contains("TX_ISOLATION")
                || text.contains("TRANSACTION_ISOLATION")
            {
                Statement::SetIsolation
            } else {
                Statement::Set
            }
        }
        "BEGIN" => Statement::Begin,
        "START" if words.get(1) == Some(&"TRANSACTION") => Statement::Begin,
        "COMMIT" => Statement::Commit,
        "ROLLBACK" if words.contains(&"TO") => Statement::Refused("ROLLBACK TO SAVEPOINT"),
        "ROLLBACK" => Statement::Rollback,
        "SAVEPOINT" | "RELEASE" => Statement::Refused("SAVEPOINT"),
        "XA" => Statement::Refused("XA transactions"),
        "CREATE" | "ALTER" | "DROP" | "TRUNCATE" | "RENAME" | "GRANT" | "REVOKE" => {
            Statement::Refused("DDL")
        }
        "LOAD" => Statement::Refused("LOAD DATA"),
        "INSERT" | "UPDATE" | "DELETE" | "REPLACE" => Statement::Write,
        "SELECT" | "WITH" => {
            if has("INTO OUTFILE") || has("INTO DUMPFILE") {
                Statement::Refused("SELECT INTO OUTFILE")
            } else if has("FOR UPDATE") || has("LOCK IN SHARE MODE") || has("FOR SHARE") {
                Statement::Write
            } else {
                Statement::Read
            }
        }
        _ => Statement::Read,
    }
}

fn strip_leading_comments(sql: &str) -> &str {
    let mut rest = sql.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix("/*") {
            rest = after
                .split_once("*/")
                .map_or("", |(_, tail)| tail)
                .trim_start();
        } else if rest.starts_with("-- ") || rest.starts_with('#') {
            rest = rest
                .split_once('\n')
                .map_or("", |(_, tail)| tail)
                .trim_start();
        } else {
            return rest;
        }
    }
}

/// One region's proxy: listens on a port of its own until dropped.
pub struct ForwardingProxy {
    port: u16,
    task: JoinHandle<()>,
    forwarded: Arc<AtomicU64>,
}

impl ForwardingProxy {
    /// The proxy of region `region` (an index of [`REGIONS`]), routing by `topology`, forwarded
    /// statements paying `round_trip`.
    pub async fn start(
        region: usize,
        topology: SharedTopology,
        round_trip: Duration,
    ) -> Result<Self, String> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| format!("the proxy of {} cannot listen: {e}", REGIONS[region]))?;
        let port = listener
            .local_addr()
            .map_err(|e| format!("the proxy's address: {e}"))?
            .port();
        let forwarded = Arc::new(AtomicU64::new(0));
        let counter = forwarded.clone();
        let task = tokio::spawn(async move {
            // Dropped with this task: stopping the proxy ends its sessions.
            let mut sessions = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((client, _)) = accepted else { continue };
                        let _ = client.set_nodelay(true);
                        sessions.spawn(serve(client, region, topology.clone(), round_trip, counter.clone()));
                    }
                    Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
                }
            }
        });
        Ok(ForwardingProxy {
            port,
            task,
            forwarded,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// How many round trips to the writer its sessions have paid so far (forwarded statements,
    /// and the writer's position fetched for a `GLOBAL` read).
    pub fn forwarded(&self) -> u64 {
        self.forwarded.load(Ordering::Relaxed)
    }
}

impl Drop for ForwardingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    client: TcpStream,
    region: usize,
    topology: SharedTopology,
    round_trip: Duration,
    forwarded: Arc<AtomicU64>,
) {
    let (local_port, is_writer, writer_port) = {
        let topology = lock(&topology);
        (
            topology.ports[region],
            topology.writer == region,
            topology.writer_port(),
        )
    };
    // A lost region's endpoint does not answer: the connection just ends.
    let Some(local_port) = local_port else { return };
    let Ok(local) = TcpStream::connect(("127.0.0.1", local_port)).await else {
        return;
    };
    let _ = local.set_nodelay(true);
    let mut session = Session {
        region,
        topology,
        round_trip,
        forwarded,
        local_port,
        writer_port,
        is_writer,
        client,
        local,
        writer: None,
        capabilities: 0,
        extended: [0; 4],
        charset: 0,
        user: String::new(),
        database: None,
        consistency: None,
        session_sets: Vec::new(),
        in_transaction: false,
        transaction_on_writer: false,
        pending_gtid: None,
        statements: HashMap::new(),
        next_synthetic: SYNTHETIC_IDS,
    };
    if session.handshake().await.is_ok() {
        let _ = session.run().await;
    }
}

/// A prepared statement the client holds.
struct Prepared {
    sql: String,
    statement: Statement,
    /// Answered by the proxy itself (never prepared on a server).
    synthetic: bool,
    /// Its id on the session's writer connection, once prepared there.
    writer_id: Option<u32>,
}

/// Where a command goes, as the client sent it.
enum Command<'a> {
    Query(&'a [u8]),
    /// COM_STMT_EXECUTE for the client's statement id.
    Execute(&'a [u8], u32),
}

struct Session {
    region: usize,
    topology: SharedTopology,
    round_trip: Duration,
    forwarded: Arc<AtomicU64>,
    /// The region's server and the writer when the session began.
    local_port: u16,
    writer_port: Option<u16>,
    /// Whether the region's server was the writer when the session began.
    is_writer: bool,
    client: TcpStream,
    local: TcpStream,
    writer: Option<TcpStream>,
    capabilities: u32,
    extended: [u8; 4],
    charset: u8,
    user: String,
    database: Option<String>,
    consistency: Option<ReadConsistency>,
    /// `SET` statements, replayed on the writer connection when it opens.
    session_sets: Vec<String>,
    in_transaction: bool,
    transaction_on_writer: bool,
    /// The writer's last GTID of this session's forwarded commit, not yet waited for.
    pending_gtid: Option<String>,
    statements: HashMap<u32, Prepared>,
    next_synthetic: u32,
}

impl Session {
    /// Relays the local server's handshake, so the client authenticates with it as itself.
    async fn handshake(&mut self) -> io::Result<()> {
        let greeting = read_packet(&mut self.local).await?;
        let payload = without_tls_and_compression(greeting.payload);
        write_packet(&mut self.client, greeting.seq, &payload).await?;
        let response = read_packet(&mut self.client).await?;
        self.capabilities = response_capabilities(&response.payload);
        if let Some(extended) = response.payload.get(28..32) {
            self.extended.copy_from_slice(extended);
        }
        self.charset = response.payload.get(8).copied().unwrap_or(45);
        let (user, database) = response_user_and_database(&response.payload)
            .ok_or_else(|| io::Error::other("a malformed handshake response"))?;
        self.user = user;
        self.database = database;
        write_packet(&mut self.local, response.seq, &response.payload).await?;
        loop {
            let answer = read_packet(&mut self.local).await?;
            write_packet(&mut self.client, answer.seq, &answer.payload).await?;
            match answer.first_byte() {
                0x00 => return Ok(()),
                0xff => return Err(io::Error::other("authentication refused")),
                _ => {
                    let more = read_packet(&mut self.client).await?;
                    write_packet(&mut self.local, more.seq, &more.payload).await?;
                }
            }
        }
    }

    async fn run(&mut self) -> io::Result<()> {
        loop {
            let packet = read_packet(&mut self.client).await?;
            if self.routing_changed() {
                return Ok(());
            }
            let payload = packet.payload;
            match payload.first().copied() {
                None | Some(COM_QUIT) => return Ok(()),
                Some(COM_QUERY) => {
                    let sql = String::from_utf8_lossy(&payload[1..]).into_owned();
                    self.statement(&sql, classify(&sql), Command::Query(&payload))
                        .await?;
                }
                Some(COM_STMT_PREPARE) => {
                    let sql = String::from_utf8_lossy(&payload[1..]).into_owned();
                    self.prepare(sql, &payload).await?;
                }
                Some(COM_STMT_EXECUTE) => {
                    let id = statement_id(&payload);
                    match self.statements.get(&id) {
                        Some(prepared) => {
                            let (sql, statement) =
                                (prepared.sql.clone(), prepared.statement.clone());
                            self.statement(&sql, statement, Command::Execute(&payload, id))
                                .await?;
                        }
                        // The server answers for ids it never gave.
                        None => drop(self.relay_local(&payload, Answer::Results).await?),
                    }
                }
                Some(COM_STMT_CLOSE) => {
                    let id = statement_id(&payload);
                    if let Some(prepared) = self.statements.remove(&id) {
                        if !prepared.synthetic {
                            write_packet(&mut self.local, 0, &payload).await?;
                        }
                        if let (Some(writer_id), Some(writer)) =
                            (prepared.writer_id, self.writer.as_mut())
                        {
                            write_packet(writer, 0, &with_statement_id(&payload, writer_id))
                                .await?;
                        }
                    }
                }
                Some(COM_STMT_RESET) => {
                    let id = statement_id(&payload);
                    let prepared = self.statements.get(&id);
                    if prepared.is_some_and(|p| p.synthetic) {
                        self.answer_ok().await?;
                    } else {
                        if let (Some(writer_id), Some(writer)) =
                            (prepared.and_then(|p| p.writer_id), self.writer.as_mut())
                        {
                            write_packet(writer, 0, &with_statement_id(&payload, writer_id))
                                .await?;
                            read_response(writer, Answer::Single, self.capabilities).await?;
                        }
                        drop(self.relay_local(&payload, Answer::Single).await?);
                    }
                }
                // No answer; the parameter's data goes where the statement was prepared.
                Some(COM_STMT_SEND_LONG_DATA) => write_packet(&mut self.local, 0, &payload).await?,
                Some(_) => drop(self.relay_local(&payload, Answer::Single).await?),
            }
        }
    }

    /// Whether the region's server or the writer changed since the session began: then the
    /// session ends, as Aurora's do when a switchover or failover restarts the instances (the
    /// other region's server being lost or coming back does not end the writer's sessions).
    fn routing_changed(&self) -> bool {
        let topology = lock(&self.topology);
        topology.ports[self.region] != Some(self.local_port)
            || (topology.writer == self.region) != self.is_writer
            || (!self.is_writer && topology.writer_port() != self.writer_port)
    }

    fn status(&self) -> u16 {
        if self.in_transaction {
            SERVER_STATUS_AUTOCOMMIT | SERVER_STATUS_IN_TRANS
        } else {
            SERVER_STATUS_AUTOCOMMIT
        }
    }

    async fn answer_ok(&mut self) -> io::Result<()> {
        let ok = ok_packet(self.status());
        write_packet(&mut self.client, 1, &ok).await
    }

    async fn answer_error(&mut self, code: u16, sql_state: &str, message: &str) -> io::Result<()> {
        write_packet(&mut self.client, 1, &err_packet(code, sql_state, message)).await
    }

    async fn refuse(&mut self, what: &str) -> io::Result<()> {
        self.answer_error(
            1235,
            "42000",
            &format!("This version of MySQL doesn't yet support '{what} with write forwarding'"),
        )
        .await
    }

    async fn relay_local(&mut self, payload: &[u8], answer: Answer) -> io::Result<Vec<Packet>> {
        write_packet(&mut self.local, 0, payload).await?;
        let packets = read_response(&mut self.local, answer, self.capabilities).await?;
        write_all_packets(&mut self.client, &packets).await?;
        Ok(packets)
    }

    async fn prepare(&mut self, sql: String, payload: &[u8]) -> io::Result<()> {
        let statement = classify(&sql);
        let answered_here = match &statement {
            Statement::SetConsistency(_) | Statement::BadConsistency(_) => true,
            Statement::SetIsolation => !self.is_writer,
            Statement::Refused(what) if !self.is_writer => {
                return self.refuse(what).await;
            }
            _ => false,
        };
        if answered_here {
            let id = self.next_synthetic;
            self.next_synthetic += 1;
            let mut ok = vec![0x00];
            ok.extend_from_slice(&id.to_le_bytes());
            ok.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0]);
            write_packet(&mut self.client, 1, &ok).await?;
            self.statements.insert(
                id,
                Prepared {
                    sql,
                    statement,
                    synthetic: true,
                    writer_id: None,
                },
            );
            return Ok(());
        }
        let packets = self.relay_local(payload, Answer::Prepared).await?;
        if let Some(first) = packets.first().filter(|p| !p.is_err()) {
            self.statements.insert(
                statement_id(&first.payload),
                Prepared {
                    sql,
                    statement,
                    synthetic: false,
                    writer_id: None,
                },
            );
        }
        Ok(())
    }

    /// Runs one statement from the client, sent as `command`.
    async fn statement(
        &mut self,
        sql: &str,
        statement: Statement,
        command: Command<'_>,
    ) -> io::Result<()> {
        match statement {
            Statement::SetConsistency(consistency) => {
                self.consistency = Some(consistency);
                return self.answer_ok().await;
            }
            Statement::BadConsistency(value) => {
                return self
                    .answer_error(
                        1231,
                        "42000",
                        &format!(
                            "Variable 'aurora_replica_read_consistency' can't be set to the value of '{value}'"
                        ),
                    )
                    .await;
            }
            _ => {}
        }
        let payload = match command {
            Command::Query(payload) | Command::Execute(payload, _) => payload,
        };
        if self.is_writer {
            self.relay_local(payload, Answer::Results).await?;
            return Ok(());
        }
        match statement {
            Statement::SetIsolation => self.answer_ok().await,
            Statement::Refused(what) => self.refuse(what).await,
            Statement::Set => {
                let packets = self.relay_local(payload, Answer::Results).await?;
                if packets.first().is_some_and(|p| !p.is_err()) {
                    self.session_sets.push(sql.to_owned());
                    if let Some(writer) = self.writer.as_mut() {
                        query(writer, sql, self.capabilities).await?;
                    }
                }
                Ok(())
            }
            Statement::Begin => {
                self.relay_local(payload, Answer::Results).await?;
                self.in_transaction = true;
                self.transaction_on_writer = false;
                Ok(())
            }
            Statement::Commit | Statement::Rollback => {
                let commit = statement == Statement::Commit;
                if self.transaction_on_writer {
                    let word = if commit { "COMMIT" } else { "ROLLBACK" };
                    let answer = self.forward_text(word).await;
                    let local = self.relay_quietly(payload).await;
                    self.in_transaction = false;
                    self.transaction_on_writer = false;
                    let packets = match answer {
                        Ok(packets) => packets,
                        Err(message) => return self.answer_error(2013, "HY000", &message).await,
                    };
                    local?;
                    if commit && packets.first().is_some_and(|p| !p.is_err()) {
                        self.remember_writer_gtid().await;
                    }
                    write_all_packets(&mut self.client, &packets).await
                } else {
                    self.in_transaction = false;
                    self.relay_local(payload, Answer::Results).await.map(drop)
                }
            }
            Statement::Write => self.forward_write(command).await,
            Statement::Read => {
                let to_writer = self.in_transaction
                    && self.transaction_on_writer
                    && self.consistency != Some(ReadConsistency::Eventual);
                if to_writer {
                    self.forward(command).await
                } else {
                    self.catch_up().await?;
                    self.relay_local(payload, Answer::Results).await.map(drop)
                }
            }
            Statement::SetConsistency(_) | Statement::BadConsistency(_) => Ok(()),
        }
    }

    /// A write: forwarded to the writer (in the session's transaction there, opened on its first
    /// write), or refused when the session has not set `aurora_replica_read_consistency`.
    async fn forward_write(&mut self, command: Command<'_>) -> io::Result<()> {
        if self.consistency.is_none() {
            return self
                .answer_error(
                    1290,
                    "HY000",
                    "The MySQL server is running with the --read-only option so it cannot execute this statement",
                )
                .await;
        }
        if self.in_transaction && !self.transaction_on_writer {
            if let Err(message) = self.forward_text("START TRANSACTION").await {
                return self.answer_error(2013, "HY000", &message).await;
            }
            self.transaction_on_writer = true;
        }
        let autocommit = !self.in_transaction;
        let succeeded = self.forward_and_answer(command).await?;
        if autocommit && succeeded {
            self.remember_writer_gtid().await;
        }
        Ok(())
    }

    async fn forward(&mut self, command: Command<'_>) -> io::Result<()> {
        self.forward_and_answer(command).await.map(drop)
    }

    /// Sends `command` to the writer, paying the round trip, and gives the client its answer (or
    /// an error if the writer cannot be reached). Answers whether the writer said OK.
    async fn forward_and_answer(&mut self, command: Command<'_>) -> io::Result<bool> {
        match self.forward_command(command).await {
            Ok(packets) => {
                let succeeded = packets.first().is_some_and(|p| !p.is_err());
                write_all_packets(&mut self.client, &packets).await?;
                Ok(succeeded)
            }
            Err(message) => {
                self.answer_error(2013, "HY000", &message).await?;
                Ok(false)
            }
        }
    }

    async fn forward_command(&mut self, command: Command<'_>) -> Result<Vec<Packet>, String> {
        let payload = match command {
            Command::Query(payload) => payload.to_vec(),
            Command::Execute(payload, id) => {
                let writer_id = self.writer_statement(id).await?;
                with_statement_id(payload, writer_id)
            }
        };
        let capabilities = self.capabilities;
        self.pay_round_trip().await;
        let writer = self.writer_connection().await?;
        let sent = async {
            write_packet(writer, 0, &payload).await?;
            read_response(writer, Answer::Results, capabilities).await
        };
        match sent.await {
            Ok(packets) => Ok(packets),
            Err(error) => {
                self.writer = None;
                Err(self.unreachable(&error))
            }
        }
    }

    /// A statement of the proxy's own on the writer, paying the round trip.
    async fn forward_text(&mut self, sql: &str) -> Result<Vec<Packet>, String> {
        let capabilities = self.capabilities;
        self.pay_round_trip().await;
        let writer = self.writer_connection().await?;
        match query(writer, sql, capabilities).await {
            Ok(packets) => Ok(packets),
            Err(error) => {
                self.writer = None;
                Err(self.unreachable(&error))
            }
        }
    }

    /// The client's statement `id` prepared on the writer connection.
    async fn writer_statement(&mut self, id: u32) -> Result<u32, String> {
        let prepared = self
            .statements
            .get(&id)
            .ok_or_else(|| format!("unknown prepared statement {id}"))?;
        if let Some(writer_id) = prepared.writer_id {
            return Ok(writer_id);
        }
        let mut payload = vec![COM_STMT_PREPARE];
        payload.extend_from_slice(prepared.sql.as_bytes());
        let capabilities = self.capabilities;
        let writer = self.writer_connection().await?;
        let answer = async {
            write_packet(writer, 0, &payload).await?;
            read_response(writer, Answer::Prepared, capabilities).await
        };
        let packets = match answer.await {
            Ok(packets) => packets,
            Err(error) => {
                self.writer = None;
                return Err(self.unreachable(&error));
            }
        };
        let first = packets
            .first()
            .filter(|p| !p.is_err())
            .ok_or_else(|| "the writer could not prepare the statement".to_owned())?;
        let writer_id = statement_id(&first.payload);
        if let Some(prepared) = self.statements.get_mut(&id) {
            prepared.writer_id = Some(writer_id);
        }
        Ok(writer_id)
    }

    /// The inter-region round trip every forwarded statement pays.
    async fn pay_round_trip(&self) {
        self.forwarded.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(self.round_trip).await;
    }

    fn unreachable(&self, error: &io::Error) -> String {
        let writer = lock(&self.topology).writer;
        format!(
            "write forwarding from {}: the writer in {} cannot be reached ({error})",
            REGIONS[self.region], REGIONS[writer]
        )
    }

    /// The session's connection to the current writer, opened (and its `SET`s replayed) at first
    /// use.
    async fn writer_connection(&mut self) -> Result<&mut TcpStream, String> {
        if self.writer.is_none() {
            let (writer, port) = {
                let topology = lock(&self.topology);
                (topology.writer, topology.writer_port())
            };
            let port = port.ok_or_else(|| {
                format!(
                    "write forwarding from {}: the writer in {} is lost",
                    REGIONS[self.region], REGIONS[writer]
                )
            })?;
            let connection = self.open_writer(port).await.map_err(|e| {
                format!("write forwarding to the writer in {}: {e}", REGIONS[writer])
            })?;
            self.writer = Some(connection);
        }
        self.writer
            .as_mut()
            .ok_or_else(|| "no writer connection".to_owned())
    }

    async fn open_writer(&self, port: u16) -> io::Result<TcpStream> {
        let mut writer = TcpStream::connect(("127.0.0.1", port)).await?;
        let _ = writer.set_nodelay(true);
        let greeting = read_packet(&mut writer).await?;
        let response = handshake_response(
            self.capabilities,
            self.extended,
            self.charset,
            &self.user,
            self.database.as_deref(),
        );
        write_packet(&mut writer, greeting.seq.wrapping_add(1), &response).await?;
        loop {
            let answer = read_packet(&mut writer).await?;
            match answer.first_byte() {
                0x00 => break,
                // An authentication switch: the account has no password.
                0xfe => write_packet(&mut writer, answer.seq.wrapping_add(1), &[]).await?,
                _ => {
                    return Err(io::Error::other(format!(
                        "the writer refused the proxy's login as {}: {}",
                        self.user,
                        String::from_utf8_lossy(answer.payload.get(9..).unwrap_or_default())
                    )))
                }
            }
        }
        for sql in &self.session_sets {
            let packets = query(&mut writer, sql, self.capabilities).await?;
            if packets.first().is_some_and(Packet::is_err) {
                return Err(io::Error::other(format!(
                    "replaying {sql} on the writer failed"
                )));
            }
        }
        Ok(writer)
    }

    /// Sends the client's COMMIT/ROLLBACK to the local server too, without answering the client.
    async fn relay_quietly(&mut self, payload: &[u8]) -> io::Result<()> {
        write_packet(&mut self.local, 0, payload).await?;
        read_response(&mut self.local, Answer::Results, self.capabilities)
            .await
            .map(drop)
    }

    /// After a forwarded commit: the writer's GTID of it, for the next read to wait for (the
    /// answer rides back with the commit's, so no second round trip is paid).
    async fn remember_writer_gtid(&mut self) {
        if !matches!(
            self.consistency,
            Some(ReadConsistency::Session | ReadConsistency::Global)
        ) {
            return;
        }
        let capabilities = self.capabilities;
        if let Some(writer) = self.writer.as_mut() {
            if let Ok(packets) = query(writer, "SELECT @@SESSION.last_gtid", capabilities).await {
                self.pending_gtid = first_text_value(&packets).filter(|gtid| !gtid.is_empty());
            }
        }
    }

    /// Before a read on the replica: under `SESSION`, wait for the session's last forwarded
    /// commit; under `GLOBAL`, for everything the writer has committed.
    async fn catch_up(&mut self) -> io::Result<()> {
        let position = match self.consistency {
            Some(ReadConsistency::Session) => self.pending_gtid.take(),
            Some(ReadConsistency::Global) => {
                self.pending_gtid = None;
                match self.forward_text("SELECT @@GLOBAL.gtid_binlog_pos").await {
                    Ok(packets) => first_text_value(&packets),
                    Err(_) => None,
                }
            }
            _ => None,
        };
        if let Some(position) = position.filter(|p| is_gtid_position(p)) {
            query(
                &mut self.local,
                &format!("SELECT MASTER_GTID_WAIT('{position}', {CATCH_UP_WAIT_SECS})"),
                self.capabilities,
            )
            .await?;
        }
        Ok(())
    }
}

/// A COM_QUERY of the proxy's own, its answer read and returned.
async fn query(stream: &mut TcpStream, sql: &str, capabilities: u32) -> io::Result<Vec<Packet>> {
    let mut payload = vec![COM_QUERY];
    payload.extend_from_slice(sql.as_bytes());
    write_packet(stream, 0, &payload).await?;
    read_response(stream, Answer::Results, capabilities).await
}

fn statement_id(payload: &[u8]) -> u32 {
    payload.get(1..5).map_or(0, |raw| {
        u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]])
    })
}

fn with_statement_id(payload: &[u8], id: u32) -> Vec<u8> {
    let mut payload = payload.to_vec();
    if let Some(raw) = payload.get_mut(1..5) {
        raw.copy_from_slice(&id.to_le_bytes());
    }
    payload
}

/// Only digits, dashes and commas: safe inside the proxy's own SQL.
fn is_gtid_position(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == ',')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_classified_as_write_forwarding_routes_them() {
        assert_eq!(classify("SELECT * FROM unicorns"), Statement::Read);
        assert_eq!(
            classify("select uuid from unicorn_user where uuid = ? for update"),
            Statement::Write
        );
        assert_eq!(classify("  INSERT INTO t VALUES (1)"), Statement::Write);
        assert_eq!(classify("/* x */ UPDATE t SET a = 1"), Statement::Write);
        assert_eq!(classify("BEGIN"), Statement::Begin);
        assert_eq!(classify("START TRANSACTION"), Statement::Begin);
        assert_eq!(classify("COMMIT"), Statement::Commit);
        assert_eq!(classify("ROLLBACK"), Statement::Rollback);
        assert_eq!(
            classify("SET aurora_replica_read_consistency = 'SESSION'"),
            Statement::SetConsistency(ReadConsistency::Session)
        );
        assert_eq!(
            classify("SET aurora_replica_read_consistency = 'sometimes'"),
            Statement::BadConsistency("SOMETIMES".to_owned())
        );
        assert_eq!(
            classify("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"),
            Statement::SetIsolation
        );
        assert_eq!(
            classify("SET SESSION innodb_lock_wait_timeout = 1"),
            Statement::Set
        );
        assert_eq!(
            classify("CREATE TABLE t (a INT)"),
            Statement::Refused("DDL")
        );
        assert_eq!(classify("SAVEPOINT a"), Statement::Refused("SAVEPOINT"));
        assert_eq!(
            classify("SELECT * FROM t INTO OUTFILE '/tmp/x'"),
            Statement::Refused("SELECT INTO OUTFILE")
        );
    }
}
