//! Purchase rows: matched to customers by ID, phone or WeChat ID; an order
//! line already in the book (same order and SKU) is left alone, so the same
//! export can be imported twice.

use super::{
    headers, new_report, read_customer_key, refuse_if_invalid, ImportOptions, ImportReport,
    Rejection,
};
use headers::Kind;
use lighttouch_book::changes::Entity;
use lighttouch_book::error::{BookError, Result};
use lighttouch_book::history::{purchase_fields, NewPurchase};
use lighttouch_book::store::Book;
use lighttouch_text::dates::{parse_date, Calendar};
use std::collections::HashSet;

struct PurchaseRow {
    customer_id: String,
    purchase: NewPurchase,
}

pub fn import_purchases(
    book: &mut Book,
    bytes: &[u8],
    options: ImportOptions,
) -> Result<ImportReport> {
    let table = super::decode::read_table(bytes)?;
    let header_at = headers::find_header(Kind::Purchases, &table.rows).ok_or_else(|| {
        BookError::Import(
            "no header row with a product or SKU column (e.g. 商品名称, 货号) in the first 5 lines"
                .into(),
        )
    })?;
    let header = &table.rows[header_at].1;
    let map = headers::map_headers(Kind::Purchases, header);
    let mut report = new_report("purchases", table.encoding, &options, header, &map);
    let mut rows = Vec::new();
    let mut seen_orders: HashSet<(String, String)> = HashSet::new();
    for (line, cells) in &table.rows[header_at + 1..] {
        report.rows += 1;
        let get = |f: &str| {
            map.iter()
                .position(|m| *m == Some(f))
                .and_then(|i| cells.get(i))
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
        };
        match plan_purchase(book, get) {
            Ok(Some(row)) => {
                if let (Some(order), sku) = (
                    &row.purchase.order_ref,
                    row.purchase.sku.clone().unwrap_or_default(),
                ) {
                    if !seen_orders.insert((order.clone(), sku)) {
                        report.already_present += 1;
                        continue;
                    }
                }
                rows.push(row)
            }
            Ok(None) => report.already_present += 1,
            Err(reason) => report.rejections.push(Rejection {
                line: *line,
                reason,
            }),
        }
    }
    report.rejected = report.rejections.len();
    report.created = rows.len();
    if options.dry_run {
        return Ok(report);
    }
    refuse_if_invalid(&report, &options)?;
    book.write(|w| {
        for row in &rows {
            let id = uuid::Uuid::now_v7().to_string();
            w.insert(
                Entity::Purchase,
                &id,
                &purchase_fields(&row.customer_id, &row.purchase, w.now_text()),
            )?;
        }
        Ok(())
    })?;
    report.applied = true;
    Ok(report)
}

/// Ok(None): already in the book.
fn plan_purchase<'a>(
    book: &Book,
    get: impl Fn(&str) -> Option<&'a str>,
) -> std::result::Result<Option<PurchaseRow>, String> {
    let customer_id = read_customer_key(book, get("customer_id"), get("phone"), get("wechat"))?;
    let product = get("product")
        .or(get("sku"))
        .ok_or("no product")?
        .to_string();
    let date = get("purchased_on").ok_or("no purchase date")?;
    let parsed = parse_date(without_time(date)?)?;
    if parsed.text.starts_with("--") || parsed.calendar == Some(Calendar::Lunar) {
        return Err(format!("{date:?} is not a full purchase date"));
    }
    let quantity = match get("quantity") {
        None => 1,
        Some(q) => q
            .parse::<i64>()
            .ok()
            .filter(|q| *q > 0)
            .ok_or(format!("{q:?} is not a quantity"))?,
    };
    let amount_cents = get("amount").map(parse_amount).transpose()?;
    let purchase = NewPurchase {
        purchased_on: parsed.text,
        order_ref: get("order_ref").map(String::from),
        sku: get("sku").map(String::from),
        product,
        category: get("category").map(String::from),
        quantity,
        amount_cents,
        store: get("store").map(String::from),
    };
    if let Some(order) = &purchase.order_ref {
        let exists: bool = book
            .connection()
            .prepare_cached(
                "SELECT 1 FROM purchases WHERE order_ref = ?1 AND coalesce(sku, '') = ?2",
            )
            .and_then(|mut s| {
                s.exists(rusqlite::params![
                    order,
                    purchase.sku.clone().unwrap_or_default()
                ])
            })
            .map_err(|e| e.to_string())?;
        if exists {
            return Ok(None);
        }
    }
    Ok(Some(PurchaseRow {
        customer_id,
        purchase,
    }))
}

/// A POS writes the time of sale after the day ("2026-11-12 14:03:27",
/// "2026/11/12 14:03"); the book keeps the day, and the order number tells
/// one basket from another. A time that is not a time is an error, not noise.
fn without_time(raw: &str) -> std::result::Result<&str, String> {
    let raw = raw.trim();
    let Some((day, time)) = raw.rsplit_once([' ', 'T']) else {
        return Ok(raw);
    };
    let time = time.trim();
    if !time.contains(':') {
        return Ok(raw);
    }
    let is_time = ["%H:%M:%S%.f", "%H:%M:%S", "%H:%M"]
        .iter()
        .any(|f| chrono::NaiveTime::parse_from_str(time, f).is_ok());
    if !is_time {
        return Err(format!("{raw:?} has a time of day that is not one"));
    }
    Ok(day.trim())
}

/// "¥1,280.00", "1280元", "RMB 1280.5" → cents
pub(crate) fn parse_amount(raw: &str) -> std::result::Result<i64, String> {
    let cleaned: String = raw
        .chars()
        .filter(|c| !matches!(c, '¥' | '￥' | ',' | '，' | ' ' | '元') && !c.is_alphabetic())
        .collect();
    let bad = || format!("{raw:?} is not an amount");
    let (whole, frac) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
    if whole.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 2
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let frac: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<2}").parse().map_err(|_| bad())?
    };
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::{parse_amount, without_time};

    #[test]
    fn a_pos_time_of_sale_is_read_and_set_aside() {
        assert_eq!(without_time("2026-11-12 14:03:27"), Ok("2026-11-12"));
        assert_eq!(without_time("2026/11/12 14:03"), Ok("2026/11/12"));
        assert_eq!(without_time("2026-11-12T14:03:27.120"), Ok("2026-11-12"));
        assert_eq!(without_time("2026年11月12日"), Ok("2026年11月12日"));
        assert!(without_time("2026-11-12 25:99").is_err());
    }

    #[test]
    fn amounts_as_receipts_write_them() {
        assert_eq!(parse_amount("¥1,280.00"), Ok(128_000));
        assert_eq!(parse_amount("1280元"), Ok(128_000));
        assert_eq!(parse_amount("RMB 1280.5"), Ok(128_050));
        assert!(parse_amount("abc").is_err());
        assert!(parse_amount("12.345").is_err());
    }
}
