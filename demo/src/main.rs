//! `porter-demo`: Porter's main job. Plays one whole delivery with the real `porter` server,
//! `porter-root` tool, the `porter-door-sim` door and the `porter-ffi` phone library, narrating each
//! step, and exits 0 only if every step behaved as the product promises.
//!
//! ```text
//! porter-demo [--bin-dir DIR] [--work-dir DIR] [--stay]
//! ```
//!
//! `--bin-dir` holds `porter`, `porter-root` and `porter-door-sim` (default: this program's own directory, as
//! `cargo build` lays them out). `--work-dir` must be empty or absent; without it the demo uses
//! a fresh temporary directory and removes it at the end. `--stay` keeps the server and the door
//! running after the story, for the portal's invitation links, until Ctrl-C (SIGINT) or SIGTERM.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use porter_demo::{Narrator, Options, Programs};

const USAGE: &str = "usage: porter-demo [--bin-dir DIR] [--work-dir DIR] [--stay]";

/// The command line.
struct Args {
    bin_dir: Option<PathBuf>,
    work_dir: Option<PathBuf>,
    stay: bool,
}

fn parse() -> Result<Args, String> {
    let (mut bin_dir, mut work_dir, mut stay) = (None, None, false);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| {
            args.next().map(PathBuf::from).ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--bin-dir" => bin_dir = Some(value("--bin-dir")?),
            "--work-dir" => work_dir = Some(value("--work-dir")?),
            "--stay" => stay = true,
            "--help" | "-h" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(Args { bin_dir, work_dir, stay })
}

fn main() -> ExitCode {
    let Args { bin_dir, work_dir, stay } = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let bin_dir = match bin_dir
        .or_else(|| std::env::current_exe().ok().and_then(|p| p.parent().map(PathBuf::from)))
    {
        Some(d) => d,
        None => {
            eprintln!("cannot tell where porter and porter-door-sim are: pass --bin-dir");
            return ExitCode::from(2);
        }
    };
    let (work_dir, temporary) = match work_dir {
        Some(d) => (d, false),
        None => {
            let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            let name = format!("porter-demo-{}-{nanos:x}", std::process::id());
            (std::env::temp_dir().join(name), true)
        }
    };
    if std::fs::read_dir(&work_dir).is_ok_and(|mut d| d.next().is_some()) {
        eprintln!("{} is not empty: give an empty or new --work-dir", work_dir.display());
        return ExitCode::from(2);
    }
    let options =
        Options { programs: Programs::in_dir(&bin_dir), work_dir: work_dir.clone(), stay };
    let mut n = Narrator::new(Box::new(std::io::stdout()));
    n.line("Porter demo: one parcel delivered through an offline door, every actor played by");
    n.line(
        "the real components (porter-root, porter serve on SQLite, porter-door-sim, porter-ffi),",
    );
    n.line(&format!("all on 127.0.0.1, working in {}.", work_dir.display()));
    let result = porter_demo::run(&options, &mut n);
    if temporary {
        let _ = std::fs::remove_dir_all(&work_dir);
    }
    match result {
        Ok(outcome) => {
            n.line(&format!(
                "\nDemo complete in {:.1} s: every step behaved as expected.",
                outcome.elapsed.as_secs_f64()
            ));
            ExitCode::SUCCESS
        }
        Err(e) => {
            n.line(&format!("\nDEMO FAILED: {e}"));
            eprintln!("porter-demo: {e}");
            ExitCode::FAILURE
        }
    }
}
