//! A demo HQ catalogue: products named by material and kind, priced by
//! material, some new this week, a few story posts tied to festivals.

use super::vocab::PRODUCTS;
use chrono::{Duration, NaiveDate};
use lighttouch_book::content::ContentImportReport;
use lighttouch_book::error::Result;
use lighttouch_book::store::Book;
use lighttouch_protocol::content::{ContentItem, Translation};
use std::collections::BTreeMap;

/// (material, English, price factor)
pub(crate) const MATERIALS: &[(&str, &str, i64)] = &[
    ("玫瑰金", "Rose gold", 3),
    ("黄金", "Gold", 4),
    ("古法金", "Heritage gold", 6),
    ("铂金", "Platinum", 5),
    ("珍珠", "Pearl", 2),
    ("钻石", "Diamond", 12),
    ("翡翠", "Jade", 8),
    ("银饰", "Silver", 1),
];

/// (kind of piece, English, base price in yuan)
pub(crate) const PIECES: &[(&str, &str, i64)] = &[
    ("项链", "necklace", 900),
    ("手链", "bracelet", 700),
    ("耳饰", "earrings", 500),
    ("戒指", "ring", 800),
    ("手镯", "bangle", 1_400),
];

const STYLES: &[(&str, &str)] = &[
    ("简约", "Minimal"),
    ("复古", "Vintage"),
    ("国潮", "Guochao"),
    ("轻奢", "Luxe"),
];

const STORIES: &[(&str, &str, &str)] = &[
    ("圣诞礼物指南", "Christmas gift guide", "圣诞;送礼"),
    (
        "七夕限定：金色的约定",
        "Qixi: a golden promise",
        "七夕;情侣",
    ),
    (
        "母亲节：把爱戴在身上",
        "Mother's Day: love to wear",
        "母亲节;为母亲选购",
    ),
    ("新年生肖系列", "Zodiac for the new year", "春节;生肖;黄金"),
];

/// The English names of [`PRODUCTS`], in its order.
const PRODUCTS_EN: [&str; 20] = [
    "Pearl studs",
    "Freshwater pearl necklace",
    "South Sea golden pearl pendant",
    "Rose gold bracelet",
    "Rose gold clover necklace",
    "Heritage gold bangle",
    "Heritage gold lucky bead",
    "Gold bean",
    "Zodiac gold pendant",
    "Diamond wedding bands",
    "One-carat diamond ring",
    "Diamond studs",
    "Platinum band",
    "18K white gold threader earrings",
    "Jade peace buckle",
    "Hetian jade bangle",
    "Sapphire ring",
    "Sterling silver bracelet",
    "Guochao cloud earrings",
    "Minimal fine chain",
];

/// `count` items: mostly products, with a story post every 25th.
pub fn catalogue(count: usize, today: NaiveDate, seed: u64) -> Vec<ContentItem> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..count)
        .map(|i| {
            let mut translations = BTreeMap::new();
            if i % 25 == 24 {
                let (title, en, tags) = STORIES[(i / 25) % STORIES.len()];
                translations.insert(
                    "en".to_string(),
                    Translation {
                        title: en.into(),
                        body: None,
                    },
                );
                return ContentItem {
                    id: format!("story-{i:05}"),
                    kind: "story".into(),
                    title: title.into(),
                    body: None,
                    tags: tags.split(';').map(str::to_string).collect(),
                    category: None,
                    price_cents: None,
                    language: Some("zh-Hans".into()),
                    valid_from: Some((today - Duration::days(rng.i64(0..60))).to_string()),
                    valid_until: Some((today + Duration::days(rng.i64(10..120))).to_string()),
                    translations,
                    skus: Vec::new(),
                };
            }
            // The pieces the demo customers bought are HQ's too, by their SKUs.
            if let Some(&(product, category, price, tag)) = PRODUCTS.get(i) {
                if let Some(en) = PRODUCTS_EN.get(i) {
                    translations.insert(
                        "en".to_string(),
                        Translation {
                            title: (*en).into(),
                            body: None,
                        },
                    );
                }
                return ContentItem {
                    id: format!("HQ-{}", sold_sku(i)),
                    kind: "product".into(),
                    title: product.into(),
                    body: None,
                    tags: vec![tag.into(), category.into()],
                    category: Some(category.into()),
                    price_cents: Some(price * 100),
                    language: Some("zh-Hans".into()),
                    valid_from: Some((today - Duration::days(400)).to_string()),
                    valid_until: None,
                    translations,
                    skus: vec![sold_sku(i)],
                };
            }
            let (m, m_en, factor) = MATERIALS[rng.usize(..MATERIALS.len())];
            let (p, p_en, base) = PIECES[rng.usize(..PIECES.len())];
            let (st, st_en) = STYLES[rng.usize(..STYLES.len())];
            // A tenth of the catalogue arrived this week; the rest over the year.
            let age = if rng.u8(..10) == 0 {
                rng.i64(0..7)
            } else {
                rng.i64(7..365)
            };
            translations.insert(
                "en".to_string(),
                Translation {
                    title: format!("{st_en} {} {p_en} No.{i}", m_en.to_lowercase()),
                    body: None,
                },
            );
            ContentItem {
                id: format!("SKU-{i:05}"),
                kind: "product".into(),
                title: format!("{st}{m}{p} {i}号"),
                body: None,
                tags: vec![m.into(), p.into(), st.into()],
                category: Some(p.into()),
                price_cents: Some((base * factor + rng.i64(0..500)) * 100),
                language: Some("zh-Hans".into()),
                valid_from: Some((today - Duration::days(age)).to_string()),
                valid_until: None,
                translations,
                skus: Vec::new(),
            }
        })
        .collect()
}

const _: () = assert!(PRODUCTS_EN.len() == PRODUCTS.len());

/// The SKU the demo's purchases give the `i`th of [`PRODUCTS`].
pub(crate) fn sold_sku(i: usize) -> String {
    format!("SKU-{:04}", i + 1000)
}

/// Adds a demo HQ catalogue of `count` items (local, as if synced).
pub fn generate_demo_content(
    book: &mut Book,
    count: usize,
    seed: u64,
) -> Result<ContentImportReport> {
    let today = book.now().date_naive();
    book.store_content(&catalogue(count, today, seed))
}
