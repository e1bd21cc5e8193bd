//! The Aurora global database stand-in on real MariaDB servers: replication, the region controls,
//! and write forwarding through each region's proxy with sqlx, as the API's MySQL store connects.

use std::path::PathBuf;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlDatabaseError, MySqlPoolOptions};
use sqlx::{Connection, Executor, MySqlConnection, MySqlPool};
use unishop_stack::mariadb::MariaDb;
use unishop_stack::process::target_dir;
use unishop_stack::replication::aurora::AuroraGlobalDatabase;
use unishop_stack::replication::forwarding::ForwardingProxy;

const EAST: &str = "us-east-1";
const WEST: &str = "us-west-1";

fn scratch() -> PathBuf {
    MariaDb::scratch_folder(&target_dir().join("aurora-tests"))
}

async fn start() -> AuroraGlobalDatabase {
    let database = AuroraGlobalDatabase::start(&scratch(), Duration::from_millis(20))
        .await
        .expect("the global database starts");
    let mut writer = admin(&database, EAST).await;
    writer
        .execute(
            "CREATE TABLE unishop.unicorn_user (uuid CHAR(36) PRIMARY KEY, \
             email VARCHAR(254) NOT NULL UNIQUE, \
             created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)) \
             ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin",
        )
        .await
        .expect("the table is created on the writer");
    database
        .wait_caught_up_region(WEST)
        .await
        .expect("the replica has the table");
    database
}

async fn admin(database: &AuroraGlobalDatabase, region: &str) -> MySqlConnection {
    let url = database.admin_url(region).expect("the region is up");
    MySqlConnection::connect(&url).await.expect("root connects")
}

async fn add_user(connection: &mut MySqlConnection, uuid: &str) {
    sqlx::query("INSERT INTO unishop.unicorn_user (uuid, email) VALUES (?, ?)")
        .bind(uuid)
        .bind(format!("{uuid}@example.com"))
        .execute(connection)
        .await
        .expect("the user is added on the writer");
}

async fn user_ids(database: &AuroraGlobalDatabase, region: &str) -> Vec<String> {
    // The API's text columns are utf8mb4_bin, which the driver reports as binary.
    let ids: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT uuid FROM unishop.unicorn_user ORDER BY uuid")
            .fetch_all(&mut admin(database, region).await)
            .await
            .expect("the users are read");
    ids.into_iter()
        .map(|id| String::from_utf8(id).expect("text"))
        .collect()
}

/// The API's pool settings: what `crates/api/src/store/mysql.rs` sets on each connection.
async fn api_pool(url: &str, consistency: Option<&'static str>) -> MySqlPool {
    MySqlPoolOptions::new()
        .max_connections(1)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if let Some(consistency) = consistency {
                    sqlx::query(&format!(
                        "SET aurora_replica_read_consistency = '{consistency}'"
                    ))
                    .execute(&mut *conn)
                    .await?;
                }
                sqlx::query("SET SESSION innodb_lock_wait_timeout = 1")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .connect(url)
        .await
        .expect("the API's pool connects through the proxy")
}

