//! The catalogue: the legacy list (now filterable and sortable), one product, the categories.
//!
//! Every catalogue read carries a strong `ETag` and [`CATALOGUE_CACHE_CONTROL`], and a
//! matching `If-None-Match` is answered 304 without a body: the catalogue is what browsers and
//! CloudFront may cache.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use unishop_model::{Category, Problem, Product, SortOrder, SORT_VALUES};

use super::error::Error;
use super::json::{parse_uuid, QueryParams};
use super::snapshot::etag_of;
use super::AppState;

/// The longest search text accepted.
pub const MAX_QUERY_LEN: usize = 100;
/// What catalogue reads may be cached for, by browsers and shared caches alike; and, since the
/// catalogue changes only with a release, how long a shared cache (CloudFront's catalogue
/// behaviours, `infra/templates/edge.yaml`) may keep serving one when both regions fail.
pub const CATALOGUE_CACHE_CONTROL: &str = "public, max-age=60, stale-if-error=86400";

/// `GET /unicorns` parameters; unknown ones are ignored.
#[derive(Deserialize, Default, Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CatalogueQuery {
    /// Text to find in a product's name, description or category (case-insensitive).
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// Only products of this category (case-insensitive).
    #[param(max_length = 100)]
    pub category: Option<String>,
    /// `name`, `price` (cheapest first) or `-price`; the catalogue's own order when absent.
    #[param(pattern = "^(name|price|-price)$")]
    pub sort: Option<String>,
}

