-- The position the next related item of an incident takes. Positions are
-- never reused, so a listing resumed after items were removed misses no item
-- added since.
ALTER TABLE incident_records ADD COLUMN next_item_seq INTEGER NOT NULL DEFAULT 0;

UPDATE incident_records SET next_item_seq = (
    SELECT COALESCE(MAX(r.seq) + 1, 0) FROM related_items r
    WHERE r.account = incident_records.account AND r.incident_arn = incident_records.arn);
