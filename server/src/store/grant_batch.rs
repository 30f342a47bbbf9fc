//! The statements of a group commit of grants (`service::grant_writer`): on SQLite several
//! grants in one transaction, their rows in one multi-row insert; on PostgreSQL the whole group
//! in one statement ([`Store::commit_grant_group`]).

use std::collections::{HashMap, HashSet};

use sqlx::Row;

use super::placeholders::Placeholders;
use super::{failover, GrantRow, Result, Store, Tx};
use crate::ids::{DeliveryId, SiteId, TokenId};

/// Columns of one grant row in [`Store::insert_grants`].
const GRANT_COLUMNS: usize = 14;

/// One grant row as PostgreSQL's `json_to_recordset` reads it in [`Store::insert_grants`]
/// (the field names are the columns').
#[derive(serde::Serialize)]
struct JsonGrantRow<'a> {
    id: &'a str,
    site_id: &'a str,
    delivery_id: &'a str,
    driver_id: &'a str,
    carrier_id: &'a str,
    issuer_id: &'a str,
    issuer_key_id: &'a str,
    serial: i64,
    uses: i64,
    doors: String,
    not_before: i64,
    not_after: i64,
    grant_bytes: &'a str,
    issued_at: i64,
}

impl<'a> From<&'a GrantRow> for JsonGrantRow<'a> {
    fn from(r: &'a GrantRow) -> Self {
        JsonGrantRow {
            id: r.id.as_str(),
            site_id: r.site_id.as_str(),
            delivery_id: r.delivery_id.as_str(),
            driver_id: r.driver_id.as_str(),
            carrier_id: r.carrier_id.as_str(),
            issuer_id: r.issuer_id.as_str(),
            issuer_key_id: &r.issuer_key_id,
            serial: r.serial,
            uses: r.uses,
            doors: r.doors.to_text(),
            not_before: r.not_before,
            not_after: r.not_after,
            grant_bytes: &r.grant_bytes,
            issued_at: r.issued_at,
        }
    }
}

/// One grant of a group committed by [`Store::commit_grant_group`].
#[derive(Clone, Debug)]
pub struct GroupGrant<'a> {
    /// Its row, serial and sealed bytes included.
    pub row: &'a GrantRow,
    /// The calling driver's token (confirmed live in the commit).
    pub caller: &'a TokenId,
    /// The version of the site's facts the grant was decided on.
    pub site_version: i64,
    /// The request's idempotency key, if it sent one: (key, request hash, the answer stored
    /// under the key if the grant is issued).
    pub idempotency: Option<(&'a str, &'a str, String)>,
}

/// What became of one grant of a group ([`Store::commit_grant_group`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupOutcome {
    /// Stored and committed.
    Issued,
    /// Its delivery is closed, entered or at its bound (read under the delivery's row lock).
    Exhausted,
    /// Its idempotency key was taken by another request.
    KeyTaken,
    /// Its site's facts changed after it was decided, or its token or driver is no longer live.
    Stale,
}

/// One grant of a group as `porter_commit_grants` reads it (the fields are the attributes of
/// the type `porter_pending_grant`, migration 202612071600).
#[derive(serde::Serialize)]
struct JsonGroupGrant<'a> {
    n: usize,
    caller: &'a str,
    site_version: i64,
    idem_key: Option<&'a str>,
    request_hash: Option<&'a str>,
    answer: Option<&'a str>,
    #[serde(flatten)]
    row: JsonGrantRow<'a>,
}

