//! The stand-in for DynamoDB global tables: one moto_server per region
//! ([`MotoServer::start_replica`](crate::moto::MotoServer::start_replica)) and this replicator
//! between them.
//!
//! What it does, as global tables do: every item change made in one region (put, update, delete,
//! each item of a transaction on its own) reaches the other region after a lag ([`DEFAULT_LAG`]
//! unless set), asynchronously and item by item, so the items of one transaction arrive
//! separately; a conflict is settled per item by last writer wins, on the time the write was made
//! in its region, a tie going to the region whose name sorts last; a replicated write is not
//! replicated again. Paused out of a region ([`GlobalTables::pause`], the region lost), that
//! region's changes not yet shipped wait, and are shipped when it is back
//! ([`GlobalTables::resume`]); so do the other region's changes for it.
//!
//! # Mechanism: a hook in the patched moto, not DynamoDB Streams
//!
//! Global tables read each table's stream, and moto has streams (`dynamodbstreams`), so reading
//! them with the AWS SDK was the first candidate. It does not do, for two reasons:
//!
//! - Ordering. Last writer wins needs each write's time finer than a second (a cart is written
//!   several times a second, and the drill's conflicts are milliseconds apart). A stream record's
//!   `ApproximateCreationDateTime` is documented by AWS as rounded down to the second; moto sends
//!   microseconds, but a design that works only because the emulator is more precise than the
//!   service would be measuring moto.
//! - Atomicity. The receiving region must compare and write in one step: a replicator outside
//!   the table that reads the item's last write time and then writes can overwrite a newer local
//!   write made in between, and the copies then differ for good. DynamoDB does the comparison
//!   inside the service, out of the client's sight; from outside it would take a condition on
//!   hidden attributes in every item, which the API would then read and write.
//!
//! So `moto/moto_serial.py`, which already answers one request at a time, records each committed
//! item write with `time.time_ns()` and its region, keeps every item's last write beside the
//! table (as DynamoDB keeps its replication metadata out of the item), and serves
//! `/_replication/changes` (the region's own writes, a change feed), `/_replication/apply` (a
//! replicated change written only when newer, atomically) and `/_replication/items` (a copy
//! read whole). This module polls each region's feed, holds each change until its lag has passed
//! and applies it in the other region. All of it is test stack; the API runs unchanged.
//!
//! # Figures, measured
//!
//! - [`GlobalTables::lag_samples`]: per applied change, when it was applied and its lag (apply
//!   time minus the write's time in its region, both from this machine's clock), so a p99
//!   ([`lag_p99_ms`]) and a series over time can be drawn; changes held by a pause are marked.
//! - [`GlobalTables::lww_conflicts`]: changes that, replicated, lost to a newer write of the item
//!   ([`GlobalTables::conflicts`]: which, and to what).
//! - [`GlobalTables::late_changes`]: changes held by a pause (made before or during a region's
//!   loss, shipped after it), for telling "missing only while the region was away" from "lost".

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// How long a change takes to reach the other region unless set (global tables: about a second).
pub const DEFAULT_LAG: Duration = Duration::from_secs(1);
/// How often each region's change feed is read.
const POLL_INTERVAL: Duration = Duration::from_millis(40);
/// How long one call to a moto_server may take: a frozen or dead one fails the call, which is
/// tried again at the next round.
const CALL_TIMEOUT: Duration = Duration::from_secs(1);

/// One region's copy: its name and its moto_server.
#[derive(Clone, Debug)]
pub struct Replica {
    pub region: String,
    pub url: String,
}

/// One item change as the feed records it (DynamoDB JSON for `key` and `item`).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Change {
    seq: u64,
    table: String,
    key: Value,
    /// The item after the change; `None` for a delete.
    item: Option<Value>,
    /// When it was written in its region, ns since the epoch.
    at_ns: u64,
    region: String,
}

#[derive(Deserialize)]
struct Feed {
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Applied {
    outcome: Outcome,
    /// For [`Outcome::Superseded`]: the newer write's time and region.
    #[serde(default)]
    winner_at_ns: u64,
    #[serde(default)]
    winner_region: String,
}

/// What the receiving region did with a replicated change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Written: newer than the item's last write there.
    Applied,
    /// Not written: the item has a newer write (a last-writer-wins conflict).
    Superseded,
    /// Not written: already there (the same write).
    Duplicate,
}

