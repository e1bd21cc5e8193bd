//! `cargo xtask bench api`: the release API under wrk on loopback, catalogue reads, cart adds and
//! orders, each against a static server's ceiling, on any of the stores ([`StoreKind`]), and the
//! time from starting the process to its first answer.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use unishop_stack::stores::{StoreKind, StoreServers};

use crate::api_server::{client, healthy, start_server, token_for, Scratch};
use crate::error::{Error, Result};
use crate::process::{run, run_watching, target_dir, Service};

/// How long each benchmark scenario drives load.
const BENCH_SECONDS: u64 = 10;
/// Users (and wrk threads, one connection each) in the write scenarios: each works on its own
/// cart, so an order never finds its cart emptied by another connection.
const BENCH_WRITERS: usize = 8;
/// The catalogue-read load: wrk threads and connections.
const READ_THREADS: &str = "2";
const READ_CONNECTIONS: &str = "32";

/// wrk's summary of one run.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Load {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

/// A wrk latency like `1.23ms`, `850.00us` or `1.02s`, in milliseconds.
fn millis(text: &str) -> Option<f64> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (text, 1.0)
    };
    number.trim().parse::<f64>().ok().map(|n| n * scale)
}

/// Reads `wrk --latency` output.
fn parse_wrk(output: &str) -> Result<Load> {
    let mut load = Load::default();
    let mut seen_rps = false;
    for line in output.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", n] => {
                load.rps = n
                    .parse()
                    .map_err(|_| wrk_output(format!("bad rate in {line:?}")))?;
                seen_rps = true;
            }
            ["50%", t] => {
                load.p50_ms =
                    millis(t).ok_or_else(|| wrk_output(format!("bad latency {line:?}")))?
            }
            ["99%", t] => {
                load.p99_ms =
                    millis(t).ok_or_else(|| wrk_output(format!("bad latency {line:?}")))?
            }
            ["Non-2xx", "or", "3xx", "responses:", n] => {
                load.errors += n.parse::<u64>().unwrap_or(0)
            }
            ["Socket", "errors:", rest @ ..] => {
                // connect 0, read 0, write 0, timeout 0
                load.errors += rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum::<u64>();
            }
            _ => {}
        }
    }
    if seen_rps {
        Ok(load)
    } else {
        Err(wrk_output(format!(
            "no Requests/sec in its output:\n{output}"
        )))
    }
}

/// Runs wrk and reads its summary.
/// An [`Error::Output`] of wrk's.
fn wrk_output(detail: String) -> Error {
    Error::Output {
        tool: "wrk",
        detail,
    }
}

fn wrk(url: &str, threads: &str, connections: &str, script: Option<&Path>) -> Result<Load> {
    let mut command = Command::new("wrk");
    command.args([
        "--latency",
        "-t",
        threads,
        "-c",
        connections,
        "-d",
        &format!("{BENCH_SECONDS}s"),
    ]);
    if let Some(script) = script {
        command.arg("-s").arg(script);
    }
    command.arg(url);
    let mut output = String::new();
    run_watching(&mut command, |line| {
        output.push_str(line);
        output.push('\n');
    })?;
    parse_wrk(&output)
}

