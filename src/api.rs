//! Every HTTP call of the storefront: where the API is, JSON in and out, tokens, idempotency keys,
//! timeouts, falling back to the standby base, and turning failures into messages a shopper can
//! act on. Pages ask this module for data and never build URLs themselves.
//!
//! The same calls work against our API and against a backend that speaks only the legacy
//! contract; which one answered is learnt at login (a legacy login returns no token).

use std::sync::{Arc, Mutex};

use leptos::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use unishop_failover::{Base, Failover, Next, Outcome, Policy};
use unishop_model::{
    Basket, BasketChange, Cart, CartLine, FieldError, Health, LoginRequest, MergeRequest,
    MergeResult, Order, PlaceOrder, Problem, Product, ProductRef, SetQuantity, ShippingAddress,
    SignupRequest, User, IDEMPOTENCY_KEY_HEADER, REGION_HEADER,
};
use uuid::Uuid;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Headers, RequestCache, RequestInit, Response};

use crate::config::{ApiConfig, ConfigError};
use crate::session::{Backend, StoredSession};

/// How long fetching `config.json` or a status page's `/health` may take; API calls take the
/// failover policy's budget per attempt instead.
const TIMEOUT_MS: u32 = 10_000;

/// Why a call failed, worded for the shopper.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("The shop could not be reached. Check your connection, then try again.")]
    Unreachable,
    #[error("The shop took too long to answer. Try again in a moment.")]
    TimedOut,
    #[error("This copy of the shop is set up wrongly ({0}).")]
    Config(#[from] ConfigError),
    #[error("{detail}")]
    Rejected {
        status: u16,
        detail: String,
        fields: Vec<FieldError>,
    },
    #[error("The shop sent an answer this page cannot read.")]
    Unreadable,
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Rejected { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// How an attempt ended, for the failover policy.
    fn outcome(result: &Result<String, ApiError>) -> Outcome {
        match result {
            Ok(_) => Outcome::Answered(200),
            Err(ApiError::Rejected { status, .. }) => Outcome::Answered(*status),
            Err(ApiError::Unreachable) => Outcome::Unreachable,
            Err(ApiError::TimedOut) => Outcome::TimedOut,
            Err(ApiError::Unreadable | ApiError::Config(_)) => Outcome::BodyLost,
        }
    }
}

/// A login answer from either backend: the legacy user object, plus the token and its expiry when
/// our API answered (the model's `Session` with both made optional).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginAnswer {
    uuid: Uuid,
    email: String,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    expires_at: Option<i64>,
}

/// One call: method, path below the API base, and what goes with it.
struct Call<'a> {
    method: &'static str,
    path: String,
    body: Option<String>,
    token: Option<&'a str>,
    idempotency_key: Option<&'a str>,
    /// Sending it twice, to either region, does no more than sending it once.
    retry_safe: bool,
}

impl<'a> Call<'a> {
    fn new(method: &'static str, path: impl Into<String>) -> Self {
        Call {
            method,
            path: path.into(),
            body: None,
            token: None,
            idempotency_key: None,
            // Reads, and PUT and DELETE of a cart line, which set rather than add.
            retry_safe: method != "POST",
        }
    }

    /// A POST whose repetition changes nothing (a login; a legacy basket, which is a set).
    fn repeatable(mut self) -> Self {
        self.retry_safe = true;
        self
    }

    fn json(mut self, body: &impl Serialize) -> Self {
        self.body = crate::json::to_string(body);
        self
    }

    fn auth(mut self, session: &'a StoredSession) -> Self {
        self.token = session.token.as_deref();
        self
    }

    fn idempotency_key(mut self, key: &'a str) -> Self {
        self.idempotency_key = Some(key);
        self.retry_safe = true;
        self
    }
}

