//! Writes `spec/vectors/admission.{json,txt}` (multi-step door scenarios) and
//! `spec/vectors/audit.{json,txt}` (enrolments, receipts, audit chains and log heads), each
//! with the verdict every binding must reach.
//!
//! Run from the repository root: `cargo run -p porter-protocol --example gen_vectors`.
//! Keys come from fixed seeds, so the output is byte-for-byte reproducible; CI regenerates the
//! files and fails if they differ from the committed ones. The expected verdicts are written
//! here by hand, from the protocol's rules; the generator refuses to write a file in which the
//! implementation disagrees with them.

#[path = "../tests/api/fixture.rs"]
#[allow(dead_code)]
mod fixture;

use std::fmt::Write as _;

use fixture::*;
use porter_protocol::*;

const SMALL_ORDER_KEY: [u8; 32] = {
    // The identity point: small order, and accepted by naive verifiers for (R = identity, S = 0).
    let mut k = [0u8; 32];
    k[0] = 1;
    k
};

enum Step {
    State { bytes: Vec<u8>, expect: Option<Error> },
    Admit { clock: Time, challenge: Challenge, presentation: Vec<u8>, expect: Option<Error> },
}

struct Case {
    name: &'static str,
    about: &'static str,
    config: DoorConfig,
    floor: Time,
    steps: Vec<Step>,
}

fn case(name: &'static str, about: &'static str, steps: Vec<Step>) -> Case {
    Case { name, about, config: Site::new().config, floor: Time(0), steps }
}

fn admit(challenge: Challenge, presentation: Vec<u8>, expect: Option<Error>) -> Step {
    Step::Admit { clock: NOON, challenge, presentation, expect }
}

/// A case with one attempt built from a certificate and a grant body.
fn single(
    name: &'static str,
    about: &'static str,
    cert: Certificate,
    grant: Grant,
    expect: impl Into<Option<Error>>,
) -> Case {
    let s = Site::new();
    let challenge = s.challenge(NOON, 1);
    let p = s.present(&challenge, &s.seal_grant(&grant), &s.seal_cert(&cert), None);
    case(name, about, vec![admit(challenge, p, expect.into())])
}

fn with_state(name: &'static str, about: &'static str, state: DoorState, expect: Error) -> Case {
    let s = Site::new();
    let (challenge, p) = s.valid(10, 1, 1);
    case(
        name,
        about,
        vec![
            Step::State { bytes: s.seal_state(&state), expect: None },
            admit(challenge, p, Some(expect)),
        ],
    )
}

