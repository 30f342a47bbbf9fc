//! The one list of error codes: every `{code, message}` the API answers carries one of these.
//! Clients match on the code (it is stable); the message is for people.

use serde::Serialize;
use utoipa::ToSchema;

/// A stable machine code of an error answer (`code` in `{code, message}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// An object with the same unique value already exists; use the existing one.
    AlreadyExists,
    /// Another upload for this door landed first: send the batch again.
    AuditConflict,
    /// The door signed a different record at this sequence before: alarm raised.
    AuditFork,
    /// The batch skips sequences the server never received: an alarm is raised (409).
    AuditGap,
    /// An audit batch holds too many records: send it in parts.
    BatchTooLarge,
    /// The carrier is not approved at this site.
    CarrierNotApproved,
    /// The issuer certificate has expired: certify the issuer again.
    CertificateExpired,
    /// The certificate's epoch is below the door state's fence: certify again.
    CertificateFenced,
    /// The issuer certificate is not valid yet.
    CertificateNotYetValid,
    /// The database does not answer or is not writable (a failover may be under way): retry
    /// in a moment (the answer carries `Retry-After`) with the same Idempotency-Key.
    DatabaseUnavailable,
    /// The delivery was already entered through a door; no more grants for it.
    DeliveryEntered,
    /// The delivery already yielded its most grants (`MAX_GRANTS_PER_DELIVERY`).
    DeliveryGrantsExhausted,
    /// The delivery is cancelled or closed.
    DeliveryNotOpen,
    /// Deny subject collision.
    DenySubjectCollision,
    /// A requested door is not allowed by the approval or certificate.
    DoorNotAllowed,
    /// The site's stored door state cannot be read; no grant is issued until a manager uploads a new one.
    DoorStateUnreadable,
    /// This driver was revoked; no grant.
    DriverRevoked,
    /// The request needs a JSON body.
    EmptyBody,
    /// The token's role may not call this endpoint.
    Forbidden,
    /// The door state fences grants issued now.
    GrantFenced,
    /// The door state denies this grant.
    GrantRevoked,
    /// The request's headers are too large (refused by the HTTP library).
    HeadersTooLarge,
    /// The HTTP library refused the request for another reason.
    HttpRefused,
    /// A request with this Idempotency-Key is still being processed: retry in a moment.
    IdempotencyInFlight,
    /// This Idempotency-Key was used with another method, path or body: use a fresh key.
    IdempotencyKeyReused,
    /// A request with this key is in flight: retry.
    IdempotencyRace,
    /// The first answer carried a secret and is not kept: revoke the object it made and make another.
    IdempotencySecretWithheld,
    /// The server or its database failed; retry (details only in the log).
    Internal,
    /// The issuer certificate does not decode or verify under the site root.
    InvalidCertificate,
    /// Unknown, used or expired challenge: get a new one from POST /v1/drivers/challenges.
    InvalidChallenge,
    /// The door enrolment does not decode or verify under the site root.
    InvalidEnrolment,
    /// The log head does not verify under the door's key.
    InvalidHead,
    /// A field is not valid hex.
    InvalidHex,
    /// Idempotency-Key must be 1..=200 visible ASCII characters.
    InvalidIdempotencyKey,
    /// The body is not the expected JSON.
    InvalidJson,
    /// A hex field has the wrong length.
    InvalidLength,
    /// max_lifetime_minutes is out of range (1..=1440).
    InvalidLifetime,
    /// Limit must be a number between 1 and 200.
    InvalidLimit,
    /// The path holds characters no Porter id has.
    InvalidPath,
    /// Invalid proof.
    InvalidProof,
    /// The receipt does not verify under the door's key.
    InvalidReceipt,
    /// An audit record does not decode.
    InvalidRecord,
    /// Role must be one of manager, carrier, driver, resident, device.
    InvalidRole,
    /// The door state does not decode or verify under the site root.
    InvalidState,
    /// Strings must not contain NUL characters.
    InvalidText,
    /// tracking_number must be 1..=64 characters.
    InvalidTracking,
    /// The webhook URL is not an accepted target.
    InvalidUrl,
    /// max_uses is out of range (1..=32).
    InvalidUses,
    /// window_end must be after window_start, and the window at most 7 days.
    InvalidWindow,
    /// Zone must be a POSIX TZ rule such as CET-1CEST,M3.5.0,M10.5.0/3 or UTC0.
    InvalidZone,
    /// The server cannot open this site's issuer key: check issuer_key_secret_file.
    IssuerKeyLocked,
    /// No certified issuer for this request: upload a certificate first.
    IssuerNotCertified,
    /// This issuer was revoked; make a new one.
    IssuerRevoked,
    /// lifetime_minutes exceeds the approval or certificate limit.
    LifetimeTooLong,
    /// The request is not valid HTTP/1.1 (refused by the HTTP library).
    MalformedRequest,
    /// The endpoint does not take that method.
    MethodNotAllowed,
    /// /metrics is closed: set metrics_token (PORTER_METRICS_TOKEN) and send it as a bearer token.
    MetricsDisabled,
    /// A field the role or kind needs is absent.
    MissingField,
    /// This carrier may open more than 4 doors here: name at most 4 in `doors`.
    NameTheDoors,
    /// The site root has not signed a door state yet.
    NoDoorState,
    /// Name the doors to open.
    NoDoors,
    /// No such endpoint: see /v1/openapi.json.
    NoSuchEndpoint,
    /// No such object in your scope.
    NotFound,
    /// Grants are issued only within the delivery's window.
    OutsideDeliveryWindow,
    /// The request falls outside the certificate's hours (site local time), or the clock is out of range.
    OutsideHours,
    /// The body is larger than its endpoint's limit (64 KiB; an audit batch of 512 records more).
    PayloadTooLarge,
    /// Too many requests for this token: slow down and retry in a few seconds.
    RateLimited,
    /// Record.
    RecordsNotConsecutive,
    /// A door would refuse this grant.
    RefusedByDoorRules,
    /// The resident refuses in-building delivery; leave the parcel at the entrance.
    ResidentOptedOut,
    /// The certificate does not allow this role (deliveries).
    RoleNotAllowed,
    /// The door state is signed more than 5 minutes ahead of the server's clock.
    StateFromTheFuture,
    /// The door state's sequence is not above the current one.
    StateNotNewer,
    /// The token lacks its scope.
    TokenIncomplete,
    /// A field is too large.
    TooLarge,
    /// A grant opens at most 4 doors.
    TooManyDoors,
    /// uses exceeds the approval or certificate limit.
    TooManyUses,
    /// The unit already has its most residents.
    TooManyResidents,
    /// Too many webhooks.
    TooManyWebhooks,
    /// Records past the signed head: send a batch that ends at the door's head.
    UnanchoredRecords,
    /// No valid API token: send `Authorization: Bearer <token>`.
    Unauthenticated,
    /// The request body could not be read.
    UnreadableBody,
    /// The URL is longer than 64 KiB (refused by the HTTP library).
    UriTooLong,
    /// A public key is not a usable Ed25519 key: generate a fresh one.
    WeakKey,
    /// The log head names another site or door.
    WrongDoor,
    /// The certificate certifies another key than this issuer's.
    WrongIssuer,
    /// The door's enrolment names another log key than the site's.
    WrongLogKey,
    /// The certificate names another site.
    WrongSite,
    /// The certificate's zone is not the site's zone.
    WrongZone,
}