/// `GET /unicorns` (and `/unicorns/`, which the legacy page calls).
#[utoipa::path(get, path = "/unicorns", tag = "catalogue", params(CatalogueQuery),
    responses(
        (status = 200, description = "The matching products", body = [Product],
            headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Unchanged since the ETag sent in If-None-Match"),
        (status = 422, description = "A parameter breaks a rule (the problem names the allowed sort values)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryParams(query): QueryParams<CatalogueQuery>,
) -> Result<Response, Error> {
    let sort = match query.sort.as_deref() {
        None => None,
        Some(raw) => Some(SortOrder::parse(raw).ok_or_else(|| {
            Error::invalid_field("sort", format!("use one of {}", SORT_VALUES.join(", ")))
        })?),
    };
    let text = bounded(query.q, "q")?;
    let category = bounded(query.category, "category")?;
    let snapshot = state.catalogue().await?;
    if text.is_none() && category.is_none() && sort.is_none() {
        // The legacy page's one call: bytes and ETag made once per snapshot.
        return Ok(cacheable(&headers, snapshot.body.clone(), &snapshot.etag));
    }
    let products = select(
        &snapshot.products,
        text.as_deref(),
        category.as_deref(),
        sort,
    );
    let body = serde_json::to_vec(&products).map_err(|_| Error::Internal)?;
    let etag = etag_of(&body);
    Ok(cacheable(&headers, Bytes::from(body), &etag))
}

/// `GET /unicorns/`: the same list; the legacy page adds the trailing slash.
#[utoipa::path(get, path = "/unicorns/", tag = "catalogue", params(CatalogueQuery),
    responses(
        (status = 200, description = "The matching products", body = [Product],
            headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Unchanged since the ETag sent in If-None-Match"),
        (status = 422, description = "A parameter breaks a rule (the problem names the allowed sort values)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_slash(
    state: State<AppState>,
    headers: HeaderMap,
    query: QueryParams<CatalogueQuery>,
) -> Result<Response, Error> {
    list(state, headers, query).await
}

/// `GET /unicorns/{uuid}`: one product.
#[utoipa::path(get, path = "/unicorns/{uuid}", tag = "catalogue",
    params(("uuid" = uuid::Uuid, Path, description = "The product's uuid")),
    responses(
        (status = 200, description = "The product", body = Product,
            headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Unchanged since the ETag sent in If-None-Match"),
        (status = 400, description = "Not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such product", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Result<Response, Error> {
    let uuid = parse_uuid(&uuid, "uuid")?;
    let snapshot = state.catalogue().await?;
    let product = snapshot
        .product(uuid)
        .ok_or_else(|| Error::NotFound(format!("there is no product {uuid}")))?;
    let body = serde_json::to_vec(product).map_err(|_| Error::Internal)?;
    let etag = etag_of(&body);
    Ok(cacheable(&headers, Bytes::from(body), &etag))
}

/// `GET /categories`: every category with its number of products, by name.
#[utoipa::path(get, path = "/categories", tag = "catalogue",
    responses(
        (status = 200, description = "The categories, by name", body = [Category],
            headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Unchanged since the ETag sent in If-None-Match"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn categories(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let snapshot = state.catalogue().await?;
    let body =
        serde_json::to_vec(&categories_of(&snapshot.products)).map_err(|_| Error::Internal)?;
    let etag = etag_of(&body);
    Ok(cacheable(&headers, Bytes::from(body), &etag))
}

fn bounded(raw: Option<String>, field: &str) -> Result<Option<String>, Error> {
    let Some(value) = raw.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > MAX_QUERY_LEN {
        return Err(Error::invalid_field(
            field,
            format!("at most {MAX_QUERY_LEN} characters"),
        ));
    }
    Ok(Some(value.to_lowercase()))
}

/// The products matching the (lower-cased) text and category, in the order asked for.
pub fn select(
    products: &[Product],
    text: Option<&str>,
    category: Option<&str>,
    sort: Option<SortOrder>,
) -> Vec<Product> {
    let contains = |field: Option<&str>, needle: &str| {
        field.is_some_and(|f| f.to_lowercase().contains(needle))
    };
    let mut selected: Vec<Product> = products
        .iter()
        .filter(|p| {
            category.is_none_or(|c| {
                p.category
                    .as_deref()
                    .is_some_and(|pc| pc.to_lowercase() == c)
            })
        })
        .filter(|p| {
            text.is_none_or(|t| {
                contains(Some(&p.name), t)
                    || contains(p.description.as_deref(), t)
                    || contains(p.category.as_deref(), t)
            })
        })
        .cloned()
        .collect();
    // Stable sorts: equal keys keep the catalogue's order.
    match sort {
        None => {}
        Some(SortOrder::Name) => selected.sort_by_key(|p| p.name.to_lowercase()),
        Some(SortOrder::Price) => selected.sort_by_key(Product::cents),
        Some(SortOrder::PriceDescending) => selected.sort_by_key(|p| std::cmp::Reverse(p.cents())),
    }
    selected
}

/// Every category named by a product, with its count, sorted by name.
pub fn categories_of(products: &[Product]) -> Vec<Category> {
    let mut categories: Vec<Category> = Vec::new();
    for name in products.iter().filter_map(|p| p.category.as_deref()) {
        match categories.iter_mut().find(|c| c.name == name) {
            Some(category) => category.count += 1,
            None => categories.push(Category {
                name: name.to_owned(),
                count: 1,
            }),
        }
    }
    categories.sort_by(|a, b| a.name.cmp(&b.name));
    categories
}

/// A JSON response carrying `etag`, or 304 when the request's `If-None-Match` already names it.
fn cacheable(request: &HeaderMap, body: Bytes, etag: &str) -> Response {
    let etag_value = HeaderValue::from_str(etag).unwrap_or(HeaderValue::from_static("\"\""));
    let cache = [
        (header::ETAG, etag_value),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(CATALOGUE_CACHE_CONTROL),
        ),
    ];
    if if_none_match(request, etag) {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (
        cache,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        Body::from(body),
    )
        .into_response()
}

/// Whether `If-None-Match` lists `etag` (weak comparison, as RFC 9110 prescribes for it) or `*`.
fn if_none_match(request: &HeaderMap, etag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::CATALOGUE;

    fn catalogue() -> Vec<Product> {
        CATALOGUE.iter().map(|s| s.to_product()).collect()
    }

    #[test]
    fn filters_combine_and_sorts_order() {
        let all = catalogue();
        let clothing = select(&all, None, Some("clothing"), Some(SortOrder::Price));
        assert!(clothing.len() >= 2);
        assert!(clothing
            .iter()
            .all(|p| p.category.as_deref() == Some("Clothing")));
        assert!(clothing.windows(2).all(|w| w[0].cents() <= w[1].cents()));
        let dearest = select(&all, None, None, Some(SortOrder::PriceDescending));
        assert!(dearest.windows(2).all(|w| w[0].cents() >= w[1].cents()));
        assert_eq!(dearest.len(), all.len());
        let backpacks = select(&all, Some("backpack"), None, None);
        assert_eq!(backpacks.len(), 2);
        assert!(select(&all, Some("backpack"), Some("home"), None).is_empty());
    }

    #[test]
    fn categories_count_every_product_once() {
        let categories = categories_of(&catalogue());
        assert_eq!(categories.iter().map(|c| c.count).sum::<u32>(), 10);
        assert!(categories.windows(2).all(|w| w[0].name < w[1].name));
    }

    #[test]
    fn if_none_match_accepts_lists_weak_tags_and_star() {
        let mut headers = HeaderMap::new();
        assert!(!if_none_match(&headers, "\"a\""));
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", W/\"a\""),
        );
        assert!(if_none_match(&headers, "\"a\""));
        assert!(!if_none_match(&headers, "\"b\""));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(if_none_match(&headers, "\"b\""));
    }
}
