//! A realistic, deterministic demo book: the same seed gives the same people.
//! Chinese names in both scripts and some English names, phones, birthdays in
//! both calendars, tags from a jewellery vocabulary, notes, purchases and
//! touchpoints, spread over the past year.

mod vocab;

use chrono::{Datelike, Duration};
use lighttouch_book::changes::Entity;
use lighttouch_book::customers::insert_customer;
use lighttouch_book::error::Result;
use lighttouch_book::history::{purchase_fields, NewPurchase};
use lighttouch_book::notes::insert_note;
use lighttouch_book::store::Book;
use lighttouch_book::tags::ensure_tag;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use vocab::*;

pub mod content;

pub use content::generate_demo_content;

/// Content items a demo book comes with.
const DEMO_CONTENT_ITEMS: usize = 200;

/// SplitMix64: tiny, fast, and the same on every platform and version.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DemoSummary {
    pub customers: usize,
    pub tags: usize,
    pub notes: usize,
    pub purchases: usize,
    pub touchpoints: usize,
}

/// Customers written per transaction: big enough to be fast, small enough to
/// keep the write-ahead log modest.
const BATCH: usize = 2_000;

/// Adds `count` generated customers. Each batch commits on its own.
pub fn generate_demo(book: &mut Book, count: usize, seed: u64) -> Result<DemoSummary> {
    generate_demo_with_progress(book, count, seed, |_| {})
}

