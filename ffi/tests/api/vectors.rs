//! The shared admission vectors (`spec/vectors/admission.txt`) through the C ABI, beside the
//! protocol core itself: both must give every step its expected code.

use porter_ffi::*;
use porter_protocol::{
    Challenge, Decision, DoorConfig, DoorId, DoorMemory, PublicKey, SiteId, Time,
};

use super::driver_data::unhex;

const VECTORS: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/vectors/admission.txt"));

struct Door {
    config: porter_door_config,
    memory: Vec<u8>,
    len: usize,
    core: DoorMemory,
}

fn field<'a>(words: &mut impl Iterator<Item = &'a str>) -> &'a str {
    words.next().expect("vector line too short")
}

#[test]
fn every_vector_step_gets_its_code_through_the_c_abi_and_the_core() {
    let mut door: Option<Door> = None;
    let mut case = String::new();
    let (mut steps, mut admitted) = (0, 0);
    for line in VECTORS.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        // Single spaces: an empty field (an empty presentation) is two spaces in a row.
        let mut words = line.split(' ');
        match field(&mut words) {
            "case" => case = field(&mut words).to_string(),
            "config" => {
                let site: u32 = field(&mut words).parse().unwrap();
                let door_id: u16 = field(&mut words).parse().unwrap();
                let root: [u8; 32] = unhex(field(&mut words)).try_into().unwrap();
                let clock_skew = field(&mut words).parse().unwrap();
                let challenge_lifetime = field(&mut words).parse().unwrap();
                let floor: u32 = field(&mut words).parse().unwrap();
                let config = porter_door_config {
                    site,
                    door: door_id,
                    root,
                    clock_skew,
                    challenge_lifetime,
                };
                let mut memory = vec![0u8; PORTER_MAX_DOOR_MEMORY_LEN];
                let mut len = 0;
                let r = porter_door_memory_init(
                    site,
                    floor,
                    memory.as_mut_ptr(),
                    memory.len(),
                    &mut len,
                );
                assert_eq!(r, porter_result::Ok);
                door = Some(Door {
                    config,
                    memory,
                    len,
                    core: DoorMemory::new(SiteId(site), Time(floor)),
                });
            }
            "state" => {
                let d = door.as_mut().expect("state before config");
                let bytes = unhex(field(&mut words));
                let expect: u32 = field(&mut words).parse().unwrap();
                let before = d.memory[..d.len].to_vec();
                let mut sequence = 0u64;
                let r = porter_door_apply_state(
                    &d.config,
                    d.memory.as_mut_ptr(),
                    d.memory.len(),
                    &mut d.len,
                    bytes.as_ptr(),
                    bytes.len(),
                    &mut sequence,
                );
                assert_eq!(r as u32, expect, "{case}: state via the C ABI");
                let core = d.core.apply_door_state(&core_config(&d.config), &bytes);
                assert_eq!(core.err().map_or(0, |e| u32::from(e.code())), expect, "{case}: core");
                if expect != 0 {
                    assert_eq!(d.memory[..d.len], before[..], "{case}: refusal changed memory");
                }
                steps += 1;
            }
            "admit" => {
                let d = door.as_mut().expect("admit before config");
                let clock: u32 = field(&mut words).parse().unwrap();
                let challenge = unhex(field(&mut words));
                let presentation = unhex(field(&mut words));
                let expect: u32 = field(&mut words).parse().unwrap();
                let before = d.memory[..d.len].to_vec();
                let mut admission = std::mem::MaybeUninit::<porter_admission>::uninit();
                let r = porter_door_admit(
                    &d.config,
                    d.memory.as_mut_ptr(),
                    d.memory.len(),
                    &mut d.len,
                    clock,
                    challenge.as_ptr(),
                    challenge.len(),
                    presentation.as_ptr(),
                    presentation.len(),
                    admission.as_mut_ptr(),
                );
                assert_eq!(r as u32, expect, "{case}: admit via the C ABI ({r:?})");
                let decoded = Challenge::decode(&challenge).unwrap();
                let core =
                    d.core.admit(&core_config(&d.config), Time(clock), &decoded, &presentation);
                let core_code = match core {
                    Decision::Admit(_) => 0,
                    Decision::Reject(e) => u32::from(e.code()),
                };
                assert_eq!(core_code, expect, "{case}: core");
                if expect == 0 {
                    admitted += 1;
                    // The memory the C ABI hands back is the core's memory, byte for byte.
                    let mut buf = vec![0u8; PORTER_MAX_DOOR_MEMORY_LEN];
                    assert_eq!(d.core.encode(&mut buf).unwrap(), &d.memory[..d.len], "{case}");
                } else {
                    assert_eq!(d.memory[..d.len], before[..], "{case}: refusal changed memory");
                }
                steps += 1;
            }
            "end" => door = None,
            other => panic!("unknown vector line {other:?}"),
        }
    }
    assert!(
        steps >= 60 && admitted >= 10,
        "too few vectors ran: {steps} steps, {admitted} admitted"
    );
}

fn core_config(c: &porter_door_config) -> DoorConfig {
    DoorConfig {
        site: SiteId(c.site),
        door: DoorId(c.door),
        root: PublicKey(c.root),
        clock_skew: c.clock_skew,
        challenge_lifetime: c.challenge_lifetime,
    }
}

const AUDIT_VECTORS: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/vectors/audit.txt"));

/// The receipt and chain cases of `spec/vectors/audit.txt` through `porter_receipt_check` and
/// `porter_audit_batch_*` (enrolments have no C API: apps and doors never check them).
#[test]
fn every_receipt_and_chain_vector_gets_its_code_through_the_c_abi() {
    let mut ran = 0;
    for line in AUDIT_VECTORS.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split(' ').collect();
        let expect: u32 = f.last().unwrap().parse().unwrap();
        let got = match f[0] {
            "receipt" => {
                let (key, receipt) = (unhex(f[1]), unhex(f[2]));
                let mut out = std::ptr::null_mut();
                let r = porter_receipt_check(
                    receipt.as_ptr(),
                    receipt.len(),
                    key.as_ptr(),
                    32,
                    &mut out,
                );
                assert_eq!(out.is_null(), r != porter_result::Ok, "{line}");
                porter_receipt_free(out);
                r
            }
            "chain" => chain_through_a_batch(&unhex(f[1]), f[2], f[3]),
            "enrolment" => continue,
            other => panic!("unknown audit vector {other}"),
        };
        assert_eq!(got as u32, expect, "{}", &line[..line.len().min(60)]);
        ran += 1;
    }
    assert!(ran >= 8, "only {ran} audit vectors ran");
}

fn chain_through_a_batch(device: &[u8], head: &str, records: &str) -> porter_result {
    let mut batch = std::ptr::null_mut();
    assert_eq!(porter_audit_batch_new(&mut batch), porter_result::Ok);
    let mut result = porter_result::Ok;
    for record in records.split(',').map(unhex) {
        result = porter_audit_batch_push(batch, record.as_ptr(), record.len());
        if result != porter_result::Ok {
            break;
        }
    }
    if result == porter_result::Ok && head != "-" {
        let head = unhex(head);
        result =
            porter_audit_batch_check_head(batch, head.as_ptr(), head.len(), device.as_ptr(), 32);
    }
    porter_audit_batch_free(batch);
    result
}
