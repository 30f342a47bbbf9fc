-- The language a portal account's notification emails are written in ('en' or 'fr'): the
-- browser's when the account was made, then what the person picks in their settings.
ALTER TABLE portal_accounts ADD COLUMN lang TEXT NOT NULL DEFAULT 'en';
