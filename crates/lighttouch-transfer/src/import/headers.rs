//! Column headers as POS and CRM systems name them, in Chinese and English.

use lighttouch_text::fold;

/// Header spellings both customer and purchase exports use.
const PHONE_HEADERS: &[&str] = &[
    "phone",
    "手机",
    "手机号",
    "手机号码",
    "电话",
    "联系电话",
    "电话号码",
    "联系方式",
    "移动电话",
    "会员手机",
    "会员手机号",
    "会员手机号码",
    "会员电话",
    "member phone",
    "mobile",
    "mobile phone",
    "tel",
    "cell",
    "phone number",
];
const WECHAT_HEADERS: &[&str] = &[
    "wechat",
    "微信",
    "微信号",
    "微信id",
    "weixin",
    "wechat id",
    "wx",
];

/// (field, header spellings). Field names are those of `edit --set`, plus a
/// few import-only columns: tags, note, and the purchase columns.
const CUSTOMER_HEADERS: &[(&str, &[&str])] = &[
    (
        "name",
        &[
            "name",
            "姓名",
            "名字",
            "客户姓名",
            "会员姓名",
            "顾客姓名",
            "客户名称",
            "客户",
            "会员",
            "full name",
            "customer name",
            "customer",
        ],
    ),
    ("phone", PHONE_HEADERS),
    (
        "phone2",
        &[
            "phone2",
            "备用电话",
            "其他电话",
            "电话2",
            "手机2",
            "second phone",
        ],
    ),
    ("wechat", WECHAT_HEADERS),
    (
        "email",
        &["email", "邮箱", "电子邮箱", "电子邮件", "e-mail", "mail"],
    ),
    ("gender", &["gender", "性别", "sex"]),
    (
        "birthday",
        &[
            "birthday",
            "生日",
            "出生日期",
            "生日日期",
            "出生年月日",
            "date of birth",
            "dob",
            "birth date",
        ],
    ),
    (
        "birthday_calendar",
        &[
            "birthday_calendar",
            "生日类型",
            "生日历法",
            "历法",
            "农历/公历",
            "公历/农历",
        ],
    ),
    (
        "anniversary",
        &["anniversary", "纪念日", "结婚纪念日", "周年纪念日"],
    ),
    (
        "anniversary_calendar",
        &["anniversary_calendar", "纪念日类型", "纪念日历法"],
    ),
    ("language", &["language", "语言", "偏好语言"]),
    (
        "ring_size",
        &[
            "ring_size",
            "戒圈",
            "手寸",
            "戒指尺寸",
            "戒指号",
            "ring size",
        ],
    ),
    (
        "wrist_size",
        &["wrist_size", "手围", "手腕尺寸", "wrist size"],
    ),
    (
        "clothing_size",
        &[
            "clothing_size",
            "尺码",
            "衣服尺码",
            "服装尺码",
            "size",
            "clothing size",
        ],
    ),
    ("shoe_size", &["shoe_size", "鞋码", "shoe size"]),
    (
        "preferred_metals",
        &[
            "preferred_metals",
            "偏好材质",
            "喜欢的材质",
            "材质偏好",
            "metals",
        ],
    ),
    (
        "preferred_stones",
        &["preferred_stones", "偏好宝石", "宝石偏好", "stones"],
    ),
    (
        "preferred_styles",
        &["preferred_styles", "偏好风格", "风格偏好", "风格", "styles"],
    ),
    (
        "preferred_colors",
        &[
            "preferred_colors",
            "偏好颜色",
            "颜色偏好",
            "colors",
            "colours",
        ],
    ),
    ("budget", &["budget", "预算", "预算档位"]),
    ("stage", &["stage", "阶段", "客户阶段", "5a阶段", "5a"]),
    (
        "consent_marketing",
        &[
            "consent_marketing",
            "营销同意",
            "同意营销",
            "是否同意营销",
            "营销授权",
            "consent",
            "marketing consent",
        ],
    ),
    (
        "consent_source",
        &["consent_source", "同意来源", "授权来源"],
    ),
    (
        "do_not_contact",
        &[
            "do_not_contact",
            "勿扰",
            "请勿联系",
            "免打扰",
            "do not contact",
            "dnc",
        ],
    ),
    (
        "owner",
        &[
            "owner",
            "导购",
            "专属导购",
            "所属导购",
            "服务导购",
            "associate",
        ],
    ),
    ("store", &["store", "门店", "所属门店", "店铺"]),
    ("tags", &["tags", "标签", "客户标签", "会员标签", "tag"]),
    (
        "note",
        &[
            "note",
            "notes",
            "备注",
            "说明",
            "备注信息",
            "remark",
            "remarks",
            "comment",
        ],
    ),
];

