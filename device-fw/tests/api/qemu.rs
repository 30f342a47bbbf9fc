//! The Cortex-M4 board under QEMU (`mps2-an386`), driven from the host over its UART0 link,
//! with its test hooks on UART1 (QEMU's second `-serial`; `device-fw/board/src/hooks.rs`).
//!
//! These tests need `qemu-system-arm` and the board ELF built with the `test-hooks` feature,
//! named by `PORTER_BOARD_ELF`; `device-fw/ci.sh` builds it and runs them with `--ignored`.
//!
//! * every case of `spec/vectors/admission.txt` on a freshly booted board: the same verdicts as
//!   on the host, then the board's audit log read back over the serial link, chained, with a
//!   head signed by the board's device key;
//! * a live `PhoneSession` visit, then every request of `spec/vectors/link.json`'s `messages`
//!   section, refused `Malformed` exactly when the vector says so (its `framing` and
//!   `transcripts` sections: `qemu_link.rs`);
//! * the cost report: instructions per admission (cold and with the certificate cached) beside
//!   one raw verification, static RAM, painted peak stack, under `-icount shift=0`.

use std::cell::Cell;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use porter_link::{Answer, Holder, Outcome, Refusal, Request, SessionConfig, MAX_LOG_RECORDS};
use porter_protocol::*;

use super::door::{parse_verdict, Verdict};
use super::fixture::*;
use super::stream::{Socket, StreamPhone};
use super::vectors::{carried_by_the_link, parse, root_key, Step};

// The board's test hooks, on its second UART (`device-fw/board/src/hooks.rs`).
const PRIME: u8 = 0xF5;
const REPORT: u8 = 0xF6;
const PRESS: u8 = 0xF7;
const RESTART: u8 = 0xF8;
const SYNC: u8 = 0xF9;
/// SysTick at 25 MHz under `-icount shift=0` (1 instruction = 1 ns): 40 instructions a tick.
const INSTRUCTIONS_PER_TICK: u64 = 40;

/// The board's UART link MTU at boot: the default 244 (a hook restarts it at another).
const BOARD_MTU: usize = porter_device::MTU;

/// The link's UART socket, counting the bytes each way (the hooks' `sync` barrier).
pub(super) struct Uart {
    socket: UnixStream,
    written: Rc<Cell<u32>>,
    read: Rc<Cell<u32>>,
}

impl Read for Uart {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.socket.read(buf)?;
        self.read.set(self.read.get().wrapping_add(n as u32));
        Ok(n)
    }
}

impl Write for Uart {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.socket.write(buf)?;
        self.written.set(self.written.get().wrapping_add(n as u32));
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.socket.flush()
    }
}

impl Socket for Uart {
    fn set_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.socket.set_read_timeout(timeout)
    }
}

pub(super) struct Board {
    qemu: Child,
    pub(super) phone: StreamPhone<Uart>,
    /// The test hooks' UART.
    hooks: UnixStream,
    /// Link bytes written to and read from the board since boot.
    written: Rc<Cell<u32>>,
    read: Rc<Cell<u32>>,
    pub(super) device: PublicKey,
    dir: std::path::PathBuf,
}

