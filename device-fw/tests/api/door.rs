//! A simulated door and the phone talking to it, for scenario tests. Requests are
//! `porter_link::Request`s and answers `porter_link::Answer`s, framed by `porter-link`
//! ([`porter_device::sim::Phone`]); whole admissions run `porter_link::PhoneSession`
//! ([`Door::session`]).

use porter_device::sim::{Handles, MemTransport, Phone, SimController, SimFlash};
use porter_device::Settings;
use porter_link::{
    Answer, Buffers, Holder, Outcome, PhoneSession, Refusal, Request, SessionConfig, Status,
    MAX_ANSWER_LEN, MAX_LOG_RECORDS, MAX_REQUEST_LEN,
};
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
        Door { c, t, h, phone: Phone::default(), settings }
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

    /// Sends raw request bytes; returns the door's whole answer.
    pub fn call(&mut self, message: &[u8]) -> Vec<u8> {
        self.phone.call(&mut self.c, &self.t, message).expect("the door answers")
    }

    /// Sends a typed request; returns the door's whole answer (decode it with
    /// [`Answer::decode`]).
    pub fn request(&mut self, request: Request<'_>) -> Vec<u8> {
        let mut buf = vec![0u8; MAX_REQUEST_LEN];
        let bytes = request.encode(&mut buf).expect("a request within its limits").to_vec();
        self.call(&bytes)
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
        let answer = self.request(Request::Enrol { root: *root, enrolment });
        match Answer::decode(&answer) {
            Ok(Answer::Enrolled) => Ok(()),
            _ => Err(answer),
        }
    }

    /// Asks for a challenge.
    pub fn challenge(&mut self) -> Result<Challenge, Verdict> {
        let a = self.request(Request::Challenge);
        match Answer::decode(&a) {
            Ok(Answer::Challenge(_, challenge)) => Ok(challenge),
            _ => Err(parse_verdict(&a)),
        }
    }

    pub fn present(&mut self, presentation: &[u8]) -> Verdict {
        let a = self.request(Request::Present(presentation));
        parse_verdict(&a)
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
        let a = self.request(Request::DoorState(signed));
        match Answer::decode(&a) {
            Ok(Answer::State(sequence)) => Ok(sequence),
            _ => match parse_verdict(&a) {
                Verdict::Refused(r, d, _) => Err((r, d)),
                v => panic!("unexpected answer {v:?}"),
            },
        }
    }

    /// One visit by an honest phone: `porter_link::PhoneSession` with the site's holder key,
    /// over this door's transport, the door polled between fragments and time moving 1 ms a
    /// step. Returns the session's outcome and, when admitted, the verified receipt.
    pub fn session(&mut self, site: &Site, grant: &[u8]) -> (Outcome, Option<Vec<u8>>) {
        let cert = site.seal_cert(&site.certificate_body());
        let mut cfg = SessionConfig::new(grant, &cert);
        cfg.mtu = porter_device::MTU;
        cfg.device_key = Some(self.c.device_key());
        cfg.expected_door = Some((SITE, DOOR));
        let (mut request, mut answer) = (vec![0u8; MAX_REQUEST_LEN], vec![0u8; MAX_ANSWER_LEN]);
        let buffers = Buffers { request: &mut request, answer: &mut answer, log: &mut [] };
        let now = self.h.clock.millis_now();
        let mut session = PhoneSession::new(cfg, Holder::Key(&site.holder), buffers, now);
        let mut fragment = [0u8; 255];
        for _ in 0..10_000 {
            let now = self.h.clock.millis_now();
            while let Some(n) = session.transmit(now, &mut fragment) {
                self.t.send_fragment(&fragment[..n]);
            }
            self.c.poll();
            while let Some(f) = self.t.take_fragment() {
                session.receive(now, &f);
            }
            if let Status::Done(outcome) = session.status() {
                return (outcome, session.receipt().map(<[u8]>::to_vec));
            }
            self.h.clock.advance_ms(1);
        }
        panic!("the session never ended: {:?}", session.status());
    }

    /// Every audit record the door still holds, verified as one chain from the oldest (record
    /// 0 unless the ring wrapped).
    pub fn log(&mut self) -> Vec<AuditRecord> {
        let mut follower = ChainFollower::new();
        let mut records = Vec::new();
        let mut first = true;
        loop {
            let from = follower.next_sequence;
            let a = self.request(Request::ReadLog { from, max: MAX_LOG_RECORDS });
            let Ok(Answer::Log(page)) = Answer::decode(&a) else { panic!("log answer {a:?}") };
            for record in page.iter() {
                if first {
                    // Where the ring starts now: trust the oldest record's own link.
                    let r = AuditRecord::decode(record).unwrap();
                    follower = ChainFollower { next_sequence: r.sequence, previous: r.previous };
                    first = false;
                }
                records.push(follower.follow(record).expect("the log chains"));
            }
            if page.count() == 0 {
                break;
            }
        }
        let head = self.request(Request::LogHead);
        let Ok(Answer::Head(head)) = Answer::decode(&head) else { panic!("head answer {head:?}") };
        let head = LogHead::decode_verified(head, &self.c.device_key()).expect("signed head");
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

/// Decodes the door's answer to a presentation (or a refusal of any request) with
/// [`Answer::decode`]; anything else fails the test.
pub fn parse_verdict(a: &[u8]) -> Verdict {
    match Answer::decode(a) {
        Ok(Answer::Admitted(receipt)) => Verdict::Admitted(receipt.to_vec()),
        Ok(Answer::Denied { coarse, sequence }) => {
            Verdict::Denied { coarse: porter_link::coarse_code(coarse), sequence }
        }
        Ok(Answer::Refused(r)) => Verdict::Refused(r.refusal, r.detail, r.retry_ms),
        other => panic!("unexpected answer {a:?}: {other:?}"),
    }
}

/// Decodes a hex string.
pub fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}
