//! A simulated door and the phone talking to it, for scenario tests.

use porter_device::sim::{Handles, MemTransport, Phone, SimController, SimFlash};
use porter_device::wire::{self, Refusal};
use porter_device::Settings;
use porter_protocol::*;

use super::fixture::*;

/// A door on the simulator, its hardware handles and a phone.
pub struct Door {
    pub c: SimController,
    pub t: MemTransport,
    pub h: Handles,
    pub phone: Phone,
    pub settings: Settings,
}

/// What the door answered to a presentation.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Admitted(Vec<u8>),
    Denied { coarse: u8, sequence: u64 },
    Refused(Refusal, u16, u32),
}

/// The test site server's log secret: its public half goes into every enrolment `Door` makes.
pub fn log_secret() -> LogSecret {
    LogSecret::from_seed([0x4C; 32]).unwrap()
}

/// A one-use grant valid for ten minutes from `now` (the fixture's grants are valid at NOON).
pub fn grant_from(site: &Site, serial: u64, now: Time) -> Grant {
    Grant { not_before: now.minus(60), not_after: now.plus(540), ..site.grant_body(serial, 1) }
}

/// Settings that never back off, for tests that make many failing attempts.
pub fn patient() -> Settings {
    Settings { free_failures: 1_000, ..Settings::default() }
}

impl Door {
    /// A blank door (first boot) with the RTC at noon.
    pub fn new(settings: Settings) -> Door {
        Door::boot_on(SimFlash::blank(), Handles::new(NOON, 7), settings)
    }

    /// Boots on `flash` with these hardware handles.
    pub fn boot_on(flash: SimFlash, h: Handles, settings: Settings) -> Door {
        let (c, t) = h.boot(flash, settings).expect("boots");
        Door { c, t, h, phone: Phone::new(), settings }
    }

    /// Powers off and on again on the same flash and hardware.
    pub fn reboot(self) -> Door {
        let Door { c, h, settings, .. } = self;
        Door::boot_on(c.into_flash(), h, settings)
    }

    /// An enrolled door for the fixture's site.
    pub fn enrolled(settings: Settings) -> (Door, Site) {
        let site = Site::new();
        let mut door = Door::new(settings);
        door.enrol(&site).expect("enrols");
        (door, site)
    }

    pub fn call(&mut self, message: &[u8]) -> Vec<u8> {
        self.phone.call(&mut self.c, &self.t, message).expect("the door answers")
    }

    pub fn enrolment_bytes(&self, site: &Site, issued_at: Time) -> Vec<u8> {
        let e = Enrolment {
            version: VERSION,
            site: SITE,
            door: DOOR,
            device: self.c.device_key(),
            issued_at,
            log_key: Some(log_secret().log_key().unwrap()),
        };
        let mut buf = [0u8; MAX_ENROLMENT_LEN];
        e.seal(&site.root, &mut buf).unwrap().to_vec()
    }

    /// Sends the enrolment signed by the site's root; `Err` carries the refusal.
    pub fn enrol(&mut self, site: &Site) -> Result<(), Vec<u8>> {
        let bytes = self.enrolment_bytes(site, NOON.minus(3600));
        self.enrol_with(&site.root.public_key(), &bytes)
    }

    /// The installer presses and lets go of the commissioning button.
    pub fn press_button(&mut self) {
        self.h.button.set_held(true);
        self.c.poll();
        self.h.button.set_held(false);
        self.c.poll();
    }

    /// Presses the installer button, then sends the enrolment.
    pub fn enrol_with(&mut self, root: &PublicKey, enrolment: &[u8]) -> Result<(), Vec<u8>> {
        self.press_button();
        self.send_enrolment(root, enrolment)
    }

    /// Sends the enrolment, without touching the button; `Err` carries the refusal.
    pub fn send_enrolment(&mut self, root: &PublicKey, enrolment: &[u8]) -> Result<(), Vec<u8>> {
        let mut m = vec![wire::REQ_ENROL];
        m.extend_from_slice(&root.0);
        m.extend_from_slice(enrolment);
        let answer = self.call(&m);
        if answer == [wire::RESP_ENROLLED] {
            Ok(())
        } else {
            Err(answer)
        }
    }

    /// Asks for a challenge.
    pub fn challenge(&mut self) -> Result<Challenge, Verdict> {
        let a = self.call(&[wire::REQ_CHALLENGE]);
        match a.split_first() {
            Some((&wire::RESP_CHALLENGE, body)) => {
                Ok(Challenge::decode(body).expect("a valid challenge"))
            }
            _ => Err(parse_verdict(&a)),
        }
    }

