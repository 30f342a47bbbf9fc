//! The `porter-door-sim` binary over TCP on loopback, as an app reaches it (`spec/link.md` 2.4,
//! MTU 255): maintenance requests typed with `porter_link::Request`, visits run live by
//! `porter_link::PhoneSession`; enrol, admit (carrying the log back), deny, reboot on the same
//! flash image, with the clock driven from its control input.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use porter_link::frame::MAX_MTU;
use porter_link::{Answer, Holder, Outcome, Refusal, Request, SessionConfig};
use porter_protocol::*;

use super::door::{log_secret, parse_verdict, unhex, Verdict};
use super::fixture::*;
use super::stream::StreamPhone;

struct Sim {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    phone: StreamPhone<TcpStream>,
    device: PublicKey,
}

impl Sim {
    fn start(flash: &std::path::Path) -> Sim {
        let mut child = Command::new(env!("CARGO_BIN_EXE_porter-door-sim"))
            .args([
                "--flash",
                flash.to_str().unwrap(),
                "--clock",
                &NOON.0.to_string(),
                "--manual-time",
                "--seed",
                "5",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the simulator starts");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let addr = line.trim().strip_prefix("listening ").expect("listening line").to_string();
        line.clear();
        stdout.read_line(&mut line).unwrap();
        let key = unhex(line.trim().strip_prefix("device-key ").expect("device-key line"));
        let stream = TcpStream::connect(&addr).unwrap();
        Sim {
            child,
            stdin,
            stdout,
            phone: StreamPhone::new(stream, MAX_MTU),
            device: PublicKey(key.try_into().unwrap()),
        }
    }

    fn command(&mut self, c: &str) {
        writeln!(self.stdin, "{c}").unwrap();
    }

    /// Reads event lines until one equals `want`.
    fn expect_line(&mut self, want: &str) {
        let mut line = String::new();
        loop {
            line.clear();
            assert!(
                self.stdout.read_line(&mut line).unwrap() > 0,
                "the simulator exited before {want:?}"
            );
            if line.trim() == want {
                return;
            }
        }
    }

    fn stop(mut self) {
        self.command("quit");
        let status = self.child.wait().unwrap();
        assert!(status.success());
    }
}

#[test]
fn the_simulator_serves_the_framed_protocol_on_loopback_and_remembers_across_restarts() {
    let dir = std::env::temp_dir().join(format!("porter-door-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let flash = dir.join("door.img");
    let _ = std::fs::remove_file(&flash);
    let site = Site::new();

    let mut sim = Sim::start(&flash);
    let info = Answer::decode(&sim.phone.request(Request::Info)).map(|a| match a {
        Answer::Info(info) => info,
        other => panic!("{other:?}"),
    });
    let info = info.expect("an info answer");
    assert!(!info.enrolled, "not enrolled yet");
    assert_eq!(info.device_key, sim.device);
    let e = Enrolment {
        version: VERSION,
        site: SITE,
        door: DOOR,
        device: sim.device,
        issued_at: NOON.minus(60),
        log_key: Some(log_secret().log_key().unwrap()),
    };
    let mut buf = [0u8; MAX_ENROLMENT_LEN];
    let enrolment = e.seal(&site.root, &mut buf).unwrap();
    let enrol = Request::Enrol { root: site.root.public_key(), enrolment };
    let closed = parse_verdict(&sim.phone.request(enrol));
    assert_eq!(closed, Verdict::Refused(Refusal::EnrolmentClosed, 0, 0));
    sim.command("button");
    sim.expect_line("button pressed");
    assert_eq!(Answer::decode(&sim.phone.request(enrol)), Ok(Answer::Enrolled));

    // A visit, as an app makes it: the session over the socket, the log carried back.
    let cert = site.seal_cert(&site.certificate_body());
    let grant = site.seal_grant(&site.grant_body(10, 1));
    let visit = |sim: &mut Sim| {
        let mut cfg = SessionConfig::new(&grant, &cert);
        cfg.device_key = Some(sim.device);
        cfg.expected_door = Some((SITE, DOOR));
        cfg.log_from = Some(0);
        sim.phone.session(cfg, Holder::Key(&site.holder))
    };
    let admitted = visit(&mut sim);
    assert_eq!(admitted.outcome, Outcome::Admitted, "{admitted:?}");
    let receipt = admitted.receipt.clone().expect("a verified receipt");
    AuditRecord::decode_receipt(&receipt, &sim.device).expect("a receipt signed by the device");
    assert!(admitted.log_complete && admitted.log_count >= 2, "enrolled + admitted: {admitted:?}");
    sim.expect_line("relay released");
    sim.command("advance 5000");
    sim.expect_line("relay secured");
    sim.stop();

    // A restart is a reboot on the same flash: same key, still enrolled, the grant stays spent.
    let mut sim = Sim::start(&flash);
    let Ok(Answer::Info(info)) = Answer::decode(&sim.phone.request(Request::Info)) else {
        panic!("an info answer")
    };
    assert!(info.enrolled, "still enrolled");
    assert_eq!(visit(&mut sim).outcome, Outcome::DeniedSpent);
    sim.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
