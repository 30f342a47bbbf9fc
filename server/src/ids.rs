//! Id newtypes: one type per kind of object, so that a carrier id cannot be passed where a
//! site id is expected. On the wire and in the database each is its plain string (serde and
//! sqlx transparent), so the JSON format and the schema are those of a `String`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What every id the server makes looks like (`site_01a2511cfb1f3b55c40d`: a kind, then hex),
/// as the OpenAPI document states it for ids in bodies and paths. Ids are not validated
/// against it: one of another shape is simply not found.
pub const ID_PATTERN: &str = r"^[a-z]+_[0-9a-f]+$";

macro_rules! id_type {
    ($($(#[doc = $doc:literal])* $name:ident;)*) => {$(
        $(#[doc = $doc])*
        #[derive(
            Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord,
            Serialize, Deserialize, sqlx::Type,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(String);

        // By hand rather than derived: the derive cannot give a newtype's string a pattern.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let doc: Vec<&str> = [$($doc),*].iter().map(|line| line.trim()).collect();
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::Type::String)
                    .pattern(Some(ID_PATTERN))
                    .description(Some(doc.join("\n")))
                    .into()
            }
        }

        impl ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }

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

    /// The document's pattern matches the ids `new_id` makes, and its schemas carry it.
    #[test]
    fn made_ids_match_the_documented_pattern() {
        use utoipa::PartialSchema;
        let made: SiteId = crate::service::new_id("site");
        let pattern = ID_PATTERN.trim_start_matches('^').trim_end_matches('$');
        let (kind, hex) = pattern.split_once('_').unwrap();
        assert_eq!((kind, hex), ("[a-z]+", "[0-9a-f]+"));
        let (prefix, digits) = made.as_str().split_once('_').unwrap();
        assert!(prefix.bytes().all(|b| b.is_ascii_lowercase()), "{made}");
        assert!(digits.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{made}");
        let schema = serde_json::to_value(SiteId::schema()).unwrap();
        assert_eq!(schema["pattern"], ID_PATTERN);
        assert_eq!(schema["description"], "A site (`site_...`).");
    }
}
