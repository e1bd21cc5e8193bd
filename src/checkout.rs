//! The checkout's shipping form: what the shopper typed, checked field by field before it is
//! sent, and kept across the steps (and a reload) of one checkout attempt.

use serde::{Deserialize, Serialize};
use unishop_model::{FieldError, ShippingAddress};

/// The form as typed, plus the idempotency key of this checkout attempt.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckoutDraft {
    pub name: String,
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub postal_code: String,
    pub country: String,
    /// Made once per attempt, so a double click, a retry or a reload never orders twice.
    pub idempotency_key: String,
}

/// (field, label, longest length) of every field, in the form's order.
pub const FIELDS: [(&str, &str, usize); 6] = [
    ("name", "Full name", 100),
    ("line1", "Address", 200),
    ("line2", "Address line 2 (optional)", 200),
    ("city", "City", 100),
    ("postalCode", "Postal code", 20),
    ("country", "Country", 60),
];

impl CheckoutDraft {
    pub fn from_json(json: &str) -> Self {
        crate::json::from_str(json).unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        crate::json::to_string(self).unwrap_or_default()
    }

    pub fn field(&self, name: &str) -> &str {
        match name {
            "name" => &self.name,
            "line1" => &self.line1,
            "line2" => &self.line2,
            "city" => &self.city,
            "postalCode" => &self.postal_code,
            _ => &self.country,
        }
    }

    pub fn set_field(&mut self, name: &str, value: String) {
        match name {
            "name" => self.name = value,
            "line1" => self.line1 = value,
            "line2" => self.line2 = value,
            "city" => self.city = value,
            "postalCode" => self.postal_code = value,
            _ => self.country = value,
        }
    }

    /// The address to send, or every failing field with a message for the shopper.
    pub fn validate(&self) -> Result<ShippingAddress, Vec<FieldError>> {
        let mut errors = Vec::new();
        for (field, label, max) in FIELDS {
            let value = self.field(field).trim();
            let optional = field == "line2";
            let message = if value.is_empty() && !optional {
                Some(format!("Enter your {}.", label.to_ascii_lowercase()))
            } else if value.chars().count() > max {
                Some(format!("{label} has at most {max} characters."))
            } else if value.chars().any(char::is_control) {
                Some(format!("{label} cannot contain control characters."))
            } else {
                None
            };
            if let Some(message) = message {
                errors.push(FieldError {
                    field: field.to_owned(),
                    message,
                });
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let line2 = self.line2.trim();
        Ok(ShippingAddress {
            name: self.name.trim().to_owned(),
            line1: self.line1.trim().to_owned(),
            line2: (!line2.is_empty()).then(|| line2.to_owned()),
            city: self.city.trim().to_owned(),
            postal_code: self.postal_code.trim().to_owned(),
            country: self.country.trim().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled() -> CheckoutDraft {
        CheckoutDraft {
            name: " Ada Lovelace ".into(),
            line1: "12 St James's Square".into(),
            line2: "  ".into(),
            city: "London".into(),
            postal_code: "SW1Y 4JH".into(),
            country: "United Kingdom".into(),
            idempotency_key: "k".into(),
        }
    }

    #[test]
    fn a_complete_form_becomes_a_trimmed_address() {
        let address = filled().validate().expect("valid");
        assert_eq!(address.name, "Ada Lovelace");
        assert_eq!(address.line2, None);
    }

    #[test]
    fn every_failing_field_is_reported_in_form_order() {
        let mut draft = filled();
        draft.name.clear();
        draft.city = "x".repeat(101);
        draft.country = "U\u{7}K".into();
        let errors = draft.validate().expect_err("invalid");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "city", "country"]);
        assert_eq!(errors[0].message, "Enter your full name.");
    }

    #[test]
    fn field_accessors_cover_every_field() {
        let mut draft = CheckoutDraft::default();
        for (field, _, _) in FIELDS {
            draft.set_field(field, field.to_uppercase());
            assert_eq!(draft.field(field), field.to_uppercase());
        }
        assert_eq!(CheckoutDraft::from_json(&draft.to_json()), draft);
    }
}
