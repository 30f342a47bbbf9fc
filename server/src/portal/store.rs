//! The portal's rows: invitations, accounts, passkeys, sessions and passkey ceremonies.
//!
//! Secrets (invitation links, session cookies, ceremony cookies) are stored as SHA-256
//! hashes only, like API tokens.

use crate::ids::{AccountId, InvitationId, ResidentId, SiteId, TokenId, UnitId};
use crate::store::{Role, Store, StoreError, TokenRow};

type Result<T> = std::result::Result<T, StoreError>;

/// A one-time invitation link.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct InvitationRow {
    /// SHA-256 of the link's secret, hex.
    pub hash: String,
    /// Public id.
    pub id: InvitationId,
    /// The role of the account it makes: `manager` or `resident`.
    pub role: Role,
    /// The site.
    pub site_id: SiteId,
    /// The unit (resident invitations).
    pub unit_id: Option<UnitId>,
    /// The resident record the account will act as (resident invitations).
    pub resident_id: Option<ResidentId>,
    /// The invitee's name.
    pub display_name: String,
    /// Where to send notifications, if given.
    pub email: Option<String>,
    /// The API token that invited (None: the operator's CLI).
    pub created_by: Option<TokenId>,
    /// When it was made.
    pub created_at: i64,
    /// When it stops working.
    pub expires_at: i64,
    /// When it was used (a link works once).
    pub used_at: Option<i64>,
}

/// A person who signs in to the portal.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AccountRow {
    /// Id.
    pub id: AccountId,
    /// The API token whose role and scope the account acts with.
    pub token_id: TokenId,
    /// Name.
    pub display_name: String,
    /// Email for notifications.
    pub email: Option<String>,
    /// The WebAuthn user handle (a UUID).
    pub user_handle: String,
    /// When it was made.
    pub created_at: i64,
    /// The language of its notification emails (`en` or `fr`).
    pub lang: String,
}

/// A signed-in browser.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SessionRow {
    /// SHA-256 of the cookie's secret.
    pub hash: String,
    /// Whose session.
    pub account_id: AccountId,
    /// The synchroniser token every form must carry.
    pub csrf: String,
    /// When it started.
    pub created_at: i64,
    /// When it ends.
    pub expires_at: i64,
}

impl InvitationRow {
    /// Stores a new invitation.
    pub async fn insert(&self, store: &Store) -> Result<()> {
        sqlx::query(
            "INSERT INTO portal_invitations (hash, id, role, site_id, unit_id, resident_id,
             display_name, email, created_by, created_at, expires_at)
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
        )
        .bind(self.hash.clone())
        .bind(self.id.clone())
        .bind(self.role.as_str())
        .bind(self.site_id.clone())
        .bind(self.unit_id.clone())
        .bind(self.resident_id.clone())
        .bind(self.display_name.clone())
        .bind(self.email.clone())
        .bind(self.created_by.clone())
        .bind(self.created_at)
        .bind(self.expires_at)
        .execute(store.pool())
        .await
        .map(|_| ())
    }

    /// The unused, unexpired invitation with this hash.
    pub async fn live(store: &Store, hash: &str, now: i64) -> Result<Option<InvitationRow>> {
        sqlx::query_as::<_, InvitationRow>(
            "SELECT * FROM portal_invitations WHERE hash = $1 AND used_at IS NULL
             AND expires_at > $2",
        )
        .bind(hash.to_string())
        .bind(now)
        .fetch_optional(store.pool())
        .await
    }
}

/// What an accepted invitation creates, in one transaction.
pub struct NewAccount {
    /// The invitation being used.
    pub invitation_hash: String,
    /// The account's API token (role and scope).
    pub token: TokenRow,
    /// The account.
    pub account: AccountRow,
    /// The first passkey: credential id (hex) and the passkey (JSON).
    pub passkey: (String, String),
}

