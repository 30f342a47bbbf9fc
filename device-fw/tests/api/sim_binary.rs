//! The `porter-door-sim` binary over TCP on loopback: enrol, admit, deny, reboot on the same
//! flash image, with the clock driven from its control input.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use porter_device::frame::{encode_link, LinkDecoder, Progress, Reassembler};
use porter_device::sim::Phone;
use porter_device::wire::{self, Refusal};
use porter_protocol::*;

use super::door::{log_secret, parse_verdict, unhex, Verdict};
use super::fixture::*;

struct Sim {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stream: TcpStream,
    device: PublicKey,
    phone: Phone,
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
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Sim {
            child,
            stdin,
            stdout,
            stream,
            device: PublicKey(key.try_into().unwrap()),
            phone: Phone::new(),
        }
    }

    fn call(&mut self, message: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for f in self.phone.fragments(message) {
            encode_link::<()>(&f, |b| {
                bytes.push(b);
                Ok(())
            })
            .unwrap();
        }
        self.stream.write_all(&bytes).unwrap();
        let mut decoder = LinkDecoder::new();
        let mut reassembler = Reassembler::new();
        let mut byte = [0u8; 1];
        loop {
            self.stream.read_exact(&mut byte).expect("an answer before the timeout");
            if let Some(fragment) = decoder.push(byte[0]) {
                if let Ok(Progress::Complete(n)) = reassembler.push(fragment, 0) {
                    return reassembler.message()[..n].to_vec();
                }
            }
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
    let info = sim.call(&[wire::REQ_INFO]);
    assert_eq!(info[0], wire::RESP_INFO);
    assert_eq!(info[2], 0, "not enrolled yet");
    assert_eq!(&info[3..35], &sim.device.0);
    let e = Enrolment {
        version: VERSION,
        site: SITE,
        door: DOOR,
        device: sim.device,
        issued_at: NOON.minus(60),
        log_key: Some(log_secret().log_key().unwrap()),
    };
    let mut buf = [0u8; MAX_ENROLMENT_LEN];
    let mut m = vec![wire::REQ_ENROL];
    m.extend_from_slice(&site.root.public_key().0);
    m.extend_from_slice(e.seal(&site.root, &mut buf).unwrap());
    let closed = sim.call(&m);
    assert_eq!(closed[..2], [wire::RESP_REFUSED, Refusal::EnrolmentClosed as u8]);
    sim.command("button");
    sim.expect_line("button pressed");
    assert_eq!(sim.call(&m), vec![wire::RESP_ENROLLED]);

    let cert = site.seal_cert(&site.certificate_body());
    let grant = site.seal_grant(&site.grant_body(10, 1));
    let attempt = |sim: &mut Sim| {
        let a = sim.call(&[wire::REQ_CHALLENGE]);
        assert_eq!(a[0], wire::RESP_CHALLENGE, "{a:?}");
        let ch = Challenge::decode(&a[1..]).unwrap();
        let mut m = vec![wire::REQ_PRESENT];
        m.extend_from_slice(&site.present(&ch, &grant, &cert, None));
        parse_verdict(&sim.call(&m))
    };
    let Verdict::Admitted(receipt) = attempt(&mut sim) else { panic!("not admitted") };
    AuditRecord::decode_receipt(&receipt, &sim.device).expect("a receipt signed by the device");
    sim.expect_line("relay released");
    sim.command("advance 5000");
    sim.expect_line("relay secured");
    sim.stop();

    // A restart is a reboot on the same flash: same key, still enrolled, the grant stays spent.
    let mut sim = Sim::start(&flash);
    let info = sim.call(&[wire::REQ_INFO]);
    assert_eq!(info[2], 1, "still enrolled");
    assert!(matches!(attempt(&mut sim), Verdict::Denied { coarse: 4, .. }));
    sim.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
