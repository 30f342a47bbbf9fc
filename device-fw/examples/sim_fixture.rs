//! A door for the bindings' tests: starts `porter-door-sim`, presses its button, enrols it with
//! `porter-testkit`'s site over TCP, and hands an app everything it needs to visit the door, so
//! that a Kotlin (or Swift, or C) test can drive the door through its own `porter_session`
//! without linking the firmware (porter-ffi must not depend on it).
//!
//! ```text
//! sim_fixture SIMULATOR_BINARY WORK_DIR
//! ```
//!
//! stdout, line 1 (fields separated by one space, bytes in lowercase hex):
//! `fixture PORT DEVICE_KEY GRANT CERTIFICATE HOLDER_SEED CLOCK`: the simulator's TCP port on
//! 127.0.0.1 (a stream link, MTU 255), its device key, a one-use grant and its certificate,
//! both valid at CLOCK (the door's clock, UNIX seconds), and the seed of the grant's holder key.
//! Then the simulator's own event lines (`relay released`, `signal NAME`, ...), as it prints
//! them. stdin lines go to the simulator's control input; at the end of stdin the simulator is
//! told to quit, so the door goes away with the test that started it. WORK_DIR gets the flash
//! image (`door.img`) and `simulator.pid`, for a CI script to kill it if the fixture itself is
//! killed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitCode, Stdio};

use porter_link::frame::{for_each_fragment, stream_prefix, MAX_MTU};
use porter_link::{
    Answer, Progress, Reassembler, Request, StreamDecoder, MAX_ANSWER_LEN, MAX_REQUEST_LEN,
};
use porter_protocol::{Enrolment, LogSecret, SigningKey, MAX_ENROLMENT_LEN, VERSION};
use porter_testkit::{Site, DOOR, NOON, SITE};

/// The seed of `porter_testkit::key(3)`, the site's holder (checked against it at start).
const HOLDER_SEED: [u8; 32] = [3; 32];
/// The grant's serial; it allows one use.
const GRANT_SERIAL: u64 = 10;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [simulator, work_dir] = args.as_slice() else {
        eprintln!("usage: sim_fixture SIMULATOR_BINARY WORK_DIR");
        return ExitCode::from(2);
    };
    match run(Path::new(simulator), Path::new(work_dir)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sim_fixture: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(simulator: &Path, work_dir: &Path) -> Result<ExitCode, String> {
    std::fs::create_dir_all(work_dir).map_err(|e| format!("{}: {e}", work_dir.display()))?;
    let flash: PathBuf = work_dir.join("door.img");
    let _ = std::fs::remove_file(&flash); // a factory-fresh door every run
    let mut child = Command::new(simulator)
        .arg("--flash")
        .arg(&flash)
        .args(["--listen", "127.0.0.1:0", "--clock", &NOON.0.to_string(), "--manual-time"])
        .args(["--seed", "5"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", simulator.display()))?;
    let pid_file = work_dir.join("simulator.pid");
    std::fs::write(&pid_file, format!("{}\n", child.id())).map_err(|e| e.to_string())?;
    let result = serve(&mut child);
    if result.is_err() {
        let _ = child.kill();
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&pid_file);
    result?;
    Ok(if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Enrols the door, prints the fixture line, then relays lines both ways until the end.
fn serve(child: &mut Child) -> Result<(), String> {
    let mut control = child.stdin.take().ok_or("no simulator stdin")?;
    let mut events = BufReader::new(child.stdout.take().ok_or("no simulator stdout")?);
    let address = expect_prefix(&mut events, "listening ")?;
    let device_key = expect_prefix(&mut events, "device-key ")?;
    let port = address.rsplit(':').next().ok_or("no port in the listening line")?.to_string();

    let site = Site::new();
    let holder = SigningKey::from_seed(HOLDER_SEED).map_err(|e| format!("{e:?}"))?;
    if holder.public_key() != site.holder.public_key() {
        return Err("HOLDER_SEED is not the seed of the testkit site's holder key".into());
    }
    let enrolment = Enrolment {
        version: VERSION,
        site: SITE,
        door: DOOR,
        device: porter_protocol::PublicKey(
            unhex(&device_key)?.try_into().map_err(|_| "the device key is not 32 bytes")?,
        ),
        issued_at: NOON.minus(60),
        log_key: Some(
            LogSecret::from_seed([0x4C; 32])
                .map_err(|e| format!("{e:?}"))?
                .log_key()
                .map_err(|e| format!("{e:?}"))?,
        ),
    };
    let mut sealed = [0u8; MAX_ENROLMENT_LEN];
    let enrolment = enrolment.seal(&site.root, &mut sealed).map_err(|e| format!("{e:?}"))?;

    writeln!(control, "button").map_err(|e| e.to_string())?;
    while expect_line(&mut events)? != "button pressed" {}
    let request = Request::Enrol { root: site.root.public_key(), enrolment };
    let answer = call(&address, request)?;
    if Answer::decode(&answer) != Ok(Answer::Enrolled) {
        return Err(format!("the door did not enrol: {:?}", Answer::decode(&answer)));
    }

    let grant = site.seal_grant(&site.grant_body(GRANT_SERIAL, 1));
    let certificate = site.seal_cert(&site.certificate_body());
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "fixture {port} {device_key} {} {} {} {}",
        hex(&grant),
        hex(&certificate),
        hex(&HOLDER_SEED),
        NOON.0
    )
    .and_then(|()| out.flush())
    .map_err(|e| e.to_string())?;
    drop(out);

    // The test's commands to the simulator; at their end, quit.
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if writeln!(control, "{line}").is_err() {
                return;
            }
        }
        let _ = writeln!(control, "quit");
    });
    relay_events(events);
    Ok(())
}

/// Copies the simulator's event lines to stdout until it exits.
fn relay_events(events: BufReader<ChildStdout>) {
    let mut out = std::io::stdout();
    for line in events.lines() {
        let Ok(line) = line else { break };
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            break;
        }
    }
}

