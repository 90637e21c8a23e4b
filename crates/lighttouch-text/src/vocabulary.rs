//! The built-in jewellery and fashion vocabulary: canonical names, their
//! groups and synonyms in both scripts and English. A store's own tags live
//! in the book; this list only decides group and synonyms for known words.

use crate::fold::fold;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TagGroup {
    Preference,
    Occasion,
    LifeStage,
    Size,
    Stage,
    Other,
}

impl TagGroup {
    pub fn as_str(self) -> &'static str {
        match self {
            TagGroup::Preference => "preference",
            TagGroup::Occasion => "occasion",
            TagGroup::LifeStage => "life_stage",
            TagGroup::Size => "size",
            TagGroup::Stage => "stage",
            TagGroup::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<TagGroup> {
        Some(
            match s.trim().to_lowercase().replace([' ', '-'], "_").as_str() {
                "preference" | "偏好" | "喜好" => TagGroup::Preference,
                "occasion" | "场合" | "場合" | "节日" => TagGroup::Occasion,
                "life_stage" | "人生阶段" | "人生階段" => TagGroup::LifeStage,
                "size" | "尺码" | "尺碼" => TagGroup::Size,
                "stage" | "阶段" | "階段" | "客户层级" => TagGroup::Stage,
                "other" | "其他" => TagGroup::Other,
                _ => return None,
            },
        )
    }
}

pub struct VocabularyEntry {
    pub name: &'static str,
    pub group: TagGroup,
    pub synonyms: &'static [&'static str],
}

macro_rules! vocab {
    ($($group:ident: $name:literal => [$($syn:literal),*];)*) => {
        &[$(VocabularyEntry { name: $name, group: TagGroup::$group, synonyms: &[$($syn),*] }),*]
    };
}

pub const VOCABULARY: &[VocabularyEntry] = vocab! {
    Preference: "珍珠" => ["pearl", "pearls", "珍珠項鍊"];
    Preference: "钻石" => ["diamond", "diamonds", "鑽石", "钻"];
    Preference: "黄金" => ["gold", "足金", "黃金"];
    Preference: "古法金" => ["heritage gold", "古法黄金"];
    Preference: "玫瑰金" => ["rose gold", "18k玫瑰金"];
    Preference: "铂金" => ["platinum", "鉑金", "pt950"];
    Preference: "白金" => ["white gold", "18k白金"];
    Preference: "银饰" => ["silver", "銀飾", "纯银"];
    Preference: "翡翠" => ["jade", "jadeite", "玉"];
    Preference: "和田玉" => ["hetian jade", "nephrite"];
    Preference: "彩宝" => ["gemstone", "coloured gems", "彩寶", "彩色宝石"];
    Preference: "红宝石" => ["ruby", "紅寶石"];
    Preference: "蓝宝石" => ["sapphire", "藍寶石"];
    Preference: "祖母绿" => ["emerald", "祖母綠"];
    Preference: "简约" => ["minimal", "minimalist", "簡約", "极简"];
    Preference: "复古" => ["vintage", "retro", "復古"];
    Preference: "国潮" => ["guochao", "國潮", "中国风"];
    Preference: "轻奢" => ["affordable luxury", "輕奢"];
    Preference: "设计款" => ["designer", "設計款"];
    Preference: "项链" => ["necklace", "項鍊", "吊坠"];
    Preference: "手镯" => ["bangle", "手鐲"];
    Preference: "手链" => ["bracelet", "手鏈"];
    Preference: "耳饰" => ["earrings", "耳環", "耳钉", "耳饰品"];
    Preference: "戒指" => ["ring", "rings", "戒子"];
    Preference: "生肖" => ["zodiac", "生肖款"];
    Occasion: "生日" => ["birthday", "生辰"];
    Occasion: "结婚" => ["wedding", "婚嫁", "結婚", "婚礼"];
    Occasion: "订婚" => ["engagement", "訂婚", "求婚"];
    Occasion: "纪念日" => ["anniversary", "紀念日"];
    Occasion: "情人节" => ["valentine", "valentines", "情人節"];
    Occasion: "七夕" => ["qixi", "chinese valentine"];
    Occasion: "520" => ["5.20", "我爱你"];
    Occasion: "母亲节" => ["mothers day", "mother's day", "母親節"];
    Occasion: "春节" => ["spring festival", "chinese new year", "新年", "春節", "过年"];
    Occasion: "中秋" => ["mid-autumn", "中秋节"];
    Occasion: "圣诞" => ["christmas", "聖誕", "圣诞节"];
    Occasion: "送礼" => ["gift", "gifting", "送禮", "礼物"];
    Occasion: "满月" => ["baby's first month", "滿月", "百日"];
    LifeStage: "情侣" => ["couple", "情侶"];
    LifeStage: "新婚" => ["newlywed", "newlyweds"];
    LifeStage: "宝妈" => ["new mum", "new mom", "寶媽", "妈妈"];
    LifeStage: "备孕" => ["expecting", "備孕", "孕期"];
    LifeStage: "学生" => ["student", "學生"];
    LifeStage: "职场新人" => ["young professional", "職場新人"];
    LifeStage: "退休" => ["retired"];
    LifeStage: "为母亲选购" => ["buying for mother", "為母親選購", "给妈妈买"];
    LifeStage: "为伴侣选购" => ["buying for partner", "為伴侶選購", "给另一半买"];
    Size: "小手寸" => ["small ring size", "petite fingers"];
    Size: "大手寸" => ["large ring size"];
    Size: "小码" => ["petite", "小碼"];
    Size: "大码" => ["plus size", "大碼"];
    Stage: "VIP" => ["vip客户", "贵宾", "貴賓"];
    Stage: "老客" => ["regular", "回头客", "老顧客"];
    Stage: "新客" => ["new customer", "新顾客", "新顧客"];
    Stage: "沉睡" => ["dormant", "lapsed", "沉睡客户"];
};

/// The vocabulary entry whose name or synonym folds to the same text as `name`.
pub fn lookup(name: &str) -> Option<&'static VocabularyEntry> {
    let key = fold(name);
    VOCABULARY
        .iter()
        .find(|e| fold(e.name) == key || e.synonyms.iter().any(|s| fold(s) == key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_resolves_synonyms_and_scripts() {
        assert_eq!(lookup("Pearl").map(|e| e.name), Some("珍珠"));
        assert_eq!(lookup("鑽石").map(|e| e.name), Some("钻石"));
        assert_eq!(lookup("情侶").map(|e| e.name), Some("情侣"));
        assert!(lookup("乔迁").is_none());
    }

    #[test]
    fn no_synonym_belongs_to_two_entries() {
        let mut seen = std::collections::HashMap::new();
        for e in VOCABULARY {
            for word in std::iter::once(&e.name).chain(e.synonyms) {
                if let Some(other) = seen.insert(fold(word), e.name).filter(|o| *o != e.name) {
                    panic!("{word} is in both {other} and {}", e.name);
                }
            }
        }
    }
}