impl Store {
    /// Commits `group` on PostgreSQL in one statement in autocommit (the function
    /// `porter_commit_grants`, whose migration says what it checks and in which order): one
    /// round trip, and the deliveries' row locks held only for its duration. Returns when the
    /// statement's transaction has committed (sqlx reads the answer up to PostgreSQL's
    /// ReadyForQuery, sent after the commit), with each grant's outcome in `group`'s order; an
    /// error commits nothing.
    pub async fn commit_grant_group(
        &self,
        group: &[GroupGrant<'_>],
        now: i64,
        bound: i64,
    ) -> Result<Vec<GroupOutcome>> {
        let json: Vec<JsonGroupGrant<'_>> = group
            .iter()
            .enumerate()
            .map(|(n, g)| JsonGroupGrant {
                n,
                caller: g.caller.as_str(),
                site_version: g.site_version,
                idem_key: g.idempotency.as_ref().map(|i| i.0),
                request_hash: g.idempotency.as_ref().map(|i| i.1),
                answer: g.idempotency.as_ref().map(|i| i.2.as_str()),
                row: JsonGrantRow::from(g.row),
            })
            .collect();
        let json = serde_json::to_string(&json).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        let mut conn = failover::acquire(self.pool()).await?;
        let rows = sqlx::query(
            "SELECT pending, outcome FROM porter_commit_grants($1::json, $2, $3) ORDER BY pending",
        )
        .bind(json)
        .bind(now)
        .bind(bound)
        .fetch_all(&mut *conn)
        .await?;
        let mut outcomes = vec![None; group.len()];
        for row in rows {
            let n: i64 = row.try_get("pending")?;
            let outcome = match row.try_get::<String, _>("outcome")?.as_str() {
                "issued" => GroupOutcome::Issued,
                "exhausted" => GroupOutcome::Exhausted,
                "key_taken" => GroupOutcome::KeyTaken,
                "stale" => GroupOutcome::Stale,
                other => return Err(decode_error(format!("unknown grant outcome {other:?}"))),
            };
            let slot = usize::try_from(n).ok().and_then(|n| outcomes.get_mut(n));
            *slot.ok_or_else(|| decode_error(format!("no grant {n} in the group")))? =
                Some(outcome);
        }
        outcomes
            .into_iter()
            .map(|o| o.ok_or_else(|| decode_error("a grant of the group got no outcome".into())))
            .collect()
    }

    /// Inserts `rows` in one statement: on PostgreSQL the rows as one JSON parameter (one
    /// statement text for any number of rows, see `placeholders`), on SQLite a multi-row
    /// `VALUES` with positional parameters.
    pub async fn insert_grants(tx: &mut Tx, rows: &[GrantRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let places = Placeholders::of(tx);
        if places == Placeholders::Numbered {
            let json =
                serde_json::to_string(&rows.iter().map(JsonGrantRow::from).collect::<Vec<_>>())
                    .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
            sqlx::query(
                "INSERT INTO grants (id, site_id, delivery_id, driver_id, carrier_id, issuer_id,
                 issuer_key_id, serial, uses, doors, not_before, not_after, grant_bytes, issued_at)
                 SELECT id, site_id, delivery_id, driver_id, carrier_id, issuer_id,
                 issuer_key_id, serial, uses, doors, not_before, not_after, grant_bytes, issued_at
                 FROM json_to_recordset($1::json) AS r(id TEXT, site_id TEXT, delivery_id TEXT,
                   driver_id TEXT, carrier_id TEXT, issuer_id TEXT, issuer_key_id TEXT,
                   serial BIGINT, uses BIGINT, doors TEXT, not_before BIGINT, not_after BIGINT,
                   grant_bytes TEXT, issued_at BIGINT)",
            )
            .bind(json)
            .execute(&mut **tx)
            .await?;
            return Ok(());
        }
        let sql = format!(
            "INSERT INTO grants (id, site_id, delivery_id, driver_id, carrier_id, issuer_id,
             issuer_key_id, serial, uses, doors, not_before, not_after, grant_bytes, issued_at)
             VALUES {}",
            places.rows(1, GRANT_COLUMNS, rows.len())
        );
        let mut query = sqlx::query(&sql);
        for r in rows {
            query = query
                .bind(r.id.clone())
                .bind(r.site_id.clone())
                .bind(r.delivery_id.clone())
                .bind(r.driver_id.clone())
                .bind(r.carrier_id.clone())
                .bind(r.issuer_id.clone())
                .bind(r.issuer_key_id.clone())
                .bind(r.serial)
                .bind(r.uses)
                .bind(r.doors.to_text())
                .bind(r.not_before)
                .bind(r.not_after)
                .bind(r.grant_bytes.clone())
                .bind(r.issued_at);
        }
        query.execute(&mut **tx).await?;
        Ok(())
    }

