//! Id newtypes: one type per kind of object, so that a carrier id cannot be passed where a
//! site id is expected. On the wire and in the database each is its plain string (serde and
//! sqlx transparent), so the JSON format and the schema are those of a `String`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(
            Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord,
            Serialize, Deserialize, sqlx::Type, ToSchema,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id `s` (no validation: an unknown id is simply not found).
            pub fn new(s: impl Into<String>) -> $name {
                $name(s.into())
            }
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
            /// The id's text, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> $name {
                $name(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> $name {
                $name(s.to_string())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    )*};
}

id_type! {
    /// A site (`site_...`).
    SiteId;
    /// A door (`door_...`); a door's number within its site is a plain `u16`.
    DoorId;
    /// A carrier (`car_...`).
    CarrierId;
    /// A driver (`drv_...`).
    DriverId;
    /// A unit (`unit_...`).
    UnitId;
    /// A resident (`res_...`).
    ResidentId;
    /// A delivery (`dlv_...`).
    DeliveryId;
    /// An API token's public id (`tok_...`), never its secret.
    TokenId;
    /// A webhook endpoint (`hook_...`).
    WebhookId;
    /// A site's issuer key (`iss_...`).
    IssuerId;
    /// A grant (`grt_...`).
    GrantId;
    /// A carrier's approval at a site (`apr_...`).
    ApprovalId;
    /// A webhook event (`evt_...`): one outbox message, and the `webhook-id` its receiver
    /// deduplicates on.
    EventId;
    /// A resident's notification (`ntf_...`).
    NotificationId;
    /// A portal invitation (`inv_...`).
    InvitationId;
    /// A portal account (`acct_...`).
    AccountId;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_strings_on_the_wire() {
        let id = SiteId::new("site_1");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"site_1\"");
        let back: SiteId = serde_json::from_str("\"site_1\"").unwrap();
        assert_eq!(back, id);
        assert_eq!(id, *"site_1");
    }
}
