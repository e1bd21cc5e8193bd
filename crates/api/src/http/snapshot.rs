//! A short-lived in-process copy of the catalogue, with its JSON and ETag already made.
//!
//! Every page view and cart reads the catalogue, and it changes only when a release reseeds it, so
//! each process re-reads it from the store at most once per [`CATALOGUE_TTL`]. Browsers and
//! CloudFront may keep a catalogue response for 60 s anyway (`Cache-Control: max-age=60`), so a few
//! seconds here add no staleness a shopper could notice.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use sha2::{Digest, Sha256};
use unishop_model::Product;
use uuid::Uuid;

use crate::store::{Catalogue, StoreError};

/// How long a catalogue read from the store is reused.
pub const CATALOGUE_TTL: Duration = Duration::from_secs(5);

/// The catalogue as read at one moment.
pub struct Snapshot {
    pub products: Vec<Product>,
    by_uuid: HashMap<Uuid, usize>,
    /// `GET /unicorns` with no filter: the body and its ETag.
    pub body: Bytes,
    pub etag: String,
}

impl Snapshot {
    fn new(products: Vec<Product>) -> Result<Self, StoreError> {
        let body = serde_json::to_vec(&products)
            .map_err(|e| StoreError::Unavailable(format!("encoding the catalogue: {e}")))?;
        let by_uuid = products
            .iter()
            .enumerate()
            .map(|(i, p)| (p.uuid, i))
            .collect();
        Ok(Snapshot {
            etag: etag_of(&body),
            body: Bytes::from(body),
            products,
            by_uuid,
        })
    }

    pub fn product(&self, uuid: Uuid) -> Option<&Product> {
        self.by_uuid.get(&uuid).map(|&i| &self.products[i])
    }
}

/// A strong ETag: the first 128 bits of the body's SHA-256, quoted.
pub fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

#[derive(Default)]
pub struct CatalogueCache {
    current: RwLock<Option<(Instant, Arc<Snapshot>)>>,
}

impl CatalogueCache {
    /// The current snapshot, read from `catalogue` when missing or older than [`CATALOGUE_TTL`].
    pub async fn get(&self, catalogue: &dyn Catalogue) -> Result<Arc<Snapshot>, StoreError> {
        if let Ok(guard) = self.current.read() {
            if let Some((taken, snapshot)) = guard.as_ref() {
                if taken.elapsed() < CATALOGUE_TTL {
                    return Ok(snapshot.clone());
                }
            }
        }
        let snapshot = Arc::new(Snapshot::new(catalogue.products().await?)?);
        if let Ok(mut guard) = self.current.write() {
            *guard = Some((Instant::now(), snapshot.clone()));
        }
        Ok(snapshot)
    }
}