impl Code {
    /// Every code, for the document and the tests.
    pub const ALL: &[Code] = &[
        Code::AlreadyExists,
        Code::AuditConflict,
        Code::AuditFork,
        Code::AuditGap,
        Code::BatchTooLarge,
        Code::CarrierNotApproved,
        Code::CertificateExpired,
        Code::CertificateFenced,
        Code::CertificateNotYetValid,
        Code::DatabaseUnavailable,
        Code::DeliveryEntered,
        Code::DeliveryGrantsExhausted,
        Code::DeliveryNotOpen,
        Code::DenySubjectCollision,
        Code::DoorNotAllowed,
        Code::DoorStateUnreadable,
        Code::DriverRevoked,
        Code::EmptyBody,
        Code::Forbidden,
        Code::GrantFenced,
        Code::GrantRevoked,
        Code::HeadersTooLarge,
        Code::HttpRefused,
        Code::IdempotencyInFlight,
        Code::IdempotencyKeyReused,
        Code::IdempotencyRace,
        Code::IdempotencySecretWithheld,
        Code::Internal,
        Code::InvalidCertificate,
        Code::InvalidChallenge,
        Code::InvalidEnrolment,
        Code::InvalidHead,
        Code::InvalidHex,
        Code::InvalidIdempotencyKey,
        Code::InvalidJson,
        Code::InvalidLength,
        Code::InvalidLifetime,
        Code::InvalidLimit,
        Code::InvalidPath,
        Code::InvalidProof,
        Code::InvalidReceipt,
        Code::InvalidRecord,
        Code::InvalidRole,
        Code::InvalidState,
        Code::InvalidText,
        Code::InvalidTracking,
        Code::InvalidUrl,
        Code::InvalidUses,
        Code::InvalidWindow,
        Code::InvalidZone,
        Code::IssuerKeyLocked,
        Code::IssuerNotCertified,
        Code::IssuerRevoked,
        Code::LifetimeTooLong,
        Code::MalformedRequest,
        Code::MethodNotAllowed,
        Code::MetricsDisabled,
        Code::MissingField,
        Code::NameTheDoors,
        Code::NoDoorState,
        Code::NoDoors,
        Code::NoSuchEndpoint,
        Code::NotFound,
        Code::OutsideDeliveryWindow,
        Code::OutsideHours,
        Code::PayloadTooLarge,
        Code::RateLimited,
        Code::RecordsNotConsecutive,
        Code::RefusedByDoorRules,
        Code::ResidentOptedOut,
        Code::RoleNotAllowed,
        Code::StateFromTheFuture,
        Code::StateNotNewer,
        Code::TokenIncomplete,
        Code::TooLarge,
        Code::TooManyDoors,
        Code::TooManyUses,
        Code::TooManyResidents,
        Code::TooManyWebhooks,
        Code::UnanchoredRecords,
        Code::Unauthenticated,
        Code::UnreadableBody,
        Code::UriTooLong,
        Code::WeakKey,
        Code::WrongDoor,
        Code::WrongIssuer,
        Code::WrongLogKey,
        Code::WrongSite,
        Code::WrongZone,
    ];