fn cases() -> Vec<Case> {
    let s = Site::new();
    let cert = s.certificate_body();
    let grant = s.grant_body(10, 1);
    let cert_bytes = s.seal_cert(&cert);
    let grant_bytes = s.seal_grant(&grant);
    let other = key(9);
    let mut out = Vec::new();

    // --- admissions and the replay window ---
    {
        let c1 = s.challenge(NOON, 1);
        let c2 = s.challenge(NOON.plus(5), 2);
        out.push(case(
            "single_use_admits_once",
            "a one-use grant opens once; the same grant with a fresh challenge is a duplicate",
            vec![
                admit(c1, s.present(&c1, &grant_bytes, &cert_bytes, None), None),
                Step::Admit {
                    clock: NOON.plus(5),
                    challenge: c2,
                    presentation: s.present(&c2, &grant_bytes, &cert_bytes, None),
                    expect: Some(Error::ReplayDuplicate),
                },
            ],
        ));
    }
    {
        let g = s.seal_grant(&s.grant_body(20, 3));
        let steps = (0..4u8)
            .map(|i| {
                let c = s.challenge(NOON.plus(u32::from(i)), i + 1);
                Step::Admit {
                    clock: NOON.plus(u32::from(i)),
                    challenge: c,
                    presentation: s.present(&c, &g, &cert_bytes, None),
                    expect: (i == 3).then_some(Error::ReplayDuplicate),
                }
            })
            .collect();
        out.push(case("three_use_grant_admits_three_times", "uses are counted per door", steps));
    }
    {
        let c1 = s.challenge(NOON, 1);
        let c2 = s.challenge(NOON, 2);
        let new = s.seal_grant(&s.grant_body(1000, 1));
        let old = s.seal_grant(&s.grant_body(700, 1));
        out.push(case(
            "replay_window_forgets_old_serials",
            "after serial 1000 is spent, serial 700 is below the 256-serial window: too old",
            vec![
                admit(c1, s.present(&c1, &new, &cert_bytes, None), None),
                admit(c2, s.present(&c2, &old, &cert_bytes, None), Some(Error::ReplayTooOld)),
            ],
        ));
    }
    {
        let c1 = s.challenge(NOON, 1);
        let c2 = s.challenge(NOON, 2);
        let g2 = s.seal_grant(&s.grant_body(11, 1));
        out.push(case(
            "cached_certificate_still_checked",
            "a second grant under the same (now cached) certificate is admitted",
            vec![
                admit(c1, s.present(&c1, &grant_bytes, &cert_bytes, None), None),
                admit(c2, s.present(&c2, &g2, &cert_bytes, None), None),
            ],
        ));
    }

    // --- decoding ---
    let (c, valid) = s.valid(10, 1, 1);
    let mutate = |name, about, bytes: Vec<u8>, expect| {
        case(name, about, vec![admit(c, bytes, Some(expect))])
    };
    out.push(mutate(
        "truncated",
        "the last byte is missing",
        valid[..valid.len() - 1].to_vec(),
        Error::DecodeMalformed,
    ));
    out.push(mutate(
        "trailing_byte",
        "one byte too many",
        [&valid[..], &[0]].concat(),
        Error::DecodeTrailingBytes,
    ));
    out.push(mutate(
        "unknown_version",
        "format version 2",
        [&[2u8][..], &valid[1..]].concat(),
        Error::DecodeUnsupportedVersion,
    ));
    out.push(mutate(
        "too_large",
        "longer than any presentation",
        vec![1; MAX_PRESENTATION_LEN + 1],
        Error::DecodeTooLarge,
    ));
    out.push(mutate("empty", "no bytes at all", Vec::new(), Error::DecodeMalformed));
    {
        // The grant length (a two-byte varint) written as an overlong three-byte varint.
        assert!(valid[1] & 0x80 != 0 && valid[2] & 0x80 == 0);
        let bytes = [&[valid[0], valid[1], valid[2] | 0x80, 0x00][..], &valid[3..]].concat();
        out.push(mutate(
            "overlong_length",
            "the grant's length as an overlong varint",
            bytes,
            Error::DecodeNonCanonical,
        ));
    }
    {
        let mut g = grant.clone();
        g.uses = 0;
        out.push(single(
            "zero_uses",
            "a grant for zero entries",
            cert.clone(),
            g,
            Error::DecodeInvalidField,
        ));
    }
    {
        let mut flipped = valid.clone();
        let start = valid.windows(grant_bytes.len()).position(|w| w == grant_bytes).unwrap();
        let at = start + grant_bytes.len() - 1; // the grant signature's last byte
        flipped[at] ^= 0x01;
        out.push(mutate(
            "grant_signature_bit_flip",
            "one bit of the grant signature flipped",
            flipped,
            Error::GrantBadSignature,
        ));
    }

    // --- the certificate ---
    {
        let c = s.challenge(NOON, 1);
        let mut buf = [0u8; MAX_CERTIFICATE_LEN];
        let forged = cert.seal(&other, &mut buf).unwrap().to_vec();
        let p = s.present(&c, &grant_bytes, &forged, None);
        out.push(case(
            "cert_not_from_root",
            "the certificate is signed by another key",
            vec![admit(c, p, Some(Error::CertBadSignature))],
        ));
    }
    {
        let mut x = cert.clone();
        x.site = SiteId(7);
        out.push(single(
            "cert_other_site",
            "a certificate from another site's root... signed by ours",
            x,
            grant.clone(),
            Error::CertWrongSite,
        ));
        let mut x = cert.clone();
        x.not_before = NOON.plus(3600);
        x.not_after = NOON.plus(7200);
        out.push(single(
            "cert_not_yet_valid",
            "the certificate starts in an hour",
            x,
            grant.clone(),
            Error::CertNotYetValid,
        ));
        let mut x = cert.clone();
        x.not_before = NOON.minus(7200);
        x.not_after = NOON.minus(3600);
        out.push(single(
            "cert_expired",
            "the certificate ended an hour ago",
            x,
            grant.clone(),
            Error::CertExpired,
        ));
        let mut x = cert.clone();
        x.issuer = PublicKey(SMALL_ORDER_KEY);
        out.push(single(
            "cert_small_order_issuer",
            "the root certified a small-order issuer key",
            x,
            grant.clone(),
            Error::CertWeakKey,
        ));
    }
    {
        let mut st = s.state(1, NOON.minus(100));
        st.cert_epoch_fence = 2;
        out.push(with_state(
            "cert_below_epoch_fence",
            "the root fenced certificate epochs below 2",
            st,
            Error::CertFenced,
        ));
        let mut st = s.state(1, NOON.minus(100));
        st.deny
            .push(DenyEntry {
                subject: DenySubject::issuer(&s.issuer.public_key()),
                until: NOON.plus(86_400),
            })
            .unwrap();
        out.push(with_state(
            "issuer_revoked",
            "the issuer is on the deny-list",
            st,
            Error::CertRevoked,
        ));
    }

    // --- the grant ---
    {
        let c = s.challenge(NOON, 1);
        let mut buf = [0u8; MAX_GRANT_LEN];
        let forged = grant.seal(&other, &mut buf).unwrap().to_vec();
        let p = s.present(&c, &forged, &cert_bytes, None);
        out.push(case(
            "grant_not_from_issuer",
            "the grant is signed by another key",
            vec![admit(c, p, Some(Error::GrantBadSignature))],
        ));
    }
    let g = |f: &dyn Fn(&mut Grant)| {
        let mut x = grant.clone();
        f(&mut x);
        x
    };
    out.push(single(
        "grant_other_site",
        "the grant names another site",
        cert.clone(),
        g(&|x| x.site = SiteId(7)),
        Error::GrantWrongSite,
    ));
    out.push(single(
        "grant_other_door",
        "the grant names door 2 only",
        cert.clone(),
        g(&|x| x.doors = heapless::Vec::from_slice(&[DoorId(2)]).unwrap()),
        Error::GrantWrongDoor,
    ));
    out.push(single(
        "grant_not_yet_valid",
        "the grant starts in five minutes (beyond the 60 s skew)",
        cert.clone(),
        g(&|x| {
            x.not_before = NOON.plus(300);
            x.not_after = NOON.plus(900);
        }),
        Error::GrantNotYetValid,
    ));
    out.push(single(
        "grant_expired",
        "the grant ended two minutes ago",
        cert.clone(),
        g(&|x| {
            x.not_before = NOON.minus(600);
            x.not_after = NOON.minus(120);
        }),
        Error::GrantExpired,
    ));
    out.push(single(
        "grant_within_skew",
        "the grant ended 30 s ago, inside the 60 s skew: admitted",
        cert.clone(),
        g(&|x| {
            x.not_before = NOON.minus(600);
            x.not_after = NOON.minus(30);
        }),
        None,
    ));
    out.push(single(
        "grant_role_not_allowed",
        "a service grant from a delivery-only issuer",
        cert.clone(),
        g(&|x| x.role = Role::Service),
        Error::GrantRoleNotAllowed,
    ));
    out.push(single(
        "grant_lifetime_too_long",
        "a 16-minute grant from an issuer limited to 15",
        cert.clone(),
        g(&|x| x.not_after = x.not_before.plus(960)),
        Error::GrantLifetimeTooLong,
    ));
    out.push(single(
        "grant_too_many_uses",
        "5 entries from an issuer limited to 4",
        cert.clone(),
        g(&|x| x.uses = 5),
        Error::GrantTooManyUses,
    ));
    out.push(single(
        "holder_small_order",
        "a grant to a small-order holder key",
        cert.clone(),
        g(&|x| x.holder = PublicKey(SMALL_ORDER_KEY)),
        Error::HolderWeakKey,
    ));
    {
        let mut x = cert.clone();
        x.limits.doors =
            DoorScope::Only(heapless::Vec::from_slice(&[DoorId(2), DoorId(3)]).unwrap());
        out.push(single(
            "door_not_allowed_by_cert",
            "the issuer may open doors 2 and 3 only",
            x,
            grant.clone(),
            Error::GrantDoorNotAllowed,
        ));
        let mut x = cert.clone();
        x.limits.hours = Hours { weekdays: 0b110_0000, from_minute: 0, to_minute: 1440 };
        out.push(single(
            "outside_hours_weekday",
            "a weekend-only issuer on a Monday",
            x,
            grant.clone(),
            Error::GrantOutsideHours,
        ));
        let mut x = cert.clone();
        x.limits.hours = Hours { weekdays: 0x7f, from_minute: 13 * 60, to_minute: 17 * 60 };
        out.push(single(
            "outside_hours_time",
            "an afternoon-only issuer at noon UTC",
            x,
            grant.clone(),
            Error::GrantOutsideHours,
        ));
    }
    {
        // The same afternoon-only issuer at noon UTC is inside its hours in UTC+2.
        let mut x = cert.clone();
        x.limits.hours = Hours { weekdays: 0x7f, from_minute: 13 * 60, to_minute: 17 * 60 };
        let c = s.challenge(NOON, 1);
        let p = s.present(&c, &grant_bytes, &s.seal_cert(&x), None);
        let mut st = s.state(1, NOON.minus(100));
        st.utc_offset_minutes = 120;
        out.push(case(
            "hours_use_site_local_time",
            "13:00-17:00 local at 12:00 UTC is allowed when the site is UTC+2",
            vec![Step::State { bytes: s.seal_state(&st), expect: None }, admit(c, p, None)],
        ));
    }
    {
        let mut st = s.state(1, NOON.minus(100));
        st.grant_fence = NOON;
        out.push(with_state(
            "grant_before_fence",
            "grants issued before noon are fenced off",
            st,
            Error::GrantFenced,
        ));
        let mut st = s.state(1, NOON.minus(100));
        st.deny
            .push(DenyEntry {
                subject: DenySubject::grant(s.issuer.public_key().id(), 10),
                until: NOON.plus(600),
            })
            .unwrap();
        out.push(with_state(
            "grant_revoked",
            "the grant is on the deny-list",
            st,
            Error::GrantRevoked,
        ));
        let mut st = s.state(1, NOON.minus(100));
        st.deny
            .push(DenyEntry {
                subject: DenySubject::holder(&s.holder.public_key()),
                until: NOON.plus(900),
            })
            .unwrap();
        out.push(with_state(
            "holder_revoked",
            "the driver's key is on the deny-list",
            st,
            Error::HolderRevoked,
        ));
    }

    // --- the holder's proof and the challenge ---
    {
        let c = s.challenge(NOON, 1);
        let mut buf = vec![0u8; MAX_PRESENTATION_LEN];
        let p = present(&other, &c, &grant_bytes, &cert_bytes, None, &mut buf).unwrap().to_vec();
        out.push(case(
            "proof_by_another_key",
            "someone else answers the challenge with a copied grant",
            vec![admit(c, p, Some(Error::ProofBadSignature))],
        ));
        let signed_for = s.challenge(NOON, 2);
        let p = s.present(&signed_for, &grant_bytes, &cert_bytes, None);
        out.push(case(
            "proof_for_another_challenge",
            "a proof recorded for an earlier challenge",
            vec![admit(c, p, Some(Error::ProofBadSignature))],
        ));
        let p = s.present(&c, &grant_bytes, &cert_bytes, None);
        out.push(case(
            "challenge_expired",
            "the answer comes 31 s after a 30 s challenge",
            vec![Step::Admit {
                clock: NOON.plus(31),
                challenge: c,
                presentation: p.clone(),
                expect: Some(Error::ChallengeExpired),
            }],
        ));
        let other_door = Challenge::new(SITE, DoorId(2), [1; 16], NOON);
        let p = s.present(&other_door, &grant_bytes, &cert_bytes, None);
        out.push(case(
            "challenge_of_another_door",
            "the door is handed another door's challenge",
            vec![admit(other_door, p, Some(Error::ChallengeExpired))],
        ));
    }

    // --- door state ---
    {
        let st1 = s.seal_state(&s.state(1, NOON.minus(100)));
        let st2 = s.seal_state(&s.state(2, NOON.minus(50)));
        let mut buf = vec![0u8; MAX_DOOR_STATE_LEN];
        let forged = s.state(3, NOON).seal(&other, &mut buf).unwrap().to_vec();
        let mut elsewhere = s.state(3, NOON);
        elsewhere.site = SiteId(7);
        out.push(case(
            "door_state_never_rolls_back",
            "states 1 and 2 are taken; 1 again, 2 again, a forged 3 and another site's 3 are not",
            vec![
                Step::State { bytes: st1.clone(), expect: None },
                Step::State { bytes: st2.clone(), expect: None },
                Step::State { bytes: st1, expect: Some(Error::StateNotNewer) },
                Step::State { bytes: st2, expect: Some(Error::StateNotNewer) },
                Step::State { bytes: forged, expect: Some(Error::StateBadSignature) },
                Step::State {
                    bytes: s.seal_state(&elsewhere),
                    expect: Some(Error::StateWrongSite),
                },
            ],
        ));
    }
    {
        let mut st = s.state(1, NOON.minus(100));
        st.deny
            .push(DenyEntry {
                subject: DenySubject::holder(&s.holder.public_key()),
                until: NOON.plus(900),
            })
            .unwrap();
        let st = s.seal_state(&st);
        let c1 = s.challenge(NOON, 1);
        let c2 = s.challenge(NOON, 2);
        let carried = s.present(&c1, &grant_bytes, &cert_bytes, Some(&st));
        let without = s.present(&c2, &grant_bytes, &cert_bytes, None);
        out.push(case(
            "carried_state_revokes_its_carrier",
            "a presentation carrying newer state that revokes its holder is refused, and (being refused) leaves the door's state as it was",
            vec![admit(c1, carried, Some(Error::HolderRevoked)), admit(c2, without, None)],
        ));
    }
    {
        let st = s.seal_state(&s.state(5, NOON.minus(10)));
        let c1 = s.challenge(NOON, 1);
        let c2 = s.challenge(NOON, 2);
        let stale = s.seal_state(&s.state(4, NOON.minus(20)));
        out.push(case(
            "carried_state_is_taken_on_admission",
            "newer state carried by an admitted phone is installed; an older one is then refused",
            vec![
                admit(
                    c1,
                    s.present(&c1, &s.seal_grant(&s.grant_body(30, 1)), &cert_bytes, Some(&st)),
                    None,
                ),
                Step::State { bytes: stale.clone(), expect: Some(Error::StateNotNewer) },
                admit(
                    c2,
                    s.present(&c2, &s.seal_grant(&s.grant_body(31, 1)), &cert_bytes, Some(&stale)),
                    None,
                ),
            ],
        ));
    }
    {
        let st = s.seal_state(&s.state(1, NOON.plus(100)));
        let (c, p) = s.valid(10, 1, 1);
        out.push(case(
            "signed_time_overrides_a_reset_clock",
            "after state signed at noon+100 s, a clock reading noon is behind the floor: the noon challenge has expired",
            vec![Step::State { bytes: st, expect: None }, admit(c, p, Some(Error::ChallengeExpired))],
        ));
    }
    out
}