/// The API client, shared through context.
#[derive(Clone)]
pub struct Api {
    config: Arc<Mutex<Option<ApiConfig>>>,
    catalogue: Arc<Mutex<Option<Vec<Product>>>>,
    /// Which base calls go to (created with the config: whether it names a standby).
    failover: Arc<Mutex<Option<Failover>>>,
    /// The region that served the latest response (the configured one until a response names it).
    pub region: RwSignal<Option<String>>,
    /// Whether calls are being served from the standby after a failover.
    pub on_standby: RwSignal<bool>,
}

impl Api {
    pub fn new() -> Self {
        Self {
            config: Arc::new(Mutex::new(None)),
            catalogue: Arc::new(Mutex::new(None)),
            failover: Arc::new(Mutex::new(None)),
            region: RwSignal::new(None),
            on_standby: RwSignal::new(false),
        }
    }

    /// The deployment's `config.json`, fetched once per page load (again after a failure).
    pub async fn config(&self) -> Result<ApiConfig, ApiError> {
        if let Some(config) = self.config.lock().ok().and_then(|c| c.clone()) {
            return Ok(config);
        }
        // Absolute, so that a deep link such as /product/x still finds the site's own file.
        let answer = fetch(
            &Request::get("/config.json", RequestCache::NoCache),
            TIMEOUT_MS,
        )
        .await?;
        if !answer.is_success() {
            return Err(ConfigError::Malformed(format!("answered {}", answer.status)).into());
        }
        let config = ApiConfig::parse(&answer.body)?;
        if self.region.get_untracked().is_none() && !config.region.is_empty() {
            self.region.set(Some(config.region.clone()));
        }
        if let Ok(mut cached) = self.config.lock() {
            *cached = Some(config.clone());
        }
        Ok(config)
    }

    // ----- catalogue -----

    /// The whole catalogue, fetched once per page load (again after a failure).
    pub async fn products(&self) -> Result<Vec<Product>, ApiError> {
        if let Some(products) = self.catalogue.lock().ok().and_then(|c| c.clone()) {
            return Ok(products);
        }
        let products: Vec<Product> = self.json(Call::new("GET", "/unicorns/")).await?;
        if let Ok(mut cached) = self.catalogue.lock() {
            *cached = Some(products.clone());
        }
        Ok(products)
    }

    /// One product, or `None` when the catalogue has no such uuid.
    pub async fn product(&self, uuid: Uuid) -> Result<Option<Product>, ApiError> {
        Ok(self.products().await?.into_iter().find(|p| p.uuid == uuid))
    }

    // ----- accounts -----

    /// Creates an account (a legacy backend ignores the password).
    pub async fn signup(&self, request: &SignupRequest) -> Result<User, ApiError> {
        self.json(Call::new("POST", "/user").json(request)).await
    }

    /// Logs in; a response without a token means the backend speaks only the legacy contract.
    pub async fn login(&self, request: &LoginRequest) -> Result<StoredSession, ApiError> {
        let answer: LoginAnswer = self
            .json(Call::new("POST", "/user/login").json(request).repeatable())
            .await?;
        let user = User {
            uuid: answer.uuid,
            email: answer.email,
            first_name: answer.first_name,
            last_name: answer.last_name,
        };
        Ok(match answer.token {
            Some(token) => StoredSession {
                user,
                token: Some(token),
                expires_at: answer.expires_at.unwrap_or_default(),
                backend: Backend::Unishop,
            },
            None => StoredSession {
                user,
                token: None,
                expires_at: 0,
                backend: Backend::Legacy,
            },
        })
    }

    // ----- cart -----

    /// The shopper's server cart as lines.
    pub async fn cart(&self, session: &StoredSession) -> Result<Vec<CartLine>, ApiError> {
        match session.backend {
            Backend::Unishop => {
                let cart: Cart = self.json(Call::new("GET", "/cart").auth(session)).await?;
                Ok(lines_of(&cart))
            }
            Backend::Legacy => {
                let path = format!("/unicorns/basket/{}", session.user.uuid);
                // The legacy Lambda answers `null` for a user without a basket.
                let basket: Option<Basket> = self.json(Call::new("GET", path)).await?;
                Ok(basket
                    .map(|b| {
                        b.unicorns
                            .iter()
                            .map(|r| CartLine {
                                uuid: r.uuid,
                                quantity: 1,
                            })
                            .collect()
                    })
                    .unwrap_or_default())
            }
        }
    }

