//! JSON in and out of the storefront: API bodies, `config.json`, and what the browser keeps.
//!
//! Writing is serde_json's. Reading, in the browser, is the browser's own `JSON.parse` followed by
//! `JsDeserializer`, which walks the parsed value into our serde types. The HTTP client
//! (gloo-net) hands over bodies as text; its `json()` would bring serde_json's parser back.
//!
//! `JsDeserializer` is in effect a trimmed fork of the serde-wasm-bindgen crate's deserializer,
//! cut down to what JSON holds and our types read. That keeps serde_json's parser and its float
//! tables out of the wasm, and its errors name the expected type and the kind of value found
//! ("expected struct Product, found a string") rather than printing a found number, which keeps
//! Rust's float formatting out too: about 20 KB of wasm in all. Unlike serde-wasm-bindgen it
//! refuses a struct written as an array, a number with a fraction or beyond 2^53 where an integer
//! is wanted, and any enum but a unit variant written as its name (no tagged variants); it does
//! not read JavaScript values that JSON cannot produce (`Map`, `BigInt`, typed arrays). It has no
//! serializer: writing stays with serde_json.
//!
//! Host builds (the plain modules' `#[test]`s) read with serde_json; the browser path is tested in
//! `tests/components.rs`.

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

/// Writes `value` as JSON text; `None` only for a value JSON cannot hold.
pub fn to_string<T: Serialize>(value: &T) -> Option<String> {
    serde_json::to_string(value).ok()
}

