-- The portal's passkey ceremonies per client address in the last minute, kept in the database
-- so that every porter process behind a load balancer counts against the same limit.
CREATE TABLE portal_attempts (
    client TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX portal_attempts_client ON portal_attempts (client, at);
CREATE INDEX portal_attempts_at ON portal_attempts (at);
