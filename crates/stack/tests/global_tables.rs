//! The global tables' stand-in on real moto_servers, one per region: what reaches the other
//! region and when, last writer wins, deletes, a paused region, no echo. Needs moto
//! (`cargo xtask setup`). No timing is asserted beyond what the replicator guarantees: a change
//! is never applied before its lag.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};
use unishop_stack::moto::MotoServer;
use unishop_stack::replication::global_tables::{GlobalTables, Outcome, Replica};

const EAST: &str = "us-east-1";
const WEST: &str = "us-west-1";
const TABLE: &str = "carts";
/// Long enough for a slow machine to get everything done that must happen within the lag.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(60);

/// Two regions' moto_servers with the table, and the replicator between them.
struct Pair {
    east: MotoServer,
    west: MotoServer,
    replicator: GlobalTables,
    http: reqwest::Client,
    _folder: tempfolder::Folder,
}

mod tempfolder {
    use std::path::{Path, PathBuf};

    /// A folder removed when dropped.
    pub struct Folder(PathBuf);

    impl Folder {
        pub fn new(name: &str) -> Self {
            let path = std::env::temp_dir().join(format!(
                "unishop-global-tables-{name}-{}",
                std::process::id()
            ));
            std::fs::create_dir_all(&path).expect("a scratch folder");
            Folder(path)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Folder {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Pair {
    async fn start(name: &str, lag: Duration) -> Pair {
        let folder = tempfolder::Folder::new(name);
        let log = |region: &str| -> PathBuf { folder.path().join(format!("moto-{region}.log")) };
        let east = MotoServer::start_replica(&log(EAST), EAST).expect("moto_server for us-east-1");
        let west = MotoServer::start_replica(&log(WEST), WEST).expect("moto_server for us-west-1");
        let http = reqwest::Client::new();
        for (server, region) in [(&east, EAST), (&west, WEST)] {
            call(
                &http,
                server,
                region,
                "CreateTable",
                json!({
                    "TableName": TABLE,
                    "KeySchema": [{"AttributeName": "uuid", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "uuid", "AttributeType": "S"}],
                    "BillingMode": "PAY_PER_REQUEST",
                    "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"},
                }),
            )
            .await;
        }
        let replicator = GlobalTables::start(
            &tokio::runtime::Handle::current(),
            [
                Replica {
                    region: EAST.to_owned(),
                    url: east.url.clone(),
                },
                Replica {
                    region: WEST.to_owned(),
                    url: west.url.clone(),
                },
            ],
            lag,
        )
        .expect("the replicator");
        Pair {
            east,
            west,
            replicator,
            http,
            _folder: folder,
        }
    }

    fn server(&self, region: &str) -> &MotoServer {
        if region == EAST {
            &self.east
        } else {
            &self.west
        }
    }

    async fn put(&self, region: &str, key: &str, value: &str) {
        let item = json!({"uuid": {"S": key}, "value": {"S": value}});
        call(
            &self.http,
            self.server(region),
            region,
            "PutItem",
            json!({"TableName": TABLE, "Item": item}),
        )
        .await;
    }

    async fn delete(&self, region: &str, key: &str) {
        let key = json!({"uuid": {"S": key}});
        call(
            &self.http,
            self.server(region),
            region,
            "DeleteItem",
            json!({"TableName": TABLE, "Key": key}),
        )
        .await;
    }

    /// The item's `value` in `region`'s copy, if it is there.
    async fn value(&self, region: &str, key: &str) -> Option<String> {
        let answer = call(
            &self.http,
            self.server(region),
            region,
            "GetItem",
            json!({"TableName": TABLE, "Key": {"uuid": {"S": key}}, "ConsistentRead": true}),
        )
        .await;
        answer["Item"]["value"]["S"].as_str().map(str::to_owned)
    }

    async fn caught_up(&self) {
        self.replicator
            .wait_until_caught_up(&[TABLE], CATCH_UP_LIMIT)
            .await
            .expect("both copies agree");
    }

    async fn item_counts(&self) -> (usize, usize) {
        let [east, west] = self.replicator.copies(TABLE).await.expect("both copies");
        (east.items.len(), west.items.len())
    }
}

/// One DynamoDB call in `region` (JSON protocol; moto takes the region from the credential scope
/// and checks no signature).
async fn call(
    http: &reqwest::Client,
    server: &MotoServer,
    region: &str,
    operation: &str,
    body: Value,
) -> Value {
    let response = http
        .post(&server.url)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", format!("DynamoDB_20120810.{operation}"))
        .header(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential=emulator/20260101/{region}/dynamodb/aws4_request, SignedHeaders=host, Signature=0"),
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{operation} in {region}: {e}"));
    let status = response.status();
    let text = response.text().await.expect("an answer");
    assert!(
        status.is_success(),
        "{operation} in {region}: {status}: {text}"
    );
    serde_json::from_str(&text).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_reaches_the_other_region_after_the_lag_and_not_before() {
    let lag = Duration::from_millis(1500);
    let pair = Pair::start("lag", lag).await;
    pair.put(EAST, "alice", "one").await;
    assert_eq!(pair.value(EAST, "alice").await.as_deref(), Some("one"));
    // Right after the write, well inside its lag: not there yet.
    assert_eq!(pair.value(WEST, "alice").await, None);
    pair.caught_up().await;
    assert_eq!(pair.value(WEST, "alice").await.as_deref(), Some("one"));
    let samples = pair.replicator.lag_samples();
    assert_eq!(samples.len(), 1, "{samples:?}");
    assert_eq!(
        (samples[0].from.as_str(), samples[0].to.as_str()),
        (EAST, WEST)
    );
    // Measured, and never shorter than the lag the change is held.
    assert!(samples[0].lag_ms >= lag.as_millis() as f64, "{samples:?}");
    assert!(!samples[0].held_by_pause);
    assert_eq!(pair.replicator.lww_conflicts(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_converge_to_the_later_one_and_count_a_conflict() {
    // Both writes are made well within the lag of each other.
    let pair = Pair::start("conflict", Duration::from_secs(3)).await;
    pair.put(EAST, "bob", "earlier in us-east-1").await;
    pair.put(WEST, "bob", "later in us-west-1").await;
    pair.caught_up().await;
    for region in [EAST, WEST] {
        assert_eq!(
            pair.value(region, "bob").await.as_deref(),
            Some("later in us-west-1"),
            "{region}"
        );
    }
    assert_eq!(pair.replicator.lww_conflicts(), 1);
    let conflict = &pair.replicator.conflicts()[0];
    assert_eq!(
        (conflict.from.as_str(), conflict.winner.as_str()),
        (EAST, WEST)
    );
    assert!(
        conflict.winner_at_ms >= conflict.written_at_ms,
        "{conflict:?}"
    );
    // The later write was applied in us-east-1; the earlier one lost in us-west-1.
    let samples = pair.replicator.lag_samples();
    assert_eq!(samples.len(), 1, "{samples:?}");
    assert_eq!(samples[0].to, EAST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_replicates() {
    let pair = Pair::start("delete", Duration::from_millis(300)).await;
    pair.put(WEST, "carol", "there").await;
    pair.caught_up().await;
    assert_eq!(pair.value(EAST, "carol").await.as_deref(), Some("there"));
    pair.delete(EAST, "carol").await;
    pair.caught_up().await;
    assert_eq!(pair.value(WEST, "carol").await, None);
    assert_eq!(pair.value(EAST, "carol").await, None);
    assert_eq!(pair.item_counts().await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_regions_changes_arrive_after_it_resumes_and_are_recorded_as_late() {
    let lag = Duration::from_millis(200);
    let pair = Pair::start("pause", lag).await;
    pair.replicator.pause(EAST).expect("us-east-1 paused");
    pair.put(EAST, "dave", "written before the loss").await;
    pair.put(WEST, "erin", "written during the loss").await;
    // Many lags later, still held in both directions.
    tokio::time::sleep(lag * 5).await;
    assert_eq!(pair.value(WEST, "dave").await, None);
    assert_eq!(pair.value(EAST, "erin").await, None);
    assert!(!pair.replicator.caught_up().await);
    pair.replicator.resume(EAST).expect("us-east-1 back");
    pair.caught_up().await;
    assert_eq!(
        pair.value(WEST, "dave").await.as_deref(),
        Some("written before the loss")
    );
    assert_eq!(
        pair.value(EAST, "erin").await.as_deref(),
        Some("written during the loss")
    );
    let late = pair.replicator.late_changes();
    let mut keys: Vec<(&str, &str)> = late
        .iter()
        .map(|c| {
            (
                c.key["uuid"]["S"].as_str().unwrap_or_default(),
                c.to.as_str(),
            )
        })
        .collect();
    keys.sort();
    assert_eq!(keys, [("dave", WEST), ("erin", EAST)]);
    assert!(late.iter().all(|c| c.outcome == Outcome::Applied));
    let samples = pair.replicator.lag_samples();
    assert!(samples.iter().all(|s| s.held_by_pause), "{samples:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replicated_write_never_echoes_back() {
    let lag = Duration::from_millis(200);
    let pair = Pair::start("echo", lag).await;
    for n in 0..5 {
        pair.put(EAST, &format!("east-{n}"), "v").await;
        pair.put(WEST, &format!("west-{n}"), "v").await;
    }
    pair.caught_up().await;
    assert_eq!(pair.item_counts().await, (10, 10));
    let applied = pair.replicator.lag_samples().len();
    assert_eq!(applied, 10);
    // Many rounds later: nothing more was shipped, nothing changed.
    tokio::time::sleep(lag * 10).await;
    assert!(pair.replicator.caught_up().await);
    assert_eq!(pair.replicator.lag_samples().len(), applied);
    assert_eq!(pair.item_counts().await, (10, 10));
    assert_eq!(pair.replicator.lww_conflicts(), 0);
}