fn expect_line(events: &mut impl BufRead) -> Result<String, String> {
    let mut line = String::new();
    match events.read_line(&mut line) {
        Ok(0) => Err("the simulator exited early".into()),
        Ok(_) => Ok(line.trim_end().to_string()),
        Err(e) => Err(format!("reading the simulator: {e}")),
    }
}

fn expect_prefix(events: &mut impl BufRead, prefix: &str) -> Result<String, String> {
    let line = expect_line(events)?;
    line.strip_prefix(prefix)
        .map(str::to_string)
        .ok_or_else(|| format!("expected {prefix:?} from the simulator, got {line:?}"))
}

/// One request over a fresh connection (the stream link of `spec/link.md` 2.4, MTU 255), with
/// porter-link's framing; returns the door's whole answer.
fn call(address: &str, request: Request<'_>) -> Result<Vec<u8>, String> {
    const ID: u8 = 0x80;
    let mut socket = TcpStream::connect(address).map_err(|e| format!("{address}: {e}"))?;
    socket.set_read_timeout(Some(std::time::Duration::from_secs(30))).map_err(|e| e.to_string())?;
    let mut message = vec![0u8; MAX_REQUEST_LEN];
    let message = request.encode(&mut message).map_err(|e| format!("{e:?}"))?;
    let mut bytes = Vec::new();
    for_each_fragment::<()>(ID, message, MAX_MTU, |f| {
        bytes.push(stream_prefix(f).ok_or(())?);
        bytes.extend_from_slice(f);
        Ok(())
    })
    .map_err(|e| format!("{e:?}"))?
    .map_err(|()| "a fragment over the MTU".to_string())?;
    socket.write_all(&bytes).map_err(|e| e.to_string())?;
    let mut decoder = StreamDecoder::new();
    let mut reassembler = Reassembler::new(vec![0u8; MAX_ANSWER_LEN], MAX_MTU);
    let mut byte = [0u8; 1];
    loop {
        socket.read_exact(&mut byte).map_err(|e| format!("waiting for the door's answer: {e}"))?;
        if let Some(fragment) = decoder.push(byte[0]) {
            if let Ok(Progress::Complete { id, .. }) = reassembler.push(fragment, 0) {
                if id == ID {
                    return Ok(reassembler.message().to_vec());
                }
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    if s.len() % 2 != 0 {
        return Err(format!("odd-length hex {s:?}"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| format!("hex {s:?}: {e}")))
        .collect()
}