    pub fn present(&mut self, presentation: &[u8]) -> Verdict {
        let mut m = vec![wire::REQ_PRESENT];
        m.extend_from_slice(presentation);
        parse_verdict(&self.call(&m))
    }

    /// A whole attempt: challenge, then the presentation `make` builds for it.
    pub fn attempt(&mut self, make: impl FnOnce(&Challenge) -> Vec<u8>) -> Verdict {
        match self.challenge() {
            Ok(ch) => {
                let p = make(&ch);
                self.present(&p)
            }
            Err(v) => v,
        }
    }

    /// An attempt with the site's holder, certificate and `grant`.
    pub fn attempt_grant(&mut self, site: &Site, grant: &Grant) -> Verdict {
        let cert = site.seal_cert(&site.certificate_body());
        let g = site.seal_grant(grant);
        self.attempt(|ch| site.present(ch, &g, &cert, None))
    }

    pub fn send_state(&mut self, signed: &[u8]) -> Result<u64, (Refusal, u16)> {
        let mut m = vec![wire::REQ_DOOR_STATE];
        m.extend_from_slice(signed);
        let a = self.call(&m);
        match a.split_first() {
            Some((&wire::RESP_STATE, body)) => Ok(u64::from_le_bytes(body.try_into().unwrap())),
            _ => match parse_verdict(&a) {
                Verdict::Refused(r, d, _) => Err((r, d)),
                v => panic!("unexpected answer {v:?}"),
            },
        }
    }

    /// Every audit record the door still holds, verified as one chain from the oldest (record
    /// 0 unless the ring wrapped).
    pub fn log(&mut self) -> Vec<AuditRecord> {
        let mut follower = ChainFollower::new();
        let mut records = Vec::new();
        let mut first = true;
        loop {
            let mut m = vec![wire::REQ_READ_LOG];
            m.extend_from_slice(&follower.next_sequence.to_le_bytes());
            m.push(wire::MAX_LOG_RECORDS);
            let a = self.call(&m);
            assert_eq!(a[0], wire::RESP_LOG, "log answer {a:?}");
            let count = a[1];
            let mut rest = &a[2..];
            for _ in 0..count {
                let len = rest[0] as usize;
                if first {
                    // Where the ring starts now: trust the oldest record's own link.
                    let r = AuditRecord::decode(&rest[1..1 + len]).unwrap();
                    follower = ChainFollower { next_sequence: r.sequence, previous: r.previous };
                    first = false;
                }
                records.push(follower.follow(&rest[1..1 + len]).expect("the log chains"));
                rest = &rest[1 + len..];
            }
            if count == 0 {
                break;
            }
        }
        let head = self.call(&[wire::REQ_LOG_HEAD]);
        assert_eq!(head[0], wire::RESP_HEAD);
        let head = LogHead::decode_verified(&head[1..], &self.c.device_key()).expect("signed head");
        follower.matches(&head).expect("the head matches the log");
        records
    }

    /// The events of the log.
    pub fn events(&mut self) -> Vec<AuditEvent> {
        self.log().into_iter().map(|r| r.event).collect()
    }

    /// The reason code of the last rejection in the log.
    pub fn last_reason(&mut self) -> Option<u16> {
        self.events().into_iter().rev().find_map(|e| match e {
            AuditEvent::Rejected { reason } => Some(reason),
            _ => None,
        })
    }

    /// Moves time forward and lets the controller run its timers.
    pub fn advance_ms(&mut self, ms: u64) {
        self.h.clock.advance_ms(ms);
        self.c.poll();
    }
}

pub fn parse_verdict(a: &[u8]) -> Verdict {
    match a.split_first() {
        Some((&wire::RESP_ADMITTED, receipt)) => Verdict::Admitted(receipt.to_vec()),
        Some((&wire::RESP_DENIED, body)) => Verdict::Denied {
            coarse: body[0],
            sequence: u64::from_le_bytes(body[1..9].try_into().unwrap()),
        },
        Some((&wire::RESP_REFUSED, body)) => Verdict::Refused(
            Refusal::from_u8(body[0]).expect("a known refusal"),
            u16::from_le_bytes([body[1], body[2]]),
            u32::from_le_bytes(body[3..7].try_into().unwrap()),
        ),
        _ => panic!("unexpected answer {a:?}"),
    }
}

/// Decodes a hex string.
pub fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}
