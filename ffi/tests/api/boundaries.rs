//! The boundary's promises: NULL pointers, short buffers, wrong lengths and garbage give
//! codes and leave every output untouched. (The C tests repeat these under ASan and valgrind.)

use std::ptr;

use porter_ffi::*;

use super::driver_data::DriverData;

/// A tiny deterministic generator, so failures reproduce.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn door(d: &DriverData) -> (porter_door_config, Vec<u8>, usize) {
    let config = porter_door_config {
        site: d.number("site"),
        door: d.number("door"),
        root: d.bytes("root").try_into().unwrap(),
        clock_skew: 60,
        challenge_lifetime: 30,
    };
    let mut memory = vec![0u8; PORTER_MAX_DOOR_MEMORY_LEN];
    let mut len = 0;
    assert_eq!(
        porter_door_memory_init(config.site, 0, memory.as_mut_ptr(), memory.len(), &mut len),
        porter_result::Ok
    );
    (config, memory, len)
}

#[test]
fn null_pointers_give_null_parameter_and_write_nothing() {
    let d = DriverData::load();
    let seed = d.bytes("holder_seed");
    let mut key = ptr::null_mut();
    assert_eq!(porter_holder_key_new(ptr::null(), 32, &mut key), porter_result::NullParameter);
    assert!(key.is_null());
    assert_eq!(
        porter_holder_key_new(seed.as_ptr(), 32, ptr::null_mut()),
        porter_result::NullParameter
    );
    let mut out = [0u8; 32];
    let mut n = 7;
    assert_eq!(
        porter_holder_key_public(ptr::null(), out.as_mut_ptr(), 32, &mut n),
        porter_result::NullParameter
    );
    assert_eq!(n, 7);

    let g = d.bytes("grant");
    let c = d.bytes("challenge");
    let cert = d.bytes("certificate");
    let mut written = 99;
    let mut p = vec![0u8; PORTER_MAX_PRESENTATION_LEN];
    assert_eq!(porter_holder_key_new(seed.as_ptr(), 32, &mut key), porter_result::Ok);
    let r = porter_presentation_build(
        key,
        ptr::null(),
        0,
        g.as_ptr(),
        g.len(),
        cert.as_ptr(),
        cert.len(),
        ptr::null(),
        0,
        p.as_mut_ptr(),
        p.len(),
        &mut written,
    );
    assert_eq!(r, porter_result::NullParameter);
    let r = porter_presentation_build(
        key,
        c.as_ptr(),
        c.len(),
        g.as_ptr(),
        g.len(),
        cert.as_ptr(),
        cert.len(),
        ptr::null(),
        0,
        p.as_mut_ptr(),
        p.len(),
        ptr::null_mut(),
    );
    assert_eq!(r, porter_result::NullParameter);
    let r = porter_presentation_build_with_signer(
        None,
        ptr::null_mut(),
        c.as_ptr(),
        c.len(),
        g.as_ptr(),
        g.len(),
        cert.as_ptr(),
        cert.len(),
        ptr::null(),
        0,
        p.as_mut_ptr(),
        p.len(),
        &mut written,
    );
    assert_eq!(r, porter_result::NullParameter);
    assert_eq!(written, 99);
    porter_holder_key_free(key);
    porter_holder_key_free(ptr::null_mut());
    porter_grant_free(ptr::null_mut());
    porter_receipt_free(ptr::null_mut());
    porter_audit_batch_free(ptr::null_mut());

    assert_eq!(porter_grant_site(ptr::null()), 0);
    assert_eq!(porter_grant_role(ptr::null()), porter_role::Invalid);
    assert_eq!(porter_receipt_event(ptr::null()), porter_event::Invalid);
    assert_eq!(porter_audit_batch_len(ptr::null()), 0);

    let (config, mut memory, mut len) = door(&d);
    let admission = std::mem::MaybeUninit::<porter_admission>::uninit();
    let pr = d.bytes("presentation");
    type Call<'a> = &'a dyn Fn(&mut Vec<u8>, &mut usize) -> porter_result;
    let calls: [Call<'_>; 3] = [
        &|m, l| {
            porter_door_admit(
                ptr::null(),
                m.as_mut_ptr(),
                m.len(),
                l,
                0,
                c.as_ptr(),
                c.len(),
                pr.as_ptr(),
                pr.len(),
                admission.as_ptr().cast_mut(),
            )
        },
        &|m, _| {
            porter_door_admit(
                &config,
                m.as_mut_ptr(),
                m.len(),
                ptr::null_mut(),
                0,
                c.as_ptr(),
                c.len(),
                pr.as_ptr(),
                pr.len(),
                admission.as_ptr().cast_mut(),
            )
        },
        &|m, l| {
            porter_door_admit(
                &config,
                m.as_mut_ptr(),
                m.len(),
                l,
                0,
                c.as_ptr(),
                c.len(),
                pr.as_ptr(),
                pr.len(),
                ptr::null_mut(),
            )
        },
    ];
    let before = memory.clone();
    for call in calls {
        assert_eq!(call(&mut memory, &mut len), porter_result::NullParameter);
        assert_eq!(memory, before);
    }
}

