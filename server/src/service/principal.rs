//! The authenticated caller: one variant per role, carrying exactly that role's scope.
//!
//! A manager always has its site, a driver its carrier and driver, a resident its site, unit
//! and resident; a combination the roles do not have (a manager without a site, a device with
//! a carrier) cannot be represented, so a scope check is a `match`, never an `Option`
//! comparison. The principal is built once, from the token row, where a row that does not fit
//! its role is refused as an internal error (the store only holds tokens the service made).

use super::{Code, Error, Kind, Result};
use crate::ids::{CarrierId, DoorId, DriverId, ResidentId, SiteId, TokenId, UnitId};
use crate::store::TokenRow;

pub use crate::store::Role;

/// The authenticated caller: a token's id, role and scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// Runs the server.
    Operator {
        /// The token's public id.
        token: TokenId,
    },
    /// The manager of one site.
    Manager {
        /// The token's public id.
        token: TokenId,
        /// The managed site.
        site: SiteId,
    },
    /// A carrier organisation.
    Carrier {
        /// The token's public id.
        token: TokenId,
        /// The carrier.
        carrier: CarrierId,
    },
    /// One driver's phone.
    Driver {
        /// The token's public id.
        token: TokenId,
        /// The driver's carrier.
        carrier: CarrierId,
        /// The driver.
        driver: DriverId,
    },
    /// One resident.
    Resident {
        /// The token's public id.
        token: TokenId,
        /// The resident's site.
        site: SiteId,
        /// The resident's unit.
        unit: UnitId,
        /// The resident.
        resident: ResidentId,
    },
    /// A door controller's uplink.
    Device {
        /// The token's public id.
        token: TokenId,
        /// The door's site.
        site: SiteId,
        /// The door.
        door: DoorId,
    },
}

impl Principal {
    /// The caller of a live token row; an internal error if the row does not fit its role.
    pub fn from_token(row: TokenRow) -> Result<Principal> {
        let inconsistent = |why: &str| {
            tracing::error!(token = %row.id, role = row.role.as_str(), why, "inconsistent token row");
            Error::new(
                Kind::Internal,
                Code::Internal,
                "the server holds this token in an inconsistent form: ask the operator to \
                 revoke it and issue a new one",
            )
        };
        let role = row.role;
        // Which scope fields each role has; any other field set is an inconsistency.
        let has = [
            row.site_id.is_some(),
            row.carrier_id.is_some(),
            row.driver_id.is_some(),
            row.unit_id.is_some(),
            row.resident_id.is_some(),
            row.door_id.is_some(),
        ];
        let expected = match role {
            Role::Operator => [false, false, false, false, false, false],
            Role::Manager => [true, false, false, false, false, false],
            Role::Carrier => [false, true, false, false, false, false],
            Role::Driver => [false, true, true, false, false, false],
            Role::Resident => [true, false, false, true, true, false],
            Role::Device => [true, false, false, false, false, true],
        };
        if has != expected {
            return Err(inconsistent("scope fields do not match the role"));
        }
        // The check above made every field the role needs `Some`.
        let token = row.id;
        Ok(match role {
            Role::Operator => Principal::Operator { token },
            Role::Manager => Principal::Manager { token, site: row.site_id.unwrap_or_default() },
            Role::Carrier => {
                Principal::Carrier { token, carrier: row.carrier_id.unwrap_or_default() }
            }
            Role::Driver => Principal::Driver {
                token,
                carrier: row.carrier_id.unwrap_or_default(),
                driver: row.driver_id.unwrap_or_default(),
            },
            Role::Resident => Principal::Resident {
                token,
                site: row.site_id.unwrap_or_default(),
                unit: row.unit_id.unwrap_or_default(),
                resident: row.resident_id.unwrap_or_default(),
            },
            Role::Device => Principal::Device {
                token,
                site: row.site_id.unwrap_or_default(),
                door: row.door_id.unwrap_or_default(),
            },
        })
    }

    /// The role.
    pub fn role(&self) -> Role {
        match self {
            Principal::Operator { .. } => Role::Operator,
            Principal::Manager { .. } => Role::Manager,
            Principal::Carrier { .. } => Role::Carrier,
            Principal::Driver { .. } => Role::Driver,
            Principal::Resident { .. } => Role::Resident,
            Principal::Device { .. } => Role::Device,
        }
    }

    /// The token's public id (rate limits and idempotency keys are per token).
    pub fn token_id(&self) -> &TokenId {
        match self {
            Principal::Operator { token }
            | Principal::Manager { token, .. }
            | Principal::Carrier { token, .. }
            | Principal::Driver { token, .. }
            | Principal::Resident { token, .. }
            | Principal::Device { token, .. } => token,
        }
    }

    /// Whether this is the manager of `site`.
    pub fn manages(&self, site: &SiteId) -> bool {
        matches!(self, Principal::Manager { site: own, .. } if own == site)
    }

    /// The carrier of a carrier or driver token.
    pub fn carrier(&self) -> Option<&CarrierId> {
        match self {
            Principal::Carrier { carrier, .. } | Principal::Driver { carrier, .. } => Some(carrier),
            _ => None,
        }
    }

    /// The site of a manager, resident or device token.
    pub fn site(&self) -> Option<&SiteId> {
        match self {
            Principal::Manager { site, .. }
            | Principal::Resident { site, .. }
            | Principal::Device { site, .. } => Some(site),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(role: Role) -> TokenRow {
        TokenRow { id: "tok_1".into(), ..TokenRow::of_role(role) }
    }

    #[test]
    fn each_role_carries_its_scope() {
        let manager = TokenRow { site_id: Some("site_1".into()), ..row(Role::Manager) };
        let p = Principal::from_token(manager).unwrap();
        assert!(p.manages(&"site_1".into()) && !p.manages(&"site_2".into()));
        assert_eq!(p.token_id().as_str(), "tok_1");
        let driver = TokenRow {
            carrier_id: Some("car_1".into()),
            driver_id: Some("drv_1".into()),
            ..row(Role::Driver)
        };
        let p = Principal::from_token(driver).unwrap();
        assert_eq!(p.role(), Role::Driver);
        assert_eq!(p.carrier().map(CarrierId::as_str), Some("car_1"));
        assert!(!p.manages(&"site_1".into()));
    }

    #[test]
    fn an_inconsistent_token_row_is_an_internal_error() {
        for bad in [
            row(Role::Manager),
            TokenRow { carrier_id: Some("car_1".into()), ..row(Role::Driver) },
            TokenRow {
                site_id: Some("s".into()),
                carrier_id: Some("c".into()),
                ..row(Role::Manager)
            },
            TokenRow { site_id: Some("s".into()), ..row(Role::Operator) },
        ] {
            // (A stored role outside `Role` fails earlier, where the row is decoded: see the
            // API test `a_stored_role_outside_the_enum_is_an_internal_error`.)
            let e = Principal::from_token(bad).unwrap_err();
            assert_eq!((e.kind, e.code), (Kind::Internal, Code::Internal));
        }
    }
}