/// Reads `text` as a `T`.
#[cfg(target_arch = "wasm32")]
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, JsonError> {
    let value = js_sys::JSON::parse(text).map_err(|_| JsonError::Syntax)?;
    T::deserialize(browser::JsDeserializer(value)).map_err(|e| JsonError::Shape(e.0))
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

#[cfg(target_arch = "wasm32")]
mod browser {
    use std::fmt;

    use js_sys::{Array, Object, Reflect};
    use serde::de::{self, DeserializeSeed, IntoDeserializer, Unexpected, Visitor};
    use wasm_bindgen::JsValue;

    /// A value as JSON has it. Sorting the browser's value into one of these is not generic, so
    /// it exists once in the wasm rather than once per type read.
    enum Kind {
        Null,
        Bool(bool),
        Unsigned(u64),
        Signed(i64),
        Float(f64),
        Str(String),
        Array(Array),
        Object(Object),
    }

    /// The largest integer a JSON number (an f64) holds exactly.
    const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

    fn kind_of(value: JsValue) -> Kind {
        if value.is_null() || value.is_undefined() {
            Kind::Null
        } else if let Some(b) = value.as_bool() {
            Kind::Bool(b)
        } else if let Some(n) = value.as_f64() {
            if n.fract() != 0.0 || n.abs() > MAX_SAFE_INTEGER {
                Kind::Float(n)
            } else if n >= 0.0 {
                Kind::Unsigned(n as u64)
            } else {
                Kind::Signed(n as i64)
            }
        } else if let Some(s) = value.as_string() {
            Kind::Str(s)
        } else if Array::is_array(&value) {
            Kind::Array(Array::from(&value))
        } else {
            Kind::Object(Object::from(value))
        }
    }

    /// What was found, in words; never the value itself.
    fn found(unexpected: Unexpected<'_>) -> &'static str {
        match unexpected {
            Unexpected::Bool(_) => "a boolean",
            Unexpected::Unsigned(_) | Unexpected::Signed(_) | Unexpected::Float(_) => "a number",
            Unexpected::Char(_) | Unexpected::Str(_) => "a string",
            Unexpected::Unit | Unexpected::Option => "null",
            Unexpected::Seq => "an array",
            Unexpected::Map => "an object",
            _ => "another kind of value",
        }
    }

    /// Why a parsed value does not fit the type asked for.
    #[derive(Debug)]
    pub struct ShapeError(pub String);

    impl fmt::Display for ShapeError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(&self.0)
        }
    }

    impl std::error::Error for ShapeError {}

    // Every method that is handed an `Unexpected` is overridden: serde's defaults print it, and
    // printing a float brings Rust's float formatting into the wasm.
    impl de::Error for ShapeError {
        fn custom<T: fmt::Display>(message: T) -> Self {
            ShapeError(message.to_string())
        }

        fn invalid_type(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Self {
            ShapeError(format!("expected {expected}, found {}", found(unexpected)))
        }

        fn invalid_value(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Self {
            ShapeError(format!(
                "expected {expected}, found {} it does not allow",
                found(unexpected)
            ))
        }

        fn invalid_length(len: usize, expected: &dyn de::Expected) -> Self {
            ShapeError(format!("expected {expected}, found {len} elements"))
        }

        fn unknown_variant(variant: &str, _expected: &'static [&'static str]) -> Self {
            ShapeError(format!("unknown variant {variant}"))
        }

        fn missing_field(field: &'static str) -> Self {
            ShapeError(format!("missing field {field}"))
        }

        fn duplicate_field(field: &'static str) -> Self {
            ShapeError(format!("duplicate field {field}"))
        }
    }

    /// Methods that read any width of number the way `deserialize_u64` does.
    macro_rules! numbers_via_u64 {
        ($de:lifetime: $($method:ident)*) => {$(
            fn $method<V: Visitor<$de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
                self.deserialize_u64(visitor)
            }
        )*};
    }

    /// Reads a value the browser parsed (`JSON.parse`) into a serde type.
    ///
    /// Each `deserialize_*` exists once per type read, so each checks only for the kind of value
    /// it wants and leaves the rest to one shared error path.
    pub struct JsDeserializer(pub JsValue);

    impl JsDeserializer {
        /// The error for a value of the wrong kind, worded as serde's `invalid_type` is.
        #[cold]
        #[inline(never)]
        fn wrong_kind(&self, expected: &dyn de::Expected) -> ShapeError {
            let kind = kind_of(self.0.clone());
            let unexpected = match &kind {
                Kind::Null => Unexpected::Unit,
                Kind::Bool(b) => Unexpected::Bool(*b),
                Kind::Unsigned(n) => Unexpected::Unsigned(*n),
                Kind::Signed(n) => Unexpected::Signed(*n),
                Kind::Float(n) => Unexpected::Float(*n),
                Kind::Str(s) => Unexpected::Str(s),
                Kind::Array(_) => Unexpected::Seq,
                Kind::Object(_) => Unexpected::Map,
            };
            de::Error::invalid_type(unexpected, expected)
        }

        fn is_object(&self) -> bool {
            self.0.is_object() && !Array::is_array(&self.0)
        }
    }

    impl<'de> de::Deserializer<'de> for JsDeserializer {
        type Error = ShapeError;

        fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
            match kind_of(self.0) {
                Kind::Null => visitor.visit_unit(),
                Kind::Bool(b) => visitor.visit_bool(b),
                Kind::Unsigned(n) => visitor.visit_u64(n),
                Kind::Signed(n) => visitor.visit_i64(n),
                Kind::Float(n) => visitor.visit_f64(n),
                Kind::Str(s) => visitor.visit_string(s),
                Kind::Array(array) => visitor.visit_seq(Elements { array, next: 0 }),
                Kind::Object(object) => visitor.visit_map(Entries::of(object)),
            }
        }

        fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
            match self.0.as_bool() {
                Some(b) => visitor.visit_bool(b),
                None => Err(self.wrong_kind(&visitor)),
            }
        }

        fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
            match kind_of(self.0.clone()) {
                Kind::Unsigned(n) => visitor.visit_u64(n),
                Kind::Signed(n) => visitor.visit_i64(n),
                Kind::Float(n) => visitor.visit_f64(n),
                _ => Err(self.wrong_kind(&visitor)),
            }
        }

        fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
            match self.0.as_string() {
                Some(s) => visitor.visit_string(s),
                None => Err(self.wrong_kind(&visitor)),
            }
        }

        fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
            if Array::is_array(&self.0) {
                visitor.visit_seq(Elements {
                    array: Array::from(&self.0),
                    next: 0,
                })
            } else {
                Err(self.wrong_kind(&visitor))
            }
        }

        fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
            if self.is_object() {
                visitor.visit_map(Entries::of(Object::from(self.0)))
            } else {
                Err(self.wrong_kind(&visitor))
            }
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            _fields: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, ShapeError> {
            self.deserialize_map(visitor)
        }

        fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
            if self.0.is_null() || self.0.is_undefined() {
                visitor.visit_none()
            } else {
                visitor.visit_some(self)
            }
        }

        fn deserialize_newtype_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            visitor: V,
        ) -> Result<V::Value, ShapeError> {
            visitor.visit_newtype_struct(self)
        }

        /// Unit variants only, written as their name: the only enums on the wire.
        fn deserialize_enum<V: Visitor<'de>>(
            self,
            _name: &'static str,
            _variants: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, ShapeError> {
            match self.0.as_string() {
                Some(variant) => visitor.visit_enum(variant.into_deserializer()),
                None => Err(self.wrong_kind(&visitor)),
            }
        }

        /// A field the type does not know: nothing to read.
        fn deserialize_ignored_any<V: Visitor<'de>>(
            self,
            visitor: V,
        ) -> Result<V::Value, ShapeError> {
            visitor.visit_unit()
        }

        serde::forward_to_deserialize_any! {
            i128 u128 char bytes byte_buf unit unit_struct tuple tuple_struct
        }

        // The numbers JSON has are all f64; each width's visitor checks its own range.
        numbers_via_u64! { 'de:
            deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
            deserialize_u8 deserialize_u16 deserialize_u32 deserialize_f32 deserialize_f64
        }

        fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ShapeError> {
            self.deserialize_string(v)
        }
        fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ShapeError> {
            self.deserialize_string(v)
        }
    }

    struct Elements {
        array: Array,
        next: u32,
    }

    impl<'de> de::SeqAccess<'de> for Elements {
        type Error = ShapeError;

        fn next_element_seed<T: DeserializeSeed<'de>>(
            &mut self,
            seed: T,
        ) -> Result<Option<T::Value>, ShapeError> {
            if self.next >= self.array.length() {
                return Ok(None);
            }
            let element = self.array.get(self.next);
            self.next += 1;
            seed.deserialize(JsDeserializer(element)).map(Some)
        }

        fn size_hint(&self) -> Option<usize> {
            Some(self.array.length().saturating_sub(self.next) as usize)
        }
    }

    struct Entries {
        object: Object,
        keys: Array,
        next: u32,
    }

    impl Entries {
        fn of(object: Object) -> Self {
            Entries {
                keys: Object::keys(&object),
                object,
                next: 0,
            }
        }
    }

    impl<'de> de::MapAccess<'de> for Entries {
        type Error = ShapeError;

        fn next_key_seed<K: DeserializeSeed<'de>>(
            &mut self,
            seed: K,
        ) -> Result<Option<K::Value>, ShapeError> {
            if self.next >= self.keys.length() {
                return Ok(None);
            }
            let key = self.keys.get(self.next).as_string().unwrap_or_default();
            seed.deserialize(key.into_deserializer()).map(Some)
        }

        fn next_value_seed<V: DeserializeSeed<'de>>(
            &mut self,
            seed: V,
        ) -> Result<V::Value, ShapeError> {
            let key = self.keys.get(self.next);
            self.next += 1;
            let value = Reflect::get(&self.object, &key).unwrap_or(JsValue::UNDEFINED);
            seed.deserialize(JsDeserializer(value))
        }
    }
}
