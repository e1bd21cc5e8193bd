//! Every HTTP call of the storefront: where the API is, JSON in and out, tokens, idempotency keys,
//! timeouts, falling back to the standby base, and turning failures into messages a shopper can
//! act on. Pages ask this module for data and never build URLs themselves. The transport is
//! gloo-net; bodies are read as text and parsed by [`crate::json`].
//!
//! The same calls work against our API and against a backend that speaks only the legacy
//! contract; which one answered is learnt at login (a legacy login returns no token).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use futures::future::{FutureExt, LocalBoxFuture, Shared};
use gloo_net::http::{Method, RequestBuilder};
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use serde::de::DeserializeOwned;
use serde::Serialize;
use unishop_failover::{answered_elsewhere, Base, Failover, Next, Outcome, Policy};
use unishop_model::{
    Basket, BasketChange, Cart, CartLine, FieldError, Health, LoginRequest, MergeRequest,
    MergeResult, Order, PlaceOrder, Problem, Product, ProductRef, SetQuantity, ShippingAddress,
    SignupRequest, User, IDEMPOTENCY_KEY_HEADER, REGION_HEADER,
};
use uuid::Uuid;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{AbortController, AbortSignal, RequestCache};

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
    /// The page that asked was left before the answer came; nobody is waiting for it.
    #[error("The page was left before the shop answered.")]
    Aborted,
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Rejected { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// No region could answer (or one said it cannot for now): nothing the shopper did is wrong,
    /// and the same request can be made again later.
    pub fn is_outage(&self) -> bool {
        matches!(
            self,
            ApiError::Unreachable | ApiError::TimedOut | ApiError::Rejected { status: 500.., .. }
        )
    }

    /// How an attempt ended, for the failover policy; `None` when the page that asked went away,
    /// which says nothing about the base. `elsewhere`: the answer came from a region other than
    /// the page's own.
    fn outcome(result: &Result<String, ApiError>, elsewhere: bool) -> Option<Outcome> {
        let answered = |status| {
            if elsewhere {
                Outcome::AnsweredElsewhere(status)
            } else {
                Outcome::Answered(status)
            }
        };
        Some(match result {
            Ok(_) => answered(200),
            Err(ApiError::Rejected { status, .. }) => answered(*status),
            Err(ApiError::Unreachable) => Outcome::Unreachable,
            Err(ApiError::TimedOut) => Outcome::TimedOut,
            Err(ApiError::Unreadable | ApiError::Config(_)) => Outcome::BodyLost,
            Err(ApiError::Aborted) => return None,
        })
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
    method: Method,
    path: String,
    body: Option<String>,
    token: Option<&'a str>,
    idempotency_key: Option<&'a str>,
    /// Sending it twice, to either region, does no more than sending it once.
    retry_safe: bool,
    /// Aborts the call when it fires (the page that asked went away); writes never take one.
    abort: Option<&'a AbortSignal>,
}

impl<'a> Call<'a> {
    fn new(method: Method, path: impl Into<String>) -> Self {
        // Reads, and PUT and DELETE of a cart line, which set rather than add.
        let retry_safe = method != Method::POST;
        Call {
            method,
            path: path.into(),
            body: None,
            token: None,
            idempotency_key: None,
            retry_safe,
            abort: None,
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

    fn aborted_by(mut self, signal: Option<&'a AbortSignal>) -> Self {
        self.abort = signal;
        self
    }
}

type Pending<T> = Shared<LocalBoxFuture<'static, Result<T, ApiError>>>;

/// A value fetched once per page load and shared by every caller, also by those who ask while it
/// is still on its way; after a failure the next caller fetches it again.
struct Once<T: 'static>(SendWrapper<Rc<RefCell<Option<Pending<T>>>>>);

impl<T: 'static> Clone for Once<T> {
    fn clone(&self) -> Self {
        Once(self.0.clone())
    }
}

impl<T: Clone + 'static> Once<T> {
    fn new() -> Self {
        Once(SendWrapper::new(Rc::new(RefCell::new(None))))
    }

    async fn get(
        &self,
        fetch: impl FnOnce() -> LocalBoxFuture<'static, Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        let pending = self
            .0
            .borrow_mut()
            .get_or_insert_with(|| fetch().shared())
            .clone();
        let result = pending.clone().await;
        if result.is_err() {
            let mut slot = self.0.borrow_mut();
            if slot.as_ref().is_some_and(|p| p.ptr_eq(&pending)) {
                *slot = None;
            }
        }
        result
    }

    /// The value, if it has already arrived; never starts a fetch.
    fn ready(&self) -> Option<T> {
        self.0.borrow().as_ref()?.peek()?.as_ref().ok().cloned()
    }
}

/// The API client, shared through context.
#[derive(Clone)]
pub struct Api {
    config: Once<ApiConfig>,
    catalogue: Once<Vec<Product>>,
    /// Which base calls go to (created with the config: whether it names a standby).
    failover: SendWrapper<Rc<Cell<Option<Failover>>>>,
    /// The region that served the latest response (the configured one until a response names it).
    pub region: RwSignal<Option<String>>,
    /// The token of the latest call the API refused with 401: the session it belongs to is over.
    pub refused_token: RwSignal<Option<String>>,
    /// Whether calls are being served from the standby after a failover.
    pub on_standby: RwSignal<bool>,
    /// On a page's copy ([`Api::for_page`]): fires when the page goes away.
    page: Option<SendWrapper<AbortSignal>>,
    /// The catalogue the page's HTML carries (the one the site was built with), shown until the
    /// API's own answer arrives, and served when the API does not answer.
    prerendered: Option<Arc<[Product]>>,
}

impl Api {
    pub fn new() -> Self {
        Self {
            config: Once::new(),
            catalogue: Once::new(),
            failover: SendWrapper::new(Rc::new(Cell::new(None))),
            region: RwSignal::new(None),
            refused_token: RwSignal::new(None),
            on_standby: RwSignal::new(false),
            page: None,
            prerendered: None,
        }
    }

    /// A client whose pages start from `catalogue`, the one their HTML was prerendered with: on
    /// the host while rendering that HTML, in the browser while hydrating it.
    pub fn with_prerendered(catalogue: Vec<Product>) -> Self {
        Self {
            prerendered: Some(catalogue.into()),
            ..Self::new()
        }
    }

    /// The catalogue the page was prerendered with, if it was.
    pub fn prerendered(&self) -> Option<Vec<Product>> {
        self.prerendered.as_deref().map(<[Product]>::to_vec)
    }

    /// The prerendered product `uuid`, if the page was prerendered with it.
    pub fn prerendered_product(&self, uuid: Uuid) -> Option<Product> {
        self.prerendered
            .as_deref()?
            .iter()
            .find(|p| p.uuid == uuid)
            .cloned()
    }

    /// A copy of the client for the page being built: the page's own reads (orders, status) are
    /// aborted when the current reactive owner (the page) is cleaned up. Writes, and what the
    /// whole app shares (config, catalogue, cart), are never aborted.
    pub fn for_page(&self) -> Api {
        // Off the web (prerendering) there is nothing to abort.
        if crate::browser::window().is_none() {
            return self.clone();
        }
        let Ok(controller) = AbortController::new() else {
            return self.clone();
        };
        let page = Api {
            page: Some(SendWrapper::new(controller.signal())),
            ..self.clone()
        };
        let controller = SendWrapper::new(controller);
        on_cleanup(move || controller.abort());
        page
    }

    fn page_signal(&self) -> Option<&AbortSignal> {
        self.page.as_deref()
    }

    /// The deployment's `config.json`, fetched once per page load (again after a failure).
    pub async fn config(&self) -> Result<ApiConfig, ApiError> {
        let region = self.region;
        self.config
            .get(|| {
                async move {
                    // Absolute, so that a deep link such as /product/x still finds the site's own
                    // file, and the request index.html started for it (`take_early`) is taken.
                    let answer = fetch(
                        &Request::get("/config.json", RequestCache::Default),
                        TIMEOUT_MS,
                        None,
                    )
                    .await?;
                    if !answer.is_success() {
                        return Err(
                            ConfigError::Malformed(format!("answered {}", answer.status)).into(),
                        );
                    }
                    let config = ApiConfig::parse(&answer.body)?;
                    if region.get_untracked().is_none() && !config.region.is_empty() {
                        region.set(Some(config.region.clone()));
                    }
                    Ok(config)
                }
                .boxed_local()
            })
            .await
    }

    // ----- catalogue -----

    /// The whole catalogue, fetched once per page load (again after a failure). index.html
    /// starts a GET of `/api/unicorns/` while the page parses: when config.json's host is `/api`
    /// this call takes that answer (`take_early`), already under way while the wasm downloaded;
    /// with another host it goes unused.
    ///
    /// When no region answers, the catalogue the page's HTML carries serves instead: it changes
    /// only with a release, so the shop stays browsable (and a guest cart usable) while every API
    /// is down.
    pub async fn products(&self) -> Result<Vec<Product>, ApiError> {
        let api = Api {
            page: None,
            ..self.clone()
        };
        let answer = self
            .catalogue
            .get(|| {
                async move { api.json(Call::new(Method::GET, "/unicorns/")).await }.boxed_local()
            })
            .await;
        match (answer, self.prerendered()) {
            (Err(error), Some(built_with)) => {
                leptos::logging::warn!("the catalogue the site was built with serves: {error}");
                Ok(built_with)
            }
            (answer, _) => answer,
        }
    }

    /// The catalogue if it has already arrived (at the first render it usually has: see
    /// [`Api::products`]), without waiting for it.
    pub fn products_loaded(&self) -> Option<Vec<Product>> {
        self.catalogue.ready()
    }

    /// One product, or `None` when the catalogue has no such uuid.
    pub async fn product(&self, uuid: Uuid) -> Result<Option<Product>, ApiError> {
        Ok(self.products().await?.into_iter().find(|p| p.uuid == uuid))
    }

    // ----- accounts -----

    /// Creates an account (a legacy backend ignores the password).
    pub async fn signup(&self, request: &SignupRequest) -> Result<User, ApiError> {
        self.json(Call::new(Method::POST, "/user").json(request))
            .await
    }

    /// Logs in; a response without a token means the backend speaks only the legacy contract.
    pub async fn login(&self, request: &LoginRequest) -> Result<StoredSession, ApiError> {
        let answer: LoginAnswer = self
            .json(
                Call::new(Method::POST, "/user/login")
                    .json(request)
                    .repeatable(),
            )
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
                let cart: Cart = self
                    .json(Call::new(Method::GET, "/cart").auth(session))
                    .await?;
                Ok(lines_of(&cart))
            }
            Backend::Legacy => {
                let path = format!("/unicorns/basket/{}", session.user.uuid);
                // The legacy Lambda answers `null` for a user without a basket.
                let basket: Option<Basket> = self.json(Call::new(Method::GET, path)).await?;
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
                let call = Call::new(Method::PUT, format!("/cart/items/{product}"))
                    .auth(session)
                    .json(&SetQuantity { quantity });
                Ok(lines_of(&self.json::<Cart>(call).await?))
            }
            Backend::Legacy => {
                self.legacy_basket_change(Method::POST, session, product)
                    .await?;
                self.cart(session).await
            }
        }
    }

    /// Adds `quantity` of a product to the server cart. Our API sums on its side (the merge
    /// route, held at 99 per line), so an add never overwrites what the page has not seen yet;
    /// `key` makes a retry on the standby count once. Returns the cart and whether the line was
    /// held at the maximum. A legacy basket holds each product once.
    pub async fn add(
        &self,
        session: &StoredSession,
        product: Uuid,
        quantity: u32,
        key: &str,
    ) -> Result<(Vec<CartLine>, bool), ApiError> {
        match session.backend {
            Backend::Unishop => {
                let call = Call::new(Method::POST, "/cart/merge")
                    .auth(session)
                    .idempotency_key(key)
                    .json(&MergeRequest {
                        items: vec![CartLine {
                            uuid: product,
                            quantity,
                        }],
                    });
                let merged: MergeResult = self.json(call).await?;
                Ok((lines_of(&merged.cart), merged.capped.contains(&product)))
            }
            Backend::Legacy => {
                self.legacy_basket_change(Method::POST, session, product)
                    .await?;
                Ok((self.cart(session).await?, false))
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
                let call =
                    Call::new(Method::DELETE, format!("/cart/items/{product}")).auth(session);
                Ok(lines_of(&self.json::<Cart>(call).await?))
            }
            Backend::Legacy => {
                self.legacy_basket_change(Method::DELETE, session, product)
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
                let call =
                    Call::new(Method::POST, "/cart/merge")
                        .auth(session)
                        .json(&MergeRequest {
                            items: lines.to_vec(),
                        });
                let merged: MergeResult = self.json(call).await?;
                Ok((lines_of(&merged.cart), merged.unknown))
            }
            Backend::Legacy => {
                for line in lines {
                    self.legacy_basket_change(Method::POST, session, line.uuid)
                        .await?;
                }
                Ok((self.cart(session).await?, Vec::new()))
            }
        }
    }

    async fn legacy_basket_change(
        &self,
        method: Method,
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
        let call = Call::new(Method::POST, "/orders")
            .auth(session)
            .idempotency_key(idempotency_key)
            .json(&PlaceOrder { shipping });
        self.json(call).await
    }

    pub async fn orders(&self, session: &StoredSession) -> Result<Vec<Order>, ApiError> {
        let call = Call::new(Method::GET, "/orders")
            .auth(session)
            .aborted_by(self.page_signal());
        self.json(call).await
    }

    pub async fn order(&self, session: &StoredSession, id: Uuid) -> Result<Order, ApiError> {
        let call = Call::new(Method::GET, format!("/orders/{id}"))
            .auth(session)
            .aborted_by(self.page_signal());
        self.json(call).await
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
            let answer = fetch(
                &Request::get(&url, RequestCache::NoStore),
                TIMEOUT_MS,
                self.page_signal(),
            )
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
    /// Returns the body of the successful answer. A 401 to a call that carried a token ends that
    /// session ([`Api::refused_token`]).
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
            let sent = self.send_to(&url, &call, plan.attempt.budget_ms).await;
            let elsewhere = matches!(&sent, Ok(answer)
                if answered_elsewhere(answer.region.as_deref(), &config.region));
            let result = sent.and_then(Answer::success);
            let Some(outcome) = ApiError::outcome(&result, elsewhere) else {
                break result;
            };
            if self.with_failover(&config, |f| f.settle(&mut plan, outcome, now_ms())) == Next::Done
            {
                break result;
            }
        };
        if let (Err(ApiError::Rejected { status: 401, .. }), Some(token)) = (&result, call.token) {
            self.refused_token.set(Some(token.to_owned()));
        }
        result
    }

    /// Runs `decide` on this page's failover state, then shows whether the standby is serving.
    fn with_failover<T>(&self, config: &ApiConfig, decide: impl FnOnce(&mut Failover) -> T) -> T {
        let mut failover = self
            .failover
            .get()
            .unwrap_or_else(|| Failover::new(Policy::DEFAULT, config.standby_host.is_some()));
        let answer = decide(&mut failover);
        self.failover.set(Some(failover));
        let on_standby = failover.on_standby();
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
            let answer = fetch(&Request::get(&url, RequestCache::NoStore), budget_ms, None).await;
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
    ) -> Result<Answer, ApiError> {
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
                method: call.method.clone(),
                headers,
                body: call.body.as_deref(),
                cache: RequestCache::Default,
            },
            budget_ms,
            call.abort,
        )
        .await?;
        self.note_region(answer.region.as_deref());
        Ok(answer)
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

