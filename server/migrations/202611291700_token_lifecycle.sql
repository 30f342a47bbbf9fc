-- Tokens expire and name who made them; a carrier's phones prove their holder key on a
-- one-time challenge before a driver is registered.
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE api_tokens ADD COLUMN created_by TEXT;
CREATE TABLE driver_challenges (
    challenge TEXT PRIMARY KEY,
    carrier_id TEXT NOT NULL REFERENCES carriers (id),
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
