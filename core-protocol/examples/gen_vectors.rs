//! Writes `spec/vectors/admission.{json,txt}` (multi-step door scenarios) and
//! `spec/vectors/audit.{json,txt}` (enrolments, receipts, audit chains and log heads), each
//! with the verdict every binding must reach.
//!
//! Run from the repository root: `cargo run -p porter-protocol --example gen_vectors`.
//! Keys come from fixed seeds, so the output is byte-for-byte reproducible; CI regenerates the
//! files and fails if they differ from the committed ones. The expected verdicts are written
//! here by hand, from the protocol's rules; the generator refuses to write a file in which the
//! implementation disagrees with them.

use std::fmt::Write as _;

use porter_protocol::*;
use porter_testkit::*;

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
        let c3 = s.challenge(NOON, 3);
        let new = s.seal_grant(&s.grant_body(1000, 1));
        let old = s.seal_grant(&s.grant_body(700, 1));
        out.push(case(
            "far_apart_serials_are_each_admitted_once",
            "serials 1000 then 700: a door remembers grants, not a window of serials",
            vec![
                admit(c1, s.present(&c1, &new, &cert_bytes, None), None),
                admit(c2, s.present(&c2, &old, &cert_bytes, None), None),
                admit(c3, s.present(&c3, &old, &cert_bytes, None), Some(Error::ReplayDuplicate)),
            ],
        ));
    }
    {
        // Grant 10 is valid until NOON + 600 + skew; grant 30 from NOON + 3,000.
        let late = Grant {
            not_before: NOON.plus(3_000),
            not_after: NOON.plus(3_600),
            ..s.grant_body(30, 1)
        };
        let late = s.seal_grant(&late);
        let at = |clock: Time, nonce: u8, grant: &[u8], expect| {
            let c = s.challenge(clock, nonce);
            let presentation = s.present(&c, grant, &cert_bytes, None);
            Step::Admit { clock, challenge: c, presentation, expect }
        };
        out.push(case(
            "replay_refuses_grants_expired_before_the_latest_admission",
            "after an admission at NOON + 3100, the clock reads NOON again: grant 10 (valid \
             until NOON + 660) expired before the replay memory's base and may be forgotten",
            vec![
                at(NOON, 1, &grant_bytes, None),
                at(NOON.plus(3_100), 2, &late, None),
                at(NOON.plus(10), 3, &grant_bytes, Some(Error::ReplayTooOld)),
            ],
        ));
    }
    {
        // One more issuer with an unexpired grant than the door has issuer slots.
        let steps = (0..=REPLAY_ISSUERS as u8)
            .map(|i| {
                let issuer = key(100 + i);
                let cert =
                    s.seal_cert(&Certificate { issuer: issuer.public_key(), ..cert.clone() });
                let mut buf = [0u8; MAX_GRANT_LEN];
                let grant = grant.seal(&issuer, &mut buf).unwrap().to_vec();
                let c = s.challenge(NOON.plus(u32::from(i)), i + 1);
                Step::Admit {
                    clock: NOON.plus(u32::from(i)),
                    challenge: c,
                    presentation: s.present(&c, &grant, &cert, None),
                    expect: (usize::from(i) == REPLAY_ISSUERS).then_some(Error::ReplayFull),
                }
            })
            .collect();
        out.push(case(
            "replay_full_when_every_issuer_slot_is_in_use",
            "eight issuers hold unexpired grants at the door; a ninth issuer's grant is refused \
             (fail closed) rather than forgetting a spend",
            steps,
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

    {
        // Two certificates of one issuer, both cached; then a relay puts the second body under
        // the first one's signature, which is what the holder's proof covers.
        let wide = s.seal_cert(&Certificate { epoch: 2, ..cert.clone() });
        let (c1, c2, c3) = (s.challenge(NOON, 1), s.challenge(NOON, 2), s.challenge(NOON, 3));
        let g2 = s.seal_grant(&s.grant_body(11, 1));
        let g3 = s.seal_grant(&s.grant_body(12, 1));
        let sent = s.present(&c3, &g3, &cert_bytes, None);
        let swapped = [&wide[..wide.len() - 64], &cert_bytes[cert_bytes.len() - 64..]].concat();
        let mut body = vec![0u8; MAX_PRESENTATION_LEN];
        let body = Presentation::new(&g3, &swapped, None).encode_body(&mut body).unwrap();
        let proof: [u8; 64] = sent[sent.len() - 64..].try_into().unwrap();
        let mut relayed = vec![0u8; MAX_PRESENTATION_LEN];
        let relayed = Presentation::assemble(body, &proof, &mut relayed).unwrap().to_vec();
        out.push(case(
            "cached_certificate_body_swapped_under_the_signed_signature",
            "both certificates cached; a relay swaps the second's body under the first's \
             signature: the cache holds exact signed bytes, so the root's signature is checked",
            vec![
                admit(c1, s.present(&c1, &grant_bytes, &cert_bytes, None), None),
                admit(c2, s.present(&c2, &g2, &wide, None), None),
                admit(c3, relayed, Some(Error::CertBadSignature)),
                admit(c3, sent, None),
            ],
        ));
    }
    {
        // A two-use grant, its issuer signature cached by its first entry; then a relay puts
        // another body (another package) under the signature the holder's proof covers.
        let package = PackageCommitment::new(&[2; 16], b"1Z999AA10123456784");
        let g = s.seal_grant(&s.grant_body(50, 2));
        let other = s.seal_grant(&Grant { package, ..s.grant_body(50, 2) });
        let (c1, c2, c3) = (s.challenge(NOON, 1), s.challenge(NOON, 2), s.challenge(NOON, 3));
        let sent = s.present(&c2, &g, &cert_bytes, None);
        let swapped = [&other[..other.len() - 64], &g[g.len() - 64..]].concat();
        let mut body = vec![0u8; MAX_PRESENTATION_LEN];
        let body = Presentation::new(&swapped, &cert_bytes, None).encode_body(&mut body).unwrap();
        let proof: [u8; 64] = sent[sent.len() - 64..].try_into().unwrap();
        let mut relayed = vec![0u8; MAX_PRESENTATION_LEN];
        let relayed = Presentation::assemble(body, &proof, &mut relayed).unwrap().to_vec();
        out.push(case(
            "multi_use_grant_readmitted",
            "a two-use grant's second entry may skip the issuer's signature (the grant cache); a \
             relay that swaps another body under the cached signature is refused, the holder's \
             own second entry is admitted, a third is a duplicate",
            vec![
                admit(c1, s.present(&c1, &g, &cert_bytes, None), None),
                admit(c2, relayed, Some(Error::GrantBadSignature)),
                admit(c2, sent, None),
                admit(c3, s.present(&c3, &g, &cert_bytes, None), Some(Error::ReplayDuplicate)),
            ],
        ));
    }

    {
        // Serial 5 + 2^32 agrees with serial 5 in its low 32 bits, so it shares serial 5's
        // replay entry (its use count too: both grants have two uses), which takes the later
        // expiry. The entry stores it in 16 bits of minutes
        // past the table's base: at most 65,535 minutes (45 days) ahead (spec section 5). The
        // certificate allows 60-day grants, so one valid for 50 days passes the grant's limits.
        let long_lived = s.seal_cert(&Certificate {
            limits: IssuerLimits { max_grant_lifetime: 60 * 86_400, ..cert.limits.clone() },
            ..cert.clone()
        });
        let signed = |grant: &Grant, signer: &SigningKey| {
            let mut buf = [0u8; MAX_GRANT_LEN];
            grant.seal(signer, &mut buf).unwrap().to_vec()
        };
        let colliding = 5 + (1u64 << 32);
        let first = s.seal_grant(&s.grant_body(5, 2));
        let far = Grant { not_after: NOON.plus(50 * 86_400), ..s.grant_body(colliding, 2) };
        let near = Grant { not_after: NOON.plus(40 * 86_400), ..s.grant_body(colliding, 2) };
        let at = |clock: Time, nonce: u8, grant: &[u8], expect| {
            let c = s.challenge(clock, nonce);
            let presentation = s.present(&c, grant, &long_lived, None);
            Step::Admit { clock, challenge: c, presentation, expect }
        };
        let later = NOON.plus(120);
        // Valid until NOON + 60 with the skew: admitted while the base is NOON, too old had the
        // refusals moved the base to NOON + 120 (what the old code did).
        let short = s.seal_grant(&Grant { not_after: NOON, ..s.grant_body(6, 1) });
        out.push(case(
            "replay_shared_entry_past_45_days_is_replay_full",
            "grant 5 (two uses) admitted at NOON; two minutes later grant 5 + 2^32 (two uses), \
             which shares its replay entry, valid for 50 days: its expiry is more than 65,535 minutes past the \
             base, so it is replay_full at the replay check, before the signatures (the same \
             grant signed by a stranger is replay_full too), and the refusals change nothing: \
             at NOON a grant valid until NOON + 60 is still admitted (the base did not move)",
            vec![
                at(NOON, 1, &first, None),
                at(later, 2, &signed(&far, &s.issuer), Some(Error::ReplayFull)),
                at(later, 3, &signed(&far, &other), Some(Error::ReplayFull)),
                at(NOON, 4, &short, None),
            ],
        ));
        out.push(case(
            "replay_shared_entry_within_45_days_is_its_next_use",
            "grant 5 (two uses) admitted at NOON; two minutes later grant 5 + 2^32 (two uses) valid \
             for 40 days fits the shared entry and is admitted as its second use; the spent entry then \
             refuses the 50-day one and grant 5 itself as duplicates (spent comes before expiry)",
            vec![
                at(NOON, 1, &first, None),
                at(later, 2, &signed(&near, &s.issuer), None),
                at(later.plus(1), 3, &signed(&far, &s.issuer), Some(Error::ReplayDuplicate)),
                at(later.plus(2), 4, &first, Some(Error::ReplayDuplicate)),
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
        // The same length as a u32 varint's widest (5 bytes, still non-canonical) and one byte
        // wider (6 bytes: malformed on every target, since lengths are u32 varints).
        let widen = |width: usize| {
            let mut prefix = vec![valid[1]];
            prefix.extend(std::iter::repeat_n(0x80, width - 2));
            prefix[1..].iter_mut().take(1).for_each(|b| *b |= valid[2]);
            prefix.push(0x00);
            [&valid[..1], &prefix[..], &valid[3..]].concat()
        };
        out.push(mutate(
            "length_5_byte_varint_is_non_canonical",
            "the grant's length as a 5-byte varint: the widest a length may be, not canonical",
            widen(5),
            Error::DecodeNonCanonical,
        ));
        out.push(mutate(
            "length_6_byte_varint_is_malformed",
            "the grant's length as a 6-byte varint: wider than a u32 varint, malformed on every \
             target (the 32-bit door and 64-bit hosts alike)",
            widen(6),
            Error::DecodeMalformed,
        ));
        // A list length inside the grant: its door list's (one byte, after version, site,
        // serial, uses and role) as a 6-byte varint.
        let mut body = [0u8; MAX_GRANT_LEN];
        let body = encode(&grant, &mut body).unwrap().to_vec();
        let at = 1 + 5 + 1 + 1 + 1;
        assert_eq!(&body[at..at + 2], &[1, 1], "the door list of one door, door 1");
        let wide = [&body[..at], &[0x81, 0x80, 0x80, 0x80, 0x80, 0x00], &body[at + 1..]].concat();
        let sig = &grant_bytes[grant_bytes.len() - 64..];
        let wide_grant = [&wide[..], sig].concat();
        let c = s.challenge(NOON, 1);
        let p = s.present(&c, &wide_grant, &cert_bytes, None);
        out.push(case(
            "list_length_6_byte_varint_is_malformed",
            "the grant's door list length as a 6-byte varint: malformed on every target",
            vec![admit(c, p, Some(Error::DecodeMalformed))],
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
        // The same afternoon-only issuer at noon UTC is inside its hours in UTC+2 (the zone
        // of its certificate; in November Eastern Europe keeps standard time).
        let mut x = cert.clone();
        x.limits.hours = Hours { weekdays: 0x7f, from_minute: 13 * 60, to_minute: 17 * 60 };
        x.limits.zone = TimeZone::parse_posix("EET-2EEST,M3.5.0/3,M10.5.0/4").unwrap();
        let c = s.challenge(NOON, 1);
        let p = s.present(&c, &grant_bytes, &s.seal_cert(&x), None);
        out.push(case(
            "hours_use_site_local_time",
            "13:00-17:00 local at 12:00 UTC is allowed when the certificate's zone is UTC+2",
            vec![admit(c, p, None)],
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
        // A holder key chosen to start with the issuer key's 8 bytes, revoked: with subjects
        // of raw key prefixes this stopped the whole issuer.
        let mut chosen = [0u8; 32];
        chosen[..8].copy_from_slice(&s.issuer.public_key().0[..8]);
        let mut builder = DenyListBuilder::new(Time(0), 0);
        builder.deny_holder(&PublicKey(chosen), NOON.plus(900));
        let (_, _, deny) = builder.finish();
        let st = DoorState { deny, ..s.state(1, NOON.minus(100)) };
        let (c, p) = s.valid(10, 1, 1);
        out.push(case(
            "holder_subject_chosen_like_the_issuer_denies_only_the_holder",
            "deny subjects are labelled hashes per kind: revoking a holder key that starts like \
             the issuer key does not revoke the issuer",
            vec![Step::State { bytes: s.seal_state(&st), expect: None }, admit(c, p, None)],
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
    out.extend(clock_reset_cases());
    out.extend(local_time_cases());
    out.extend(boundary_cases());
    out
}

/// An attempt at `clock`, answering a challenge the door made then (nonce `nonce`).
fn attempt(
    cert: &Certificate,
    grant: &Grant,
    clock: Time,
    nonce: u8,
    expect: Option<Error>,
) -> Step {
    let s = Site::new();
    let challenge = s.challenge(clock, nonce);
    let presentation = s.present(&challenge, &s.seal_grant(grant), &s.seal_cert(cert), None);
    Step::Admit { clock, challenge, presentation, expect }
}

/// A grant valid from a minute before `at` to ten minutes after.
fn grant_at(serial: u64, at: Time) -> Grant {
    let mut g = Site::new().grant_body(serial, 1);
    g.not_before = at.minus(60);
    g.not_after = at.plus(600);
    g
}

/// Seconds since the epoch of a UTC date and time.
fn utc(year: u32, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Time {
    let (y, m) = if month <= 2 { (year - 1, month + 12) } else { (year, month) };
    let days = 365 * y + y / 4 - y / 100 + y / 400 + (153 * (m - 3) + 2) / 5 + day - 719_469;
    Time(days * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Hours judged in the certificate's zone across daylight-saving changes and midnight (issue
/// 8, item 4): at each change, the last second outside and the first inside the hours.
fn local_time_cases() -> Vec<Case> {
    let s = Site::new();
    let zoned = |zone: &str, weekdays: u8, from: u16, to: u16| {
        let mut c = s.certificate_body();
        c.not_before = Time(1_700_000_000);
        c.not_after = Time(1_900_000_000);
        c.limits.zone = TimeZone::parse_posix(zone).unwrap();
        c.limits.hours = Hours { weekdays, from_minute: from, to_minute: to };
        c
    };
    // Each instant: (clock, admitted?).
    let steps = |cert: &Certificate, instants: &[(Time, bool)]| -> Vec<Step> {
        instants
            .iter()
            .enumerate()
            .map(|(i, &(at, ok))| {
                let expect = (!ok).then_some(Error::GrantOutsideHours);
                attempt(cert, &grant_at(100 + i as u64, at), at, i as u8 + 1, expect)
            })
            .collect()
    };
    let paris = zoned("CET-1CEST,M3.5.0,M10.5.0/3", 0x7f, 8 * 60, 9 * 60);
    let new_york = zoned("EST5EDT,M3.2.0,M11.1.0", 0x7f, 8 * 60, 9 * 60);
    let sydney = zoned("AEST-10AEDT,M10.1.0,M4.1.0/3", 0x7f, 8 * 60, 9 * 60);
    let night = zoned("EST5EDT,M3.2.0,M11.1.0", 0b1, 22 * 60, 6 * 60);
    vec![
        case(
            "hours_across_european_daylight_saving",
            "08:00-09:00 daily in CET-1CEST,M3.5.0,M10.5.0/3: opens at 07:00 UTC on 27 March 2026, at 06:00 UTC on 30 March (CEST), at 07:00 UTC again on 26 October; the end minute is excluded",
            steps(&paris, &[
                (utc(2026, 3, 27, 6, 59, 59), false),
                (utc(2026, 3, 27, 7, 0, 0), true),
                (utc(2026, 3, 30, 5, 59, 59), false),
                (utc(2026, 3, 30, 6, 0, 0), true),
                (utc(2026, 3, 30, 6, 59, 59), true),
                (utc(2026, 3, 30, 7, 0, 0), false),
                (utc(2026, 10, 26, 6, 59, 59), false),
                (utc(2026, 10, 26, 7, 0, 0), true),
            ]),
        ),
        case(
            "hours_across_united_states_daylight_saving",
            "08:00-09:00 daily in EST5EDT,M3.2.0,M11.1.0: 12:00 UTC on 9 March 2026 (EDT), 13:00 UTC on 2 November (EST)",
            steps(&new_york, &[
                (utc(2026, 3, 9, 11, 59, 59), false),
                (utc(2026, 3, 9, 12, 0, 0), true),
                (utc(2026, 11, 2, 12, 59, 59), false),
                (utc(2026, 11, 2, 13, 0, 0), true),
            ]),
        ),
        case(
            "hours_across_australian_daylight_saving",
            "08:00-09:00 daily in AEST-10AEDT,M10.1.0,M4.1.0/3 (southern hemisphere): 21:00 UTC the day before in January (AEDT), 22:00 UTC in April (AEST), 21:00 UTC in October (AEDT)",
            steps(&sydney, &[
                (utc(2026, 1, 4, 20, 59, 59), false),
                (utc(2026, 1, 4, 21, 0, 0), true),
                (utc(2026, 4, 5, 21, 59, 59), false),
                (utc(2026, 4, 5, 22, 0, 0), true),
                (utc(2026, 10, 4, 20, 59, 59), false),
                (utc(2026, 10, 4, 21, 0, 0), true),
            ]),
        ),
        case(
            "hours_wrap_past_midnight_in_local_time",
            "Monday 22:00 to 06:00 in New York (EST): Monday 21:59:59 no, 22:00 yes, Tuesday 05:59:59 yes, 06:00 no, Monday 05:00 (Sunday's night) no",
            steps(&night, &[
                (utc(2026, 11, 24, 2, 59, 59), false),
                (utc(2026, 11, 24, 3, 0, 0), true),
                (utc(2026, 11, 24, 10, 59, 59), true),
                (utc(2026, 11, 24, 11, 0, 0), false),
                (utc(2026, 11, 23, 10, 0, 0), false),
            ]),
        ),
    ]
}

/// For every check, the last value that passes and the first that fails (issue 8, "the spec
/// is enough on its own"). Refused steps come first, so the passing step finds the serial
/// unspent.
fn boundary_cases() -> Vec<Case> {
    let s = Site::new();
    let cert = s.certificate_body();
    let grant = s.grant_body(10, 1);
    let mut out = Vec::new();
    let pair = |name: &'static str,
                about: &'static str,
                pass: (Certificate, Grant),
                fail: (Certificate, Grant),
                reason: Error| {
        case(
            name,
            about,
            vec![
                attempt(&fail.0, &fail.1, NOON, 1, Some(reason)),
                attempt(&pass.0, &pass.1, NOON, 2, None),
            ],
        )
    };
    // Raw bytes with a dummy signature: every one fails decoding before any signature check.
    let unsigned = |body: Vec<u8>| [body, vec![0u8; 64]].concat();
    let body_of = |sealed: Vec<u8>| sealed[..sealed.len() - 64].to_vec();
    let raw_attempt =
        |grant: &[u8], cert: &[u8], state: Option<&[u8]>, nonce: u8, expect: Option<Error>| {
            let c = s.challenge(NOON, nonce);
            Step::Admit {
                clock: NOON,
                challenge: c,
                presentation: s.present(&c, grant, cert, state),
                expect,
            }
        };
    let cert_bytes = s.seal_cert(&cert);

    // --- the challenge ---
    {
        // (A challenge issued after the door's time is refused too, `challenge_issued_after_now`
        // in tests/api/rules.rs: a door never issues one, so controllers cannot replay it.)
        let now = s.challenge(NOON, 2);
        let g = s.seal_grant(&grant);
        let late = s.challenge(NOON.minus(31), 3);
        let last = s.challenge(NOON.minus(30), 4);
        let g2 = s.seal_grant(&s.grant_body(11, 1));
        out.push(case(
            "boundary_challenge_window",
            "a challenge issued 31 s before the door's time (lifetime 30) is expired; issued at the door's time, or 30 s before, it is answerable",
            vec![
                admit(late, s.present(&late, &g, &cert_bytes, None), Some(Error::ChallengeExpired)),
                admit(now, s.present(&now, &g, &cert_bytes, None), None),
                admit(last, s.present(&last, &g2, &cert_bytes, None), None),
            ],
        ));
    }
    // --- certificate validity and fences (clock skew k = 60) ---
    {
        let mut pass = cert.clone();
        pass.not_before = NOON.plus(60);
        let mut fail = cert.clone();
        fail.not_before = NOON.plus(61);
        out.push(pair(
            "boundary_cert_not_before",
            "now + k = not_before passes; now + k = not_before - 1 is cert_not_yet_valid",
            (pass, grant.clone()),
            (fail, grant.clone()),
            Error::CertNotYetValid,
        ));
    }
    {
        let mut pass = cert.clone();
        pass.not_after = NOON.minus(60);
        let mut fail = cert.clone();
        fail.not_after = NOON.minus(61);
        out.push(pair(
            "boundary_cert_not_after",
            "now = not_after + k passes; one second later is cert_expired",
            (pass, grant.clone()),
            (fail, grant.clone()),
            Error::CertExpired,
        ));
    }
    {
        let mut fenced = cert.clone();
        fenced.epoch = 1;
        let mut pass = cert.clone();
        pass.epoch = 2;
        let mut st = s.state(1, NOON.minus(100));
        st.cert_epoch_fence = 2;
        out.push(case(
            "boundary_cert_epoch_fence",
            "with cert_epoch_fence 2, epoch 1 is cert_fenced and epoch 2 passes",
            vec![
                Step::State { bytes: s.seal_state(&st), expect: None },
                attempt(&fenced, &grant, NOON, 1, Some(Error::CertFenced)),
                attempt(&pass, &grant, NOON, 2, None),
            ],
        ));
    }
    // --- grant validity ---
    {
        let mut pass = grant.clone();
        pass.not_before = NOON.plus(60);
        pass.not_after = NOON.plus(600);
        let mut fail = pass.clone();
        fail.not_before = NOON.plus(61);
        out.push(pair(
            "boundary_grant_not_before",
            "now + k = not_before passes; one second later is grant_not_yet_valid",
            (cert.clone(), pass),
            (cert.clone(), fail),
            Error::GrantNotYetValid,
        ));
    }
    {
        let mut pass = grant.clone();
        pass.not_after = NOON.minus(60);
        pass.not_before = NOON.minus(600);
        let mut fail = pass.clone();
        fail.not_after = NOON.minus(61);
        out.push(pair(
            "boundary_grant_not_after",
            "now = not_after + k passes; one second more is grant_expired",
            (cert.clone(), pass),
            (cert.clone(), fail),
            Error::GrantExpired,
        ));
    }
    // --- certificate limits ---
    {
        let mut pass = grant.clone();
        pass.not_before = NOON.minus(300);
        pass.not_after = NOON.plus(600); // 900 s = max_grant_lifetime
        let mut fail = pass.clone();
        fail.not_after = NOON.plus(601);
        out.push(pair("boundary_grant_lifetime", "a lifetime equal to max_grant_lifetime (900 s) passes; 901 s is grant_lifetime_too_long", (cert.clone(), pass), (cert.clone(), fail), Error::GrantLifetimeTooLong));
    }
    {
        let pass = s.grant_body(10, 4);
        let fail = s.grant_body(10, 5);
        out.push(pair(
            "boundary_grant_uses",
            "uses equal to max_uses (4) passes; 5 is grant_too_many_uses",
            (cert.clone(), pass),
            (cert.clone(), fail),
            Error::GrantTooManyUses,
        ));
    }
    {
        let mut wide = cert.clone();
        wide.limits.max_uses = MAX_GRANT_USES;
        let pass = s.grant_body(10, MAX_GRANT_USES);
        let mut too_many = body_of(s.seal_grant(&pass));
        let uses_at = too_many.iter().position(|&b| b == MAX_GRANT_USES).unwrap();
        too_many[uses_at] = MAX_GRANT_USES + 1;
        let mut none = too_many.clone();
        none[uses_at] = 0;
        let w = s.seal_cert(&wide);
        out.push(case(
            "boundary_grant_uses_field",
            "a grant with uses 33 or 0 is decode_invalid_field before any signature; 32 passes",
            vec![
                raw_attempt(&unsigned(too_many), &w, None, 1, Some(Error::DecodeInvalidField)),
                raw_attempt(&unsigned(none), &w, None, 2, Some(Error::DecodeInvalidField)),
                attempt(&wide, &pass, NOON, 3, None),
            ],
        ));
    }
    {
        // Hours at 12:00:00 UTC (zone UTC0): from 12:00 opens, from 12:01 does not; to 12:01
        // still includes 12:00, to 12:00 excludes it (the end minute is exclusive).
        let with = |from: u16, to: u16| {
            let mut c = cert.clone();
            c.limits.hours = Hours { weekdays: 0b1, from_minute: from, to_minute: to };
            c
        };
        out.push(case(
            "boundary_hours_minutes",
            "Mondays only, at Monday 12:00:00: from 12:01 and to 12:00 are grant_outside_hours; from 12:00 and to 12:01 pass; from == to is a whole day from the start minute (12:00-12:00 passes, 12:01-12:01 is Sunday's window and refused)",
            vec![
                attempt(&with(721, 1440), &grant, NOON, 1, Some(Error::GrantOutsideHours)),
                attempt(&with(0, 720), &grant, NOON, 2, Some(Error::GrantOutsideHours)),
                attempt(&with(720, 1440), &s.grant_body(20, 1), NOON, 3, None),
                attempt(&with(0, 721), &s.grant_body(21, 1), NOON, 4, None),
                attempt(&with(720, 720), &s.grant_body(22, 1), NOON, 5, None),
                attempt(&with(721, 721), &s.grant_body(23, 1), NOON, 6, Some(Error::GrantOutsideHours)),
            ],
        ));
        let mut monday_only = cert.clone();
        monday_only.limits.hours = Hours { weekdays: 0b1, from_minute: 0, to_minute: 1440 };
        let mut tuesday_only = cert.clone();
        tuesday_only.limits.hours = Hours { weekdays: 0b10, from_minute: 0, to_minute: 1440 };
        out.push(pair("boundary_hours_weekday_origin", "bit 0 is Monday: NOON (a Monday) passes with weekdays 0b1 and is grant_outside_hours with 0b10", (monday_only, grant.clone()), (tuesday_only, grant.clone()), Error::GrantOutsideHours));
    }
    {
        // Field ranges of the hours: the last value that decodes and the first that does not.
        let with = |weekdays: u8, from: u16, to: u16| {
            let mut c = cert.clone();
            c.limits.hours = Hours { weekdays, from_minute: from, to_minute: to };
            s.seal_cert(&c)
        };
        let g = s.seal_grant(&grant);
        // (At most three refusals per case: a door controller backs off after three in a row,
        // and the QEMU board replays every case with its production settings.)
        out.push(case(
            "boundary_hours_weekdays_and_start",
            "weekdays 0x80 and from_minute 1440 are decode_invalid_field; weekdays 0x7f with from_minute 0 and to_minute 1440 decodes and admits",
            vec![
                raw_attempt(&g, &with(0x80, 0, 1440), None, 1, Some(Error::DecodeInvalidField)),
                raw_attempt(&g, &with(0x7f, 1440, 1440), None, 2, Some(Error::DecodeInvalidField)),
                raw_attempt(&g, &with(0x7f, 0, 1440), None, 3, None),
            ],
        ));
        out.push(case(
            "boundary_hours_end_and_last_start",
            "to_minute 1441 is decode_invalid_field; from_minute 1439 decodes (and is outside the hours at noon); to_minute 1440 admits",
            vec![
                raw_attempt(&g, &with(0x7f, 0, 1441), None, 1, Some(Error::DecodeInvalidField)),
                raw_attempt(&g, &with(0x7f, 1439, 1440), None, 2, Some(Error::GrantOutsideHours)),
                raw_attempt(&g, &with(0x7f, 0, 1440), None, 3, None),
            ],
        ));
    }
    {
        let mut st = s.state(1, NOON.minus(100));
        st.grant_fence = grant.not_before.plus(1);
        let mut at_fence = s.state(2, NOON.minus(90));
        at_fence.grant_fence = grant.not_before;
        out.push(case(
            "boundary_grant_fence",
            "grant_fence one second after not_before is grant_fenced; grant_fence = not_before passes",
            vec![
                Step::State { bytes: s.seal_state(&st), expect: None },
                attempt(&cert, &grant, NOON, 1, Some(Error::GrantFenced)),
                Step::State { bytes: s.seal_state(&at_fence), expect: None },
                attempt(&cert, &grant, NOON, 2, None),
            ],
        ));
    }
    {
        // A door numbered 16,384 (a three-byte varint); the certificate's door list applies to
        // this door only, not to every door the grant names.
        let far = DoorId(16_384);
        let mut scoped = cert.clone();
        scoped.limits.doors = DoorScope::Only(heapless::Vec::from_slice(&[far]).unwrap());
        let mut beside = cert.clone();
        beside.limits.doors =
            DoorScope::Only(heapless::Vec::from_slice(&[DoorId(16_383), DoorId(16_385)]).unwrap());
        let mut g = grant.clone();
        g.doors = heapless::Vec::from_slice(&[DoorId(1), far, DoorId(u16::MAX)]).unwrap();
        let challenge = |nonce: u8| Challenge::new(SITE, far, [nonce; 16], NOON);
        let present = |c: &Certificate, nonce: u8| {
            let ch = challenge(nonce);
            let p = s.present(&ch, &s.seal_grant(&g), &s.seal_cert(c), None);
            admit(ch, p, None)
        };
        let mut refused = present(&beside, 1);
        if let Step::Admit { expect, .. } = &mut refused {
            *expect = Some(Error::GrantDoorNotAllowed);
        }
        let mut config = s.config.clone();
        config.door = far;
        out.push(Case {
            config,
            ..case(
                "boundary_cert_door_scope",
                "at door 16384, a certificate listing 16383 and 16385 is grant_door_not_allowed; one listing 16384 admits a grant naming doors 1, 16384 and 65535 (the certificate's list is checked for this door only)",
                vec![refused, present(&scoped, 2)],
            )
        });
    }
    {
        let mut unknown_role = cert.clone();
        unknown_role.limits.roles = RoleSet(0b111);
        let mut both = cert.clone();
        both.limits.roles = RoleSet(0b11);
        let mut service_only = cert.clone();
        service_only.limits.roles = RoleSet::only(Role::Service);
        let g = s.seal_grant(&grant);
        out.push(case(
            "boundary_cert_roles",
            "a role set with a bit beyond the known roles (0b111) is decode_invalid_field; Service only is grant_role_not_allowed for a Delivery grant; 0b11 passes",
            vec![
                raw_attempt(&g, &s.seal_cert(&unknown_role), None, 1, Some(Error::DecodeInvalidField)),
                raw_attempt(&g, &s.seal_cert(&service_only), None, 2, Some(Error::GrantRoleNotAllowed)),
                raw_attempt(&g, &s.seal_cert(&both), None, 3, None),
            ],
        ));
    }
    {
        // Grant role 2 does not exist: the enum does not decode.
        let service = body_of(s.seal_grant(&Grant { role: Role::Service, ..grant.clone() }));
        let delivery = body_of(s.seal_grant(&grant));
        let at = service.iter().zip(&delivery).position(|(a, b)| a != b).unwrap();
        let mut bad = service.clone();
        bad[at] = 2;
        out.push(case(
            "boundary_grant_role",
            "a grant role of 2 (unknown) is decode_malformed",
            vec![raw_attempt(&unsigned(bad), &cert_bytes, None, 1, Some(Error::DecodeMalformed))],
        ));
    }
    {
        // Lists one item beyond their bound are decode_malformed; at the bound they decode.
        let mut four = grant.clone();
        four.doors =
            heapless::Vec::from_slice(&[DoorId(1), DoorId(2), DoorId(3), DoorId(4)]).unwrap();
        let body = body_of(s.seal_grant(&four));
        let at = body.windows(5).position(|w| w == [4, 1, 2, 3, 4]).unwrap();
        let five = [&body[..at], &[5, 1, 2, 3, 4, 5][..], &body[at + 5..]].concat();
        let mut sixteen = cert.clone();
        let doors: Vec<DoorId> = (1..=16).map(DoorId).collect();
        sixteen.limits.doors = DoorScope::Only(heapless::Vec::from_slice(&doors).unwrap());
        let cbody = body_of(s.seal_cert(&sixteen));
        let list: Vec<u8> = [16u8].into_iter().chain(1..=16).collect();
        let at = cbody.windows(17).position(|w| w == list.as_slice()).unwrap();
        let longer: Vec<u8> = [17u8].into_iter().chain(1..=17).collect();
        let seventeen = [&cbody[..at], &longer[..], &cbody[at + 17..]].concat();
        out.push(case(
            "boundary_list_bounds",
            "a grant naming 5 doors and a certificate listing 17 are decode_malformed (a list beyond its bound); 4 and 16 decode and admit",
            vec![
                raw_attempt(&unsigned(five), &cert_bytes, None, 1, Some(Error::DecodeMalformed)),
                raw_attempt(&s.seal_grant(&grant), &unsigned(seventeen), None, 2, Some(Error::DecodeMalformed)),
                raw_attempt(&s.seal_grant(&four), &s.seal_cert(&sixteen), None, 3, None),
            ],
        ));
    }
    {
        let mut full = s.state(1, NOON.minus(100));
        for i in 0..MAX_DENY_ENTRIES as u64 {
            let subject = DenySubject((i << 40 | 0xff).to_be_bytes());
            full.deny.push(DenyEntry { subject, until: NOON }).unwrap();
        }
        let body = body_of(s.seal_state(&full));
        // The count 256 is the varint 0x80 0x02 right before the first entry.
        let first = 0xffu64.to_be_bytes();
        let at = body.windows(10).position(|w| w[..2] == [0x80, 0x02] && w[2..] == first).unwrap();
        let mut over = body[..at].to_vec();
        over.extend_from_slice(&[0x81, 0x02]);
        over.extend_from_slice(&body[at + 2..]);
        // One more entry, larger than all: subject then `until` (NOON, five bytes).
        over.extend_from_slice(&((256u64 << 40) | 0xff).to_be_bytes());
        let mut until = [0u8; 8];
        let until = encode(&NOON, &mut until).unwrap().to_vec();
        over.extend_from_slice(&until);
        out.push(case(
            "boundary_deny_list_bound",
            "a door state with 257 deny entries is decode_malformed; 256 is taken",
            vec![
                Step::State { bytes: unsigned(over), expect: Some(Error::DecodeMalformed) },
                Step::State { bytes: s.seal_state(&full), expect: None },
            ],
        ));
    }
    {
        let mut same = cert.clone();
        same.not_after = same.not_before;
        let mut one = cert.clone();
        one.not_before = NOON.minus(1);
        one.not_after = NOON;
        let mut g_same = grant.clone();
        g_same.not_after = g_same.not_before;
        let mut g_one = s.grant_body(11, 1);
        g_one.not_before = NOON.minus(1);
        g_one.not_after = NOON;
        let last = u64::MAX - 1;
        let g_top = s.grant_body(last, 1);
        let g_over = s.grant_body(u64::MAX, 1);
        let g = s.seal_grant(&grant);
        out.push(case(
            "boundary_validity_fields",
            "not_before = not_after (certificate or grant) and serial + uses beyond u64 are decode_invalid_field; a one-second window and serial u64::MAX - 1 with one use pass",
            vec![
                raw_attempt(&g, &s.seal_cert(&same), None, 1, Some(Error::DecodeInvalidField)),
                raw_attempt(&s.seal_grant(&g_same), &cert_bytes, None, 2, Some(Error::DecodeInvalidField)),
                raw_attempt(&s.seal_grant(&g_over), &cert_bytes, None, 3, Some(Error::DecodeInvalidField)),
                raw_attempt(&g, &s.seal_cert(&one), None, 4, None),
                raw_attempt(&s.seal_grant(&g_one), &cert_bytes, None, 5, None),
                raw_attempt(&s.seal_grant(&g_top), &cert_bytes, None, 6, None),
            ],
        ));
    }
    {
        let mut max_uses_0 = cert.clone();
        max_uses_0.limits.max_uses = 0;
        let mut max_uses_33 = cert.clone();
        max_uses_33.limits.max_uses = MAX_GRANT_USES + 1;
        let mut max_uses_1 = cert.clone();
        max_uses_1.limits.max_uses = 1;
        let g = s.seal_grant(&grant);
        out.push(case(
            "boundary_cert_max_uses",
            "max_uses 0 or 33 is decode_invalid_field; 1 passes a one-use grant",
            vec![
                raw_attempt(
                    &g,
                    &s.seal_cert(&max_uses_0),
                    None,
                    1,
                    Some(Error::DecodeInvalidField),
                ),
                raw_attempt(
                    &g,
                    &s.seal_cert(&max_uses_33),
                    None,
                    2,
                    Some(Error::DecodeInvalidField),
                ),
                raw_attempt(&g, &s.seal_cert(&max_uses_1), None, 3, None),
            ],
        ));
    }
    // --- decoding at the edges ---
    {
        let c = s.challenge(NOON, 1);
        let valid = s.present(&c, &s.seal_grant(&grant), &cert_bytes, None);
        let mut v2 = valid.clone();
        v2[0] = 2;
        let mut too_large = valid.clone();
        too_large.resize(MAX_PRESENTATION_LEN + 1, 0);
        let raw = |presentation: Vec<u8>, expect| Step::Admit {
            clock: NOON,
            challenge: c,
            presentation,
            expect: Some(expect),
        };
        out.push(case(
            "boundary_presentation_empty",
            "an empty presentation and 64 bytes (a signature with no body) are decode_malformed; a whole one admits",
            vec![
                raw(vec![], Error::DecodeMalformed),
                raw(vec![0; 64], Error::DecodeMalformed),
                admit(c, valid.clone(), None),
            ],
        ));
        out.push(case(
            "boundary_presentation_version_and_size",
            "version byte 2 is decode_unsupported_version; 4161 bytes is decode_too_large (the length is checked first); a whole one admits",
            vec![
                raw(v2, Error::DecodeUnsupportedVersion),
                raw(too_large, Error::DecodeTooLarge),
                admit(c, valid, None),
            ],
        ));
    }
    // --- door state ---
    {
        let zero = s.seal_state(&s.state(0, NOON.minus(100)));
        let one = s.seal_state(&s.state(1, NOON.minus(100)));
        out.push(case(
            "boundary_fresh_door_state_sequence",
            "a fresh door holds sequence 0: a state numbered 0 is state_not_newer, 1 is taken",
            vec![
                Step::State { bytes: zero, expect: Some(Error::StateNotNewer) },
                Step::State { bytes: one, expect: None },
            ],
        ));
    }
    {
        let st = s.seal_state(&s.state(2, NOON.minus(100)));
        let older = s.seal_state(&s.state(1, NOON.minus(200)));
        let mut malformed = older.clone();
        let last_body = malformed.len() - 65;
        malformed[last_body] ^= 0x80; // the last body byte becomes an unfinished varint
        let mut forged = older.clone();
        let n = forged.len();
        forged[n - 1] ^= 1;
        let g = s.seal_grant(&grant);
        out.push(case(
            "boundary_carried_state_not_newer",
            "a carried state that is not newer is decoded strictly (a malformed one refuses the attempt) but its signature is not checked (a forged one is ignored); a well-formed one is ignored",
            vec![
                Step::State { bytes: st, expect: None },
                raw_attempt(&g, &cert_bytes, Some(&malformed), 1, Some(Error::DecodeMalformed)),
                raw_attempt(&g, &cert_bytes, Some(&forged), 2, None),
                raw_attempt(&s.seal_grant(&s.grant_body(11, 1)), &cert_bytes, Some(&older), 3, None),
            ],
        ));
    }
    // --- the order between phases ---
    {
        let mut expired = cert.clone();
        expired.not_after = NOON.minus(61);
        let mut elsewhere = grant.clone();
        elsewhere.doors = heapless::Vec::from_slice(&[DoorId(2)]).unwrap();
        let stale = s.challenge(NOON.minus(31), 1);
        let forged_state = {
            let mut buf = vec![0u8; MAX_DOOR_STATE_LEN];
            s.state(5, NOON).seal(&key(9), &mut buf).unwrap().to_vec()
        };
        // (A stale challenge is combined with later phases only: a door controller may expire
        // its challenge by its own timer before reading the presentation at all.)
        let first = s.challenge(NOON, 4);
        let p = s.present(
            &first,
            &s.seal_grant(&elsewhere),
            &s.seal_cert(&expired),
            Some(&forged_state),
        );
        let p2 = s.present(&stale, &s.seal_grant(&elsewhere), &s.seal_cert(&expired), None);
        let fresh = s.challenge(NOON, 2);
        let p3 = s.present(&fresh, &s.seal_grant(&elsewhere), &s.seal_cert(&expired), None);
        let mut fenced_state = s.state(1, NOON.minus(100));
        fenced_state.grant_fence = NOON;
        let fresh2 = s.challenge(NOON, 3);
        let mut bad_sig = s.seal_grant(&grant);
        let n = bad_sig.len();
        bad_sig[n - 1] ^= 1;
        let p4 = s.present(&fresh2, &bad_sig, &cert_bytes, None);
        out.push(case(
            "order_of_phases",
            "with several faults the first phase wins: a carried state (601) before the certificate (204) and the grant (303); the challenge (404) before them; the certificate before the grant; revocation (307) before signatures (301)",
            vec![
                admit(first, p, Some(Error::StateBadSignature)),
                admit(stale, p2, Some(Error::ChallengeExpired)),
                admit(fresh, p3, Some(Error::CertExpired)),
                Step::State { bytes: s.seal_state(&fenced_state), expect: None },
                admit(fresh2, p4, Some(Error::GrantFenced)),
            ],
        ));
    }
    out
}

/// A door state dated ten years ahead, and the root-signed clock reset that recovers from it.
fn clock_reset_cases() -> Vec<Case> {
    let s = Site::new();
    let ahead = NOON.plus(10 * 365 * 86_400);
    let reset = |sequence: u64, fence: Time| {
        s.seal_state(&DoorState {
            clock_reset: true,
            grant_fence: fence,
            ..s.state(sequence, NOON.minus(50))
        })
    };
    let fresh = |serial: u64, nonce: u8| {
        let mut g = s.grant_body(serial, 1);
        g.not_before = NOON.minus(50);
        let c = s.challenge(NOON, nonce);
        let cert = s.seal_cert(&s.certificate_body());
        (c, s.present(&c, &s.seal_grant(&g), &cert, None))
    };
    let (c_old, p_old) = s.valid(10, 1, 1);
    let (c_new, p_new) = fresh(11, 2);
    let (c_ahead, p_ahead) = {
        let c = s.challenge(ahead, 3);
        let g = s.seal_grant(&s.grant_body(12, 1));
        (c, s.present(&c, &g, &s.seal_cert(&s.certificate_body()), None))
    };
    vec![case(
        "clock_reset_recovers_a_door_dated_ahead",
        "a state dated ten years ahead raises the floor and refuses everything; a reset with a larger sequence and grant_fence = issued_at lowers the floor: grants issued before it are fenced, later ones admitted",
        vec![
            Step::State { bytes: s.seal_state(&s.state(1, ahead)), expect: None },
            Step::Admit {
                clock: ahead,
                challenge: c_ahead,
                presentation: p_ahead,
                expect: Some(Error::CertExpired),
            },
            Step::State { bytes: reset(2, NOON.minus(50)), expect: None },
            admit(c_old, p_old, Some(Error::GrantFenced)),
            admit(c_new, p_new, None),
        ],
    ),
    case(
        "clock_reset_must_fence_and_be_newer",
        "after a state dated ahead (sequence 1): a reset whose grant_fence is one second before its issued_at is decode_invalid_field; a reset numbered 1 is state_not_newer; grant_fence = issued_at with sequence 2 is taken",
        vec![
            Step::State { bytes: s.seal_state(&s.state(1, ahead)), expect: None },
            Step::State {
                bytes: reset(2, NOON.minus(51)),
                expect: Some(Error::DecodeInvalidField),
            },
            Step::State { bytes: reset(1, NOON.minus(50)), expect: Some(Error::StateNotNewer) },
            Step::State { bytes: reset(2, NOON.minus(50)), expect: None },
        ],
    )]
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
