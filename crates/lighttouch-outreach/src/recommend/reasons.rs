//! Why a piece suits a customer, as data (for tests and the UI) and in words
//! an associate understands, in the associate's language. `pitch` gives the
//! customer-facing phrase a draft uses, in the customer's language.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Reason {
    /// A tag or stated preference the piece matches.
    Likes {
        label: String,
    },
    InBudget {
        band: String,
    },
    /// Goes with something they bought (same material or style, another kind of piece).
    GoesWith {
        product: String,
        month: u32,
    },
    /// Customers who bought a piece they own went on to buy this one (the
    /// learned model).
    BuyersAlsoBought {
        product: String,
    },
    /// Buyers of one category in this store often buy the other.
    BoughtTogether {
        had: String,
        category: String,
    },
    Birthday {
        days: i64,
    },
    Anniversary {
        days: i64,
    },
    PurchaseAnniversary {
        product: String,
        years: i32,
        days: i64,
    },
    Festival {
        name: String,
        days: i64,
        tag: Option<String>,
    },
    New {
        days: i64,
    },
    EndsSoon {
        days: i64,
    },
    SizeOnFile {
        size: String,
    },
    Popular,
}

fn in_days(days: i64, lang: &str) -> String {
    match (lang, days) {
        ("en", 0) => "today".into(),
        ("en", 1) => "tomorrow".into(),
        ("en", d) => format!("in {d} days"),
        (_, 0) => "今天".into(),
        (_, 1) => "明天".into(),
        ("zh-Hant", d) => format!("還有 {d} 天"),
        (_, d) => format!("还有 {d} 天"),
    }
}

fn month_name(m: u32) -> &'static str {
    const M: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    M.get(m.wrapping_sub(1) as usize).copied().unwrap_or("")
}

fn band_words(band: &str, lang: &str) -> String {
    let (zh, en) = match band {
        "entry" => ("入门", "entry"),
        "mid" => ("中档", "mid-range"),
        "premium" => ("高档", "premium"),
        "luxury" => ("奢华", "luxury"),
        other => (other, other),
    };
    match lang {
        "en" => en.to_string(),
        "zh-Hant" => crate::recommend::reasons::hant(zh),
        _ => zh.to_string(),
    }
}

/// The few Simplified → Traditional characters these sentences use.
pub(crate) fn hant(s: &str) -> String {
    let s = s
        .replace("联系", "聯繫")
        .replace("跟进", "跟進")
        .replace("标签", "標籤");
    s.chars()
        .map(|c| match c {
            '欢' => '歡',
            '档' => '檔',
            '买' => '買',
            '过' => '過',
            '纪' => '紀',
            '周' => '週',
            '将' => '將',
            '结' => '結',
            '码' => '碼',
            '购' => '購',
            '经' => '經',
            '记' => '記',
            '录' => '錄',
            '里' => '裡',
            '员' => '員',
            '们' => '們',
            '热' => '熱',
            '门' => '門',
            '还' => '還',
            '内' => '內',
            '预' => '預',
            '签' => '簽',
            '对' => '對',
            '这' => '這',
            '给' => '給',
            '刚' => '剛',
            '货' => '貨',
            '标' => '標',
            '为' => '為',
            '与' => '與',
            '节' => '節',
            '请' => '請',
            '联' => '聯',
            '户' => '戶',
            '没' => '沒',
            '进' => '進',
            '发' => '發',
            '务' => '務',
            '营' => '營',
            '销' => '銷',
            '个' => '個',
            '关' => '關',
            '怀' => '懷',
            '许' => '許',
            '访' => '訪',
            '问' => '問',
            '顾' => '顧',
            other => other,
        })
        .collect()
}