struct Outcome(Option<Error>);

fn run(case: &Case) -> Vec<Outcome> {
    let mut memory: DoorMemory = DoorMemory::new(case.config.site, case.floor);
    case.steps
        .iter()
        .map(|step| match step {
            Step::State { bytes, .. } => {
                Outcome(memory.apply_door_state(&case.config, bytes).err())
            }
            Step::Admit { clock, challenge, presentation, .. } => {
                match memory.admit(&case.config, *clock, challenge, presentation) {
                    Decision::Admit(_) => Outcome(None),
                    Decision::Reject(e) => Outcome(Some(e)),
                }
            }
        })
        .collect()
}

fn code(e: Option<Error>) -> u16 {
    e.map_or(0, Error::code)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn main() {
    let cases = cases();
    let mut failures = 0;
    for c in &cases {
        for (i, (step, got)) in c.steps.iter().zip(run(c)).enumerate() {
            let want = match step {
                Step::State { expect, .. } | Step::Admit { expect, .. } => *expect,
            };
            if want != got.0 {
                eprintln!(
                    "{} step {i}: expected {:?}, implementation says {:?}",
                    c.name, want, got.0
                );
                failures += 1;
            }
        }
    }
    assert_eq!(failures, 0, "the implementation disagrees with the intended verdicts");

    let mut json_cases = Vec::new();
    let mut txt = String::from(
        "# Porter admission vectors. Generated by `cargo run -p porter-protocol --example gen_vectors`; do not edit.\n\
         # case <name> / config <site> <door> <root> <skew> <challenge_lifetime> <floor> /\n\
         # state <hex> <code> / admit <clock> <challenge hex> <presentation hex> <code> / end. code 0 = accepted.\n",
    );
    for c in &cases {
        let cfg = &c.config;
        writeln!(txt, "case {}", c.name).unwrap();
        writeln!(
            txt,
            "config {} {} {} {} {} {}",
            cfg.site.0,
            cfg.door.0,
            hex(&cfg.root.0),
            cfg.clock_skew,
            cfg.challenge_lifetime,
            c.floor.0
        )
        .unwrap();
        let mut steps = Vec::new();
        for step in &c.steps {
            match step {
                Step::State { bytes, expect } => {
                    writeln!(txt, "state {} {}", hex(bytes), code(*expect)).unwrap();
                    steps.push(serde_json::json!({
                        "kind": "state", "state": hex(bytes),
                        "expect": { "code": code(*expect), "name": expect.map_or("accepted", Error::name) },
                    }));
                }
                Step::Admit { clock, challenge, presentation, expect } => {
                    let mut buf = [0u8; MAX_CHALLENGE_LEN];
                    let challenge = challenge.encode(&mut buf).unwrap();
                    writeln!(
                        txt,
                        "admit {} {} {} {}",
                        clock.0,
                        hex(challenge),
                        hex(presentation),
                        code(*expect)
                    )
                    .unwrap();
                    steps.push(serde_json::json!({
                        "kind": "admit", "clock": clock.0, "challenge": hex(challenge),
                        "presentation": hex(presentation),
                        "expect": { "code": code(*expect), "name": expect.map_or("admitted", Error::name) },
                    }));
                }
            }
        }
        writeln!(txt, "end").unwrap();
        json_cases.push(serde_json::json!({
            "name": c.name, "about": c.about,
            "config": {
                "site": cfg.site.0, "door": cfg.door.0, "root": hex(&cfg.root.0),
                "clock_skew": cfg.clock_skew, "challenge_lifetime": cfg.challenge_lifetime,
                "floor": c.floor.0,
            },
            "steps": steps,
        }));
    }
    let json = serde_json::json!({
        "about": "Porter admission vectors: one fresh DoorMemory per case, steps in order; code 0 = accepted, else Error::code()",
        "generator": "cargo run -p porter-protocol --example gen_vectors",
        "cases": json_cases,
    });
    // Relative to this crate, so the generator writes the same files from any directory.
    let dir = &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors");
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("admission.json"), serde_json::to_string_pretty(&json).unwrap() + "\n")
        .unwrap();
    std::fs::write(dir.join("admission.txt"), txt).unwrap();
    eprintln!("wrote {} cases to spec/vectors/admission.{{json,txt}}", cases.len());
    write_audit_vectors(dir);
}