/// Uses the invitation and creates the account, its token and its passkey. False (and nothing
/// written) if the invitation was used or expired meanwhile.
pub async fn create_account(store: &Store, new: &NewAccount, now: i64) -> Result<bool> {
    let mut tx = store.begin().await?;
    let used = sqlx::query(
        "UPDATE portal_invitations SET used_at = $1
         WHERE hash = $2 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(new.invitation_hash.clone())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if used != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    let t = &new.token;
    sqlx::query(
        "INSERT INTO api_tokens (hash, id, role, site_id, carrier_id, driver_id, unit_id,
         resident_id, door_id, label, created_at, expires_at, created_by)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
    )
    .bind(t.hash.clone())
    .bind(t.id.clone())
    .bind(t.role.as_str())
    .bind(t.site_id.clone())
    .bind(t.carrier_id.clone())
    .bind(t.driver_id.clone())
    .bind(t.unit_id.clone())
    .bind(t.resident_id.clone())
    .bind(t.door_id.clone())
    .bind(t.label.clone())
    .bind(t.created_at)
    .bind(t.expires_at)
    .bind(t.created_by.clone())
    .execute(&mut *tx)
    .await?;
    let a = &new.account;
    sqlx::query(
        "INSERT INTO portal_accounts (id, token_id, display_name, email, user_handle, created_at,
         lang) VALUES ($1,$2,$3,$4,$5,$6,$7)",
    )
    .bind(a.id.clone())
    .bind(a.token_id.clone())
    .bind(a.display_name.clone())
    .bind(a.email.clone())
    .bind(a.user_handle.clone())
    .bind(a.created_at)
    .bind(a.lang.clone())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO portal_passkeys (credential_id, account_id, passkey, created_at)
         VALUES ($1,$2,$3,$4)",
    )
    .bind(new.passkey.0.clone())
    .bind(a.id.clone())
    .bind(new.passkey.1.clone())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

impl AccountRow {
    /// The account with this id.
    pub async fn get(store: &Store, id: &AccountId) -> Result<Option<AccountRow>> {
        sqlx::query_as::<_, AccountRow>("SELECT * FROM portal_accounts WHERE id = $1")
            .bind(id.clone())
            .fetch_optional(store.pool())
            .await
    }

    /// The accounts acting as residents of `unit`, for notifications by email.
    pub async fn emails_of_resident(
        store: &Store,
        resident_id: &ResidentId,
    ) -> Result<Vec<String>> {
        let rows: Vec<(Option<String>,)> = sqlx::query_as(
            "SELECT a.email FROM portal_accounts a JOIN api_tokens t ON t.id = a.token_id
             WHERE t.resident_id = $1 AND t.revoked_at IS NULL",
        )
        .bind(resident_id.clone())
        .fetch_all(store.pool())
        .await?;
        Ok(rows.into_iter().filter_map(|(e,)| e).collect())
    }

    /// Sets the account's notification email (None: no email) and the language it is
    /// written in.
    pub async fn set_email(
        store: &Store,
        id: &AccountId,
        email: Option<&str>,
        lang: &str,
    ) -> Result<()> {
        sqlx::query("UPDATE portal_accounts SET email = $1, lang = $2 WHERE id = $3")
            .bind(email.map(str::to_string))
            .bind(lang.to_string())
            .bind(id.clone())
            .execute(store.pool())
            .await
            .map(|_| ())
    }
}

/// The account and stored passkey (JSON) of a credential id (hex).
pub async fn passkey(store: &Store, credential_id: &str) -> Result<Option<(AccountId, String)>> {
    sqlx::query_as("SELECT account_id, passkey FROM portal_passkeys WHERE credential_id = $1")
        .bind(credential_id.to_string())
        .fetch_optional(store.pool())
        .await
}

/// Every stored passkey (JSON) of an account.
pub async fn passkeys_of(store: &Store, account_id: &AccountId) -> Result<Vec<String>> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT passkey FROM portal_passkeys WHERE account_id = $1")
            .bind(account_id.clone())
            .fetch_all(store.pool())
            .await?;
    Ok(rows.into_iter().map(|(p,)| p).collect())
}

/// Replaces a stored passkey (its signature counter moved).
pub async fn update_passkey(store: &Store, credential_id: &str, passkey: &str) -> Result<()> {
    sqlx::query("UPDATE portal_passkeys SET passkey = $1 WHERE credential_id = $2")
        .bind(passkey.to_string())
        .bind(credential_id.to_string())
        .execute(store.pool())
        .await
        .map(|_| ())
}