    /// Sets a line's quantity (a legacy basket holds each product once, whatever the quantity).
    pub async fn set_quantity(
        &self,
        session: &StoredSession,
        product: Uuid,
        quantity: u32,
    ) -> Result<Vec<CartLine>, ApiError> {
        match session.backend {
            Backend::Unishop => {
                let call = Call::new("PUT", format!("/cart/items/{product}"))
                    .auth(session)
                    .json(&SetQuantity { quantity });
                Ok(lines_of(&self.json::<Cart>(call).await?))
            }
            Backend::Legacy => {
                self.legacy_basket_change("POST", session, product).await?;
                self.cart(session).await
            }
        }
    }

    pub async fn remove(
        &self,
        session: &StoredSession,
        product: Uuid,
    ) -> Result<Vec<CartLine>, ApiError> {
        match session.backend {
            Backend::Unishop => {
                let call = Call::new("DELETE", format!("/cart/items/{product}")).auth(session);
                Ok(lines_of(&self.json::<Cart>(call).await?))
            }
            Backend::Legacy => {
                self.legacy_basket_change("DELETE", session, product)
                    .await?;
                self.cart(session).await
            }
        }
    }

    /// Folds a guest cart into the server cart at login. Returns the merged lines and the
    /// products the server did not know (dropped, and said so).
    pub async fn merge(
        &self,
        session: &StoredSession,
        lines: &[CartLine],
    ) -> Result<(Vec<CartLine>, Vec<Uuid>), ApiError> {
        match session.backend {
            Backend::Unishop => {
                let call = Call::new("POST", "/cart/merge")
                    .auth(session)
                    .json(&MergeRequest {
                        items: lines.to_vec(),
                    });
                let merged: MergeResult = self.json(call).await?;
                Ok((lines_of(&merged.cart), merged.unknown))
            }
            Backend::Legacy => {
                for line in lines {
                    self.legacy_basket_change("POST", session, line.uuid)
                        .await?;
                }
                Ok((self.cart(session).await?, Vec::new()))
            }
        }
    }

    async fn legacy_basket_change(
        &self,
        method: &'static str,
        session: &StoredSession,
        product: Uuid,
    ) -> Result<(), ApiError> {
        let change = BasketChange {
            uuid: session.user.uuid,
            unicorns: vec![ProductRef { uuid: product }],
        };
        // Success is any 2xx: an empty body (Spring) or a JSON string (Lambda).
        self.call(
            Call::new(method, "/unicorns/basket")
                .json(&change)
                .repeatable(),
        )
        .await
        .map(drop)
    }

    // ----- orders -----

    pub async fn place_order(
        &self,
        session: &StoredSession,
        shipping: ShippingAddress,
        idempotency_key: &str,
    ) -> Result<Order, ApiError> {
        let call = Call::new("POST", "/orders")
            .auth(session)
            .idempotency_key(idempotency_key)
            .json(&PlaceOrder { shipping });
        self.json(call).await
    }

    pub async fn orders(&self, session: &StoredSession) -> Result<Vec<Order>, ApiError> {
        self.json(Call::new("GET", "/orders").auth(session)).await
    }

    pub async fn order(&self, session: &StoredSession, id: Uuid) -> Result<Order, ApiError> {
        self.json(Call::new("GET", format!("/orders/{id}")).auth(session))
            .await
    }

    // ----- status -----

    /// `/health` of each configured API base: (label, base, answer).
    pub async fn health_of_each(
        &self,
    ) -> Result<Vec<(String, Result<Health, ApiError>)>, ApiError> {
        let config = self.config().await?;
        let mut bases = vec![("Primary".to_owned(), config.url("/health"))];
        if let Some(standby) = config.standby_url("/health") {
            bases.push(("Standby".to_owned(), standby));
        }
        let mut answers = Vec::new();
        for (label, url) in bases {
            let answer = fetch(&Request::get(&url, RequestCache::NoStore), TIMEOUT_MS)
                .await
                .and_then(Answer::success)
                .and_then(|body| decode::<Health>(&body));
            answers.push((label, answer));
        }
        Ok(answers)
    }

