//! One scripted shopper: browses, searches, signs up, logs in, merges a guest cart, adds, changes
//! quantities, removes and checks out, through [`Client`], keeping what the store must hold once
//! every acknowledged write is applied exactly once. The script comes from the seed alone: the
//! same seed gives every shopper the same sequence of actions.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::Method;
use unishop_model::{
    Cart, CartLine, LoginRequest, MergeRequest, PlaceOrder, Product, SetQuantity, ShippingAddress,
    SignupRequest,
};
use uuid::Uuid;

use super::client::{Answer, Client};

/// The region of the page the shoppers load: the edge's `config.json` names the primary.
const PAGE_REGION: &str = crate::regions::PRIMARY_REGION;

/// One action as the shopper lived it.
#[derive(Clone, Debug)]
pub struct Record {
    pub shopper: usize,
    pub action: &'static str,
    /// Since the drill started.
    pub start_ms: u64,
    pub duration_ms: u64,
    /// The region that answered, when one did.
    pub region: Option<String>,
    /// The final answer's status; none when no answer came.
    pub status: Option<u16>,
    pub ok: bool,
}

/// What the store must hold for this shopper at the end.
pub struct Expected {
    pub email: String,
    pub token: Option<String>,
    pub cart: BTreeMap<Uuid, u32>,
    /// Orders the API acknowledged (201, or 200 for a resent key).
    pub orders: Vec<Uuid>,
    /// Distinct checkout keys sent: the most orders the store may hold.
    pub checkouts: usize,
    /// A write failed without an answer and nothing read the cart since: the cart is not checked.
    pub cart_unknown: bool,
    /// Every write the shopper sent, in order, with whether it was acknowledged, for the report
    /// of a line that differs.
    pub writes: Vec<String>,
}

pub struct Shopper {
    index: usize,
    seed: u64,
    rng: fastrand::Rng,
    http: reqwest::Client,
    site: String,
    client: Client,
    started: Instant,
    records: Vec<Record>,
    products: Vec<Product>,
    expected: Expected,
    password: String,
}

impl Expected {
    fn new(email: String) -> Self {
        Expected {
            email,
            token: None,
            cart: BTreeMap::new(),
            orders: Vec::new(),
            checkouts: 0,
            cart_unknown: false,
            writes: Vec::new(),
        }
    }
}

impl Shopper {
    /// Shopper `index` of the script `seed`, reaching the shop at `site`, on the clock `started`.
    pub fn new(
        index: usize,
        seed: u64,
        http: reqwest::Client,
        site: &str,
        started: Instant,
    ) -> Self {
        Shopper {
            index,
            seed,
            rng: fastrand::Rng::with_seed(
                seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            ),
            client: Client::new(http.clone(), site, PAGE_REGION, started),
            http,
            site: site.to_owned(),
            started,
            records: Vec::new(),
            products: Vec::new(),
            expected: Expected::new(String::new()),
            password: format!("drill-password-{index}-{seed}"),
        }
    }

    /// Shops until `deadline`, one visit after another: each visit is a new browser (a fresh
    /// failover state) and a new account, so every fault meets shoppers who have not seen it yet.
    /// Returns every action and, per visit, what the store must hold.
    pub async fn run(mut self, deadline: Instant) -> (Vec<Record>, Vec<Expected>) {
        let mut visits = Vec::new();
        let mut visit = 0;
        while Instant::now() < deadline {
            let length = Duration::from_millis(self.rng.u64(8_000..20_000));
            let end = deadline.min(Instant::now() + length);
            self.client = Client::new(self.http.clone(), &self.site, PAGE_REGION, self.started);
            self.products.clear();
            self.expected = Expected::new(format!(
                "shopper{}.visit{visit}.seed{}@drill.example",
                self.index, self.seed
            ));
            self.visit(end).await;
            visits.push(std::mem::replace(
                &mut self.expected,
                Expected::new(String::new()),
            ));
            visit += 1;
        }
        (self.records, visits)
    }

