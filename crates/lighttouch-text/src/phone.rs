//! Phone numbers as POS and CRM exports write them: +86, 0086, spaces, dashes,
//! full-width digits. Mainland mobiles are stored as 11 digits, landlines with
//! their area code, other countries as `+` and digits.

use unicode_normalization::UnicodeNormalization;

pub fn normalize_phone(raw: &str) -> Result<String, String> {
    let folded: String = raw.nfkc().collect();
    let mut digits = String::new();
    let mut plus = false;
    for (i, c) in folded.trim().chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => plus = true,
            ' ' | '-' | '(' | ')' | '.' | '\u{a0}' | '\u{2010}'..='\u{2015}' => {}
            _ => return Err(format!("{raw:?} is not a phone number (it contains {c:?})")),
        }
    }
    if plus && digits.starts_with("86") {
        return mainland(&digits[2..], raw);
    }
    if plus {
        return if (8..=15).contains(&digits.len()) {
            Ok(format!("+{digits}"))
        } else {
            Err(format!("{raw:?} is not a phone number (wrong length)"))
        };
    }
    if let Some(rest) = digits.strip_prefix("0086") {
        return mainland(rest, raw);
    }
    if digits.len() == 13 && digits.starts_with("861") {
        return mainland(&digits[2..], raw);
    }
    if digits.starts_with('0') && (10..=12).contains(&digits.len()) {
        return Ok(digits); // a landline with its area code, e.g. 021 6888 8888
    }
    mainland(&digits, raw)
}

fn mainland(digits: &str, raw: &str) -> Result<String, String> {
    let b = digits.as_bytes();
    let mobile = b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]);
    let landline = digits.starts_with('0') && (10..=12).contains(&digits.len());
    if mobile || landline {
        Ok(digits.to_string())
    } else if digits.is_empty() {
        Err(format!("{raw:?} is not a phone number"))
    } else {
        Err(format!(
            "{raw:?} is not a phone number (expected a mobile like 138 0013 8000, a landline with its area code, or +country code)"
        ))
    }
}

/// 138****8000: enough to recognise, not enough to copy.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_the_forms_exports_use() {
        let cases = [
            ("13800138000", "13800138000"),
            ("138 0013 8000", "13800138000"),
            ("138-0013-8000", "13800138000"),
            ("+86 138 0013 8000", "13800138000"),
            ("+86-13800138000", "13800138000"),
            ("0086 13800138000", "13800138000"),
            ("8613800138000", "13800138000"),
            ("１３８００１３８０００", "13800138000"),
            ("(021) 6888-8888", "02168888888"),
            ("+852 9123 4567", "+85291234567"),
            ("+1 (415) 555-0100", "+14155550100"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_phone(raw).as_deref(), Ok(want), "{raw}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_phone() {
        for raw in [
            "",
            "12345",
            "2380013800",
            "138001380001",
            "13x00138000",
            "+86 2380013800",
            "+1 23",
        ] {
            assert!(normalize_phone(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn masks_the_middle() {
        assert_eq!(mask_phone("13800138000"), "138****8000");
        assert_eq!(mask_phone("+85291234567"), "+85*****4567");
    }
}
