-- Porter server schema, version 1.
-- Written once for both backends: only BIGINT and TEXT columns (byte strings are lowercase hex),
-- application-made ids (time-ordered text), no dialect-specific defaults or sequences, so SQLite
-- and PostgreSQL hold the very same schema.

CREATE TABLE sites (
    id TEXT PRIMARY KEY,
    site_number BIGINT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    root_key TEXT NOT NULL,
    utc_offset_minutes BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE doors (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites (id),
    door_number BIGINT NOT NULL,
    name TEXT NOT NULL,
    device_key TEXT NOT NULL,
    enrolment TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (site_id, door_number)
);

-- Issuer keys are made and held by the server; the site root certifies them offline.
CREATE TABLE issuers (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites (id),
    public_key TEXT NOT NULL UNIQUE,
    key_id TEXT NOT NULL,
    secret_seed TEXT NOT NULL,
    certificate TEXT,
    epoch BIGINT,
    not_before BIGINT,
    not_after BIGINT,
    -- The next free grant serial. A grant with `uses` entries takes serial .. serial + uses.
    next_serial BIGINT NOT NULL,
    revoked_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX issuers_key_id ON issuers (site_id, key_id);

CREATE TABLE carriers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE approvals (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites (id),
    carrier_id TEXT NOT NULL REFERENCES carriers (id),
    issuer_id TEXT NOT NULL REFERENCES issuers (id),
    doors TEXT NOT NULL,
    max_uses BIGINT NOT NULL,
    max_lifetime_minutes BIGINT NOT NULL,
    revoked_at BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (site_id, carrier_id)
);

CREATE TABLE drivers (
    id TEXT PRIMARY KEY,
    carrier_id TEXT NOT NULL REFERENCES carriers (id),
    holder_key TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    revoked_at BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE units (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites (id),
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (site_id, label)
);

CREATE TABLE residents (
    id TEXT PRIMARY KEY,
    unit_id TEXT NOT NULL REFERENCES units (id),
    display_name TEXT NOT NULL,
    opted_out BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- The tracking number is never stored: only a per-delivery salt and the package commitment.
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites (id),
    carrier_id TEXT NOT NULL REFERENCES carriers (id),
    unit_id TEXT NOT NULL REFERENCES units (id),
    tracking_salt TEXT NOT NULL,
    package TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    window_end BIGINT NOT NULL,
    status TEXT NOT NULL,
    entered_at BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE grants (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites (id),
    delivery_id TEXT NOT NULL REFERENCES deliveries (id),
    driver_id TEXT NOT NULL REFERENCES drivers (id),
    carrier_id TEXT NOT NULL REFERENCES carriers (id),
    issuer_id TEXT NOT NULL REFERENCES issuers (id),
    issuer_key_id TEXT NOT NULL,
    serial BIGINT NOT NULL,
    uses BIGINT NOT NULL,
    doors TEXT NOT NULL,
    not_before BIGINT NOT NULL,
    not_after BIGINT NOT NULL,
    grant_bytes TEXT NOT NULL,
    revoked_at BIGINT,
    issued_at BIGINT NOT NULL,
    UNIQUE (issuer_id, serial)
);
CREATE INDEX grants_match ON grants (site_id, issuer_key_id, serial);

-- What the site root should put on the next door state's deny-list.
CREATE TABLE revocations (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites (id),
    kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    until BIGINT NOT NULL,
    epoch BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE door_states (
    site_id TEXT NOT NULL REFERENCES sites (id),
    sequence BIGINT NOT NULL,
    state TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    grant_fence BIGINT NOT NULL,
    cert_epoch_fence BIGINT NOT NULL,
    uploaded_at BIGINT NOT NULL,
    PRIMARY KEY (site_id, sequence)
);

-- Where the server stands in each door's hash-chained log.
CREATE TABLE audit_chains (
    door_id TEXT PRIMARY KEY REFERENCES doors (id),
    next_sequence BIGINT NOT NULL,
    previous TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE audit_records (
    door_id TEXT NOT NULL REFERENCES doors (id),
    sequence BIGINT NOT NULL,
    record TEXT NOT NULL,
    chain_hash TEXT NOT NULL,
    at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (door_id, sequence)
);

-- One row per admission the server learnt of, by receipt or by log batch, whichever came first.
CREATE TABLE admissions (
    door_id TEXT NOT NULL REFERENCES doors (id),
    sequence BIGINT NOT NULL,
    site_id TEXT NOT NULL,
    record TEXT NOT NULL,
    grant_id TEXT,
    carrier_id TEXT,
    at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (door_id, sequence)
);

CREATE TABLE alarms (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites (id),
    door_id TEXT,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    hash TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    site_id TEXT,
    carrier_id TEXT,
    driver_id TEXT,
    unit_id TEXT,
    resident_id TEXT,
    door_id TEXT,
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE idempotency (
    token_id TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (token_id, idem_key)
);

CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites (id),
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    resident_id TEXT NOT NULL REFERENCES residents (id),
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Webhook deliveries, written in the same transaction as the event they announce.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id),
    event TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    delivered_at BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (delivered_at, next_attempt_at);
