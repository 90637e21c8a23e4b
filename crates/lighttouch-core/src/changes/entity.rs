use crate::error::BookError;

/// Every kind of synced row, with the columns a write may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Customer,
    Tag,
    CustomerTag,
    Note,
    NoteRevision,
    Purchase,
    Touchpoint,
    ContentItem,
    Draft,
    TalkScript,
    FollowUp,
}

impl Entity {
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Customer => "customer",
            Entity::Tag => "tag",
            Entity::CustomerTag => "customer_tag",
            Entity::Note => "note",
            Entity::NoteRevision => "note_revision",
            Entity::Purchase => "purchase",
            Entity::Touchpoint => "touchpoint",
            Entity::ContentItem => "content_item",
            Entity::Draft => "draft",
            Entity::TalkScript => "talk_script",
            Entity::FollowUp => "follow_up",
        }
    }

    pub fn parse(s: &str) -> Option<Entity> {
        Some(match s {
            "customer" => Entity::Customer,
            "tag" => Entity::Tag,
            "customer_tag" => Entity::CustomerTag,
            "note" => Entity::Note,
            "note_revision" => Entity::NoteRevision,
            "purchase" => Entity::Purchase,
            "touchpoint" => Entity::Touchpoint,
            "content_item" => Entity::ContentItem,
            "draft" => Entity::Draft,
            "talk_script" => Entity::TalkScript,
            "follow_up" => Entity::FollowUp,
            _ => return None,
        })
    }

    pub fn table(self) -> &'static str {
        match self {
            Entity::Customer => "customers",
            Entity::Tag => "tags",
            Entity::CustomerTag => "customer_tags",
            Entity::Note => "notes",
            Entity::NoteRevision => "note_revisions",
            Entity::Purchase => "purchases",
            Entity::Touchpoint => "touchpoints",
            Entity::ContentItem => "content_items",
            Entity::Draft => "drafts",
            Entity::TalkScript => "talk_scripts",
            Entity::FollowUp => "follow_ups",
        }
    }

    /// Columns a write may name. Column names are spliced into SQL, so only
    /// names from these lists ever reach a statement.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Entity::Customer => &[
                "name",
                "gender",
                "phone",
                "phone2",
                "wechat",
                "email",
                "birthday",
                "birthday_calendar",
                "anniversary",
                "anniversary_calendar",
                "language",
                "ring_size",
                "wrist_size",
                "clothing_size",
                "shoe_size",
                "preferred_metals",
                "preferred_stones",
                "preferred_styles",
                "preferred_colors",
                "budget",
                "stage",
                "consent_marketing",
                "consent_at",
                "consent_source",
                "do_not_contact",
                "owner",
                "store",
                "created_at",
                "merged_into",
            ],
            Entity::Tag => &["name", "name_key", "tag_group", "synonyms", "created_at"],
            Entity::CustomerTag => &[],
            Entity::Note => &[
                "customer_id",
                "author",
                "created_at",
                "body",
                "edited_at",
                "deleted_at",
            ],
            Entity::NoteRevision => &["note_id", "body", "author", "at"],
            Entity::Purchase => &[
                "customer_id",
                "purchased_on",
                "order_ref",
                "sku",
                "product",
                "category",
                "quantity",
                "amount_cents",
                "currency",
                "store",
                "created_at",
            ],
            Entity::Touchpoint => &[
                "customer_id",
                "at",
                "channel",
                "kind",
                "content_id",
                "message",
                "author",
                "created_at",
            ],
            Entity::ContentItem => &[
                "kind",
                "title",
                "body",
                "tags",
                "category",
                "price_cents",
                "currency",
                "language",
                "valid_from",
                "valid_until",
                "created_at",
                "translations",
            ],
            Entity::Draft => &[
                "customer_id",
                "content_id",
                "language",
                "body",
                "reasons",
                "status",
                "dismiss_reason",
                "created_at",
            ],
            Entity::TalkScript => &[
                "language",
                "purpose",
                "name",
                "body",
                "author",
                "created_at",
                "deleted_at",
            ],
            Entity::FollowUp => &[
                "customer_id",
                "due_on",
                "note",
                "author",
                "created_at",
                "done_at",
            ],
        }
    }

    pub(crate) fn check_column(self, column: &str) -> Result<(), BookError> {
        if self.columns().contains(&column) {
            Ok(())
        } else {
            Err(BookError::invalid(
                column,
                format!("not a field of {}", self.as_str()),
            ))
        }
    }

    pub(crate) fn not_found(self, id: &str) -> BookError {
        match self {
            Entity::Customer => BookError::CustomerNotFound(id.to_string()),
            Entity::Note => BookError::NoteNotFound(id.to_string()),
            other => BookError::InvalidInput(format!("no {} with id {id}", other.as_str())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entity_parses_back_and_fits_a_column_mask() {
        for name in [
            "customer",
            "tag",
            "customer_tag",
            "note",
            "note_revision",
            "purchase",
            "touchpoint",
            "content_item",
            "draft",
            "talk_script",
            "follow_up",
        ] {
            let e = Entity::parse(name).unwrap();
            assert_eq!(e.as_str(), name);
            // `insert_row` keys its statements by a 64-bit set of columns.
            assert!(e.columns().len() <= 64, "{name}");
        }
    }
}