/// The lag of one applied change.
#[derive(Clone, Debug, PartialEq)]
pub struct LagSample {
    pub from: String,
    pub to: String,
    /// When it was applied, ms since the epoch.
    pub applied_at_ms: u64,
    /// Applied minus written, ms.
    pub lag_ms: f64,
    /// It waited out a pause of either region (a region lost); its lag includes the outage.
    pub held_by_pause: bool,
}

/// A change that a pause held back: written before or during a region's loss, shipped after.
#[derive(Clone, Debug, PartialEq)]
pub struct LateChange {
    pub table: String,
    /// The item's key, DynamoDB JSON.
    pub key: Value,
    /// The item as written (DynamoDB JSON); `None` for a delete.
    pub item: Option<Value>,
    pub from: String,
    pub to: String,
    pub written_at_ms: u64,
    pub applied_at_ms: u64,
    pub outcome: Outcome,
}

/// A replicated change that lost to a newer write of its item (last writer wins).
#[derive(Clone, Debug, PartialEq)]
pub struct Conflict {
    pub table: String,
    /// The item's key, DynamoDB JSON.
    pub key: Value,
    /// The region whose change lost, and when it was written there (ms since the epoch).
    pub from: String,
    pub written_at_ms: u64,
    /// The region of the newer write that won, and when it was made.
    pub winner: String,
    pub winner_at_ms: u64,
}

/// One item of a copy, with the write it came from.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct CopiedItem {
    /// The item, DynamoDB JSON.
    pub item: Value,
    /// When its last write was made, ns since the epoch (0: before replication knew it).
    pub at_ns: u64,
    /// The region that made it.
    pub region: String,
}

#[derive(Deserialize)]
struct CopyAnswer {
    items: Vec<CopiedItem>,
}

/// One region's copy of a table, read whole.
#[derive(Clone, Debug)]
pub struct TableCopy {
    pub region: String,
    pub items: Vec<CopiedItem>,
}

impl TableCopy {
    /// The items alone, in a fixed order (by their JSON text), for comparing copies.
    pub fn sorted_items(&self) -> Vec<String> {
        let mut items: Vec<String> = self.items.iter().map(|i| i.item.to_string()).collect();
        items.sort();
        items
    }
}

/// Changes on their way from one region to the other.
#[derive(Default)]
struct Direction {
    /// The feed's last change taken.
    taken_seq: u64,
    waiting: VecDeque<Change>,
}

#[derive(Default)]
struct State {
    /// Per region (index into the replicas): its pauses, start and end (ns since the epoch).
    pauses: [Vec<(u64, Option<u64>)>; 2],
    /// [0 → 1, 1 → 0].
    directions: [Direction; 2],
    samples: Vec<LagSample>,
    conflicts: Vec<Conflict>,
    late: Vec<LateChange>,
}

impl State {
    fn paused(&self, region: usize) -> bool {
        self.pauses[region]
            .last()
            .is_some_and(|(_, end)| end.is_none())
    }

    /// Whether a pause of either region fell between a change's write and its application.
    fn held_by_pause(&self, from: usize, to: usize, written_ns: u64, applied_ns: u64) -> bool {
        [from, to].iter().any(|&region| {
            self.pauses[region]
                .iter()
                .any(|&(start, end)| start < applied_ns && end.is_none_or(|end| end > written_ns))
        })
    }
}

struct Shared {
    replicas: [Replica; 2],
    lag: Duration,
    http: reqwest::Client,
    state: Mutex<State>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves figures that are still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        read_json(url, response).await
    }
}