    /// What a group commit confirms before anything else, in one statement, as this
    /// transaction sees it: the change counter of each site of `site_ids` (0 for a site
    /// without one), and which of the driver tokens `token_ids` are live (the token neither
    /// revoked nor expired at `now`, its driver not retired).
    pub async fn group_facts_tx(
        tx: &mut Tx,
        site_ids: &[&SiteId],
        token_ids: &[&TokenId],
        now: i64,
    ) -> Result<(HashMap<SiteId, i64>, HashSet<TokenId>)> {
        let mut versions: HashMap<SiteId, i64> =
            site_ids.iter().map(|s| ((*s).clone(), 0)).collect();
        let mut live = HashSet::new();
        if site_ids.is_empty() && token_ids.is_empty() {
            return Ok((versions, live));
        }
        let places = Placeholders::of(tx);
        let (in_sites, taken) = places.in_list("site_id", 1, site_ids.len());
        let (in_tokens, also) = places.in_list("t.id", 1 + taken, token_ids.len());
        let sql = format!(
            "SELECT 'site' AS kind, site_id AS id, version FROM site_versions
             WHERE {in_sites}
             UNION ALL
             SELECT 'token' AS kind, t.id AS id, 0 AS version
             FROM api_tokens t JOIN drivers d ON d.id = t.driver_id
             WHERE {in_tokens} AND t.revoked_at IS NULL
               AND (t.expires_at IS NULL OR t.expires_at > {}) AND d.revoked_at IS NULL",
            places.list(1 + taken + also, 1)
        );
        let sites: Vec<&str> = site_ids.iter().map(|s| s.as_str()).collect();
        let tokens: Vec<&str> = token_ids.iter().map(|t| t.as_str()).collect();
        let query = places.bind_list(sqlx::query(&sql), &sites);
        let query = places.bind_list(query, &tokens);
        for row in query.bind(now).fetch_all(&mut **tx).await? {
            let (kind, id): (String, String) = (row.try_get("kind")?, row.try_get("id")?);
            if kind == "site" {
                versions.insert(SiteId::from(id), row.try_get("version")?);
            } else {
                live.insert(TokenId::from(id));
            }
        }
        Ok((versions, live))
    }

    /// Gives back a grant claimed by [`Store::claim_grant`] in this transaction (the grant was
    /// refused after its claim).
    pub async fn unclaim_grant(tx: &mut Tx, delivery_id: &DeliveryId) -> Result<()> {
        exec!(
            &mut **tx,
            "UPDATE deliveries SET grants_issued = grants_issued - 1 WHERE id = $1",
            delivery_id.clone()
        )?;
        Ok(())
    }

    /// Reserves an idempotency key for an answer made later in this transaction; false if
    /// the key is taken (a concurrent or earlier request with it won).
    pub async fn reserve_idempotent_tx(
        tx: &mut Tx,
        token_id: &TokenId,
        key: &str,
        request_hash: &str,
        now: i64,
    ) -> Result<bool> {
        let n = exec!(
            &mut **tx,
            "INSERT INTO idempotency (token_id, idem_key, request_hash, status, body, created_at)
             VALUES ($1,$2,$3,0,'',$4) ON CONFLICT (token_id, idem_key) DO NOTHING",
            token_id.clone(),
            key.to_string(),
            request_hash.to_string(),
            now
        )?;
        Ok(n == 1)
    }

    /// Stores the answer of a key reserved by [`Store::reserve_idempotent_tx`].
    pub async fn answer_idempotent_tx(
        tx: &mut Tx,
        token_id: &TokenId,
        key: &str,
        status: i64,
        body: &str,
    ) -> Result<()> {
        exec!(
            &mut **tx,
            "UPDATE idempotency SET status = $1, body = $2 WHERE token_id = $3 AND idem_key = $4",
            status,
            body.to_string(),
            token_id.clone(),
            key.to_string()
        )?;
        Ok(())
    }

    /// Frees a key reserved by [`Store::reserve_idempotent_tx`] whose request was refused.
    pub async fn release_idempotent_tx(tx: &mut Tx, token_id: &TokenId, key: &str) -> Result<()> {
        exec!(
            &mut **tx,
            "DELETE FROM idempotency WHERE token_id = $1 AND idem_key = $2 AND status = 0",
            token_id.clone(),
            key.to_string()
        )?;
        Ok(())
    }
}

/// `porter_commit_grants` answered something this code does not know: a schema and a server of
/// different versions.
fn decode_error(what: String) -> sqlx::Error {
    sqlx::Error::Decode(format!("{what}: is the schema newer than this server?").into())
}
