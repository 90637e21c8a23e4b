//! Folding text so that equal things compare equal: width (Ｚ → z), case,
//! accents (é → e), and traditional → simplified Chinese (張 → 张).

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// The folded form used for every search key and query.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.nfkd() {
        if is_combining_mark(c) {
            continue;
        }
        if c.is_whitespace() || c.is_control() {
            // Control bytes separate keys in the index; never let one through.
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        for l in c.to_lowercase() {
            out.push(l);
        }
    }
    if out.bytes().any(|b| b >= 0x80) {
        fast2s::convert(&out)
    } else {
        out
    }
}

pub fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}' | '\u{20000}'..='\u{2ebef}')
}

/// Readings of characters that, as a family name, are not read the usual way.
const SURNAME_READINGS: &[(char, &str)] = &[
    ('曾', "zeng"),
    ('单', "shan"),
    ('解', "xie"),
    ('仇', "qiu"),
    ('区', "ou"),
    ('查', "zha"),
    ('朴', "piao"),
    ('乐', "yue"),
    ('盖', "ge"),
    ('缪', "miao"),
    ('翟', "zhai"),
    ('覃', "qin"),
    ('秘', "bi"),
    ('召', "shao"),
    ('种', "chong"),
    ('员', "yun"),
    ('长', "zhang"),
    ('尉', "yu"),
    ('万', "wan"),
    ('沈', "shen"),
    ('任', "ren"),
];

/// The plain (toneless) pinyin of one character's most common reading.
pub fn plain_pinyin(c: char) -> Option<&'static str> {
    use pinyin::ToPinyin;
    c.to_pinyin().map(|p| p.plain())
}

/// Pinyin spellings of a folded name: one per reading of the first
/// character (its family-name reading first), each a list of syllables.
/// Latin and digit runs count as one syllable each. Empty when the name has
/// no Chinese characters.
pub fn pinyin_spellings(folded_name: &str) -> Vec<Vec<String>> {
    use pinyin::ToPinyin;
    if !folded_name.chars().any(is_cjk) {
        return Vec::new();
    }
    let mut syllables: Vec<String> = Vec::new();
    let mut run = String::new();
    let mut first_readings: Vec<String> = Vec::new();
    for (i, c) in folded_name.chars().enumerate() {
        if c.is_ascii_alphanumeric() {
            run.push(c);
            continue;
        }
        if !run.is_empty() {
            syllables.push(std::mem::take(&mut run));
        }
        if let Some(p) = c.to_pinyin() {
            if i == 0 {
                if let Some((_, r)) = SURNAME_READINGS.iter().find(|(s, _)| *s == c) {
                    first_readings.push(r.to_string());
                }
                // The usual reading too: 曾 is zeng as a family name, ceng otherwise.
                // Other rare readings are left out: they only add noise (丁 as zheng).
                let usual = p.plain().to_string();
                if !first_readings.contains(&usual) {
                    first_readings.push(usual);
                }
            }
            syllables.push(p.plain().to_string());
        }
    }
    if !run.is_empty() {
        syllables.push(run);
    }
    if syllables.is_empty() {
        return Vec::new();
    }
    let starts_with_han = folded_name
        .chars()
        .next()
        .is_some_and(|c| c.to_pinyin().is_some());
    if !starts_with_han || first_readings.is_empty() {
        return vec![syllables];
    }
    first_readings
        .into_iter()
        .map(|r| {
            let mut s = syllables.clone();
            s[0] = r;
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_script_width_case_and_accents() {
        assert_eq!(fold("張偉"), "张伟");
        assert_eq!(fold("歐陽娜娜"), "欧阳娜娜");
        assert_eq!(fold("ＺＨＡＮＧ Wei"), "zhang wei");
        assert_eq!(fold("  Zoë   Chan "), "zoe chan");
        assert_eq!(fold("a\u{1f}b"), "a b");
    }

    #[test]
    fn pinyin_with_family_name_readings() {
        assert_eq!(pinyin_spellings("张伟"), vec![vec!["zhang", "wei"]]);
        let zeng = pinyin_spellings("曾小贤");
        assert_eq!(zeng[0], vec!["zeng", "xiao", "xian"]);
        assert!(zeng.iter().any(|s| s[0] == "ceng"));
        assert_eq!(pinyin_spellings("单丽")[0], vec!["shan", "li"]);
        assert!(pinyin_spellings("chloe chan").is_empty());
        assert_eq!(pinyin_spellings("王a2"), vec![vec!["wang", "a2"]]);
        assert_eq!(pinyin_spellings("丁薇"), vec![vec!["ding", "wei"]]);
    }
}
