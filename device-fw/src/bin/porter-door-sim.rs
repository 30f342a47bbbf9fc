//! `porter-door-sim`: a door controller on the host, for the server's, the FFI's and the
//! end-to-end tests.
//!
//! ```text
//! porter-door-sim --flash door.img [--listen 127.0.0.1:0] [--clock UNIX] [--seed N] [--manual-time]
//! ```
//!
//! The flash image (64 KiB, created erased if missing) holds everything the door remembers, so
//! a restarted simulator is a rebooted door. Phones connect over TCP (one at a time) and speak
//! the door link of `spec/link.md` as a stream link (2.4): each fragment preceded by its length
//! byte, at the stream MTU of 255. A phone drives it with `porter_link::PhoneSession` (or the
//! FFI's `porter_session`) over the socket, with `StreamDecoder` and `stream_prefix`.
//!
//! Standard output, one event per line: `listening ADDR`, `device-key HEX`, `relay released`,
//! `relay secured`, `signal NAME`, `status ...`. Standard input, one command per line:
//! `advance MS` (both clocks), `rtc UNIX` (set the real-time clock), `open` / `close` (the door
//! sensor), `exit` (someone inside presses the request-to-exit button), `button` (the installer presses and lets go of the commissioning button, which opens
//! the enrolment window of an unenrolled door; answered `button pressed` once the door saw it),
//! `status`, `quit`. Time flows in real time unless `--manual-time` is given.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use porter_device::sim::{Handles, SimFlash, TcpTransport};
use porter_device::{Controller, Settings};
use porter_protocol::Time;

struct Args {
    flash: PathBuf,
    listen: String,
    clock: Option<u32>,
    seed: Option<u64>,
    manual_time: bool,
}

const USAGE: &str = "usage: porter-door-sim --flash PATH [--listen 127.0.0.1:0] [--clock UNIX] [--seed N] [--manual-time]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        flash: PathBuf::new(),
        listen: "127.0.0.1:0".into(),
        clock: None,
        seed: None,
        manual_time: false,
    };
    let mut it = std::env::args().skip(1);
    let mut flash = None;
    while let Some(a) = it.next() {
        let mut value =
            |name: &str| it.next().ok_or_else(|| format!("{name} needs a value\n{USAGE}"));
        match a.as_str() {
            "--flash" => flash = Some(PathBuf::from(value("--flash")?)),
            "--listen" => args.listen = value("--listen")?,
            "--clock" => {
                args.clock = Some(value("--clock")?.parse().map_err(|e| format!("--clock: {e}"))?)
            }
            "--seed" => {
                args.seed = Some(value("--seed")?.parse().map_err(|e| format!("--seed: {e}"))?)
            }
            "--manual-time" => args.manual_time = true,
            "--help" | "-h" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    args.flash = flash.ok_or_else(|| format!("--flash is required\n{USAGE}"))?;
    if !args.listen.starts_with("127.")
        && !args.listen.starts_with("[::1]")
        && !args.listen.starts_with("localhost")
    {
        return Err(format!("--listen {}: the simulator serves loopback only", args.listen));
    }
    Ok(args)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let flash = match SimFlash::open_file(&args.flash) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("cannot open the flash image {}: {e}", args.flash.display());
            return ExitCode::from(1);
        }
    };
    let transport = match TcpTransport::bind(&args.listen) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot listen on {}: {e}", args.listen);
            return ExitCode::from(1);
        }
    };
    let addr = transport.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let wall_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let wall = (wall_ms / 1000) as u32;
    let seed = args.seed.unwrap_or_else(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.finish()
    });
    let h = Handles::new(Time(args.clock.unwrap_or(wall)), seed);
    if args.clock.is_none() {
        // The RTC ticks over with the wall clock's seconds, not up to a second behind it (a
        // door state signed "now" on the same machine must not read as ahead of the door).
        h.clock.advance_ms(wall_ms % 1000);
    }
    let mut door = match Controller::boot(flash, transport, h.peripherals(), Settings::default()) {
        Ok(c) => c,
        Err((_, e)) => {
            eprintln!("the flash image does not fit the layout: {e:?}");
            return ExitCode::from(1);
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening {addr}");
    let _ = writeln!(out, "device-key {}", hex(&door.device_key().0));
    if let Some(fault) = door.fault() {
        let _ = writeln!(out, "fault {fault:?}");
    }
    let _ = out.flush();

    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    let started = Instant::now();
    let mut elapsed_ms = 0u64;
    let mut released = false;
    let mut signal = h.indicator.current();
    loop {
        if !args.manual_time {
            let now = started.elapsed().as_millis() as u64;
            h.clock.advance_ms(now.saturating_sub(elapsed_ms));
            elapsed_ms = now;
        }
        while let Ok(line) = rx.try_recv() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["advance", ms] => match ms.parse() {
                    Ok(ms) => h.clock.advance_ms(ms),
                    Err(e) => eprintln!("advance {ms}: {e}"),
                },
                ["rtc", t] => match t.parse() {
                    Ok(t) => h.clock.set_rtc(Time(t)),
                    Err(e) => eprintln!("rtc {t}: {e}"),
                },
                ["open"] => h.sensor.set_open(true),
                ["close"] => h.sensor.set_open(false),
                ["exit"] => {
                    h.sensor.set_exit_requested(true);
                    door.poll();
                    h.sensor.set_exit_requested(false);
                }
                ["button"] => {
                    h.button.set_held(true);
                    door.poll();
                    h.button.set_held(false);
                    door.poll();
                    let _ = writeln!(out, "button pressed");
                }
                ["status"] => {
                    let _ = writeln!(
                        out,
                        "status enrolled={} log={} released={} failures={} rtc={} fault={:?}",
                        door.enrolled(),
                        door.audit_length(),
                        door.released(),
                        door.failures(),
                        h.clock.rtc().0,
                        door.fault()
                    );
                }
                ["quit"] => return ExitCode::SUCCESS,
                [] => {}
                _ => eprintln!("unknown command {line:?}: advance MS | rtc UNIX | open | close | exit | button | status | quit"),
            }
        }
        door.poll();
        if door.released() != released {
            released = door.released();
            let _ = writeln!(out, "relay {}", if released { "released" } else { "secured" });
        }
        if h.indicator.current() != signal {
            signal = h.indicator.current();
            if let Some(s) = signal {
                let _ = writeln!(out, "signal {s:?}");
            }
        }
        let _ = out.flush();
        std::thread::sleep(Duration::from_millis(1));
    }
}