/// One audit vector: a line of the text format, its JSON form, the verdict by hand, and the
/// implementation's verdict.
struct AuditCase {
    name: &'static str,
    kind: &'static str,
    key: Vec<u8>,
    extra: Vec<u8>,
    head: Option<Vec<u8>>,
    records: Vec<Vec<u8>>,
    expect: Option<Error>,
}

fn audit_verdict(c: &AuditCase) -> Option<Error> {
    let key = PublicKey(c.key.clone().try_into().unwrap());
    match c.kind {
        "enrolment" => {
            let device = PublicKey(c.extra.clone().try_into().unwrap());
            Enrolment::decode_for_device(&c.records[0], &key, &device).err()
        }
        "receipt" => AuditRecord::decode_receipt(&c.records[0], &key).err(),
        "chain" => {
            let mut follower = ChainFollower::new();
            for r in &c.records {
                if let Err(e) = follower.follow(r) {
                    return Some(e);
                }
            }
            let head = c.head.as_ref()?;
            LogHead::decode_verified(head, &key).and_then(|h| follower.matches(&h)).err()
        }
        other => panic!("unknown audit vector kind {other}"),
    }
}

fn write_audit_vectors(dir: &std::path::Path) {
    let s = Site::new();
    let device = key(5);
    let dpk = device.public_key().0.to_vec();
    let root = s.root.public_key().0.to_vec();
    let enrolment = Enrolment {
        version: VERSION,
        site: SITE,
        door: DOOR,
        device: device.public_key(),
        issued_at: NOON,
        log_key: Some(LogSecret::from_seed([0x4C; 32]).unwrap().log_key().unwrap()),
    };
    let mut buf = [0u8; MAX_ENROLMENT_LEN];
    let enrolled = enrolment.seal(&s.root, &mut buf).unwrap().to_vec();
    let forged = enrolment.seal(&key(9), &mut buf).unwrap().to_vec();

    let mut records = Vec::new();
    let mut previous = ChainHash::GENESIS;
    for i in 0..5u64 {
        let event = if i == 2 {
            AuditEvent::Admitted {
                issuer: s.issuer.public_key().id(),
                grant_serial: 10,
                use_index: 0,
                holder: s.holder.public_key().id(),
                role: Role::Delivery,
                package: PackageCommitment::new(&[7; 16], b"1Z999AA10123456784"),
            }
        } else {
            AuditEvent::Rejected { reason: Error::ReplayDuplicate.code() }
        };
        let r = record(SITE, DOOR, i, NOON.plus(i as u32), previous, event);
        let mut b = [0u8; MAX_AUDIT_RECORD_LEN];
        let bytes = r.encode(&mut b).unwrap().to_vec();
        previous = ChainHash::of(&bytes);
        records.push((r, bytes));
    }
    let mut rb = [0u8; MAX_RECEIPT_LEN];
    let receipt = records[2].0.seal_receipt(&device, &mut rb).unwrap().to_vec();
    let mut flipped = receipt.clone();
    let last_body_byte = flipped.len() - 65; // inside the package commitment: still decodes
    flipped[last_body_byte] ^= 0x10;
    let head = LogHead {
        version: VERSION,
        site: SITE,
        door: DOOR,
        length: 5,
        head: previous,
        at: NOON.plus(10),
    };
    let mut hb = [0u8; MAX_LOG_HEAD_LEN];
    let sealed_head = head.seal(&device, &mut hb).unwrap().to_vec();
    let forged_head = head.seal(&key(9), &mut hb).unwrap().to_vec();
    let all: Vec<Vec<u8>> = records.iter().map(|(_, b)| b.clone()).collect();
    let broken = {
        let mut r = records[3].0;
        r.previous = ChainHash([0xab; 32]);
        let mut b = [0u8; MAX_AUDIT_RECORD_LEN];
        r.encode(&mut b).unwrap().to_vec()
    };

    let one = |name, kind, key: &Vec<u8>, extra: Vec<u8>, bytes: Vec<u8>, expect| AuditCase {
        name,
        kind,
        key: key.clone(),
        extra,
        head: None,
        records: vec![bytes],
        expect,
    };
    let chain = |name, head: Option<Vec<u8>>, records: Vec<Vec<u8>>, expect| AuditCase {
        name,
        kind: "chain",
        key: dpk.clone(),
        extra: Vec::new(),
        head,
        records,
        expect,
    };
    let cases = vec![
        one("enrolment_accepted", "enrolment", &root, dpk.clone(), enrolled.clone(), None),
        one(
            "enrolment_for_another_device",
            "enrolment",
            &root,
            key(6).public_key().0.to_vec(),
            enrolled.clone(),
            Some(Error::EnrolmentMismatch),
        ),
        one(
            "enrolment_not_from_root",
            "enrolment",
            &root,
            dpk.clone(),
            forged,
            Some(Error::EnrolmentBadSignature),
        ),
        one(
            "enrolment_truncated",
            "enrolment",
            &root,
            dpk.clone(),
            enrolled[..40].to_vec(),
            Some(Error::DecodeMalformed),
        ),
        one("receipt_accepted", "receipt", &dpk, Vec::new(), receipt.clone(), None),
        one(
            "receipt_from_another_door",
            "receipt",
            &key(6).public_key().0.to_vec(),
            Vec::new(),
            receipt.clone(),
            Some(Error::AuditBadSignature),
        ),
        one(
            "receipt_altered",
            "receipt",
            &dpk,
            Vec::new(),
            flipped,
            Some(Error::AuditBadSignature),
        ),
        chain("chain_with_matching_head", Some(sealed_head.clone()), all.clone(), None),
        chain(
            "chain_missing_a_record",
            None,
            [&all[..2], &all[3..]].concat(),
            Some(Error::AuditGap),
        ),
        chain(
            "chain_repeating_a_record",
            None,
            [&all[..3], &all[2..3]].concat(),
            Some(Error::AuditGap),
        ),
        chain(
            "chain_with_a_forged_link",
            None,
            [&all[..3], &[broken][..]].concat(),
            Some(Error::AuditChainBroken),
        ),
        chain(
            "head_beyond_the_records",
            Some(sealed_head),
            all[..4].to_vec(),
            Some(Error::AuditGap),
        ),
        chain(
            "head_not_from_the_door",
            Some(forged_head),
            all.clone(),
            Some(Error::AuditBadSignature),
        ),
    ];

    let mut txt = String::from(
        "# Porter audit vectors. Generated by `cargo run -p porter-protocol --example gen_vectors`; do not edit.\n\
         # enrolment <root> <device> <enrolment hex> <code> / receipt <device> <receipt hex> <code> /\n\
         # chain <device> <signed log head hex or -> <record hex,record hex,...> <code>. code 0 = accepted.\n",
    );
    let mut json = Vec::new();
    for c in &cases {
        let got = audit_verdict(c);
        assert_eq!(got, c.expect, "audit vector {}: the implementation disagrees", c.name);
        let records: Vec<String> = c.records.iter().map(|r| hex(r)).collect();
        match c.kind {
            "enrolment" => writeln!(
                txt,
                "enrolment {} {} {} {}",
                hex(&c.key),
                hex(&c.extra),
                records[0],
                code(c.expect)
            ),
            "receipt" => writeln!(txt, "receipt {} {} {}", hex(&c.key), records[0], code(c.expect)),
            _ => writeln!(
                txt,
                "chain {} {} {} {}",
                hex(&c.key),
                c.head.as_ref().map_or("-".to_string(), |h| hex(h)),
                records.join(","),
                code(c.expect)
            ),
        }
        .unwrap();
        json.push(serde_json::json!({
            "name": c.name, "kind": c.kind, "key": hex(&c.key),
            "device": (c.kind == "enrolment").then(|| hex(&c.extra)),
            "head": c.head.as_ref().map(|h| hex(h)),
            "records": records,
            "expect": { "code": code(c.expect), "name": c.expect.map_or("accepted", Error::name) },
        }));
    }
    let doc = serde_json::json!({
        "about": "Porter audit vectors. enrolment: key = site root, device = the door's key, records[0] = the enrolment. receipt: key = device key, records[0] = the receipt. chain: follow records from the genesis; then, if head is present, verify it under key and check it matches. code 0 = accepted, else Error::code()",
        "generator": "cargo run -p porter-protocol --example gen_vectors",
        "cases": json,
    });
    std::fs::write(dir.join("audit.json"), serde_json::to_string_pretty(&doc).unwrap() + "\n")
        .unwrap();
    std::fs::write(dir.join("audit.txt"), txt).unwrap();
    eprintln!("wrote {} cases to spec/vectors/audit.{{json,txt}}", cases.len());
}