#[test]
fn short_buffers_and_wrong_lengths_give_codes_and_write_nothing() {
    let d = DriverData::load();
    let seed = d.bytes("holder_seed");
    let mut key = ptr::null_mut();
    assert_eq!(porter_holder_key_new(seed.as_ptr(), 31, &mut key), porter_result::InvalidParameter);
    let zeros = [0u8; 32];
    assert_eq!(porter_holder_key_new(zeros.as_ptr(), 32, &mut key), porter_result::KeyInvalidSeed);
    assert!(key.is_null());
    assert_eq!(porter_holder_key_new(seed.as_ptr(), 32, &mut key), porter_result::Ok);
    let mut out = [0xEEu8; 31];
    let mut n = 5;
    assert_eq!(
        porter_holder_key_public(key, out.as_mut_ptr(), 31, &mut n),
        porter_result::BufferTooSmall
    );
    assert_eq!((n, out), (5, [0xEE; 31]));

    let (c, g, cert) = (d.bytes("challenge"), d.bytes("grant"), d.bytes("certificate"));
    let expected = d.bytes("presentation");
    let s = d.bytes("door_state");
    let mut p = vec![0xEEu8; expected.len() - 1];
    let r = porter_presentation_build(
        key,
        c.as_ptr(),
        c.len(),
        g.as_ptr(),
        g.len(),
        cert.as_ptr(),
        cert.len(),
        s.as_ptr(),
        s.len(),
        p.as_mut_ptr(),
        p.len(),
        &mut n,
    );
    assert_eq!(r, porter_result::BufferTooSmall);
    assert_eq!(n, 5);
    assert!(p.iter().all(|&b| b == 0xEE));
    porter_holder_key_free(key);

    let mut memory = vec![0u8; PORTER_MAX_DOOR_MEMORY_LEN - 1];
    let mut len = 0;
    assert_eq!(
        porter_door_memory_init(1, 0, memory.as_mut_ptr(), memory.len(), &mut len),
        porter_result::BufferTooSmall
    );
    let mut nonce_out = [0u8; PORTER_MAX_CHALLENGE_LEN];
    let r = porter_challenge_encode(1, 1, seed.as_ptr(), 15, 0, nonce_out.as_mut_ptr(), 32, &mut n);
    assert_eq!(r, porter_result::InvalidParameter);
    let mut doors = [0u16; 0];
    let mut grant = ptr::null_mut();
    assert_eq!(porter_grant_decode(g.as_ptr(), g.len(), &mut grant), porter_result::Ok);
    assert_eq!(
        porter_grant_doors(grant, doors.as_mut_ptr(), 0, &mut n),
        porter_result::BufferTooSmall
    );
    porter_grant_free(grant);
}

#[test]
fn garbage_presentations_and_memory_are_refused_and_change_nothing() {
    let d = DriverData::load();
    let (config, mut memory, mut len) = door(&d);
    let c = d.bytes("challenge");
    let valid = d.bytes("presentation");
    let clock: u32 = d.number("clock");
    let before = memory.clone();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut admission = std::mem::MaybeUninit::<porter_admission>::uninit();
    for round in 0..400 {
        // Bit flips and truncations of a valid presentation, and pure noise.
        let mut p = valid.clone();
        match round % 3 {
            0 => {
                let i = (rng.next() as usize) % p.len();
                p[i] ^= 1 << (rng.next() % 8);
            }
            1 => p.truncate((rng.next() as usize) % p.len()),
            _ => p = (0..(rng.next() % 300)).map(|_| rng.next() as u8).collect(),
        }
        let r = porter_door_admit(
            &config,
            memory.as_mut_ptr(),
            memory.len(),
            &mut len,
            clock,
            c.as_ptr(),
            c.len(),
            p.as_ptr(),
            p.len(),
            admission.as_mut_ptr(),
        );
        assert_ne!(r, porter_result::Ok, "round {round}: garbage admitted");
        assert_ne!(r, porter_result::Panic, "round {round}");
        assert_eq!(memory, before, "round {round}: a refusal changed the memory");
        let mut grant = ptr::null_mut();
        let r = porter_grant_decode(p.as_ptr(), p.len(), &mut grant);
        assert!(r != porter_result::Ok && grant.is_null());
    }

    // Corrupt memory fails closed with its own code.
    for i in [0, 1, len / 2, len - 1] {
        let mut bad = memory.clone();
        bad[i] ^= 0xFF;
        let mut bad_len = len;
        let r = porter_door_admit(
            &config,
            bad.as_mut_ptr(),
            bad.len(),
            &mut bad_len,
            clock,
            c.as_ptr(),
            c.len(),
            valid.as_ptr(),
            valid.len(),
            admission.as_mut_ptr(),
        );
        // A flipped byte may still decode (a changed floor, say) and then decide normally;
        // what must never happen is a panic or a decision on memory that does not decode.
        assert_ne!(r, porter_result::Panic, "byte {i}");
        let decodes = porter_protocol::DoorMemory::<4, 8, 4>::decode(&bad[..bad_len]).is_ok();
        assert!(decodes || r == porter_result::DoorMemoryCorrupt, "byte {i}: {r:?}");
    }
    let mut bad_len = PORTER_MAX_DOOR_MEMORY_LEN + 1;
    let r = porter_door_admit(
        &config,
        memory.as_mut_ptr(),
        memory.len(),
        &mut bad_len,
        clock,
        c.as_ptr(),
        c.len(),
        valid.as_ptr(),
        valid.len(),
        admission.as_mut_ptr(),
    );
    assert_eq!(r, porter_result::DoorMemoryCorrupt);
}