impl Reason {
    /// One sentence for the associate.
    pub fn words(&self, lang: &str) -> String {
        let zh = |s: String| if lang == "zh-Hant" { hant(&s) } else { s };
        match (self, lang) {
            (Reason::Likes { label }, "en") => format!("likes {label}"),
            (Reason::Likes { label }, _) => zh(format!("喜欢{label}")),
            (Reason::InBudget { band }, "en") => {
                format!("within the {} budget", band_words(band, lang))
            }
            (Reason::InBudget { band }, _) => {
                zh(format!("在{}预算内", band_words(band, "zh-Hans")))
            }
            (Reason::GoesWith { product, month }, "en") => {
                format!("goes with the {product} bought in {}", month_name(*month))
            }
            (Reason::GoesWith { product, month }, _) => zh(format!("与{month}月买的{product}搭配")),
            (Reason::BuyersAlsoBought { product }, "en") => {
                format!("customers who bought the {product} often buy this too")
            }
            (Reason::BuyersAlsoBought { product }, _) => {
                zh(format!("买过{product}的顾客常再买这款"))
            }
            (Reason::BoughtTogether { had, category }, "en") => {
                format!("buyers of {had} here often add {category}")
            }
            (Reason::BoughtTogether { had, category }, _) => {
                zh(format!("本店买{had}的顾客常再买{category}"))
            }
            (Reason::Birthday { days }, "en") => format!("birthday {}", in_days(*days, lang)),
            (Reason::Birthday { days }, _) => zh(format!("生日{}", in_days(*days, lang))),
            (Reason::Anniversary { days }, "en") => format!("anniversary {}", in_days(*days, lang)),
            (Reason::Anniversary { days }, _) => zh(format!("纪念日{}", in_days(*days, lang))),
            (
                Reason::PurchaseAnniversary {
                    product,
                    years,
                    days,
                },
                "en",
            ) => format!(
                "{years} year{} since the {product}, {}",
                if *years == 1 { "" } else { "s" },
                in_days(*days, lang)
            ),
            (
                Reason::PurchaseAnniversary {
                    product,
                    years,
                    days,
                },
                _,
            ) => zh(format!(
                "买{product}满{years}周年，{}",
                in_days(*days, lang)
            )),
            (Reason::Festival { name, days, tag }, "en") => match tag {
                Some(t) => format!("{name} {}; tagged {t}", in_days(*days, lang)),
                None => format!("{name} {}", in_days(*days, lang)),
            },
            (Reason::Festival { name, days, tag }, _) => match tag {
                Some(t) => zh(format!("{name}{}；标签「{t}」", in_days(*days, lang))),
                None => zh(format!("{name}{}", in_days(*days, lang))),
            },
            (Reason::New { days }, "en") if *days == 0 => "new today".into(),
            (Reason::New { days: 1 }, "en") => "new yesterday".into(),
            (Reason::New { days }, "en") => format!("new, {days} days ago"),
            (Reason::New { days }, _) if *days == 0 => zh("今天刚到货".into()),
            (Reason::New { days }, _) => zh(format!("新品，{days} 天前到货")),
            (Reason::EndsSoon { days }, "en") => format!("campaign ends {}", in_days(*days, lang)),
            (Reason::EndsSoon { days }, _) => zh(format!("活动{}结束", in_days(*days, lang))),
            (Reason::SizeOnFile { size }, "en") => format!("size {size} on file"),
            (Reason::SizeOnFile { size }, _) => zh(format!("已记录尺码 {size}")),
            (Reason::Popular, "en") => "popular in the store".into(),
            (Reason::Popular, _) => zh("本店热门".into()),
        }
    }

    /// The phrase a draft may say to the customer, if this reason is one to say.
    pub fn pitch(&self, lang: &str) -> Option<String> {
        let zh = |s: String| if lang == "zh-Hant" { hant(&s) } else { s };
        Some(match (self, lang) {
            (Reason::Likes { label }, "en") => format!("I remember you like {label}"),
            (Reason::Likes { label }, _) => zh(format!("记得您喜欢{label}")),
            (Reason::GoesWith { product, .. }, "en") => {
                format!("it goes beautifully with your {product}")
            }
            (Reason::GoesWith { product, .. }, _) => zh(format!("正好可以和您的{product}搭配")),
            // The day itself is wished on the day, not announced as coming.
            (Reason::Birthday { days: 0 }, "en") => "it is your birthday today".into(),
            (Reason::Birthday { days: 0 }, _) => zh("今天是您的生日".into()),
            (Reason::Birthday { .. }, "en") => "your birthday is coming up".into(),
            (Reason::Birthday { .. }, _) => zh("您的生日快到了".into()),
            (Reason::Anniversary { days: 0 }, "en") => "today is your anniversary".into(),
            (Reason::Anniversary { days: 0 }, _) => zh("今天是你们的纪念日".into()),
            (Reason::Anniversary { .. }, "en") => "your anniversary is coming up".into(),
            (Reason::Anniversary { .. }, _) => zh("你们的纪念日快到了".into()),
            (Reason::Festival { name, days: 0, .. }, "en") => format!("today is {name}"),
            (Reason::Festival { name, days: 0, .. }, _) => zh(format!("今天是{name}")),
            (Reason::Festival { name, .. }, "en") => format!("{name} is coming"),
            (Reason::Festival { name, .. }, _) => zh(format!("{name}快到了")),
            (Reason::New { .. }, "en") => "it has just arrived".into(),
            (Reason::New { .. }, _) => zh("这是刚到的新品".into()),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_naturally_in_each_language() {
        let r = Reason::Festival {
            name: "七夕".into(),
            days: 7,
            tag: Some("情侣".into()),
        };
        assert_eq!(r.words("zh-Hans"), "七夕还有 7 天；标签「情侣」");
        assert_eq!(r.words("zh-Hant"), "七夕還有 7 天；標籤「情侣」");
        let g = Reason::GoesWith {
            product: "matching ring".into(),
            month: 3,
        };
        assert_eq!(g.words("en"), "goes with the matching ring bought in March");
        assert_eq!(
            Reason::Birthday { days: 6 }.words("en"),
            "birthday in 6 days"
        );
        assert_eq!(Reason::Popular.pitch("en"), None);
        assert_eq!(Reason::New { days: 1 }.words("en"), "new yesterday");
    }
}