async fn read_json<T: serde::de::DeserializeOwned>(
    url: &str,
    response: reqwest::Response,
) -> Result<T, String> {
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("{url}: reading the answer: {e}"))?;
    if !status.is_success() {
        return Err(format!(
            "{url}: {status}: {}",
            String::from_utf8_lossy(&body)
        ));
    }
    serde_json::from_slice(&body).map_err(|e| format!("{url}: unexpected answer: {e}"))
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The replicator between two regions' copies. Runs on the runtime it was started on until
/// dropped.
pub struct GlobalTables {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl GlobalTables {
    /// Starts replicating both ways between `replicas` on `runtime`, each change held `lag`.
    pub fn start(runtime: &Handle, replicas: [Replica; 2], lag: Duration) -> Result<Self, String> {
        if replicas[0].region == replicas[1].region {
            return Err(format!(
                "global tables need two regions, not {} twice",
                replicas[0].region
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .build()
            .map_err(|e| format!("the replicator's HTTP client: {e}"))?;
        let shared = Arc::new(Shared {
            replicas,
            lag,
            http,
            state: Mutex::new(State::default()),
        });
        let tasks = [(0, 1), (1, 0)]
            .into_iter()
            .map(|(from, to)| runtime.spawn(replicate(Arc::clone(&shared), from, to)))
            .collect();
        Ok(GlobalTables { shared, tasks })
    }

    /// The lag each change is held.
    pub fn lag(&self) -> Duration {
        self.shared.lag
    }

    /// The two regions' names.
    pub fn regions(&self) -> [&str; 2] {
        [
            self.shared.replicas[0].region.as_str(),
            self.shared.replicas[1].region.as_str(),
        ]
    }

    fn index(&self, region: &str) -> Result<usize, String> {
        self.shared
            .replicas
            .iter()
            .position(|r| r.region == region)
            .ok_or_else(|| {
                format!(
                    "no region {region} in the global tables ({} and {})",
                    self.shared.replicas[0].region, self.shared.replicas[1].region
                )
            })
    }

    /// Stops replication out of `region` and into it (the region lost): what it wrote and has not
    /// shipped waits, and so does what the other region ships to it.
    pub fn pause(&self, region: &str) -> Result<(), String> {
        let index = self.index(region)?;
        let mut state = self.shared.state();
        if !state.paused(index) {
            state.pauses[index].push((now_ns(), None));
        }
        Ok(())
    }

    /// Replication of `region` again, after [`GlobalTables::pause`]: what waited is shipped.
    pub fn resume(&self, region: &str) -> Result<(), String> {
        let index = self.index(region)?;
        let mut state = self.shared.state();
        if let Some((_, end)) = state.pauses[index].last_mut() {
            end.get_or_insert_with(now_ns);
        }
        Ok(())
    }

    /// Every applied change's lag so far.
    pub fn lag_samples(&self) -> Vec<LagSample> {
        self.shared.state().samples.clone()
    }

    /// How many replicated changes lost to a newer write of their item.
    pub fn lww_conflicts(&self) -> usize {
        self.shared.state().conflicts.len()
    }

    /// The replicated changes that lost to a newer write of their item, in the order they lost.
    pub fn conflicts(&self) -> Vec<Conflict> {
        self.shared.state().conflicts.clone()
    }

    /// Changes that a pause held back, in the order they were applied.
    pub fn late_changes(&self) -> Vec<LateChange> {
        self.shared.state().late.clone()
    }

    /// Whether nothing is on its way: no change waiting in either direction and none written
    /// that the replicator has not taken. False while a region is paused with changes for it or
    /// from it, or unreachable.
    pub async fn caught_up(&self) -> bool {
        for (direction, replica) in self.shared.replicas.iter().enumerate() {
            let taken = {
                let state = self.shared.state();
                if !state.directions[direction].waiting.is_empty() {
                    return false;
                }
                state.directions[direction].taken_seq
            };
            let url = format!("{}/_replication/changes?after={taken}", replica.url);
            match self.shared.get_json::<Feed>(&url).await {
                Ok(feed) if feed.changes.is_empty() => {}
                _ => return false,
            }
            // A change taken meanwhile is waiting now, or was applied.
            if !self.shared.state().directions[direction].waiting.is_empty() {
                return false;
            }
        }
        true
    }

    /// Waits until [`GlobalTables::caught_up`] and both copies of each of `tables` hold the same
    /// items, for at most `limit`.
    pub async fn wait_until_caught_up(
        &self,
        tables: &[&str],
        limit: Duration,
    ) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            let mut differing = None;
            if self.caught_up().await {
                for table in tables {
                    let [a, b] = self.copies(table).await?;
                    if a.sorted_items() != b.sorted_items() {
                        differing = Some(*table);
                        break;
                    }
                }
                if differing.is_none() {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err(match differing {
                    Some(table) => format!(
                        "replication caught up but the copies of {table} still differ after {limit:?}"
                    ),
                    None => format!("replication has not caught up after {limit:?}"),
                });
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Both regions' copies of `table`, read whole (in the regions' order).
    pub async fn copies(&self, table: &str) -> Result<[TableCopy; 2], String> {
        let read = |replica: &Replica| {
            let url = format!("{}/_replication/items?table={table}", replica.url);
            let region = replica.region.clone();
            async move {
                let copy: CopyAnswer = self.shared.get_json(&url).await?;
                Ok::<_, String>(TableCopy {
                    region,
                    items: copy.items,
                })
            }
        };
        let (a, b) = tokio::join!(
            read(&self.shared.replicas[0]),
            read(&self.shared.replicas[1])
        );
        Ok([a?, b?])
    }
}

impl Drop for GlobalTables {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Ships `from`'s changes to `to`, for ever: reads the feed, holds each change its lag, applies
/// it, records what happened. A call that fails (a region down) is tried again next round.
async fn replicate(shared: Arc<Shared>, from: usize, to: usize) {
    let source = &shared.replicas[from];
    let target = &shared.replicas[to];
    let apply_url = format!("{}/_replication/apply", target.url);
    let lag_ns = u64::try_from(shared.lag.as_nanos()).unwrap_or(u64::MAX);
    loop {
        let (paused_from, taken) = {
            let state = shared.state();
            (state.paused(from), state.directions[from].taken_seq)
        };
        if !paused_from {
            let url = format!("{}/_replication/changes?after={taken}", source.url);
            if let Ok(feed) = shared.get_json::<Feed>(&url).await {
                let mut state = shared.state();
                let direction = &mut state.directions[from];
                for change in feed.changes {
                    if change.seq > direction.taken_seq {
                        direction.taken_seq = change.seq;
                        direction.waiting.push_back(change);
                    }
                }
            }
        }
        loop {
            let due = {
                let state = shared.state();
                if state.paused(from) || state.paused(to) {
                    None
                } else {
                    state.directions[from]
                        .waiting
                        .front()
                        .filter(|change| change.at_ns.saturating_add(lag_ns) <= now_ns())
                        .cloned()
                }
            };
            let Some(change) = due else { break };
            let Ok(body) = serde_json::to_vec(&change) else {
                break;
            };
            let sent = shared
                .http
                .post(&apply_url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
            let applied = match sent {
                Ok(response) => match read_json::<Applied>(&apply_url, response).await {
                    Ok(applied) => applied,
                    Err(_) => break,
                },
                Err(_) => break,
            };
            let outcome = applied.outcome;
            let applied_ns = now_ns();
            let mut state = shared.state();
            state.directions[from].waiting.pop_front();
            let held = state.held_by_pause(from, to, change.at_ns, applied_ns);
            match outcome {
                Outcome::Applied => state.samples.push(LagSample {
                    from: source.region.clone(),
                    to: target.region.clone(),
                    applied_at_ms: applied_ns / 1_000_000,
                    lag_ms: applied_ns.saturating_sub(change.at_ns) as f64 / 1e6,
                    held_by_pause: held,
                }),
                Outcome::Superseded => state.conflicts.push(Conflict {
                    table: change.table.clone(),
                    key: change.key.clone(),
                    from: source.region.clone(),
                    written_at_ms: change.at_ns / 1_000_000,
                    winner: applied.winner_region,
                    winner_at_ms: applied.winner_at_ns / 1_000_000,
                }),
                Outcome::Duplicate => {}
            }
            if held {
                state.late.push(LateChange {
                    table: change.table,
                    key: change.key,
                    item: change.item,
                    from: source.region.clone(),
                    to: target.region.clone(),
                    written_at_ms: change.at_ns / 1_000_000,
                    applied_at_ms: applied_ns / 1_000_000,
                    outcome,
                });
            }
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// The 99th percentile of the lags of `samples` not held by a pause, ms (0 without any).
pub fn lag_p99_ms(samples: &[LagSample]) -> f64 {
    let mut lags: Vec<f64> = samples
        .iter()
        .filter(|s| !s.held_by_pause)
        .map(|s| s.lag_ms)
        .collect();
    if lags.is_empty() {
        return 0.0;
    }
    lags.sort_by(f64::total_cmp);
    let rank = ((lags.len() as f64) * 0.99).ceil() as usize;
    lags[rank.clamp(1, lags.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::{lag_p99_ms, LagSample};

    fn sample(lag_ms: f64, held_by_pause: bool) -> LagSample {
        LagSample {
            from: "us-east-1".to_owned(),
            to: "us-west-1".to_owned(),
            applied_at_ms: 0,
            lag_ms,
            held_by_pause,
        }
    }

    #[test]
    fn the_p99_leaves_out_changes_held_by_a_pause() {
        let mut samples: Vec<LagSample> =
            (1..=200).map(|ms| sample(f64::from(ms), false)).collect();
        samples.push(sample(60_000.0, true));
        assert_eq!(lag_p99_ms(&samples), 198.0);
        assert_eq!(lag_p99_ms(&[sample(5.0, false)]), 5.0);
        assert_eq!(lag_p99_ms(&[sample(5.0, true)]), 0.0);
        assert_eq!(lag_p99_ms(&[]), 0.0);
    }
}
