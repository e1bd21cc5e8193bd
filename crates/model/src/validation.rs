use std::fmt;

/// The longest email address accepted (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// Why an email address was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailError {
    Empty,
    TooLong,
    Malformed,
}

impl fmt::Display for EmailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EmailError::Empty => "Enter an email address.",
            EmailError::TooLong => "An email address has at most 254 characters.",
            EmailError::Malformed => "Enter an email address like name@example.com.",
        })
    }
}

impl std::error::Error for EmailError {}

/// Trims and lower-cases an email address and checks its shape: one `@`, a non-empty local part,
/// and a domain of dot-separated labels with no spaces or control characters.
pub fn normalise_email(raw: &str) -> Result<String, EmailError> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Err(EmailError::Empty);
    }
    if email.chars().count() > MAX_EMAIL_LEN {
        return Err(EmailError::TooLong);
    }
    let (local, domain) = email.split_once('@').ok_or(EmailError::Malformed)?;
    let bad_char = |c: char| c.is_whitespace() || c.is_control() || c == '@';
    let labels_ok = domain.contains('.')
        && domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
    if local.is_empty() || local.chars().any(bad_char) || domain.chars().any(bad_char) || !labels_ok
    {
        return Err(EmailError::Malformed);
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        assert_eq!(
            normalise_email("  Ada.Lovelace@Example.COM "),
            Ok("ada.lovelace@example.com".to_owned())
        );
    }

    #[test]
    fn refuses_malformed_addresses() {
        for bad in [
            "a",
            "a@",
            "@b.co",
            "a@b",
            "a@@b.co",
            "a b@c.co",
            "a@b..co",
            "a@-b.co",
            "a\u{0}@b.co",
        ] {
            assert_eq!(normalise_email(bad), Err(EmailError::Malformed), "{bad:?}");
        }
        assert_eq!(normalise_email("   "), Err(EmailError::Empty));
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(normalise_email(&long), Err(EmailError::TooLong));
    }
}