fn error_number(error: &sqlx::Error) -> Option<u16> {
    error
        .as_database_error()
        .and_then(|e| e.try_downcast_ref::<MySqlDatabaseError>())
        .map(MySqlDatabaseError::number)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_written_on_the_writer_reaches_the_read_only_replica() {
    let database = start().await;
    assert_eq!(database.current_writer(), EAST);
    add_user(&mut admin(&database, EAST).await, "u1").await;
    database
        .wait_caught_up_region(WEST)
        .await
        .expect("caught up");
    assert_eq!(user_ids(&database, WEST).await, ["u1"]);

    // The API's account is bound by the replica's read_only.
    let replica_port = database.topology().lock().unwrap().ports[1].unwrap();
    let options = MySqlConnectOptions::new()
        .host("127.0.0.1")
        .port(replica_port)
        .username("unishop")
        .database("unishop");
    let mut api_on_replica = MySqlConnection::connect_with(&options)
        .await
        .expect("connects");
    let refused = sqlx::query("INSERT INTO unicorn_user (uuid, email) VALUES ('u2', 'u2@x')")
        .execute(&mut api_on_replica)
        .await
        .expect_err("the replica refuses writes");
    assert_eq!(error_number(&refused), Some(1290), "{refused}");

    // Lag is measured by the heartbeat, not configured.
    for _ in 0..100 {
        if !database.lag_samples().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!database.lag_samples().is_empty(), "heartbeat samples");
    assert!(database.lag_p99_ms() > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switchover_both_ways_keeps_every_row() {
    let mut database = start().await;
    add_user(&mut admin(&database, EAST).await, "a").await;
    database
        .switchover(WEST)
        .await
        .expect("switchover to us-west-1");
    assert_eq!(database.current_writer(), WEST);
    add_user(&mut admin(&database, WEST).await, "b").await;
    let error = database
        .switchover(WEST)
        .await
        .expect_err("already the writer");
    assert!(error.contains("already the writer"), "{error}");
    database.switchover(EAST).await.expect("switchover back");
    assert_eq!(database.current_writer(), EAST);
    add_user(&mut admin(&database, EAST).await, "c").await;
    database
        .wait_caught_up_region(WEST)
        .await
        .expect("caught up");
    assert_eq!(user_ids(&database, EAST).await, ["a", "b", "c"]);
    assert_eq!(user_ids(&database, WEST).await, ["a", "b", "c"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promotion_after_a_loss_loses_the_unshipped_rows_and_rejoin_reports_them() {
    let mut database = start().await;
    add_user(&mut admin(&database, EAST).await, "shipped").await;
    database
        .wait_caught_up_region(WEST)
        .await
        .expect("caught up");
    // Replication stalls: what the writer commits now is not shipped.
    admin(&database, WEST)
        .await
        .execute("STOP SLAVE")
        .await
        .expect("replication stops");
    add_user(&mut admin(&database, EAST).await, "unshipped").await;

    database.lose(EAST).await.expect("us-east-1 lost");
    assert!(database.admin_url(EAST).is_err());
    let error = database.switchover(WEST).await.expect_err("no switchover");
    assert!(error.contains("promote"), "{error}");
    database.promote(WEST).await.expect("us-west-1 promoted");
    assert_eq!(database.current_writer(), WEST);
    assert_eq!(user_ids(&database, WEST).await, ["shipped"]);
    add_user(&mut admin(&database, WEST).await, "after").await;

    let discarded = database.rejoin(EAST).await.expect("us-east-1 rejoins");
    // The unshipped account, and the heartbeats written while replication stalled.
    assert!(discarded.transactions >= 1, "{discarded:?}");
    let lost: Vec<&str> = discarded.users.iter().map(|u| u.uuid.as_str()).collect();
    assert_eq!(lost, ["unshipped"]);

    // The old writer is a consistent replica of the new one.
    add_user(&mut admin(&database, WEST).await, "later").await;
    database
        .wait_caught_up_region(EAST)
        .await
        .expect("caught up");
    assert_eq!(
        user_ids(&database, EAST).await,
        ["after", "later", "shipped"]
    );
    let refused = admin(&database, EAST).await;
    let read_only: i64 = sqlx::query_scalar("SELECT @@GLOBAL.read_only")
        .fetch_one(&mut { refused })
        .await
        .expect("read");
    assert_eq!(read_only, 1);

    // And a planned failback returns the writer to us-east-1 with every row.
    database.switchover(EAST).await.expect("failback");
    add_user(&mut admin(&database, EAST).await, "z").await;
    database
        .wait_caught_up_region(WEST)
        .await
        .expect("caught up");
    assert_eq!(
        user_ids(&database, WEST).await,
        ["after", "later", "shipped", "z"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standby_forwards_writes_and_reads_its_own_writes() {
    let database = start().await;
    let standby = api_pool(&database.api_url(WEST).unwrap(), Some("SESSION")).await;
    let mut connection = standby.acquire().await.expect("a connection");
    let forwarded_before = forwarded(&database, WEST);
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM unicorn_user")
        .fetch_one(&mut *connection)
        .await
        .expect("a read on the replica");
    assert_eq!(count, 0);
    assert_eq!(
        forwarded(&database, WEST),
        forwarded_before,
        "reads stay local"
    );

    sqlx::query("INSERT INTO unicorn_user (uuid, email) VALUES (?, ?)")
        .bind("w1")
        .bind("w1@example.com")
        .execute(&mut *connection)
        .await
        .expect("a forwarded write");
    assert!(
        forwarded(&database, WEST) > forwarded_before,
        "writes are forwarded"
    );
    // SESSION: the next read sees it, at once.
    let email: Vec<u8> = sqlx::query_scalar("SELECT email FROM unicorn_user WHERE uuid = ?")
        .bind("w1")
        .fetch_one(&mut *connection)
        .await
        .expect("the session reads its own write");
    assert_eq!(email, b"w1@example.com");
    assert_eq!(
        user_ids(&database, EAST).await,
        ["w1"],
        "it landed on the writer"
    );

    // A transaction that writes, as the API's: lock, write, commit, then read.
    let mut transaction = connection.begin().await.expect("begin");
    let locked: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT uuid FROM unicorn_user WHERE uuid = ? FOR UPDATE")
            .bind("w1")
            .fetch_optional(&mut *transaction)
            .await
            .expect("a locking read, forwarded");
    assert_eq!(locked.as_deref(), Some(&b"w1"[..]));
    sqlx::query("INSERT INTO unicorn_user (uuid, email) VALUES (?, ?)")
        .bind("w2")
        .bind("w2@example.com")
        .execute(&mut *transaction)
        .await
        .expect("a write in the transaction");
    let inside: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM unicorn_user")
        .fetch_one(&mut *transaction)
        .await
        .expect("a read in the transaction");
    assert_eq!(inside, 2, "the transaction sees its own uncommitted write");
    transaction.commit().await.expect("commit, forwarded");
    let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM unicorn_user")
        .fetch_one(&mut *connection)
        .await
        .expect("a read after the commit");
    assert_eq!(after, 2);

    // Statements write forwarding refuses get Aurora's error.
    let refused = sqlx::query("CREATE TABLE t (a INT)")
        .execute(&mut *connection)
        .await
        .expect_err("DDL is not forwarded");
    assert_eq!(error_number(&refused), Some(1235), "{refused}");
    let refused = connection
        .execute("SAVEPOINT s")
        .await
        .expect_err("SAVEPOINT is not forwarded");
    assert_eq!(error_number(&refused), Some(1235), "{refused}");
    let refused = sqlx::query("SET aurora_replica_read_consistency = 'SOMETIMES'")
        .execute(&mut *connection)
        .await
        .expect_err("not a consistency");
    assert_eq!(error_number(&refused), Some(1231), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_read_consistency_the_standby_does_not_forward() {
    let database = start().await;
    let standby = api_pool(&database.api_url(WEST).unwrap(), None).await;
    let refused = sqlx::query("INSERT INTO unicorn_user (uuid, email) VALUES ('x', 'x@x')")
        .execute(&standby)
        .await
        .expect_err("refused");
    assert_eq!(error_number(&refused), Some(1290), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writers_proxy_passes_through_and_the_standby_reads_while_the_writer_is_lost() {
    let mut database = start().await;
    let primary = api_pool(&database.api_url(EAST).unwrap(), Some("SESSION")).await;
    sqlx::query("INSERT INTO unicorn_user (uuid, email) VALUES (?, ?)")
        .bind("p1")
        .bind("p1@example.com")
        .execute(&primary)
        .await
        .expect("a write on the writer's own proxy");
    assert_eq!(
        forwarded(&database, EAST),
        0,
        "nothing forwarded in the writer's region"
    );
    let created = sqlx::query("CREATE TABLE unishop.t (a INT)")
        .execute(&primary)
        .await;
    assert!(created.is_ok(), "the writer takes DDL: {created:?}");

    database
        .wait_caught_up_region(WEST)
        .await
        .expect("caught up");
    let standby = api_pool(&database.api_url(WEST).unwrap(), Some("SESSION")).await;
    database.lose(EAST).await.expect("us-east-1 lost");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM unicorn_user")
        .fetch_one(&standby)
        .await
        .expect("the replica still serves reads");
    assert_eq!(count, 1);
    let failed = sqlx::query("INSERT INTO unicorn_user (uuid, email) VALUES ('p2', 'p2@x')")
        .execute(&standby)
        .await
        .expect_err("no writer to forward to");
    assert!(failed.to_string().contains("lost"), "{failed}");
}

fn forwarded(database: &AuroraGlobalDatabase, region: &str) -> u64 {
    database
        .proxy(region)
        .map(ForwardingProxy::forwarded)
        .expect("the region has a proxy")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_replica_rejoins_and_catches_up_without_ending_the_writers_sessions() {
    let mut database = start().await;
    let primary = api_pool(&database.api_url(EAST).unwrap(), Some("SESSION")).await;
    let session_before: u64 = sqlx::query_scalar("SELECT CONNECTION_ID()")
        .fetch_one(&primary)
        .await
        .expect("a session on the writer");
    database.lose(WEST).await.expect("us-west-1 lost");
    assert!(database.lose(WEST).await.is_err(), "already lost");
    sqlx::query("INSERT INTO unicorn_user (uuid, email) VALUES ('during', 'during@x')")
        .execute(&primary)
        .await
        .expect("the writer takes writes while the replica is away");
    let session_after: u64 = sqlx::query_scalar("SELECT CONNECTION_ID()")
        .fetch_one(&primary)
        .await
        .expect("the same session");
    assert_eq!(session_before, session_after);

    let discarded = database.rejoin(WEST).await.expect("us-west-1 rejoins");
    assert_eq!(
        discarded,
        Default::default(),
        "a replica has nothing of its own"
    );
    database
        .wait_caught_up_region(WEST)
        .await
        .expect("caught up");
    assert_eq!(user_ids(&database, WEST).await, ["during"]);
    assert!(database.rejoin(WEST).await.is_err(), "not lost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_reads_wait_for_the_writer_and_session_reads_only_for_their_own_writes() {
    let database = start().await;
    let session = api_pool(&database.api_url(WEST).unwrap(), Some("SESSION")).await;
    let global = api_pool(&database.api_url(WEST).unwrap(), Some("GLOBAL")).await;
    // Warm both sessions up before replication is held.
    for pool in [&session, &global] {
        sqlx::query("SELECT 1").execute(pool).await.expect("a read");
    }
    let mut replica = admin(&database, WEST).await;
    replica
        .execute("STOP SLAVE SQL_THREAD")
        .await
        .expect("the replica stops applying");
    add_user(&mut admin(&database, EAST).await, "elsewhere").await;

    let count = "SELECT COUNT(*) FROM unicorn_user";
    let seen_by_session: i64 = sqlx::query_scalar(count)
        .fetch_one(&session)
        .await
        .expect("a SESSION read");
    assert_eq!(
        seen_by_session, 0,
        "another session's write is not waited for"
    );

    let global_read = tokio::spawn(async move {
        sqlx::query_scalar::<_, i64>(count)
            .fetch_one(&global)
            .await
            .expect("a GLOBAL read")
    });
    // Time for the read to reach the replica while it still lacks the row: a read that did not
    // wait for the writer's position would count 0.
    tokio::time::sleep(Duration::from_millis(300)).await;
    replica
        .execute("START SLAVE SQL_THREAD")
        .await
        .expect("the replica applies again");
    assert_eq!(global_read.await.expect("the read ends"), 1);
}