    // ----- plumbing -----

    async fn json<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, ApiError> {
        decode(&self.call(call).await?)
    }

    /// Sends a call where the failover policy says (the primary base, or the standby after a
    /// failover), with the policy's time budget, and once more to the other base when the policy
    /// finds it worth it, with the same idempotency key so that a retried write is applied once.
    /// Returns the body of the successful answer.
    async fn call(&self, call: Call<'_>) -> Result<String, ApiError> {
        let config = self.config().await?;
        let mut plan = self.with_failover(&config, |f| f.begin(call.retry_safe, now_ms()));
        if let Some(probe) = plan.probe {
            self.probe_primary(config.url("/health"), probe.budget_ms);
        }
        let result = loop {
            let url = match (plan.attempt.base, config.standby_url(&call.path)) {
                (Base::Standby, Some(standby)) => standby,
                _ => config.url(&call.path),
            };
            let result = self.send_to(&url, &call, plan.attempt.budget_ms).await;
            let outcome = ApiError::outcome(&result);
            if self.with_failover(&config, |f| f.settle(&mut plan, outcome, now_ms())) == Next::Done
            {
                break result;
            }
        };
        if let Err(ApiError::Unreachable | ApiError::TimedOut) = result {
            // The next attempt (Retry) fetches the catalogue again rather than trusting a cache.
            if let Ok(mut cached) = self.catalogue.lock() {
                *cached = None;
            }
        }
        result
    }

    /// Runs `decide` on this page's failover state, then shows whether the standby is serving.
    fn with_failover<T>(&self, config: &ApiConfig, decide: impl FnOnce(&mut Failover) -> T) -> T {
        let mut fresh = Failover::new(Policy::DEFAULT, config.standby_host.is_some());
        let mut state = self.failover.lock().ok();
        let failover = match state.as_deref_mut() {
            Some(slot) => slot.get_or_insert(fresh),
            None => &mut fresh,
        };
        let answer = decide(failover);
        let on_standby = failover.on_standby();
        drop(state);
        if self.on_standby.get_untracked() != on_standby {
            self.on_standby.set(on_standby);
        }
        answer
    }

    /// Asks the primary's `/health` in the background whether it is back; the calls meanwhile
    /// keep going to the standby.
    fn probe_primary(&self, url: String, budget_ms: u32) {
        let api = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let answer = fetch(&Request::get(&url, RequestCache::NoStore), budget_ms).await;
            let healthy = matches!(answer, Ok(ref a) if a.is_success());
            if let Ok(config) = api.config().await {
                api.with_failover(&config, |f| f.probe_done(healthy, now_ms()));
            }
        });
    }

    async fn send_to(
        &self,
        url: &str,
        call: &Call<'_>,
        budget_ms: u32,
    ) -> Result<String, ApiError> {
        let authorization = call.token.map(|token| format!("Bearer {token}"));
        let mut headers = Vec::new();
        if let Some(authorization) = &authorization {
            headers.push(("Authorization", authorization.as_str()));
        }
        if let Some(key) = call.idempotency_key {
            headers.push((IDEMPOTENCY_KEY_HEADER, key));
        }
        if call.body.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        let answer = fetch(
            &Request {
                url,
                method: call.method,
                headers,
                body: call.body.as_deref(),
                cache: RequestCache::Default,
            },
            budget_ms,
        )
        .await?;
        self.note_region(answer.region.as_deref());
        answer.success()
    }

    fn note_region(&self, region: Option<&str>) {
        if let Some(region) = region {
            if self.region.get_untracked().as_deref() != Some(region) {
                self.region.set(Some(region.to_owned()));
            }
        }
    }
}

impl Default for Api {
    fn default() -> Self {
        Self::new()
    }
}