impl SessionRow {
    /// Stores a new session.
    pub async fn insert(&self, store: &Store) -> Result<()> {
        sqlx::query(
            "INSERT INTO portal_sessions (hash, account_id, csrf, created_at, expires_at)
             VALUES ($1,$2,$3,$4,$5)",
        )
        .bind(self.hash.clone())
        .bind(self.account_id.clone())
        .bind(self.csrf.clone())
        .bind(self.created_at)
        .bind(self.expires_at)
        .execute(store.pool())
        .await
        .map(|_| ())
    }

    /// The unexpired session with this hash.
    pub async fn live(store: &Store, hash: &str, now: i64) -> Result<Option<SessionRow>> {
        sqlx::query_as::<_, SessionRow>(
            "SELECT * FROM portal_sessions WHERE hash = $1 AND expires_at > $2",
        )
        .bind(hash.to_string())
        .bind(now)
        .fetch_optional(store.pool())
        .await
    }

    /// Ends the session with this hash (sign-out); also forgets sessions that expired.
    pub async fn end(store: &Store, hash: &str, now: i64) -> Result<()> {
        sqlx::query("DELETE FROM portal_sessions WHERE hash = $1 OR expires_at <= $2")
            .bind(hash.to_string())
            .bind(now)
            .execute(store.pool())
            .await
            .map(|_| ())
    }
}

/// Stores a passkey ceremony's server state (JSON) under the hash of its cookie.
pub async fn put_ceremony(
    store: &Store,
    hash: &str,
    kind: &str,
    invitation_hash: Option<&str>,
    state: &str,
    expires_at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO portal_ceremonies (hash, kind, invitation_hash, state, expires_at)
         VALUES ($1,$2,$3,$4,$5)",
    )
    .bind(hash.to_string())
    .bind(kind.to_string())
    .bind(invitation_hash.map(str::to_string))
    .bind(state.to_string())
    .bind(expires_at)
    .execute(store.pool())
    .await
    .map(|_| ())
}

/// Takes (reads and deletes: a ceremony finishes once) an unexpired ceremony of `kind`:
/// its invitation hash and state.
pub async fn take_ceremony(
    store: &Store,
    hash: &str,
    kind: &str,
    now: i64,
) -> Result<Option<(Option<String>, String)>> {
    let row: Option<(Option<String>, String)> = sqlx::query_as(
        "DELETE FROM portal_ceremonies WHERE hash = $1 AND kind = $2 AND expires_at > $3
         RETURNING invitation_hash, state",
    )
    .bind(hash.to_string())
    .bind(kind.to_string())
    .bind(now)
    .fetch_optional(store.pool())
    .await?;
    sqlx::query("DELETE FROM portal_ceremonies WHERE expires_at <= $1")
        .bind(now)
        .execute(store.pool())
        .await?;
    Ok(row)
}

/// Counts a passkey ceremony from `client` at `now` if fewer than `limit` were counted in the
/// minute before; false (and nothing counted) if the client is over the limit. Every process
/// counts in the same table; two processes answering the same client in the same instant may
/// each let one more through (a bound on work, not a lock: the passkey is what stops guessing).
pub async fn take_attempt(store: &Store, client: &str, limit: i64, now: i64) -> Result<bool> {
    // What is older than a minute no longer counts anywhere.
    sqlx::query("DELETE FROM portal_attempts WHERE at <= $1")
        .bind(now - 60)
        .execute(store.pool())
        .await?;
    let (recent,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM portal_attempts WHERE client = $1 AND at > $2")
            .bind(client.to_string())
            .bind(now - 60)
            .fetch_one(store.pool())
            .await?;
    if recent >= limit {
        return Ok(false);
    }
    sqlx::query("INSERT INTO portal_attempts (client, at) VALUES ($1, $2)")
        .bind(client.to_string())
        .bind(now)
        .execute(store.pool())
        .await?;
    Ok(true)
}