/// The Lua every write scenario shares: each wrk thread takes one user's token, and at the end
/// every status that was not a 2xx is printed with its count and the first answer's body, so a
/// non-zero `errors` figure says what went wrong.
fn writers_lua(tokens: &[String], product: &str, body: &str) -> String {
    let list = tokens
        .iter()
        .map(|t| format!("\"{t}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"local tokens = {{ {list} }}
local next_id = 0
local threads = {{}}
function setup(thread)
  next_id = next_id + 1
  thread:set("id", next_id)
  thread:set("token", tokens[((next_id - 1) % #tokens) + 1])
  table.insert(threads, thread)
end
function init(args)
  counter = 0
  auth = "Bearer " .. token
  failures = {{}}
  first_failure = {{}}
end
function response(status, headers, body)
  if status >= 300 then
    local code = tostring(status)
    failures[code] = (failures[code] or 0) + 1
    if not first_failure[code] then
      first_failure[code] = body
    end
  end
end
function done(summary, latency, requests)
  local counts, bodies = {{}}, {{}}
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("failures")) do
      counts[code] = (counts[code] or 0) + n
    end
    for code, body in pairs(thread:get("first_failure")) do
      bodies[code] = bodies[code] or body
    end
  end
  for code, n in pairs(counts) do
    io.write(string.format("non-2xx: status=%s count=%d first=%s\n", code, n, bodies[code]))
  end
end
local product = "{product}"
{body}
"#
    )
}

/// How many times the API is started for its cold-start figure.
const COLD_STARTS: usize = 5;

/// The time from starting the API process to its first 200 from `GET /health` (which asks the
/// database), in milliseconds: the part of a Lambda cold start this code controls. Median of
/// [`COLD_STARTS`] starts, each polling every millisecond.
fn cold_start_ms(api_command: impl Fn() -> Command) -> Result<f64> {
    let http = client()?;
    let mut times = Vec::with_capacity(COLD_STARTS);
    for _ in 0..COLD_STARTS {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| Error::Step(format!("cannot find a free port: {e}")))?
            .port();
        let address = format!("127.0.0.1:{port}");
        let started = Instant::now();
        let mut api = Service::spawn(
            "unishop-api",
            api_command()
                .env("UNISHOP_BIND", &address)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )?;
        let answered = loop {
            if healthy(&http, &address) {
                break Ok(started.elapsed());
            }
            if let Some(status) = api.exited() {
                break Err(Error::Step(format!(
                    "unishop-api ended before answering ({status})"
                )));
            }
            if started.elapsed() > Duration::from_secs(30) {
                break Err(Error::Step(
                    "unishop-api did not answer /health within 30 s".to_owned(),
                ));
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        api.stop();
        times.push(answered?.as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[COLD_STARTS / 2])
}

/// `cargo xtask bench api`: the release API against the static ceiling, one line per scenario.
pub fn bench_api(repo_root: &Path, store: StoreKind) -> Result<()> {
    // Two cargo calls: in one, cargo would unify the features of the example's dev-dependencies
    // (reqwest and the rest) into the API's dependencies, and the benchmark would measure a
    // binary other than the one that ships.
    for target in [["--bin", "unishop-api"], ["--example", "static_ceiling"]] {
        run(Command::new("cargo")
            .args(["build", "--release", "-p", "unishop-api"])
            .args(target)
            .current_dir(repo_root))?;
    }
    let release = target_dir().join("release");
    let scratch = Scratch::new("bench")?;
    let mut api_env = vec![
        (
            "UNISHOP_DATABASE_URL",
            format!("sqlite://{}", scratch.path().join("shop.db").display()),
        ),
        ("RUST_LOG", "warn".to_owned()),
    ];
    // Held to the end of the run: dropping them stops the servers.
    let stores = StoreServers::start(
        &scratch.path().join("stores"),
        store.uses_mysql(),
        store.uses_dynamodb(),
    )?;
    for (name, value) in stores.env() {
        api_env.retain(|(kept, _)| kept != name);
        api_env.push((name, value.clone()));
    }
    let api_command = || {
        let mut command = Command::new(release.join("unishop-api"));
        command.envs(api_env.iter().map(|(k, v)| (k, v)));
        command
    };
    let mut migrate = api_command();
    migrate.arg("migrate");
    if store.uses_dynamodb() {
        migrate.arg("--create-tables");
    }
    run(&mut migrate)?;
    let (mut ceiling, ceiling_address) = start_server(
        "static-ceiling",
        &mut Command::new(release.join("examples/static_ceiling")),
        scratch.path(),
    )?;
    let cold_start = cold_start_ms(api_command)?;
    let (mut api, address) = start_server("unishop-api", &mut api_command(), scratch.path())?;
    let http = client()?;
    let result = (|| {
        let product = "5ac3ba4e-7974-568b-bda4-6992f843ea09"; // UnicornFloat's stable uuid
        let tokens = (0..BENCH_WRITERS)
            .map(|i| token_for(&http, &address, &format!("bench-{i}@example.com")))
            .collect::<Result<Vec<_>, _>>()?;

        println!("bench: static ceiling");
        let ceiling_load = wrk(
            &format!("http://{ceiling_address}/unicorns/"),
            READ_THREADS,
            READ_CONNECTIONS,
            None,
        )?;
        let mut lines = Vec::new();
        let mut report = |name: &str, load: Load| {
            let line = format!(
                "api: scenario={name} rps={:.0} p50_ms={:.2} p99_ms={:.2} errors={} ceiling_ratio={:.2}",
                load.rps,
                load.p50_ms,
                load.p99_ms,
                load.errors,
                load.rps / ceiling_load.rps.max(1.0)
            );
            lines.push(line);
        };

        println!("bench: catalogue read");
        report(
            "catalogue_read",
            wrk(
                &format!("http://{address}/unicorns/"),
                READ_THREADS,
                READ_CONNECTIONS,
                None,
            )?,
        );

        println!("bench: add to cart");
        let add = scratch.path().join("add_to_cart.lua");
        std::fs::write(
            &add,
            writers_lua(
                &tokens,
                product,
                r#"function request()
  counter = counter + 1
  local body = '{"quantity":' .. ((counter % 99) + 1) .. '}'
  return wrk.format("PUT", "/cart/items/" .. product,
    { ["Authorization"] = auth, ["Content-Type"] = "application/json" }, body)
end"#,
            ),
        )
        .map_err(Error::file("write", &add))?;
        let writers = BENCH_WRITERS.to_string();
        report(
            "add_to_cart",
            wrk(&format!("http://{address}"), &writers, &writers, Some(&add))?,
        );

        // An order empties its cart, so each connection alternates: put a product in its own
        // user's cart, then order it under a fresh key. Figures cover both requests; rps counts
        // orders.
        println!("bench: place order");
        let order = scratch.path().join("place_order.lua");
        std::fs::write(
            &order,
            writers_lua(
                &tokens,
                product,
                r#"local shipping = '{"shipping":{"name":"Bench","line1":"1 Load St","city":"Loop","postalCode":"127","country":"LO"}}'
function request()
  counter = counter + 1
  local headers = { ["Authorization"] = auth, ["Content-Type"] = "application/json" }
  if counter % 2 == 1 then
    return wrk.format("PUT", "/cart/items/" .. product, headers, '{"quantity":1}')
  end
  headers["Idempotency-Key"] = "bench-" .. id .. "-" .. counter
  return wrk.format("POST", "/orders", headers, shipping)
end"#,
            ),
        )
        .map_err(Error::file("write", &order))?;
        let mut placed = wrk(
            &format!("http://{address}"),
            &writers,
            &writers,
            Some(&order),
        )?;
        placed.rps /= 2.0;
        report("place_order", placed);

        println!(
            "\nbench: api summary (store {store:?}{})",
            if store.uses_dynamodb() {
                ": carts and orders on moto_server, an emulator, not DynamoDB"
            } else {
                ""
            }
        );
        for line in &lines {
            println!("{line}");
        }
        println!(
            "api: cold_start first_answer_ms={cold_start:.1} (process start to the first 200 from /health, which asks the database; median of {COLD_STARTS})"
        );
        Ok(())
    })();
    api.stop();
    ceiling.stop();
    result
}

#[cfg(test)]
mod tests {
    use super::{millis, parse_wrk};

    #[test]
    fn reads_wrk_latency_output() {
        let output = "Running 10s test @ http://127.0.0.1:1/unicorns/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   1.10ms  400.00us   9.00ms   80.00%
  Latency Distribution
     50%  850.00us
     75%    1.20ms
     90%    1.80ms
     99%    2.50ms
  200000 requests in 10.00s, 500.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  20000.50
Transfer/sec:     50.00MB
";
        let load = parse_wrk(output).expect("parses");
        assert_eq!(load.rps, 20000.5);
        assert!((load.p50_ms - 0.85).abs() < 1e-9);
        assert_eq!(load.p99_ms, 2.5);
        assert_eq!(load.errors, 7);
        assert!(parse_wrk("nothing").is_err());
        assert_eq!(millis("1.02s"), Some(1020.0));
    }
}
