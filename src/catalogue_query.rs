//! The catalogue's filters as they live in the URL: `/?q=float&category=Bags&sort=price`.
//!
//! Filtering happens in the page over the whole catalogue, so it works the same against a legacy
//! backend that knows no query parameters.

use unishop_model::{Product, SortOrder};

use crate::router::encode_component;

/// Search text, category and sort order of the catalogue page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogueQuery {
    pub q: String,
    pub category: String,
    pub sort: Option<SortOrder>,
}

impl CatalogueQuery {
    /// Reads the query from URL parameters; an unknown sort value is ignored.
    pub fn from_params(q: Option<String>, category: Option<String>, sort: Option<String>) -> Self {
        CatalogueQuery {
            q: q.unwrap_or_default().trim().to_owned(),
            category: category.unwrap_or_default().trim().to_owned(),
            sort: sort.as_deref().and_then(SortOrder::parse),
        }
    }

    /// The URL of the catalogue with this query (`/` when there is none).
    pub fn to_url(&self) -> String {
        let mut params = Vec::new();
        if !self.q.is_empty() {
            params.push(format!("q={}", encode_component(&self.q)));
        }
        if !self.category.is_empty() {
            params.push(format!("category={}", encode_component(&self.category)));
        }
        if let Some(sort) = self.sort {
            params.push(format!("sort={}", encode_component(sort.as_str())));
        }
        if params.is_empty() {
            "/".to_owned()
        } else {
            format!("/?{}", params.join("&"))
        }
    }

    pub fn is_filtered(&self) -> bool {
        !self.q.is_empty() || !self.category.is_empty()
    }

    /// The products that match, in the chosen order (the catalogue's own order by default).
    pub fn apply(&self, products: &[Product]) -> Vec<Product> {
        // ASCII case folding: the catalogue's names are English, and Unicode case tables would
        // add ~20 KB to the wasm for no shopper-visible gain.
        let needle = self.q.to_ascii_lowercase();
        let mut matching: Vec<Product> = products
            .iter()
            .filter(|p| {
                self.category.is_empty() || p.category.as_deref() == Some(self.category.as_str())
            })
            .filter(|p| {
                needle.is_empty()
                    || p.name.to_ascii_lowercase().contains(&needle)
                    || p.description
                        .as_deref()
                        .is_some_and(|d| d.to_ascii_lowercase().contains(&needle))
                    || p.category
                        .as_deref()
                        .is_some_and(|c| c.to_ascii_lowercase().contains(&needle))
            })
            .cloned()
            .collect();
        // One stable sort with the order chosen inside: each `sort_by_key` would be its own copy
        // of the sort in the wasm.
        if let Some(sort) = self.sort {
            matching.sort_by(|a, b| match sort {
                SortOrder::Name => a
                    .name
                    .to_ascii_lowercase()
                    .cmp(&b.name.to_ascii_lowercase()),
                SortOrder::Price => a.cents().cmp(&b.cents()),
                SortOrder::PriceDescending => b.cents().cmp(&a.cents()),
            });
        }
        matching
    }
}

/// The categories present in a catalogue, in order of first appearance.
pub fn categories(products: &[Product]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for category in products.iter().filter_map(|p| p.category.clone()) {
        if !seen.contains(&category) {
            seen.push(category);
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn product(n: u128, name: &str, category: &str, cents: i64) -> Product {
        Product {
            uuid: Uuid::from_u128(n),
            name: name.to_owned(),
            description: Some(format!("about {name}")),
            price: cents as f64 / 100.0,
            price_cents: Some(cents),
            image: None,
            image_alt: None,
            category: Some(category.to_owned()),
        }
    }

    fn catalogue() -> Vec<Product> {
        vec![
            product(1, "Pool Float", "Pool & Beach", 4999),
            product(2, "Backpack", "Bags", 2999),
            product(3, "Glitter Backpack", "Bags", 3499),
        ]
    }

    #[test]
    fn filters_by_text_and_category_and_sorts() {
        let query =
            CatalogueQuery::from_params(Some(" BACKPACK ".into()), None, Some("-price".into()));
        let names: Vec<_> = query
            .apply(&catalogue())
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["Glitter Backpack", "Backpack"]);
        let query = CatalogueQuery::from_params(None, Some("Pool & Beach".into()), None);
        assert_eq!(query.apply(&catalogue()).len(), 1);
        let query = CatalogueQuery::from_params(None, None, Some("name".into()));
        assert_eq!(query.apply(&catalogue())[0].name, "Backpack");
        let query = CatalogueQuery::from_params(Some("nothing like it".into()), None, None);
        assert!(query.apply(&catalogue()).is_empty());
    }

    #[test]
    fn url_round_trips_and_encodes() {
        let query = CatalogueQuery::from_params(
            Some("pool float".into()),
            Some("Pool & Beach".into()),
            Some("price".into()),
        );
        assert_eq!(
            query.to_url(),
            "/?q=pool%20float&category=Pool%20%26%20Beach&sort=price"
        );
        assert_eq!(CatalogueQuery::default().to_url(), "/");
        let ignored = CatalogueQuery::from_params(None, None, Some("cheapest".into()));
        assert_eq!(ignored.sort, None);
    }

    #[test]
    fn categories_keep_first_appearance_order() {
        assert_eq!(categories(&catalogue()), ["Pool & Beach", "Bags"]);
    }
}
