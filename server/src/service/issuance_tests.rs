//! Every grant rule at chosen instants: the decision is pure, so each case is a table row.

use porter_protocol::{
    Certificate, DenyEntry, DenySubject, DoorId, DoorScope, DoorState, Hours, IssuerLimits,
    PackageCommitment, PublicKey, Role, RoleSet, SigningKey, SiteId, Time, TimeZone, VERSION,
};

use super::{decide, Facts};
use crate::service::GrantRequest;
use crate::store;

/// Wednesday 2027-01-13 07:30 UTC: 08:30 in Paris (winter time).
const WINTER_0830_PARIS: i64 = 1_799_825_400;
/// Wednesday 2027-01-13 06:30 UTC: 07:30 in Paris, before the certificate's hours.
const WINTER_0730_PARIS: i64 = 1_799_821_800;
/// Wednesday 2027-07-14 06:30 UTC: 08:30 in Paris (summer time).
const SUMMER_0830_PARIS: i64 = 1_815_546_600;
/// Wednesday 2027-07-14 05:30 UTC: 07:30 in Paris (summer time), before the hours.
const SUMMER_0730_PARIS: i64 = 1_815_543_000;
const NOW: i64 = WINTER_0830_PARIS;

fn key(n: u8) -> PublicKey {
    SigningKey::from_seed([n; 32]).unwrap().public_key()
}

/// A site in Paris; a certificate for weekdays 08:00-18:00 local, doors 1 and 2, 2 uses,
/// 15 minutes; an approval of door 1 and 2, 4 uses, 30 minutes; an open delivery for the hour
/// around NOW.
fn facts() -> Facts {
    let zone = TimeZone::parse_posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
    let cert = Certificate {
        version: VERSION,
        site: SiteId(7),
        issuer: key(1),
        epoch: 3,
        not_before: Time((NOW - 86_400 * 365) as u32),
        not_after: Time((NOW + 86_400 * 365) as u32),
        limits: IssuerLimits {
            doors: DoorScope::Only(heapless::Vec::from_slice(&[DoorId(1), DoorId(2)]).unwrap()),
            roles: RoleSet::only(Role::Delivery),
            hours: Hours { weekdays: 0b001_1111, from_minute: 8 * 60, to_minute: 18 * 60 },
            zone: zone.clone(),
            max_grant_lifetime: 15 * 60,
            max_uses: 2,
        },
    };
    Facts {
        driver: store::DriverRow {
            id: "drv_1".into(),
            carrier_id: "car_1".into(),
            holder_key: hex::encode(key(2).0),
            label: "van".into(),
            revoked_at: None,
            created_at: 0,
        },
        driver_revoked_here: false,
        delivery: store::DeliveryRow {
            id: "dlv_1".into(),
            site_id: "site_1".into(),
            carrier_id: "car_1".into(),
            unit_id: "unit_1".into(),
            tracking_salt: String::new(),
            package: hex::encode([9u8; 32]),
            window_start: NOW - 1800,
            window_end: NOW + 1800,
            status: store::DeliveryStatus::Open,
            entered_at: None,
            grants_issued: 0,
            created_at: 0,
        },
        site: store::SiteRow {
            id: "site_1".into(),
            site_number: 7,
            name: "Paris".into(),
            root_key: String::new(),
            zone: zone.to_string(),
            created_at: 0,
            log_key: None,
            log_secret: None,
        },
        approval: Some(store::ApprovalRow {
            id: "apr_1".into(),
            site_id: "site_1".into(),
            carrier_id: "car_1".into(),
            issuer_id: "iss_1".into(),
            doors: store::DoorList(vec![1, 2]),
            max_uses: 4,
            max_lifetime_minutes: 30,
            revoked_at: None,
            created_at: 0,
        }),
        issuer: Some(store::IssuerRow {
            id: "iss_1".into(),
            site_id: "site_1".into(),
            public_key: hex::encode(key(1).0),
            key_id: String::new(),
            secret_seed: String::new(),
            certificate: Some(String::new()),
            epoch: Some(3),
            not_before: None,
            not_after: None,
            next_serial: 1,
            revoked_at: None,
            created_at: 0,
        }),
        issuer_revoked_here: false,
        cert: Some(cert),
        opted_out: false,
        enrolled: vec![1, 2, 3],
        state: DoorState::genesis(SiteId(7)),
        state_hex: None,
        holder: key(2),
        package: PackageCommitment([9; 32]),
    }
}

fn ask(uses: u8, minutes: u32) -> GrantRequest {
    GrantRequest { doors: vec![1], uses, lifetime_minutes: minutes }
}

/// The refusal code at `now`, or "ok".
fn verdict(f: &Facts, req: &GrantRequest, now: i64) -> &'static str {
    match decide(f, req, now) {
        Ok(_) => "ok",
        Err(e) => e.code.as_str(),
    }
}

#[test]
fn an_ordinary_request_is_granted_with_its_terms() {
    let g = decide(&facts(), &ask(2, 10), NOW).unwrap();
    assert_eq!((g.not_before.0 as i64, g.not_after.0 as i64), (NOW, NOW + 600));
    assert_eq!((g.uses, g.doors.as_slice(), g.site), (2, &[DoorId(1)][..], SiteId(7)));
    // The lifetime is cut at the end of the delivery window.
    let mut f = facts();
    f.delivery.window_end = NOW + 120;
    assert_eq!(decide(&f, &ask(1, 10), NOW).unwrap().not_after.0 as i64, NOW + 120);
}

