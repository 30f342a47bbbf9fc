-- The web portal: people (not API tokens) sign in with passkeys. An account carries the API
-- token whose role and scope it acts with, so the portal's rules are the API's.
CREATE TABLE portal_invitations (
    hash TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    site_id TEXT NOT NULL REFERENCES sites (id),
    unit_id TEXT,
    resident_id TEXT,
    display_name TEXT NOT NULL,
    email TEXT,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE TABLE portal_accounts (
    id TEXT PRIMARY KEY,
    token_id TEXT NOT NULL REFERENCES api_tokens (id),
    display_name TEXT NOT NULL,
    email TEXT,
    user_handle TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE TABLE portal_passkeys (
    credential_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES portal_accounts (id),
    passkey TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE portal_sessions (
    hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES portal_accounts (id),
    csrf TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE TABLE portal_ceremonies (
    hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    invitation_hash TEXT,
    state TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
-- Notifications emailed to portal accounts: one row per (notification, account), claimed
-- before sending (sent_at 0) and stamped after the relay accepted it.
CREATE TABLE portal_emails (
    notification_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (notification_id, account_id)
);