fn lines_of(cart: &Cart) -> Vec<CartLine> {
    cart.items
        .iter()
        .map(|item| CartLine {
            uuid: item.uuid,
            quantity: item.quantity,
        })
        .collect()
}

/// One HTTP request, as the browser's `fetch` takes it.
struct Request<'a> {
    url: &'a str,
    method: &'static str,
    headers: Vec<(&'static str, &'a str)>,
    body: Option<&'a str>,
    cache: RequestCache,
}

impl<'a> Request<'a> {
    fn get(url: &'a str, cache: RequestCache) -> Self {
        Request {
            url,
            method: "GET",
            headers: Vec::new(),
            body: None,
            cache,
        }
    }
}

/// What a server answered: the status, the serving region, and the whole body.
struct Answer {
    status: u16,
    region: Option<String>,
    body: String,
}

impl Answer {
    fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body of a 2xx answer, or the reason the server gave for refusing.
    fn success(self) -> Result<String, ApiError> {
        if self.is_success() {
            Ok(self.body)
        } else {
            Err(rejection(self.status, &self.body))
        }
    }
}

/// Milliseconds since the epoch, the failover policy's clock.
fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// Sends one request through the browser's `fetch`, giving up after `budget_ms`.
async fn fetch(request: &Request<'_>, budget_ms: u32) -> Result<Answer, ApiError> {
    let timeout = AbortSignal::timeout_with_u32(budget_ms);
    // Until a response arrives, a failure (a header the browser will not send, a lost
    // connection, the timeout) means no server answered: worth asking the standby.
    let unreachable = |_: JsValue| {
        if timeout.aborted() {
            ApiError::TimedOut
        } else {
            ApiError::Unreachable
        }
    };
    let headers = Headers::new().map_err(unreachable)?;
    for (name, value) in &request.headers {
        headers.set(name, value).map_err(unreachable)?;
    }
    let init = RequestInit::new();
    init.set_method(request.method);
    init.set_headers(&headers);
    init.set_cache(request.cache);
    init.set_signal(Some(&timeout));
    if let Some(body) = request.body {
        init.set_body(&JsValue::from_str(body));
    }
    let window = web_sys::window().ok_or(ApiError::Unreachable)?;
    let response: Response = JsFuture::from(window.fetch_with_str_and_init(request.url, &init))
        .await
        .map_err(unreachable)?
        .unchecked_into();
    let region = response.headers().get(REGION_HEADER).ok().flatten();
    // From here on the server has answered. A body that cannot be read (the connection dropped,
    // or the time ran out, mid-body) must not send the call to the standby: the write may have
    // been applied already.
    let text = response.text().map_err(|_| ApiError::Unreadable)?;
    let body = JsFuture::from(text)
        .await
        .map_err(|_| ApiError::Unreadable)?;
    Ok(Answer {
        status: response.status(),
        region,
        body: body.as_string().unwrap_or_default(),
    })
}

/// Reads a JSON body.
fn decode<T: DeserializeOwned>(body: &str) -> Result<T, ApiError> {
    crate::json::from_str(body).map_err(|_| ApiError::Unreadable)
}

/// Reads a failed answer: our API explains itself in a problem document, other servers may not.
fn rejection(status: u16, body: &str) -> ApiError {
    let problem = crate::json::from_str::<Problem>(body).ok();
    let fields = problem
        .as_ref()
        .map(|p| p.errors.clone())
        .unwrap_or_default();
    let detail = match problem {
        Some(problem) if !problem.detail.is_empty() => sentence(&problem.detail),
        _ if status >= 500 => {
            "The shop is having trouble right now. Try again in a moment.".to_owned()
        }
        _ => format!("The shop refused the request (status {status})."),
    };
    ApiError::Rejected {
        status,
        detail,
        fields,
    }
}

/// A server detail as a sentence: capital first letter, final full stop.
pub(crate) fn sentence(text: &str) -> String {
    let mut out = text.to_owned();
    // Our server's messages are English; an ASCII capital keeps Unicode case tables out of the wasm.
    if let Some(first) = out.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}