#[test]
fn the_delivery_window_is_half_open() {
    let f = facts();
    let (start, end) = (f.delivery.window_start, f.delivery.window_end);
    assert_eq!(verdict(&f, &ask(1, 1), start - 1), "outside_delivery_window");
    assert_eq!(verdict(&f, &ask(1, 1), start), "ok");
    assert_eq!(verdict(&f, &ask(1, 1), end - 1), "ok");
    assert_eq!(verdict(&f, &ask(1, 1), end), "outside_delivery_window");
}

#[test]
fn what_only_the_server_knows() {
    type Change = fn(&mut Facts);
    let cases: [(&str, Change); 10] = [
        ("driver_revoked", |f| f.driver.revoked_at = Some(1)),
        ("driver_revoked", |f| f.driver_revoked_here = true),
        ("delivery_not_open", |f| f.delivery.status = store::DeliveryStatus::Cancelled),
        ("delivery_entered", |f| f.delivery.entered_at = Some(NOW - 5)),
        ("delivery_grants_exhausted", |f| f.delivery.grants_issued = 4),
        ("carrier_not_approved", |f| f.approval = None),
        ("carrier_not_approved", |f| f.approval.as_mut().unwrap().revoked_at = Some(1)),
        ("issuer_revoked", |f| f.issuer_revoked_here = true),
        ("issuer_not_certified", |f| f.cert = None),
        ("resident_opted_out", |f| f.opted_out = true),
    ];
    for (code, change) in cases {
        let mut f = facts();
        change(&mut f);
        assert_eq!(verdict(&f, &ask(1, 5), NOW), code);
    }
    let f = facts();
    assert_eq!(verdict(&f, &ask(0, 5), NOW), "too_many_uses");
    assert_eq!(verdict(&f, &ask(5, 5), NOW), "too_many_uses"); // the approval's 4
    assert_eq!(verdict(&f, &ask(1, 31), NOW), "lifetime_too_long"); // the approval's 30
    let door = |d: u16| GrantRequest { doors: vec![d], uses: 1, lifetime_minutes: 5 };
    assert_eq!(verdict(&f, &door(3), NOW), "door_not_allowed"); // not approved
    let mut f = facts();
    f.enrolled = vec![2];
    assert_eq!(verdict(&f, &ask(1, 5), NOW), "door_not_allowed"); // not enrolled
}

#[test]
fn what_the_door_checks_is_the_doors_own_function() {
    let f = facts();
    // The certificate's limits, tighter than the approval's.
    assert_eq!(verdict(&f, &ask(3, 5), NOW), "too_many_uses");
    assert_eq!(verdict(&f, &ask(1, 16), NOW), "lifetime_too_long");
    let mut f = facts();
    f.approval.as_mut().unwrap().doors = store::DoorList(vec![1, 2, 3]);
    let door3 = GrantRequest { doors: vec![3], uses: 1, lifetime_minutes: 5 };
    assert_eq!(verdict(&f, &door3, NOW), "door_not_allowed");
    // Validity, to the second (no skew at issuing).
    let mut f = facts();
    let not_after = i64::from(f.cert.as_ref().unwrap().not_after.0);
    f.delivery.window_end = not_after + 3600;
    f.delivery.window_start = not_after - 3600;
    let mut wide = f.clone();
    wide.cert.as_mut().unwrap().limits.hours =
        Hours { weekdays: 0x7f, from_minute: 0, to_minute: 1440 };
    assert_eq!(verdict(&wide, &ask(1, 5), not_after), "ok");
    assert_eq!(verdict(&wide, &ask(1, 5), not_after + 1), "certificate_expired");
    let mut early = facts();
    early.cert.as_mut().unwrap().not_before = Time((NOW + 1) as u32);
    assert_eq!(verdict(&early, &ask(1, 5), NOW), "certificate_not_yet_valid");
}

#[test]
fn hours_are_judged_in_the_sites_zone_across_daylight_saving() {
    let at = |now: i64| {
        let mut f = facts();
        f.delivery.window_start = now - 60;
        f.delivery.window_end = now + 3600;
        verdict(&f, &ask(1, 5), now)
    };
    assert_eq!(at(WINTER_0830_PARIS), "ok");
    assert_eq!(at(WINTER_0730_PARIS), "outside_hours");
    // In summer the same local hours are one UTC hour earlier.
    assert_eq!(at(SUMMER_0830_PARIS), "ok");
    assert_eq!(at(SUMMER_0730_PARIS), "outside_hours");
    // Saturday (bit 5 unset): 2027-01-16 08:30 Paris.
    assert_eq!(at(WINTER_0830_PARIS + 3 * 86_400), "outside_hours");
}

#[test]
fn the_door_state_in_force_binds_issuance() {
    let with_state = |change: fn(&mut DoorState)| {
        let mut f = facts();
        change(&mut f.state);
        verdict(&f, &ask(1, 5), NOW)
    };
    assert_eq!(with_state(|s| s.grant_fence = Time((NOW + 1) as u32)), "grant_fenced");
    assert_eq!(with_state(|s| s.grant_fence = Time(NOW as u32)), "ok");
    assert_eq!(with_state(|s| s.cert_epoch_fence = 4), "certificate_fenced");
    fn deny(subject: DenySubject) -> DenyEntry {
        DenyEntry { subject, until: Time(u32::MAX) }
    }
    assert_eq!(
        with_state(|s| s.deny.push(deny(DenySubject::holder(&key(2)))).unwrap()),
        "driver_revoked"
    );
    assert_eq!(
        with_state(|s| s.deny.push(deny(DenySubject::issuer(&key(1)))).unwrap()),
        "issuer_revoked"
    );
}