/// Connects to a QEMU `-serial unix:…,server=on` socket once QEMU has opened it.
fn connect(sock: &std::path::Path, what: &str) -> UnixStream {
    let started = Instant::now();
    loop {
        if let Ok(s) = UnixStream::connect(sock) {
            s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
            return s;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "QEMU never opened its {what} socket");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn elf() -> String {
    std::env::var("PORTER_BOARD_ELF").expect(
        "PORTER_BOARD_ELF must name the board ELF built with --features test-hooks: run device-fw/ci.sh",
    )
}

impl Board {
    pub(super) fn boot(tag: &str, icount: bool) -> Board {
        let tag = tag.to_string();
        let dir = std::env::temp_dir().join(format!("porter-qemu-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (sock, hook_sock) = (dir.join("uart.sock"), dir.join("hooks.sock"));
        let _ = std::fs::remove_file(&sock);
        let _ = std::fs::remove_file(&hook_sock);
        let mut cmd = Command::new("qemu-system-arm");
        cmd.args(["-machine", "mps2-an386", "-cpu", "cortex-m4", "-nographic", "-monitor", "none"])
            .args(["-semihosting-config", "enable=on,target=native"])
            // UART0: the link; UART1: the test hooks. QEMU waits for both connections.
            .args(["-serial", &format!("unix:{},server=on,wait=on", sock.display())])
            .args(["-serial", &format!("unix:{},server=on,wait=on", hook_sock.display())])
            .args(["-kernel", &elf()]);
        if icount {
            cmd.args(["-icount", "shift=0"]);
        }
        // QEMU announces its UART socket on stderr; a failure to boot shows as a missed connection.
        let mut qemu = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect(
            "qemu-system-arm runs (install it: apt-get install -y qemu-system-arm, see device-fw/ci-install.sh)",
        );
        let uart = connect(&sock, "UART");
        let hooks = connect(&hook_sock, "hook UART");
        // Semihosting output: the board says it is ready once it has booted.
        let mut out = BufReader::new(qemu.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "porter door ready", "board boot output");
        // Anything the board says later (a panic's location) goes to the test's output.
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                eprintln!("board {tag}: {line}");
            }
        });
        let (written, read) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
        let uart = Uart { socket: uart, written: written.clone(), read: read.clone() };
        let phone = StreamPhone::new(uart, BOARD_MTU);
        let device = PublicKey([0; 32]);
        let mut board = Board { qemu, phone, hooks, written, read, device, dir };
        board.learn_device_key();
        board
    }

    fn learn_device_key(&mut self) {
        let Ok(Answer::Info(info)) = Answer::decode(&self.phone.request(Request::Info)) else {
            panic!("an info answer")
        };
        self.device = info.device_key;
    }

    /// The test hooks' UART.
    fn uart(&mut self) -> &mut UnixStream {
        &mut self.hooks
    }

    /// Sends one raw fragment on the link, behind its length byte.
    pub(super) fn send_fragment(&mut self, fragment: &[u8]) {
        let mut bytes = vec![u8::try_from(fragment.len()).expect("a fragment of at most 255")];
        bytes.extend_from_slice(fragment);
        self.phone.socket().write_all(&bytes).unwrap();
    }

    /// Waits until the board has acted on every link byte sent so far (test hook), then returns
    /// the fragments it wrote meanwhile: none means it stayed silent. The link is read while
    /// waiting: QEMU's UART holds back the board's writes once a few hundred bytes are unread.
    pub(super) fn sync(&mut self) -> Vec<Vec<u8>> {
        let mut m = vec![SYNC];
        m.extend_from_slice(&self.written.get().to_le_bytes());
        self.uart().write_all(&m).unwrap();
        let poll = Some(Duration::from_millis(1));
        self.hooks.set_read_timeout(poll).unwrap();
        self.phone.socket().set_timeout(poll).unwrap();
        let (mut ack, mut link) = (Vec::new(), Vec::new());
        let mut buf = [0u8; 1024];
        let started = Instant::now();
        loop {
            for (socket, into) in [
                (&mut self.hooks as &mut dyn Read, &mut ack),
                (self.phone.socket() as &mut dyn Read, &mut link),
            ] {
                match socket.read(&mut buf) {
                    Ok(0) => panic!("QEMU closed the board's UART"),
                    Ok(n) => into.extend_from_slice(&buf[..n]),
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) => {}
                    Err(e) => panic!("the board's UART: {e}"),
                }
            }
            if let Some(sent) = ack.get(1..5) {
                assert_eq!(ack[0], SYNC, "hook acknowledged");
                assert_eq!(ack.len(), 5, "one acknowledgement");
                if self.read.get() == u32::from_le_bytes(sent.try_into().unwrap()) {
                    break;
                }
            }
            assert!(started.elapsed() < Duration::from_secs(60), "the board never synchronised");
        }
        self.hooks.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        self.phone.socket().set_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut decoder = porter_link::StreamDecoder::new();
        let fragments = link.iter().filter_map(|&b| decoder.push(b).map(<[u8]>::to_vec)).collect();
        assert!(decoder.idle(), "the board wrote part of a fragment");
        fragments
    }

    /// Restarts the board's controller (test hook): a power cut and back on the same flash, or
    /// a factory-fresh door (`fresh`, a new device key, not enrolled), its link at `mtu` bytes.
    pub(super) fn restart(&mut self, mtu: usize, fresh: bool) {
        // The board clamps an MTU outside 20..=255 (`DoorLink::new`): refuse one here instead.
        assert!(porter_link::frame::valid_mtu(mtu), "MTU {mtu} is not a link MTU");
        let m = [RESTART, u8::try_from(mtu).unwrap(), u8::from(fresh)];
        self.uart().write_all(&m).unwrap();
        let mut ack = [0u8; 1];
        self.uart().read_exact(&mut ack).unwrap();
        assert_eq!(ack[0], RESTART, "hook acknowledged");
    }

    /// A factory-fresh board enrolled at the fixture site, its link at the default MTU.
    pub(super) fn reset_and_enrol(&mut self, site: &Site) {
        self.restart(BOARD_MTU, true);
        self.learn_device_key();
        self.enrol(&site.root, SITE, DOOR, NOON.minus(3600));
    }

    /// Sets the board's RTC and scripts its next nonce (test hook).
    pub(super) fn prime(&mut self, rtc: Time, nonce: [u8; 16]) {
        let mut m = vec![PRIME];
        m.extend_from_slice(&rtc.0.to_le_bytes());
        m.extend_from_slice(&nonce);
        self.uart().write_all(&m).unwrap();
        let mut ack = [0u8; 1];
        self.uart().read_exact(&mut ack).unwrap();
        assert_eq!(ack[0], PRIME, "hook acknowledged");
    }

    /// (peak stack, static RAM, ticks from the presentation's last fragment to the relay, ticks
    /// of one raw verify, relay pulses, ticks of the whole poll that admitted, receipt included)
    /// ..., peak stack after the raw verify, after boot, then the last admission's breakdown in
    /// ticks: before the decision, the decision, the spend's write, the audit write, to relay.
    pub(super) fn report(&mut self) -> [u32; 13] {
        self.uart().write_all(&[REPORT]).unwrap();
        let mut buf = [0u8; 53];
        self.uart().read_exact(&mut buf).unwrap();
        assert_eq!(buf[0], REPORT);
        let mut out = [0u32; 13];
        for (i, v) in out.iter_mut().enumerate() {
            *v = u32::from_le_bytes(buf[1 + 4 * i..5 + 4 * i].try_into().unwrap());
        }
        out
    }

    pub(super) fn enrol(&mut self, root: &SigningKey, site: SiteId, door: DoorId, floor: Time) {
        let e = Enrolment {
            version: VERSION,
            site,
            door,
            device: self.device,
            issued_at: floor,
            log_key: None,
        };
        let mut buf = [0u8; MAX_ENROLMENT_LEN];
        let enrol =
            Request::Enrol { root: root.public_key(), enrolment: e.seal(root, &mut buf).unwrap() };
        // Outside the installer button's window the board ignores it.
        let closed = parse_verdict(&self.phone.request(enrol));
        assert_eq!(closed, Verdict::Refused(Refusal::EnrolmentClosed, 0, 0));
        self.uart().write_all(&[PRESS]).unwrap();
        let mut ack = [0u8; 1];
        self.uart().read_exact(&mut ack).unwrap();
        assert_eq!(ack[0], PRESS, "hook acknowledged");
        assert_eq!(Answer::decode(&self.phone.request(enrol)), Ok(Answer::Enrolled));
    }

    fn challenge(&mut self) -> Challenge {
        let a = self.phone.request(Request::Challenge);
        match Answer::decode(&a) {
            Ok(Answer::Challenge(_, challenge)) => challenge,
            _ => panic!("challenge answer {:?}", parse_verdict(&a)),
        }
    }

    fn present(&mut self, presentation: &[u8]) -> Verdict {
        parse_verdict(&self.phone.request(Request::Present(presentation)))
    }

    /// The whole audit log, chained, and checked against a head the board signs now.
    fn log(&mut self) -> Vec<AuditRecord> {
        let mut follower = ChainFollower::new();
        let mut records = Vec::new();
        loop {
            let from = follower.next_sequence;
            let a = self.phone.request(Request::ReadLog { from, max: MAX_LOG_RECORDS });
            let Ok(Answer::Log(page)) = Answer::decode(&a) else { panic!("log answer {a:?}") };
            for record in page.iter() {
                records.push(follower.follow(record).expect("the board's log chains"));
            }
            if page.count() == 0 {
                break;
            }
        }
        let head = self.phone.request(Request::LogHead);
        let Ok(Answer::Head(head)) = Answer::decode(&head) else { panic!("head answer {head:?}") };
        let head =
            LogHead::decode_verified(head, &self.device).expect("a head signed by the board");
        follower.matches(&head).expect("the head matches the log");
        records
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        let _ = self.qemu.kill();
        let _ = self.qemu.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn vectors_text() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/vectors/admission.txt"))
        .unwrap()
}

#[test]
#[ignore = "needs qemu-system-arm and PORTER_BOARD_ELF: run by device-fw/ci.sh"]
fn qemu_board_gets_every_vector_verdict_over_the_uart_and_logs_it() {
    let cases = parse(&vectors_text());
    assert!(cases.len() >= 40);
    let mut matched = 0;
    for (n, case) in cases.iter().enumerate() {
        let mut board = Board::boot(&format!("v{n}"), false);
        let root = root_key(&case.root);
        board.enrol(&root, case.site, case.door, case.floor);
        let mut floor = case.floor;
        let mut expected_admissions = 0;
        let mut expected_reasons = Vec::new();
        for (i, step) in case.steps.iter().enumerate() {
            let what = format!("{} step {i}", case.name);
            match step {
                Step::State { bytes, code } => {
                    let a = board.phone.request(Request::DoorState(bytes));
                    let got = match Answer::decode(&a) {
                        Ok(Answer::State(_)) => 0,
                        _ => match parse_verdict(&a) {
                            Verdict::Refused(Refusal::Rejected, code, _) => code,
                            v => panic!("{what}: {v:?}"),
                        },
                    };
                    assert_eq!(got, *code, "{what}");
                    if *code == 0 {
                        let st = DoorState::decode(bytes).unwrap();
                        floor = floor.max(st.claims().issued_at);
                    }
                    matched += 1;
                }
                // The link cannot carry an empty or over-long presentation: refused before any
                // decision, nothing logged.
                Step::Admit { presentation, .. } if !carried_by_the_link(presentation) => {
                    let request = [&[porter_link::kind::PRESENT][..], presentation].concat();
                    let a = board.phone.call(&request);
                    assert_eq!(parse_verdict(&a), Verdict::Refused(Refusal::Malformed, 0, 0));
                    matched += 1;
                }
                Step::Admit { clock, challenge, presentation, code } => {
                    let ch = Challenge::decode(challenge).unwrap();
                    let reproducible = ch.site == case.site
                        && ch.door == case.door
                        && ch.issued_at <= *clock
                        && ch.issued_at >= floor;
                    if reproducible {
                        board.prime(ch.issued_at, ch.nonce);
                        assert_eq!(
                            board.challenge(),
                            ch,
                            "{what}: the board reproduces the challenge"
                        );
                        board.prime(*clock, [0; 16]);
                        let v = board.present(presentation);
                        match (*code, &v) {
                            (0, Verdict::Admitted(receipt)) => {
                                AuditRecord::decode_receipt(receipt, &board.device)
                                    .expect("board-signed receipt");
                                expected_admissions += 1;
                            }
                            (c, Verdict::Denied { .. }) if c != 0 => expected_reasons.push(c),
                            _ => panic!("{what}: expected {code}, got {v:?}"),
                        }
                        matched += 1;
                    } else {
                        board.prime(*clock, [0; 16]);
                        let _ = board.challenge();
                        let v = board.present(presentation);
                        assert!(matches!(v, Verdict::Denied { .. }), "{what}: {v:?}");
                        expected_reasons.push(0);
                    }
                }
            }
        }
        // The board's own log tells the same story: one admission record per admission, and
        // the protocol's reason code for every refusal.
        let log = board.log();
        let admitted =
            log.iter().filter(|r| matches!(r.event, AuditEvent::Admitted { .. })).count();
        assert_eq!(admitted, expected_admissions, "{}: admissions in the board's log", case.name);
        let reasons: Vec<u16> = log
            .iter()
            .filter_map(|r| match r.event {
                AuditEvent::Rejected { reason } => Some(reason),
                _ => None,
            })
            .collect();
        assert_eq!(
            reasons.len(),
            expected_reasons.len(),
            "{}: refusals in the board's log",
            case.name
        );
        for (got, want) in reasons.iter().zip(&expected_reasons) {
            if *want != 0 {
                assert_eq!(got, want, "{}: reason in the board's log", case.name);
            }
        }
        let [_, _, _, _, pulses, ..] = board.report();
        assert_eq!(pulses as usize, expected_admissions, "{}: relay pulses", case.name);
    }
    eprintln!("QEMU board: {} cases, {matched} steps matched over the UART", cases.len());
    visits_run_live_against_the_board();
    every_link_message_vector_over_the_uart();
}

/// The `messages` section of `spec/vectors/link.json` sent whole to the board over its UART
/// (framed by porter-link at the board's MTU): each request is refused `Malformed` exactly when
/// the vector says it does not decode, as on the host (`link_vectors.rs`), and none moves the relay.
fn every_link_message_vector_over_the_uart() {
    let site = Site::new();
    let mut board = Board::boot("messages", false);
    board.enrol(&site.root, SITE, DOOR, NOON.minus(3600));
    let mut requests = 0;
    for m in super::link_vectors::vectors()["messages"].as_array().unwrap() {
        let (hex, expect) = (m["hex"].as_str().unwrap(), m["expect"].as_str().unwrap());
        // An empty message cannot be framed (its length would be 0); answers are a phone's.
        if m["direction"] != "request" || hex.is_empty() {
            continue;
        }
        requests += 1;
        let answer = board.phone.call(&super::door::unhex(hex));
        let decoded = Answer::decode(&answer).expect("the board's answers decode");
        let malformed = matches!(decoded, Answer::Refused(r) if r.refusal == Refusal::Malformed);
        assert_eq!(
            malformed,
            expect != "ok",
            "request {hex} ({expect}): the board answered {decoded:?}"
        );
    }
    assert!(requests >= 10, "{requests} request vectors");
    let [_, _, _, _, pulses, ..] = board.report();
    assert_eq!(pulses, 0, "no message vector moves the relay");
    eprintln!("QEMU board: {requests} link message vectors over the UART");
}

/// `porter_link::PhoneSession` against the board's own (random) challenges over the UART: an
/// admission with its log carried back, then the same one-use grant spent.
fn visits_run_live_against_the_board() {
    let site = Site::new();
    let mut board = Board::boot("session", false);
    board.enrol(&site.root, SITE, DOOR, NOON.minus(3600));
    let mut nonce = [0u8; 16];
    std::fs::File::open("/dev/urandom").unwrap().read_exact(&mut nonce).unwrap();
    board.prime(NOON, nonce);
    let cert = site.seal_cert(&site.certificate_body());
    let grant = site.seal_grant(&site.grant_body(10, 1));
    let mut cfg = SessionConfig::new(&grant, &cert);
    cfg.device_key = Some(board.device);
    cfg.expected_door = Some((SITE, DOOR));
    cfg.log_from = Some(0);
    let visit = board.phone.session(cfg, Holder::Key(&site.holder));
    assert_eq!(visit.outcome, Outcome::Admitted, "{visit:?}");
    AuditRecord::decode_receipt(visit.receipt.as_ref().unwrap(), &board.device)
        .expect("board-signed");
    assert!(visit.log_complete && visit.log_count >= 2, "{visit:?}");
    let again = board.phone.session(cfg, Holder::Key(&site.holder));
    assert_eq!(again.outcome, Outcome::DeniedSpent, "{again:?}");
    let [_, _, _, _, pulses, ..] = board.report();
    assert_eq!(pulses, 1, "one admission, one relay pulse");
}

/// The budgets: static RAM plus peak stack, and admission instructions over one raw
/// verification.
const RAM_BUDGET: u32 = 32 * 1024;
const RATIO_BUDGET: f64 = 2.1;
/// The admission ratio meets its budget today (2.09x, see the README), but Ed25519 verification
/// is variable-time, so a change of keys or messages moves the figure by about 1%: the test
/// guards against regression with this ceiling and reports the budget's status.
const RATIO_CEILING: f64 = 2.15;
/// Issue 14, item 6: a multi-use grant's next entry, its issuer signature cached, over one raw
/// verification. Reported, not asserted (see device-fw/README.md for where it stands).
const READMISSION_BUDGET: f64 = 1.05;
/// The re-admission's decision alone, over one raw verification: the holder's proof, decoding
/// and the cheap checks. It was 1.066x when a hit hashed the certificate and the grant (two
/// SHA-512 blocks); the grant cache now compares bytes and skips the certificate cache, 1.038x.
/// Asserted, with the ceiling's margin for variable-time verification, so that hashing on a hit
/// cannot come back unnoticed.
const READMISSION_DECISION_CEILING: f64 = 1.05;

#[test]
#[ignore = "needs qemu-system-arm and PORTER_BOARD_ELF: run by device-fw/ci.sh"]
fn qemu_cost_report() {
    let site = Site::new();
    let mut board = Board::boot("cost", true);
    let [boot_stack, ..] = board.report();
    board.enrol(&site.root, SITE, DOOR, NOON.minus(3600));
    let cert = site.seal_cert(&site.certificate_body());
    let admit = |board: &mut Board, serial: u64| {
        board.prime(NOON, [serial as u8; 16]);
        let ch = board.challenge();
        let grant = site.seal_grant(&site.grant_body(serial, 1));
        let v = board.present(&site.present(&ch, &grant, &cert, None));
        assert!(matches!(v, Verdict::Admitted(_)), "{v:?}");
        board.report()
    };
    let cold = admit(&mut board, 10);
    let warm = admit(&mut board, 11);
    let [stack, static_ram, warm_ticks, verify_ticks, _, warm_poll, after_verify, after_boot, pre, decision, spend, audit, relay] =
        warm;
    let i = |t: u32| u64::from(t) * INSTRUCTIONS_PER_TICK;
    println!(
        "admission_breakdown_instructions before_decision={} decision={} spend_write={} audit_write={} to_relay={}",
        i(pre),
        i(decision),
        i(spend),
        i(audit),
        i(relay)
    );
    println!("decision_over_verify {:.3}", f64::from(decision) / f64::from(verify_ticks));
    println!("peak_stack_after_raw_verify_bytes {after_verify}");
    println!("peak_stack_after_controller_boot_bytes {after_boot}");
    let cold_ticks = cold[2];
    let cold_poll = cold[5];
    // Re-admission (issue 14, item 6): the second entry of a two-use grant whose issuer
    // signature the first entry verified costs the holder's proof only.
    let two_use = site.seal_grant(&site.grant_body(13, 2));
    let mut readmit = |nonce: u8| {
        board.prime(NOON, [nonce; 16]);
        let ch = board.challenge();
        let v = board.present(&site.present(&ch, &two_use, &cert, None));
        assert!(matches!(v, Verdict::Admitted(_)), "{v:?}");
        board.report()
    };
    let first_use = readmit(13);
    let second_use = readmit(14);
    let (readmit_ticks, readmit_decision) = (second_use[2], second_use[9]);
    let readmission_ratio = f64::from(readmit_ticks) / f64::from(verify_ticks);
    println!("readmission_instructions_first_use {}", i(first_use[2]));
    println!("readmission_instructions {}", i(readmit_ticks));
    println!(
        "readmission_decision_over_verify {:.3}",
        f64::from(readmit_decision) / f64::from(verify_ticks)
    );
    // The deepest paths: a door state applied on its own, and one carried in a presentation.
    let state = site.seal_state(&site.state(1, NOON.minus(10)));
    let a = board.phone.request(Request::DoorState(&state));
    assert!(matches!(Answer::decode(&a), Ok(Answer::State(1))), "{a:?}");
    let [stack_with_state, ..] = board.report();
    board.prime(NOON, [12; 16]);
    let ch = board.challenge();
    let grant = site.seal_grant(&site.grant_body(12, 1));
    let state = site.seal_state(&site.state(2, NOON.minus(5)));
    let v = board.present(&site.present(&ch, &grant, &cert, Some(&state)));
    assert!(matches!(v, Verdict::Admitted(_)), "{v:?}");
    let [stack_with_carried_state, ..] = board.report();
    println!("peak_stack_plain_admissions_bytes {stack}");
    println!("peak_stack_after_door_state_bytes {stack_with_state}");
    let stack = stack_with_carried_state;
    let instr = |t: u32| u64::from(t) * INSTRUCTIONS_PER_TICK;
    let ratio = warm_ticks as f64 / verify_ticks as f64;
    println!("raw_verify_instructions {}", instr(verify_ticks));
    println!("admission_instructions_cached_cert {}", instr(warm_ticks));
    println!("admission_instructions_cold_cert {}", instr(cold_ticks));
    println!("attempt_instructions_with_receipt_cached_cert {}", instr(warm_poll));
    println!("attempt_instructions_with_receipt_cold_cert {}", instr(cold_poll));
    println!("peak_stack_after_boot_bytes {boot_stack}");
    println!("admission_over_verify {ratio:.3}");
    println!("readmission_over_verify {readmission_ratio:.3}");
    println!("static_ram_bytes {static_ram}");
    println!("peak_stack_bytes {stack}");
    println!("ram_plus_stack_bytes {}", static_ram + stack);
    let ram = static_ram + stack;
    let status = |ok: bool| if ok { "met" } else { "OVER BUDGET" };
    println!("budget ram_plus_stack <= {RAM_BUDGET}: {}", status(ram <= RAM_BUDGET));
    println!("budget admission_over_verify <= {RATIO_BUDGET}: {}", status(ratio <= RATIO_BUDGET));
    println!(
        "budget readmission_over_verify <= {READMISSION_BUDGET}: {}",
        status(readmission_ratio <= READMISSION_BUDGET)
    );
    assert!(
        verify_ticks > 10_000,
        "a raw verify of {} instructions is not plausible",
        instr(verify_ticks)
    );
    assert!(ram <= RAM_BUDGET, "RAM: static {static_ram} + stack {stack} > {RAM_BUDGET}");
    assert!(
        ratio <= RATIO_CEILING,
        "admission costs {ratio:.2}x one raw verify (ceiling {RATIO_CEILING})"
    );
    let readmission_decision = f64::from(readmit_decision) / f64::from(verify_ticks);
    assert!(
        readmission_decision <= READMISSION_DECISION_CEILING,
        "a re-admission's decision costs {readmission_decision:.3}x one raw verify \
         (ceiling {READMISSION_DECISION_CEILING}): does a grant-cache hit hash again?"
    );
}
