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

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_LEN: usize = 8;
/// The longest password accepted, in characters: long passphrases pass, hashing stays bounded.
pub const MAX_PASSWORD_LEN: usize = 128;

/// Why a password was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordError {
    TooShort,
    TooLong,
}

impl fmt::Display for PasswordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PasswordError::TooShort => "A password has at least 8 characters.",
            PasswordError::TooLong => "A password has at most 128 characters.",
        })
    }
}

impl std::error::Error for PasswordError {}

/// Checks a new password's length in characters (not bytes, so every script counts alike). No
/// composition rules: length is what makes a password strong (NIST SP 800-63B).
pub fn check_password(password: &str) -> Result<(), PasswordError> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_LEN {
        Err(PasswordError::TooShort)
    } else if length > MAX_PASSWORD_LEN {
        Err(PasswordError::TooLong)
    } else {
        Ok(())
    }
}

/// Trims and lower-cases an email address and checks its shape (see [`check_email`]): the form
/// the API stores and looks accounts up by.
pub fn normalise_email(raw: &str) -> Result<String, EmailError> {
    let email = raw.trim().to_lowercase();
    check_shape(&email)?;
    Ok(email)
}

/// Trims an email address and checks its shape: one `@`, a non-empty local part, and a domain of
/// dot-separated labels with no spaces or control characters. The case is left as typed: the
/// storefront checks with this and leaves case folding to the server (ours folds with
/// [`normalise_email`]; a legacy server compares as typed, as the old page sent it), which also
/// keeps Unicode case tables out of the storefront's wasm.
pub fn check_email(raw: &str) -> Result<&str, EmailError> {
    let email = raw.trim();
    check_shape(email)?;
    Ok(email)
}

fn check_shape(email: &str) -> Result<(), EmailError> {
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn password_length_rule_counts_characters(password in "\\PC{0,140}") {
            let length = password.chars().count();
            let expected = if length < MIN_PASSWORD_LEN {
                Err(PasswordError::TooShort)
            } else if length > MAX_PASSWORD_LEN {
                Err(PasswordError::TooLong)
            } else {
                Ok(())
            };
            prop_assert_eq!(check_password(&password), expected);
        }

        #[test]
        fn a_normalised_email_is_a_fixed_point(raw in "\\PC{0,40}(@\\PC{0,20})?") {
            if let Ok(email) = normalise_email(&raw) {
                prop_assert_eq!(normalise_email(&email), Ok(email.clone()));
                prop_assert!(email.chars().count() <= MAX_EMAIL_LEN);
                prop_assert_eq!(email.matches('@').count(), 1);
                prop_assert!(!email.chars().any(char::is_whitespace));
            }
        }

        #[test]
        fn well_formed_addresses_pass_lower_cased(
            local in "[A-Za-z0-9._%+-]{1,20}",
            labels in proptest::collection::vec("[A-Za-z0-9]{1,10}", 2..4),
        ) {
            let raw = format!(" {local}@{} ", labels.join("."));
            prop_assert_eq!(normalise_email(&raw), Ok(raw.trim().to_lowercase()));
            prop_assert_eq!(check_email(&raw), Ok(raw.trim()));
        }
    }

    #[test]
    fn passwords_are_measured_in_characters() {
        assert_eq!(check_password("1234567"), Err(PasswordError::TooShort));
        assert_eq!(check_password("12345678"), Ok(()));
        // Eight characters, more than eight bytes.
        assert_eq!(check_password("ünïcørnß"), Ok(()));
        assert_eq!(
            check_password(&"x".repeat(129)),
            Err(PasswordError::TooLong)
        );
    }

    #[test]
    fn normalises_case_and_whitespace() {
        assert_eq!(
            normalise_email("  Ada.Lovelace@Example.COM "),
            Ok("ada.lovelace@example.com".to_owned())
        );
        assert_eq!(
            normalise_email("Ünïcorn@Example.COM"),
            Ok("ünïcorn@example.com".to_owned())
        );
        assert_eq!(
            check_email(" Ünïcorn@Example.COM "),
            Ok("Ünïcorn@Example.COM")
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
            assert_eq!(check_email(bad), Err(EmailError::Malformed), "{bad:?}");
        }
        assert_eq!(normalise_email("   "), Err(EmailError::Empty));
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(normalise_email(&long), Err(EmailError::TooLong));
    }
}
