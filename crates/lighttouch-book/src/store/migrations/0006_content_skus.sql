-- The SKUs (POS item codes) an HQ content item stands for, as a JSON list:
-- what ties the pieces HQ promotes to what the store's customers bought.
ALTER TABLE content_items ADD COLUMN skus TEXT NOT NULL DEFAULT '[]';