    async fn visit(&mut self, deadline: Instant) {
        // Arrive, fill a guest cart, sign up, log in, merge the guest cart.
        while self.products.is_empty() && Instant::now() < deadline {
            self.browse().await;
        }
        let mut guest = BTreeMap::new();
        for _ in 0..self.rng.usize(1..=3) {
            if let Some(uuid) = self.pick_product() {
                guest.insert(uuid, self.rng.u32(1..=3));
            }
        }
        let guest: Vec<CartLine> = guest
            .into_iter()
            .map(|(uuid, quantity)| CartLine { uuid, quantity })
            .collect();
        while self.expected.token.is_none() && Instant::now() < deadline {
            self.sign_up().await;
            self.log_in().await;
        }
        if self.expected.token.is_some() {
            self.merge("merge guest cart", guest).await;
        }
        while Instant::now() < deadline && self.expected.token.is_some() {
            if self.expected.cart_unknown {
                self.read_cart().await;
            }
            match self.rng.u32(0..100) {
                0..=19 => self.browse().await,
                20..=34 => self.search().await,
                35..=59 => {
                    let line = self.pick_product().map(|uuid| CartLine {
                        uuid,
                        quantity: self.rng.u32(1..=2),
                    });
                    self.merge("add", line.into_iter().collect()).await;
                }
                60..=79 => self.change_quantity().await,
                80..=84 => self.remove().await,
                _ => self.check_out().await,
            }
            let think = Duration::from_millis(self.rng.u64(100..400));
            tokio::time::sleep(think).await;
        }
    }

    fn pick_product(&mut self) -> Option<Uuid> {
        let n = self.products.len();
        (n > 0).then(|| self.products[self.rng.usize(0..n)].uuid)
    }

    fn pick_line(&mut self) -> Option<Uuid> {
        let n = self.expected.cart.len();
        (n > 0).then(|| {
            let i = self.rng.usize(0..n);
            *self.expected.cart.keys().nth(i).unwrap_or(&Uuid::nil())
        })
    }

    /// Sends one call and records it as an action.
    async fn act(
        &mut self,
        action: &'static str,
        method: Method,
        path: &str,
        body: Option<String>,
        key: Option<&str>,
        retry_safe: bool,
    ) -> Option<Answer> {
        let start = self.started.elapsed();
        let token = self.expected.token.clone();
        let result = self
            .client
            .call(method, path, body, token.as_deref(), key, retry_safe)
            .await;
        let duration = self.started.elapsed().saturating_sub(start);
        let answer = result.ok();
        self.records.push(Record {
            shopper: self.index,
            action,
            start_ms: start.as_millis() as u64,
            duration_ms: duration.as_millis() as u64,
            region: answer.as_ref().and_then(|a| a.region.clone()),
            status: answer.as_ref().map(|a| a.status),
            ok: answer.as_ref().is_some_and(Answer::ok),
        });
        answer
    }

    /// A key the shopper sends with one write (and with its resend), from the script's generator.
    fn key(&mut self) -> String {
        Uuid::from_u128(self.rng.u128(..)).to_string()
    }

    async fn browse(&mut self) {
        let answer = self
            .act("browse", Method::GET, "/unicorns/", None, None, true)
            .await;
        if let Some(products) = answer
            .filter(Answer::ok)
            .and_then(|a| serde_json::from_str::<Vec<Product>>(&a.body).ok())
        {
            self.products = products;
        }
    }

    async fn search(&mut self) {
        let word = self
            .pick_product()
            .and_then(|uuid| self.products.iter().find(|p| p.uuid == uuid))
            .and_then(|p| p.name.split_whitespace().next().map(str::to_lowercase))
            .unwrap_or_else(|| "unicorn".to_owned());
        let path = format!("/unicorns/?q={word}");
        self.act("search", Method::GET, &path, None, None, true)
            .await;
    }

    async fn sign_up(&mut self) {
        let body = json(&SignupRequest {
            email: self.expected.email.clone(),
            password: self.password.clone(),
            first_name: Some(format!("Shopper {}", self.index)),
            last_name: None,
        });
        let key = self.key();
        // A resend after the first try was applied answers 409 until sign-up honours the key;
        // the log-in that follows still works, and the drill counts the 409 as a failed action.
        self.act(
            "sign up",
            Method::POST,
            "/user",
            Some(body),
            Some(&key),
            true,
        )
        .await;
    }

    async fn log_in(&mut self) {
        let body = json(&LoginRequest {
            email: self.expected.email.clone(),
            password: self.password.clone(),
        });
        let answer = self
            .act(
                "log in",
                Method::POST,
                "/user/login",
                Some(body),
                None,
                true,
            )
            .await;
        self.expected.token = answer
            .filter(Answer::ok)
            .and_then(|a| serde_json::from_str::<serde_json::Value>(&a.body).ok())
            .and_then(|v| v.get("token").and_then(|t| t.as_str()).map(str::to_owned));
    }

