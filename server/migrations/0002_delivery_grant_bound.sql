-- How many grants a delivery has yielded: issuance stops at a small bound (a phone may lose a
-- grant and ask again, but one delivery must not mint grants for its whole window).
ALTER TABLE deliveries ADD COLUMN grants_issued BIGINT NOT NULL DEFAULT 0;