pub fn generate_demo_with_progress(
    book: &mut Book,
    count: usize,
    seed: u64,
    mut progress: impl FnMut(usize),
) -> Result<DemoSummary> {
    let mut rng = Rng(seed ^ 0x4c69_6768_7474_6f75);
    let mut summary = DemoSummary::default();
    let mut tag_ids: HashMap<&'static str, String> = HashMap::new();
    let total_weight: u32 = TAGS.iter().map(|(_, w)| w).sum();
    let associate = book.associate()?.or_else(|| Some("demo".into()));
    let store = book.store_name()?;
    let mut done = 0;
    while done < count {
        let n = BATCH.min(count - done);
        book.write(|w| {
            let today = w.now().date_naive();
            for i in done..done + n {
                let person = person(&mut rng, i, seed);
                let mut fields: Vec<(&'static str, Value)> = vec![
                    ("name", Value::String(person.name.clone())),
                    ("gender", Value::String(person.gender.into())),
                    ("phone", Value::String(person.phone.clone())),
                    ("language", Value::String(person.language.into())),
                ];
                if let Some(wx) = &person.wechat {
                    fields.push(("wechat", Value::String(wx.clone())));
                }
                if rng.chance(85) {
                    let year = today.year() - 20 - rng.below(45) as i32;
                    let (m, d) = (1 + rng.below(12) as u32, 1 + rng.below(28) as u32);
                    let lunar = rng.chance(20);
                    let text = if rng.chance(30) {
                        format!("--{m:02}-{d:02}")
                    } else {
                        format!("{year:04}-{m:02}-{d:02}")
                    };
                    fields.push(("birthday", Value::String(text)));
                    if lunar {
                        fields.push(("birthday_calendar", Value::String("lunar".into())));
                    }
                }
                if rng.chance(15) {
                    let year = today.year() - rng.below(20) as i32;
                    let (m, d) = (1 + rng.below(12) as u32, 1 + rng.below(28) as u32);
                    fields.push((
                        "anniversary",
                        Value::String(format!("{year:04}-{m:02}-{d:02}")),
                    ));
                }
                if rng.chance(60) {
                    let ring = 8 + rng.below(12);
                    fields.push(("ring_size", Value::String(ring.to_string())));
                }
                if rng.chance(40) {
                    fields.push((
                        "clothing_size",
                        Value::String((*rng.pick(&["XS", "S", "M", "L", "XL"])).into()),
                    ));
                }
                if rng.chance(50) {
                    let metals = ["黄金", "玫瑰金", "铂金", "白金", "银"];
                    let m = Value::Array(vec![Value::String((*rng.pick(&metals)).into())]);
                    fields.push(("preferred_metals", Value::String(m.to_string())));
                }
                fields.push((
                    "budget",
                    Value::String(
                        (*rng.pick(&["entry", "mid", "mid", "premium", "luxury"])).into(),
                    ),
                ));
                fields.push((
                    "stage",
                    Value::String(
                        (*rng.pick(&["aware", "appeal", "ask", "act", "act", "advocate"])).into(),
                    ),
                ));
                let consent = rng.chance(70);
                fields.push(("consent_marketing", Value::Bool(consent)));
                if consent {
                    fields.push((
                        "consent_source",
                        Value::String((*rng.pick(&["门店纸质表", "企业微信", "小程序"])).into()),
                    ));
                }
                if rng.chance(3) {
                    fields.push(("do_not_contact", Value::Bool(true)));
                }
                let id = insert_customer(w, fields, associate.clone(), store.clone())?;
                summary.customers += 1;

                let mut tags: Vec<&'static str> = Vec::new();
                for _ in 0..1 + rng.below(5) {
                    let mut roll = (rng.next() % u64::from(total_weight)) as u32;
                    let tag = TAGS
                        .iter()
                        .find(|(_, wt)| {
                            if roll < *wt {
                                true
                            } else {
                                roll -= wt;
                                false
                            }
                        })
                        .map_or("珍珠", |(t, _)| *t);
                    if !tags.contains(&tag) {
                        tags.push(tag);
                    }
                }
                for tag in &tags {
                    let tag_id = match tag_ids.get(tag) {
                        Some(t) => t.clone(),
                        None => {
                            let t = ensure_tag(w, tag, None)?.id;
                            tag_ids.insert(tag, t.clone());
                            t
                        }
                    };
                    w.add_tag_link(&id, &tag_id)?;
                }

                let mut bought: Vec<&str> = Vec::new();
                for _ in 0..rng.below(4) {
                    let (product, category, price, _) = *rng.pick(PRODUCTS);
                    let day = today - Duration::days(1 + rng.below(700) as i64);
                    let p = NewPurchase {
                        purchased_on: day.format("%Y-%m-%d").to_string(),
                        order_ref: Some(format!(
                            "SO{}{:06}",
                            day.format("%y%m%d"),
                            rng.below(1_000_000)
                        )),
                        sku: Some(content::sold_sku(
                            PRODUCTS.iter().position(|p| p.0 == product).unwrap_or(0),
                        )),
                        product: product.into(),
                        category: Some(category.into()),
                        quantity: 1,
                        amount_cents: Some(price * 100),
                        store: store.clone(),
                    };
                    let pid = uuid::Uuid::now_v7().to_string();
                    w.insert(
                        Entity::Purchase,
                        &pid,
                        &purchase_fields(&id, &p, w.now_text()),
                    )?;
                    bought.push(product);
                    summary.purchases += 1;
                }

                for _ in 0..rng.below(4) {
                    let template = if person.language == "en" {
                        *rng.pick(NOTES_EN)
                    } else {
                        *rng.pick(NOTES_ZH)
                    };
                    let body = template
                        .replace("{tag}", tags.first().copied().unwrap_or("珍珠"))
                        .replace("{month}", &(1 + rng.below(12)).to_string())
                        .replace("{ring}", &(8 + rng.below(12)).to_string())
                        .replace("{product}", bought.first().copied().unwrap_or("珍珠耳钉"));
                    let at = w.now()
                        - Duration::days(rng.below(365) as i64)
                        - Duration::minutes(rng.below(600) as i64);
                    let at = at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                    insert_note(w, &id, &body, associate.as_deref(), &at)?;
                    summary.notes += 1;
                }

                for _ in 0..rng.below(5) {
                    let at = w.now()
                        - Duration::days(rng.below(180) as i64)
                        - Duration::minutes(rng.below(600) as i64);
                    let kind = *rng.pick(&["outreach", "outreach", "service", "visit", "call"]);
                    w.insert(
                        Entity::Touchpoint,
                        &uuid::Uuid::now_v7().to_string(),
                        &[
                            ("customer_id", Value::String(id.clone())),
                            (
                                "at",
                                Value::String(
                                    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                                ),
                            ),
                            ("channel", Value::String((*rng.pick(CHANNELS)).into())),
                            ("kind", Value::String(kind.into())),
                            (
                                "message",
                                Value::String(if kind == "outreach" {
                                    "新品到店，给您留了一件试戴".into()
                                } else {
                                    "售后回访：佩戴还舒服吗？".into()
                                }),
                            ),
                            (
                                "author",
                                associate.clone().map(Value::String).unwrap_or(Value::Null),
                            ),
                            ("created_at", Value::String(w.now_text())),
                        ],
                    )?;
                    summary.touchpoints += 1;
                }
            }
            Ok(())
        })?;
        done += n;
        progress(done);
    }
    summary.tags = tag_ids.len();
    // A demo book gets a demo HQ catalogue, so suggestions and the daily
    // queue have something to propose (local only: content never syncs up).
    let has_content: bool =
        book.connection()
            .query_row("SELECT EXISTS(SELECT 1 FROM content_items)", [], |r| {
                r.get(0)
            })?;
    if !has_content {
        generate_demo_content(book, DEMO_CONTENT_ITEMS, seed)?;
    }
    Ok(summary)
}