const PURCHASE_HEADERS: &[(&str, &[&str])] = &[
    ("customer_id", &["customer_id", "客户id", "客户编号", "id"]),
    ("phone", PHONE_HEADERS),
    ("wechat", WECHAT_HEADERS),
    (
        "purchased_on",
        &[
            "purchased_on",
            "date",
            "日期",
            "购买日期",
            "下单日期",
            "订单日期",
            "下单时间",
            "成交日期",
            "销售日期",
            "交易日期",
            "交易时间",
            "销售时间",
            "成交时间",
            "datetime",
            "date and time",
            "transaction time",
            "purchase date",
            "order date",
        ],
    ),
    (
        "order_ref",
        &[
            "order_ref",
            "订单号",
            "单号",
            "小票号",
            "订单编号",
            "流水号",
            "order",
            "order no",
            "order id",
            "receipt",
        ],
    ),
    (
        "sku",
        &["sku", "货号", "商品编码", "款号", "条码", "item code"],
    ),
    (
        "product",
        &[
            "product",
            "商品",
            "商品名称",
            "品名",
            "产品",
            "产品名称",
            "item",
            "product name",
        ],
    ),
    (
        "category",
        &["category", "品类", "类别", "分类", "商品类别"],
    ),
    ("quantity", &["quantity", "数量", "件数", "qty"]),
    (
        "amount",
        &[
            "amount",
            "金额",
            "实付金额",
            "成交金额",
            "销售金额",
            "实收金额",
            "价格",
            "price",
            "total",
        ],
    ),
    ("store", &["store", "门店", "销售门店", "店铺"]),
];

fn key(header: &str) -> String {
    fold(header)
        .chars()
        .filter(|c| {
            !matches!(
                c,
                ' ' | '_' | '-' | '（' | '）' | '(' | ')' | ':' | '：' | '*'
            )
        })
        .collect()
}

fn lookup(
    table: &'static [(&'static str, &'static [&'static str])],
    header: &str,
) -> Option<&'static str> {
    let k = key(header);
    if k.is_empty() {
        return None;
    }
    table
        .iter()
        .find(|(_, names)| names.iter().any(|n| key(n) == k))
        .map(|(f, _)| *f)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Customers,
    Purchases,
}

/// Field of each column (None: ignored).
pub(crate) fn map_headers(kind: Kind, headers: &[String]) -> Vec<Option<&'static str>> {
    let table = match kind {
        Kind::Customers => CUSTOMER_HEADERS,
        Kind::Purchases => PURCHASE_HEADERS,
    };
    let mut used: Vec<&str> = Vec::new();
    headers
        .iter()
        .map(|h| {
            let f = lookup(table, h).filter(|f| !used.contains(f));
            if let Some(f) = f {
                used.push(f);
            }
            f
        })
        .collect()
}

/// The header row: the first of the opening rows that names the most known
/// columns (exports often start with a title line).
pub(crate) fn find_header(kind: Kind, rows: &[(usize, Vec<String>)]) -> Option<usize> {
    let required: &[&str] = match kind {
        Kind::Customers => &["name", "phone", "wechat"],
        Kind::Purchases => &["product", "sku"],
    };
    rows.iter()
        .take(5)
        .enumerate()
        .map(|(i, (_, cells))| {
            let map = map_headers(kind, cells);
            let known = map.iter().flatten().count();
            let has_required = map.iter().flatten().any(|f| required.contains(f));
            (i, known, has_required)
        })
        .filter(|(_, known, has_required)| *has_required && *known >= 1)
        .max_by_key(|(i, known, _)| (*known, std::cmp::Reverse(*i)))
        .map(|(i, _, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_and_english_headers_map_to_fields() {
        let headers: Vec<String> = [
            "客户姓名",
            "手机号码",
            "微信号",
            "出生日期",
            "標籤",
            "备注",
            "积分",
            "E-mail",
            " Ring Size ",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            map_headers(Kind::Customers, &headers),
            vec![
                Some("name"),
                Some("phone"),
                Some("wechat"),
                Some("birthday"),
                Some("tags"),
                Some("note"),
                None,
                Some("email"),
                Some("ring_size")
            ]
        );
    }

    #[test]
    fn a_title_line_above_the_header_is_skipped() {
        let rows = vec![
            (1, vec!["会员信息导出 2026-11-01".to_string()]),
            (2, vec!["姓名".into(), "手机".into(), "生日".into()]),
            (
                3,
                vec!["张伟".into(), "13800138000".into(), "1990-01-01".into()],
            ),
        ];
        assert_eq!(find_header(Kind::Customers, &rows), Some(1));
    }
}