    /// The code as it appears in answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::AlreadyExists => "already_exists",
            Code::AuditConflict => "audit_conflict",
            Code::AuditFork => "audit_fork",
            Code::AuditGap => "audit_gap",
            Code::BatchTooLarge => "batch_too_large",
            Code::CarrierNotApproved => "carrier_not_approved",
            Code::CertificateExpired => "certificate_expired",
            Code::CertificateFenced => "certificate_fenced",
            Code::CertificateNotYetValid => "certificate_not_yet_valid",
            Code::DatabaseUnavailable => "database_unavailable",
            Code::DeliveryEntered => "delivery_entered",
            Code::DeliveryGrantsExhausted => "delivery_grants_exhausted",
            Code::DeliveryNotOpen => "delivery_not_open",
            Code::DenySubjectCollision => "deny_subject_collision",
            Code::DoorNotAllowed => "door_not_allowed",
            Code::DoorStateUnreadable => "door_state_unreadable",
            Code::DriverRevoked => "driver_revoked",
            Code::EmptyBody => "empty_body",
            Code::Forbidden => "forbidden",
            Code::GrantFenced => "grant_fenced",
            Code::GrantRevoked => "grant_revoked",
            Code::HeadersTooLarge => "headers_too_large",
            Code::HttpRefused => "http_refused",
            Code::IdempotencyInFlight => "idempotency_in_flight",
            Code::IdempotencyKeyReused => "idempotency_key_reused",
            Code::IdempotencyRace => "idempotency_race",
            Code::IdempotencySecretWithheld => "idempotency_secret_withheld",
            Code::Internal => "internal",
            Code::InvalidCertificate => "invalid_certificate",
            Code::InvalidChallenge => "invalid_challenge",
            Code::InvalidEnrolment => "invalid_enrolment",
            Code::InvalidHead => "invalid_head",
            Code::InvalidHex => "invalid_hex",
            Code::InvalidIdempotencyKey => "invalid_idempotency_key",
            Code::InvalidJson => "invalid_json",
            Code::InvalidLength => "invalid_length",
            Code::InvalidLifetime => "invalid_lifetime",
            Code::InvalidLimit => "invalid_limit",
            Code::InvalidPath => "invalid_path",
            Code::InvalidProof => "invalid_proof",
            Code::InvalidReceipt => "invalid_receipt",
            Code::InvalidRecord => "invalid_record",
            Code::InvalidRole => "invalid_role",
            Code::InvalidState => "invalid_state",
            Code::InvalidText => "invalid_text",
            Code::InvalidTracking => "invalid_tracking",
            Code::InvalidUrl => "invalid_url",
            Code::InvalidUses => "invalid_uses",
            Code::InvalidWindow => "invalid_window",
            Code::InvalidZone => "invalid_zone",
            Code::IssuerKeyLocked => "issuer_key_locked",
            Code::IssuerNotCertified => "issuer_not_certified",
            Code::IssuerRevoked => "issuer_revoked",
            Code::LifetimeTooLong => "lifetime_too_long",
            Code::MalformedRequest => "malformed_request",
            Code::MethodNotAllowed => "method_not_allowed",
            Code::MetricsDisabled => "metrics_disabled",
            Code::MissingField => "missing_field",
            Code::NameTheDoors => "name_the_doors",
            Code::NoDoorState => "no_door_state",
            Code::NoDoors => "no_doors",
            Code::NoSuchEndpoint => "no_such_endpoint",
            Code::NotFound => "not_found",
            Code::OutsideDeliveryWindow => "outside_delivery_window",
            Code::OutsideHours => "outside_hours",
            Code::PayloadTooLarge => "payload_too_large",
            Code::RateLimited => "rate_limited",
            Code::RecordsNotConsecutive => "records_not_consecutive",
            Code::RefusedByDoorRules => "refused_by_door_rules",
            Code::ResidentOptedOut => "resident_opted_out",
            Code::RoleNotAllowed => "role_not_allowed",
            Code::StateFromTheFuture => "state_from_the_future",
            Code::StateNotNewer => "state_not_newer",
            Code::TokenIncomplete => "token_incomplete",
            Code::TooLarge => "too_large",
            Code::TooManyDoors => "too_many_doors",
            Code::TooManyUses => "too_many_uses",
            Code::TooManyResidents => "too_many_residents",
            Code::TooManyWebhooks => "too_many_webhooks",
            Code::UnanchoredRecords => "unanchored_records",
            Code::Unauthenticated => "unauthenticated",
            Code::UnreadableBody => "unreadable_body",
            Code::UriTooLong => "uri_too_long",
            Code::WeakKey => "weak_key",
            Code::WrongDoor => "wrong_door",
            Code::WrongIssuer => "wrong_issuer",
            Code::WrongLogKey => "wrong_log_key",
            Code::WrongSite => "wrong_site",
            Code::WrongZone => "wrong_zone",
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Code;

    /// What serde writes is what `as_str` says, for every code.
    #[test]
    fn every_code_serialises_as_its_name() {
        for c in Code::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
    }
}
