use serde::{Deserialize, Serialize};

/// A category of the catalogue and how many products it holds (`GET /categories`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Category {
    pub name: String,
    pub count: u32,
}

/// The orders `GET /unicorns?sort=` accepts; without `sort` the catalogue keeps its own order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortOrder {
    /// By name, A to Z.
    Name,
    /// Cheapest first.
    Price,
    /// Dearest first.
    PriceDescending,
}

/// Every value of `sort`, as the query string spells it.
pub const SORT_VALUES: [&str; 3] = ["name", "price", "-price"];

impl SortOrder {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "name" => Some(SortOrder::Name),
            "price" => Some(SortOrder::Price),
            "-price" => Some(SortOrder::PriceDescending),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SortOrder::Name => "name",
            SortOrder::Price => "price",
            SortOrder::PriceDescending => "-price",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_values_round_trip() {
        for raw in SORT_VALUES {
            let order = SortOrder::parse(raw).expect("listed values parse");
            assert_eq!(order.as_str(), raw);
        }
        assert_eq!(SortOrder::parse("Price"), None);
        assert_eq!(SortOrder::parse(""), None);
    }
}
