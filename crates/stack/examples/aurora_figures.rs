//! Figures of the Aurora global database stand-in on this machine: sign-up-like writes through each
//! region's endpoint, the measured replication lag, a switchover each way, and a region lost under
//! writes (promotion, then rejoin and what it discarded).
//!
//! `cargo run -p unishop-stack --example aurora_figures [SECONDS]` (default 5 s of writes).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::mysql::MySqlPoolOptions;
use sqlx::{Connection, Executor, MySqlConnection, MySqlPool};
use unishop_stack::mariadb::MariaDb;
use unishop_stack::process::target_dir;
use unishop_stack::replication::aurora::{AuroraGlobalDatabase, DEFAULT_ROUND_TRIP};

const EAST: &str = "us-east-1";
const WEST: &str = "us-west-1";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), String> {
    let seconds: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().map_err(|e| format!("SECONDS: {e}")))
        .transpose()?
        .unwrap_or(5);
    let folder = MariaDb::scratch_folder(&target_dir().join("aurora-figures"));
    let mut database = AuroraGlobalDatabase::start(&folder, DEFAULT_ROUND_TRIP).await?;
    let mut admin = MySqlConnection::connect(&database.admin_url(EAST)?)
        .await
        .map_err(|e| e.to_string())?;
    admin
        .execute(
            "CREATE TABLE unishop.unicorn_user (uuid CHAR(36) PRIMARY KEY, \
             email VARCHAR(254) NOT NULL UNIQUE, \
             created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)) \
             ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin",
        )
        .await
        .map_err(|e| e.to_string())?;
    database.wait_caught_up_region(WEST).await?;

    for region in [EAST, WEST] {
        let pool = api_pool(&database.api_url(region)?).await?;
        let latencies = write_for(&pool, region, Duration::from_secs(seconds)).await;
        println!(
            "signup_like_write: region={region} writer={} n={} p50_ms={:.1} p99_ms={:.1}",
            database.current_writer(),
            latencies.len(),
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99)
        );
    }
    println!(
        "replication_lag: samples={} p99_ms={:.1}",
        database.lag_samples().len(),
        database.lag_p99_ms()
    );
    let to_west = database.switchover(WEST).await?;
    let to_east = database.switchover(EAST).await?;
    println!(
        "switchover: to_us_west_1_refused_ms={} back_refused_ms={}",
        to_west.as_millis(),
        to_east.as_millis()
    );

    // us-east-1 lost while its API writes: what was acknowledged and not shipped is lost.
    let pool = api_pool(&database.api_url(EAST)?).await?;
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (pool, acknowledged, stop) = (pool.clone(), acknowledged.clone(), stop.clone());
        tokio::spawn(async move {
            write_until(&pool, "loss", &stop, &acknowledged).await;
        })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let lost_at = Instant::now();
    database.lose(EAST).await?;
    stop.store(true, Ordering::Relaxed);
    let _ = writer.await;
    let promoting = Instant::now();
    database.promote(WEST).await?;
    let promote_ms = promoting.elapsed().as_millis();
    let discarded = database.rejoin(EAST).await?;
    let acknowledged = acknowledged
        .lock()
        .map_err(|_| "poisoned".to_owned())?
        .clone();
    let lost: Vec<&(String, Instant)> = acknowledged
        .iter()
        .filter(|(uuid, _)| discarded.users.iter().any(|user| &user.uuid == uuid))
        .collect();
    let rpo_ms = lost
        .iter()
        .map(|(_, at)| lost_at.saturating_duration_since(*at).as_millis())
        .max()
        .unwrap_or(0);
    println!(
        "region_loss: acknowledged={} unplanned_lost_writes={} discarded_transactions={} rpo_ms={rpo_ms} promote_ms={promote_ms} lag_p99_ms={:.1}",
        acknowledged.len(),
        lost.len(),
        discarded.transactions,
        database.lag_p99_ms()
    );
    drop(database);
    Ok(())
}

async fn api_pool(url: &str) -> Result<MySqlPool, String> {
    MySqlPoolOptions::new()
        .max_connections(4)
        .after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::query("SET aurora_replica_read_consistency = 'SESSION'")
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .connect(url)
        .await
        .map_err(|e| format!("{url}: {e}"))
}

/// One sign-up's writes: a transaction locking the email, inserting the account, committing, and
/// the account read back.
async fn sign_up(pool: &MySqlPool, uuid: &str) -> Result<(), sqlx::Error> {
    let email = format!("{uuid}@example.com");
    let mut connection = pool.acquire().await?;
    let mut transaction = connection.begin().await?;
    sqlx::query("SELECT uuid FROM unicorn_user WHERE email = ? FOR UPDATE")
        .bind(&email)
        .fetch_optional(&mut *transaction)
        .await?;
    sqlx::query("INSERT INTO unicorn_user (uuid, email) VALUES (?, ?)")
        .bind(uuid)
        .bind(&email)
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    sqlx::query("SELECT email FROM unicorn_user WHERE uuid = ?")
        .bind(uuid)
        .fetch_one(&mut *connection)
        .await?;
    Ok(())
}

async fn write_for(pool: &MySqlPool, label: &str, duration: Duration) -> Vec<f64> {
    let end = Instant::now() + duration;
    let mut latencies = Vec::new();
    let mut n = 0;
    while Instant::now() < end {
        n += 1;
        let started = Instant::now();
        if sign_up(pool, &format!("{label}-{n}")).await.is_ok() {
            latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    latencies
}

async fn write_until(
    pool: &MySqlPool,
    label: &str,
    stop: &AtomicBool,
    acknowledged: &Mutex<Vec<(String, Instant)>>,
) {
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let uuid = format!("{label}-{n}");
        if sign_up(pool, &uuid).await.is_ok() {
            if let Ok(mut acknowledged) = acknowledged.lock() {
                acknowledged.push((uuid, Instant::now()));
            }
        }
    }
}

fn percentile(values: &[f64], quantile: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64) * quantile).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