    /// `POST /cart/merge` with an idempotency key: the guest cart at log-in, or one "add".
    async fn merge(&mut self, action: &'static str, lines: Vec<CartLine>) {
        if lines.is_empty() {
            return;
        }
        let body = json(&MergeRequest {
            items: lines.clone(),
        });
        let key = self.key();
        let answer = self
            .act(
                action,
                Method::POST,
                "/cart/merge",
                Some(body),
                Some(&key),
                true,
            )
            .await;
        let acknowledged = self.acknowledged(&answer);
        self.note_write(action, &lines, acknowledged);
        if acknowledged {
            for line in lines {
                *self.expected.cart.entry(line.uuid).or_insert(0) += line.quantity;
            }
        }
    }

    /// `PUT` of a line's quantity: absolute, safe to resend.
    async fn change_quantity(&mut self) {
        let Some(uuid) = self.pick_line().or_else(|| self.pick_product()) else {
            return;
        };
        let quantity = self.rng.u32(1..=5);
        let path = format!("/cart/items/{uuid}");
        let body = json(&SetQuantity { quantity });
        let answer = self
            .act(
                "change quantity",
                Method::PUT,
                &path,
                Some(body),
                None,
                true,
            )
            .await;
        let acknowledged = self.acknowledged(&answer);
        self.note_write("PUT", &[CartLine { uuid, quantity }], acknowledged);
        if acknowledged {
            self.expected.cart.insert(uuid, quantity);
        }
    }

    async fn remove(&mut self) {
        let Some(uuid) = self.pick_line() else {
            return;
        };
        let path = format!("/cart/items/{uuid}");
        let answer = self
            .act("remove", Method::DELETE, &path, None, None, true)
            .await;
        let acknowledged = self.acknowledged(&answer);
        self.note_write("DELETE", &[CartLine { uuid, quantity: 0 }], acknowledged);
        if acknowledged {
            self.expected.cart.remove(&uuid);
        }
    }

    async fn check_out(&mut self) {
        if self.expected.cart.is_empty() {
            self.browse().await;
            return;
        }
        let body = json(&PlaceOrder {
            shipping: ShippingAddress {
                name: format!("Shopper {}", self.index),
                line1: "1 Drill Street".to_owned(),
                line2: None,
                city: "Springfield".to_owned(),
                postal_code: "12345".to_owned(),
                country: "US".to_owned(),
            },
        });
        let key = self.key();
        self.expected.checkouts += 1;
        let answer = self
            .act(
                "check out",
                Method::POST,
                "/orders",
                Some(body),
                Some(&key),
                true,
            )
            .await;
        if self.acknowledged(&answer) {
            let id = answer
                .and_then(|a| serde_json::from_str::<serde_json::Value>(&a.body).ok())
                .and_then(|v| v.get("id").and_then(|id| id.as_str()).map(str::to_owned))
                .and_then(|id| id.parse::<Uuid>().ok());
            self.expected.orders.extend(id);
            let emptied: Vec<CartLine> = std::mem::take(&mut self.expected.cart)
                .into_iter()
                .map(|(uuid, quantity)| CartLine { uuid, quantity })
                .collect();
            self.note_write("check out", &emptied, true);
        }
    }

    fn note_write(&mut self, what: &str, lines: &[CartLine], acknowledged: bool) {
        let at = self.started.elapsed().as_secs_f64();
        for line in lines {
            self.expected.writes.push(format!(
                "{at:.1}s {what} {} {}{}",
                line.uuid,
                line.quantity,
                if acknowledged {
                    ""
                } else {
                    " (not acknowledged)"
                }
            ));
        }
    }

    /// Whether a write was applied: a 2xx. With no answer, or a 5xx, it may or may not have been,
    /// so the cart is read again before it is trusted.
    fn acknowledged(&mut self, answer: &Option<Answer>) -> bool {
        match answer {
            Some(a) if a.ok() => true,
            Some(a) if a.status < 500 => false,
            _ => {
                self.expected.cart_unknown = true;
                false
            }
        }
    }

    /// Adopts the store's cart after a write whose fate is unknown.
    async fn read_cart(&mut self) {
        let answer = self
            .act("view cart", Method::GET, "/cart", None, None, true)
            .await;
        if let Some(cart) = answer
            .filter(Answer::ok)
            .and_then(|a| serde_json::from_str::<Cart>(&a.body).ok())
        {
            self.expected.cart = cart_lines(&cart);
            self.expected.cart_unknown = false;
        }
    }
}

pub fn cart_lines(cart: &Cart) -> BTreeMap<Uuid, u32> {
    cart.items.iter().map(|i| (i.uuid, i.quantity)).collect()
}

fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
