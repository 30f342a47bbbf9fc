//! The rows a grant request needs besides its site's facts (the caller's token, its driver,
//! the delivery), kept in memory after their first read instead of read for every grant.
//!
//! None of them is trusted on its own. The group commit confirms in the grant's own
//! transaction that the token and its driver are still live (`Store::group_facts_tx`; on
//! PostgreSQL the same check in `porter_commit_grants`) and claims the delivery's grant bound under its row lock (open, not entered, below the
//! bound), so a grant decided on a cached row that changed since, in this process or another
//! one or by hand, is never committed: it is decided again on rows read afresh, and so is every
//! refusal decided on cached rows (see `Service::issue_grant`). What the commit does not
//! re-check never changes once written: a token's role and scope, a driver's carrier and
//! holder key, a delivery's site, unit, carrier, window and package.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use super::{now, sha256_hex, Code, Error, Kind, Principal, Result, Role, Service};
use crate::ids::{DeliveryId, DriverId, TokenId};
use crate::store::{DeliveryRow, DriverRow, TokenRow};

/// Rows kept per kind before the map is emptied (a bound on memory, not a tuning knob: a
/// miss costs one read).
const CAPACITY: usize = 65_536;

/// Rows of one kind by key, at most [`CAPACITY`].
#[derive(Debug)]
pub(crate) struct Rows<K, V> {
    rows: Mutex<HashMap<K, Arc<V>>>,
}

impl<K, V> Default for Rows<K, V> {
    fn default() -> Self {
        Rows { rows: Mutex::new(HashMap::new()) }
    }
}

impl<K: Eq + Hash + Clone, V> Rows<K, V> {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<K, Arc<V>>> {
        self.rows.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The row kept under `key`, if any.
    pub fn get(&self, key: &K) -> Option<Arc<V>> {
        self.map().get(key).cloned()
    }

    /// Keeps `row` under `key` (replacing an older read).
    pub fn keep(&self, key: K, row: V) -> Arc<V> {
        let row = Arc::new(row);
        let mut rows = self.map();
        if rows.len() >= CAPACITY {
            rows.clear();
        }
        rows.insert(key, row.clone());
        row
    }

    /// Drops every row `gone` selects.
    pub fn forget_where(&self, gone: impl Fn(&V) -> bool) {
        self.map().retain(|_, row| !gone(row));
    }
}

/// The per-grant rows of this process.
#[derive(Debug, Default)]
pub(crate) struct GrantRows {
    /// Live driver tokens by the SHA-256 of the secret.
    pub tokens: Rows<String, TokenRow>,
    /// Drivers by id.
    pub drivers: Rows<DriverId, DriverRow>,
    /// Deliveries by id.
    pub deliveries: Rows<DeliveryId, DeliveryRow>,
}

fn unauthenticated() -> Error {
    Error::new(
        Kind::Unauthenticated,
        Code::Unauthenticated,
        "missing, unknown or revoked API token: send `Authorization: Bearer <token>`",
    )
}

impl Service {
    /// Resolves a bearer token to its principal for a grant request, from this process's
    /// memory when the token was seen before. Only for [`Service::issue_grant`] and
    /// [`Service::replayed_grant`], which confirm the token in the database before anything
    /// is issued, refused or replayed; every other route uses [`Service::authenticate`].
    pub async fn authenticate_for_grant(&self, token: &str) -> Result<Principal> {
        if token.len() > 200 {
            return Err(unauthenticated());
        }
        let hash = sha256_hex(token.as_bytes());
        let tokens = &self.issuing.rows.tokens;
        let now = now();
        if let Some(row) = tokens.get(&hash) {
            if row.expires_at.is_none_or(|at| at > now) {
                return Principal::from_token((*row).clone());
            }
        }
        let row = self.store.token_by_hash(&hash, now).await?.ok_or_else(unauthenticated)?;
        // Only drivers ask for grants; any other role is refused by the route's role gate.
        if row.role == Role::Driver {
            tokens.keep(hash, row.clone());
        }
        Principal::from_token(row)
    }

    /// Confirms in the database that the token of `p` is still live (a principal from
    /// [`Service::authenticate_for_grant`] may rest on a token revoked since); forgets it
    /// otherwise.
    pub(crate) async fn confirm_caller(&self, p: &Principal) -> Result<()> {
        let id = p.token_id();
        let row = self.store.token(id).await?;
        let live =
            row.is_some_and(|r| r.revoked_at.is_none() && r.expires_at.is_none_or(|at| at > now()));
        if live {
            return Ok(());
        }
        self.forget_token(id);
        Err(unauthenticated())
    }

    fn forget_token(&self, id: &TokenId) {
        self.issuing.rows.tokens.forget_where(|row| &row.id == id);
    }

    /// The driver `id`: kept, or read (`fresh`: read, whatever is kept).
    pub(crate) async fn grant_driver(&self, id: &DriverId, fresh: bool) -> Result<Arc<DriverRow>> {
        let drivers = &self.issuing.rows.drivers;
        if let Some(row) = drivers.get(id).filter(|_| !fresh) {
            return Ok(row);
        }
        let row = self.store.driver(id).await?.ok_or_else(|| Error::not_found("driver"))?;
        Ok(drivers.keep(id.clone(), row))
    }

    /// The delivery `id`: kept, or read (`fresh`: read, whatever is kept).
    pub(crate) async fn grant_delivery(
        &self,
        id: &DeliveryId,
        fresh: bool,
    ) -> Result<Arc<DeliveryRow>> {
        let deliveries = &self.issuing.rows.deliveries;
        if let Some(row) = deliveries.get(id).filter(|_| !fresh) {
            return Ok(row);
        }
        let row = self.store.delivery(id).await?.ok_or_else(|| Error::not_found("delivery"))?;
        Ok(deliveries.keep(id.clone(), row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_kept_replaced_and_forgotten() {
        let rows: Rows<u32, &str> = Rows::default();
        assert!(rows.get(&1).is_none());
        rows.keep(1, "old");
        rows.keep(1, "new");
        rows.keep(2, "other");
        assert_eq!(rows.get(&1).as_deref(), Some(&"new"));
        rows.forget_where(|r| *r == "new");
        assert!(rows.get(&1).is_none());
        assert_eq!(rows.get(&2).as_deref(), Some(&"other"));
    }

    #[test]
    fn a_full_map_starts_over_instead_of_growing() {
        let rows: Rows<usize, usize> = Rows::default();
        for n in 0..=CAPACITY {
            rows.keep(n, n);
        }
        assert_eq!(rows.map().len(), 1);
        assert!(rows.get(&CAPACITY).is_some());
    }
}
