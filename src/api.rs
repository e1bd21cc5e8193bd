//! Every HTTP call of the storefront: where the API is, JSON in and out, timeouts, and turning
//! failures into messages a shopper can act on. Pages ask this module for data and never build
//! URLs themselves.

use std::sync::{Arc, Mutex};

use gloo_net::http::{Request, RequestBuilder, Response};
use leptos::prelude::*;
use serde::de::DeserializeOwned;
use unishop_model::{Problem, Product, REGION_HEADER};
use web_sys::{AbortSignal, RequestCache};

use crate::config::{ApiConfig, ConfigError};

/// How long one call may take before the shopper is told the shop is not answering.
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
    Rejected { status: u16, detail: String },
    #[error("The shop sent an answer this page cannot read.")]
    Unreadable,
}

/// The API client, shared through context.
#[derive(Clone)]
pub struct Api {
    config: Arc<Mutex<Option<ApiConfig>>>,
    /// The region that served the latest response (or the configured one until a response names it).
    pub region: RwSignal<Option<String>>,
}

impl Api {
    pub fn new() -> Self {
        Self {
            config: Arc::new(Mutex::new(None)),
            region: RwSignal::new(None),
        }
    }

    /// The deployment's `config.json`, fetched once per page load (again after a failure).
    pub async fn config(&self) -> Result<ApiConfig, ApiError> {
        if let Some(config) = self.cached_config() {
            return Ok(config);
        }
        // Absolute, so that a deep link such as /product/x still finds the site's own file.
        let response = send(Request::get("/config.json").cache(RequestCache::NoCache)).await?;
        if !response.ok() {
            return Err(ApiError::Config(ConfigError::Malformed(format!(
                "answered {}",
                response.status()
            ))));
        }
        let text = response.text().await.map_err(|_| ApiError::Unreadable)?;
        let config = ApiConfig::parse(&text)?;
        if self.region.get_untracked().is_none() && !config.region.is_empty() {
            self.region.set(Some(config.region.clone()));
        }
        if let Ok(mut cached) = self.config.lock() {
            *cached = Some(config.clone());
        }
        Ok(config)
    }

    fn cached_config(&self) -> Option<ApiConfig> {
        self.config.lock().ok().and_then(|cached| cached.clone())
    }

    /// The catalogue.
    pub async fn products(&self) -> Result<Vec<Product>, ApiError> {
        self.get_json("/unicorns/").await
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        let config = self.config().await?;
        let response = send(Request::get(&config.url(path))).await?;
        self.note_region(&response);
        if !response.ok() {
            return Err(rejection(&response).await);
        }
        response.json().await.map_err(|_| ApiError::Unreadable)
    }

    fn note_region(&self, response: &Response) {
        if let Some(region) = response.headers().get(REGION_HEADER) {
            if self.region.get_untracked().as_deref() != Some(region.as_str()) {
                self.region.set(Some(region));
            }
        }
    }
}

impl Default for Api {
    fn default() -> Self {
        Self::new()
    }
}

async fn send(request: RequestBuilder) -> Result<Response, ApiError> {
    let timeout = AbortSignal::timeout_with_u32(TIMEOUT_MS);
    request
        .abort_signal(Some(&timeout))
        .send()
        .await
        .map_err(|error| {
            if timeout.aborted() {
                ApiError::TimedOut
            } else {
                leptos::logging::warn!("request failed: {error}");
                ApiError::Unreachable
            }
        })
}

/// Reads a failed response: our API explains itself in a problem document, other servers may not.
async fn rejection(response: &Response) -> ApiError {
    let status = response.status();
    let problem = response.json::<Problem>().await.ok();
    let detail = match problem {
        Some(problem) if !problem.detail.is_empty() => capitalise(&problem.detail),
        _ if status >= 500 => {
            "The shop is having trouble right now. Try again in a moment.".to_owned()
        }
        _ => format!("The shop refused the request (status {status})."),
    };
    ApiError::Rejected { status, detail }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