/// One HTTP request.
struct Request<'a> {
    url: &'a str,
    method: Method,
    headers: Vec<(&'static str, &'a str)>,
    body: Option<&'a str>,
    cache: RequestCache,
}

impl<'a> Request<'a> {
    fn get(url: &'a str, cache: RequestCache) -> Self {
        Request {
            url,
            method: Method::GET,
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

/// Aborts one request after its time budget or when `page` fires, whichever comes first, and
/// says afterwards which it was. A timer and a listener rather than `AbortSignal.timeout` and
/// `AbortSignal.any`, which older browsers lack.
struct Deadline {
    controller: AbortController,
    timer: Option<(i32, Closure<dyn FnMut()>)>,
    timed_out: Rc<Cell<bool>>,
    page: Option<(AbortSignal, Closure<dyn FnMut()>)>,
}

impl Deadline {
    fn start(budget_ms: u32, page: Option<&AbortSignal>) -> Option<Deadline> {
        let controller = AbortController::new().ok()?;
        let window = crate::browser::window()?;
        let timed_out = Rc::new(Cell::new(false));
        let on_timeout = Closure::<dyn FnMut()>::new({
            let controller = controller.clone();
            let timed_out = timed_out.clone();
            move || {
                timed_out.set(true);
                controller.abort();
            }
        });
        let timer = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(
                on_timeout.as_ref().unchecked_ref(),
                i32::try_from(budget_ms).unwrap_or(i32::MAX),
            )
            .ok()
            .map(|id| (id, on_timeout));
        let page = page.map(|signal| {
            if signal.aborted() {
                controller.abort();
            }
            let on_abort = Closure::<dyn FnMut()>::new({
                let controller = controller.clone();
                move || controller.abort()
            });
            let _ =
                signal.add_event_listener_with_callback("abort", on_abort.as_ref().unchecked_ref());
            (signal.clone(), on_abort)
        });
        Some(Deadline {
            controller,
            timer,
            timed_out,
            page,
        })
    }

    fn signal(&self) -> AbortSignal {
        self.controller.signal()
    }

    /// Why a request that failed before its answer was complete did so.
    fn failure(&self, answered: bool) -> ApiError {
        if self.page.as_ref().is_some_and(|(page, _)| page.aborted()) {
            ApiError::Aborted
        } else if answered {
            // The server has answered: the write may have been applied, so this must not send the
            // call to the standby.
            ApiError::Unreadable
        } else if self.timed_out.get() {
            ApiError::TimedOut
        } else {
            // A header the browser will not send, a lost connection: no server answered, worth
            // asking the standby.
            ApiError::Unreachable
        }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        if let (Some(window), Some((id, _))) = (crate::browser::window(), &self.timer) {
            window.clear_timeout_with_handle(*id);
        }
        if let Some((page, on_abort)) = &self.page {
            let _ = page
                .remove_event_listener_with_callback("abort", on_abort.as_ref().unchecked_ref());
        }
    }
}

/// Milliseconds since the epoch, the failover policy's clock.
fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// Sends one request with gloo-net, giving up after `budget_ms` or when `page` fires.
async fn fetch(
    request: &Request<'_>,
    budget_ms: u32,
    page: Option<&AbortSignal>,
) -> Result<Answer, ApiError> {
    let deadline = Deadline::start(budget_ms, page).ok_or(ApiError::Unreachable)?;
    let signal = deadline.signal();
    let response = match take_early(request) {
        Some(early) => early_answer(early, &signal).await,
        None => {
            let mut builder = RequestBuilder::new(request.url)
                .method(request.method.clone())
                .cache(request.cache)
                .abort_signal(Some(&signal));
            for (name, value) in &request.headers {
                builder = builder.header(name, value);
            }
            let built = match request.body {
                Some(body) => builder.body(body),
                None => builder.build(),
            };
            match built {
                Ok(built) => built.send().await.map_err(|_| ()),
                Err(_) => Err(()),
            }
        }
    }
    .map_err(|()| deadline.failure(false))?;
    let region = response.headers().get(REGION_HEADER);
    let body = response.text().await.map_err(|_| deadline.failure(true))?;
    Ok(Answer {
        status: response.status(),
        region,
        body,
    })
}

/// The requests index.html starts while the page is still parsing (`window.unishopEarly`: URL to
/// `fetch()` promise), so they are on their way while the wasm downloads. A `<link rel=preload
/// as=fetch>` would do the same in Chromium and Firefox, but Safari never hands such an answer to
/// `fetch()` and downloads it a second time. Each is taken once, by the first plain GET of its URL.
fn take_early(request: &Request<'_>) -> Option<js_sys::Promise> {
    if request.method != Method::GET || !request.headers.is_empty() {
        return None;
    }
    let window: wasm_bindgen::JsValue = web_sys::window()?.into();
    let early = js_sys::Reflect::get(&window, &"unishopEarly".into()).ok()?;
    let early = early.dyn_into::<js_sys::Object>().ok()?;
    let url = wasm_bindgen::JsValue::from_str(request.url);
    let promise = js_sys::Reflect::get(&early, &url)
        .ok()?
        .dyn_into::<js_sys::Promise>()
        .ok()?;
    let _ = js_sys::Reflect::delete_property(&early, &url);
    Some(promise)
}

/// An early request's answer, unless `signal` (the deadline, the page going) fires first.
async fn early_answer(
    early: js_sys::Promise,
    signal: &AbortSignal,
) -> Result<gloo_net::http::Response, ()> {
    if signal.aborted() {
        return Err(());
    }
    let given_up = js_sys::Promise::new(&mut |_, reject| {
        let _ = signal.add_event_listener_with_callback("abort", &reject);
    });
    let first = js_sys::Promise::race(&js_sys::Array::of2(&early, &given_up));
    let response = wasm_bindgen_futures::JsFuture::from(first)
        .await
        .map_err(|_| ())?;
    response
        .dyn_into::<web_sys::Response>()
        .map(Into::into)
        .map_err(|_| ())
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
            "The shop is unavailable for the moment. Try again in a few minutes.".to_owned()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_missing_or_failing_base_is_an_outage_and_a_page_left_reports_nothing() {
        let rejected = |status| {
            Err(ApiError::Rejected {
                status,
                detail: String::new(),
                fields: Vec::new(),
            })
        };
        for outage in [
            Err(ApiError::Unreachable),
            Err(ApiError::TimedOut),
            rejected(503),
        ] {
            assert!(
                ApiError::outcome(&outage, false).is_some_and(Outcome::is_outage),
                "{outage:?}"
            );
        }
        for answer in [
            Ok(String::new()),
            rejected(401),
            rejected(422),
            Err(ApiError::Unreadable),
        ] {
            assert!(
                ApiError::outcome(&answer, false).is_some_and(|o| !o.is_outage()),
                "{answer:?}"
            );
        }
        assert_eq!(ApiError::outcome(&Err(ApiError::Aborted), false), None);
        assert_eq!(
            ApiError::outcome(&rejected(404), true),
            Some(Outcome::AnsweredElsewhere(404))
        );
    }
}
