//! A shopper's HTTP client: the storefront's calls through the local edge, following the same
//! failover policy (`unishop-failover`) as the storefront's `api.rs`: base and budget per attempt,
//! one resend to the other base with the same idempotency key, the breaker and its background
//! probe of the primary's `/health`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use unishop_failover::{answered_elsewhere, probe_healthy, Base, Failover, Next, Outcome, Policy};

/// The answer a call ended with.
pub struct Answer {
    pub status: u16,
    pub region: Option<String>,
    pub body: String,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why a call got no answer at all.
#[derive(Debug)]
pub enum NoAnswer {
    Unreachable,
    TimedOut,
    BodyLost,
}

pub struct Client {
    http: reqwest::Client,
    primary: String,
    standby: String,
    /// The page's own region (`config.json`'s `region`); an answer from another is from elsewhere.
    home_region: String,
    failover: Arc<Mutex<Failover>>,
    started: Instant,
}

impl Client {
    /// A client of the site at `site` (`/api` and `/api-standby` below it) whose page came from
    /// `home_region`, on the clock `started`.
    pub fn new(http: reqwest::Client, site: &str, home_region: &str, started: Instant) -> Self {
        Client {
            http,
            primary: format!("{site}/api"),
            standby: format!("{site}/api-standby"),
            home_region: home_region.to_owned(),
            failover: Arc::new(Mutex::new(Failover::new(Policy::DEFAULT, true))),
            started,
        }
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn base(&self, base: Base) -> &str {
        match base {
            Base::Primary => &self.primary,
            Base::Standby => &self.standby,
        }
    }

    fn decide<T>(&self, decide: impl FnOnce(&mut Failover) -> T) -> T {
        match self.failover.lock() {
            Ok(mut failover) => decide(&mut failover),
            Err(poisoned) => decide(&mut poisoned.into_inner()),
        }
    }

    /// Sends one call as the storefront would. `retry_safe` as for [`Failover::begin`].
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
        token: Option<&str>,
        idempotency_key: Option<&str>,
        retry_safe: bool,
    ) -> Result<Answer, NoAnswer> {
        let mut call = self.decide(|f| f.begin(retry_safe, self.now_ms()));
        if let Some(probe) = call.probe {
            self.probe(probe.budget_ms);
        }
        loop {
            let url = format!("{}{path}", self.base(call.attempt.base));
            let mut request = self
                .http
                .request(method.clone(), url)
                .timeout(Duration::from_millis(call.attempt.budget_ms.into()));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(key) = idempotency_key {
                request = request.header("Idempotency-Key", key);
            }
            if let Some(body) = &body {
                request = request
                    .header("Content-Type", "application/json")
                    .body(body.clone());
            }
            let result = match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let region = response
                        .headers()
                        .get("x-unishop-region")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    match response.text().await {
                        Ok(body) => Ok(Answer {
                            status,
                            region,
                            body,
                        }),
                        Err(_) => Err(NoAnswer::BodyLost),
                    }
                }
                Err(error) if error.is_timeout() => Err(NoAnswer::TimedOut),
                Err(_) => Err(NoAnswer::Unreachable),
            };
            let outcome = match &result {
                Ok(answer) if answered_elsewhere(answer.region.as_deref(), &self.home_region) => {
                    Outcome::AnsweredElsewhere(answer.status)
                }
                Ok(answer) => Outcome::Answered(answer.status),
                Err(NoAnswer::Unreachable) => Outcome::Unreachable,
                Err(NoAnswer::TimedOut) => Outcome::TimedOut,
                Err(NoAnswer::BodyLost) => Outcome::BodyLost,
            };
            if self.decide(|f| f.settle(&mut call, outcome, self.now_ms())) == Next::Done {
                return result;
            }
        }
    }

    /// Asks the primary's `/health` in the background whether it is back.
    fn probe(&self, budget_ms: u32) {
        let request = self
            .http
            .get(format!("{}/health", self.primary))
            .timeout(Duration::from_millis(budget_ms.into()));
        let failover = self.failover.clone();
        let started = self.started;
        tokio::spawn(async move {
            let outcome = match request.send().await {
                Ok(response) => Outcome::Answered(response.status().as_u16()),
                Err(error) if error.is_timeout() => Outcome::TimedOut,
                Err(_) => Outcome::Unreachable,
            };
            let now = started.elapsed().as_millis() as u64;
            if let Ok(mut failover) = failover.lock() {
                failover.probe_done(probe_healthy(outcome), now);
            }
        });
    }
}
