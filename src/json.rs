//! JSON in and out of the storefront: API bodies, `config.json`, and what the browser keeps.
//!
//! In the browser the text is parsed and written by the browser's own `JSON` and mapped to our
//! types with serde-wasm-bindgen: serde_json's parser would add about 15 KB (compressed) to the
//! wasm. Host builds (the plain modules' `#[test]`s) use serde_json; both read the same JSON into
//! the same serde types, and the browser path is tested in `tests/components.rs`.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Why a text could not be read as a `T`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    #[error("it is not JSON")]
    Syntax,
    #[error("{0}")]
    Shape(String),
}

/// Reads `text` as a `T`.
#[cfg(target_arch = "wasm32")]
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, JsonError> {
    let value = js_sys::JSON::parse(text).map_err(|_| JsonError::Syntax)?;
    serde_wasm_bindgen::from_value(value).map_err(|e| JsonError::Shape(e.to_string()))
}

/// Writes `value` as JSON text; `None` only for a value JSON cannot hold.
#[cfg(target_arch = "wasm32")]
pub fn to_string<T: Serialize>(value: &T) -> Option<String> {
    // Maps become objects and 64-bit integers numbers, as serde_json writes them.
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let value = value.serialize(&serializer).ok()?;
    js_sys::JSON::stringify(&value).ok()?.as_string()
}

/// Reads `text` as a `T`.
#[cfg(not(target_arch = "wasm32"))]
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, JsonError> {
    serde_json::from_str(text).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            JsonError::Syntax
        } else {
            JsonError::Shape(e.to_string())
        }
    })
}

/// Writes `value` as JSON text; `None` only for a value JSON cannot hold.
#[cfg(not(target_arch = "wasm32"))]
pub fn to_string<T: Serialize>(value: &T) -> Option<String> {
    serde_json::to_string(value).ok()
}