struct Person {
    name: String,
    gender: &'static str,
    phone: String,
    wechat: Option<String>,
    language: &'static str,
}

fn person(rng: &mut Rng, i: usize, seed: u64) -> Person {
    let roll = rng.below(100);
    let gender = if rng.chance(82) { "female" } else { "male" };
    let (name, language, latin) = if roll < 15 {
        let given = *rng.pick(EN_GIVEN);
        let family = *rng.pick(EN_FAMILY);
        (
            format!("{given} {family}"),
            if rng.chance(60) { "en" } else { "zh-Hant" },
            format!("{given}{family}"),
        )
    } else {
        let traditional = roll < 35;
        let (s, t) = *rng.pick(SURNAMES);
        let mut name = String::from(if traditional { t } else { s });
        for _ in 0..1 + usize::from(rng.chance(65)) {
            let (gs, gt) = *rng.pick(GIVEN);
            name.push_str(if traditional { gt } else { gs });
        }
        let latin: String = lighttouch_text::fold(&name)
            .chars()
            .filter_map(lighttouch_text::fold::plain_pinyin)
            .collect();
        (name, if traditional { "zh-Hant" } else { "zh-Hans" }, latin)
    };
    // Distinct phones: a bijection of the index over 10^8 numbers per prefix.
    let prefixes = [
        "138", "139", "136", "135", "186", "188", "158", "150", "177", "199",
    ];
    let prefix = prefixes[(i + seed as usize) % prefixes.len()];
    let tail = ((i as u64 / prefixes.len() as u64).wrapping_mul(48_271) + seed.wrapping_mul(7919))
        % 100_000_000;
    let phone = format!("{prefix}{tail:08}");
    let wechat = rng.chance(60).then(|| {
        if rng.chance(50) {
            format!(
                "{}{}",
                latin.to_lowercase().replace(' ', ""),
                rng.below(1000)
            )
        } else {
            format!("wxid_{:010x}", rng.next() & 0xff_ffff_ffff)
        }
    });
    Person {
        name,
        gender,
        phone,
        wechat,
        language,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_do_not_repeat() {
        let mut rng = Rng(1);
        let mut seen = std::collections::HashSet::new();
        for i in 0..200_000 {
            assert!(seen.insert(person(&mut rng, i, 42).phone), "repeat at {i}");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_people() {
        let names = |seed| {
            let mut rng = Rng(seed);
            (0..50)
                .map(|i| person(&mut rng, i, seed).name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(7), names(7));
        assert_ne!(names(7), names(8));
    }
}
