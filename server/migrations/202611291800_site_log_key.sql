-- Each site's log key pair (issue 8, item 9): the door masks holder ids in its log with a key
-- derived from the site's X25519 log key; only the server, holding the secret, unmasks them.
-- The secret is stored like issuer seeds (sealed under issuer_key_secret_file when configured).
-- Sites made before this get their pair the first time their record is read.
ALTER TABLE sites ADD COLUMN log_key TEXT;
ALTER TABLE sites ADD COLUMN log_secret TEXT;
