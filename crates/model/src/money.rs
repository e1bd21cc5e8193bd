/// Formats an amount of US cents for shoppers: `10000` -> `$100.00`, `-250` -> `-$2.50`.
pub fn format_price(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let dollars = abs / 100;
    let mut grouped = String::new();
    let digits = dollars.to_string();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{sign}${grouped}.{:02}", abs % 100)
}

#[cfg(test)]
mod tests {
    use super::format_price;

    #[test]
    fn formats_cents_with_grouping_and_sign() {
        assert_eq!(format_price(0), "$0.00");
        assert_eq!(format_price(5), "$0.05");
        assert_eq!(format_price(10_000), "$100.00");
        assert_eq!(format_price(123_456_789), "$1,234,567.89");
        assert_eq!(format_price(-250), "-$2.50");
        assert_eq!(format_price(i64::MIN), "-$92,233,720,368,547,758.08");
    }
}
