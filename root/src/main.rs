//! `porter-root`: the site root's offline tool. It never talks to the server: it reads what the
//! server exported (saved to files) and prints hex to upload.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use porter_root::{CertifyOptions, CurrentState, Error, ResetReason, RevocationList, SiteRecord};

#[derive(Parser)]
#[command(name = "porter-root", version, about = "Porter's site root, offline")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make a new site root key file (mode 0600) and print its public key and site number.
    Init {
        /// Where to write the key; must not exist.
        #[arg(long)]
        key: PathBuf,
        /// The site number (random if absent).
        #[arg(long)]
        site: Option<u32>,
    },
    /// Certify an issuer key with limits; prints the certificate (hex) to upload.
    CertifyIssuer {
        /// The root key file.
        #[arg(long)]
        key: PathBuf,
        /// The issuer's public key (hex), from the server's issuer list.
        #[arg(long)]
        issuer: String,
        /// Certificate epoch (raise it to fence off older certificates).
        #[arg(long, default_value_t = 1)]
        epoch: u32,
        /// Days of validity from now.
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// Allowed doors, comma separated (all if absent).
        #[arg(long, value_delimiter = ',')]
        doors: Option<Vec<u16>>,
        /// Weekday mask, bit 0 = Monday (127 = every day).
        #[arg(long, default_value_t = 127)]
        weekdays: u8,
        /// First allowed minute of the day, site local time.
        #[arg(long, default_value_t = 0)]
        from_minute: u16,
        /// First minute no longer allowed.
        #[arg(long, default_value_t = 1440)]
        to_minute: u16,
        /// Longest grant lifetime in seconds.
        #[arg(long, default_value_t = 900)]
        max_grant_lifetime: u32,
        /// Most entries per grant (1..=32).
        #[arg(long, default_value_t = 4)]
        max_uses: u8,
        /// The site's record (GET /v1/sites/{id} saved to a file): the certificate takes the
        /// site's time zone from it. Give this or --zone.
        #[arg(long, required_unless_present = "zone", conflicts_with = "zone")]
        site: Option<PathBuf>,
        /// The site's time zone, a POSIX TZ rule exactly as GET /v1/sites/{id} shows it (the
        /// server refuses a certificate in another zone). Give this or --site.
        #[arg(long)]
        zone: Option<String>,
    },
    /// Enrol a door controller's device key; prints the enrolment (hex) to upload.
    EnrollDevice {
        /// The root key file.
        #[arg(long)]
        key: PathBuf,
        /// The door number.
        #[arg(long)]
        door: u16,
        /// The controller's device public key (hex), shown by the controller on first boot.
        #[arg(long)]
        device: String,
        /// The site's record (GET /v1/sites/{id} saved to a file): the enrolment takes the
        /// server's log key from it, so the door masks holder ids in its log. Give this or
        /// --log-key.
        #[arg(long, required_unless_present = "log_key", conflicts_with = "log_key")]
        site: Option<PathBuf>,
        /// The site server's log key (hex), the site record's `log_key`. Give this or --site.
        #[arg(long)]
        log_key: Option<String>,
    },
    /// Sign the next door state from the server's revocation list (GET
    /// /v1/sites/{id}/revocations saved to a file); prints the state (hex) to upload.
    SignState {
        /// The root key file.
        #[arg(long)]
        key: PathBuf,
        /// The revocation list JSON.
        #[arg(long)]
        revocations: PathBuf,
        /// Sequence number (default: one more than the server's current).
        #[arg(long)]
        sequence: Option<u64>,
        /// Sign a clock reset: doors set their time back to this machine's clock, and every
        /// grant issued before it stops working at every door that takes it. Only when the
        /// site's newest state is dated ahead (see the README's recovery procedure); asks for
        /// confirmation on standard input.
        #[arg(long, requires = "current_state")]
        clock_reset: bool,
        /// The site's newest door state (GET /v1/sites/{id}/door-states/latest saved to a file), for
        /// --clock-reset: it must be dated ahead of this machine's clock.
        #[arg(long)]
        current_state: Option<PathBuf>,
    },
}

fn now() -> u32 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    u32::try_from(secs).unwrap_or(u32::MAX)
}

fn read(path: &Path, what: &str) -> Result<String, Error> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::Input(format!("cannot read the {what} {}: {e}", path.display())))
}

/// Tells the manager what a clock reset does and why this one is needed, and asks for `reset`
/// on standard input.
fn confirm_reset(why: &ResetReason, now: u32) -> Result<(), Error> {
    eprintln!(
        "CLOCK RESET. The site's newest door state (sequence {}) is dated {}, {} days and {} s \
         ahead of this machine's clock ({now}): every door that took it refuses every grant. \
         This reset sets the doors' time back to {now}, and EVERY GRANT ISSUED BEFORE IT STOPS \
         WORKING at every door that takes it (drivers ask the server for new grants). Check \
         this machine's clock against a trusted source first. Type `reset` to sign it:",
        why.sequence,
        why.issued_at,
        why.ahead / 86_400,
        why.ahead % 86_400
    );
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Error::Input(format!("cannot read the confirmation: {e}")))?;
    if line.trim() != "reset" {
        return Err(Error::Input("not confirmed (type `reset`): nothing was signed".into()));
    }
    Ok(())
}

fn site_record(path: &Path) -> Result<SiteRecord, Error> {
    let text = read(path, "site record")?;
    serde_json::from_str(&text).map_err(|e| {
        Error::Input(format!(
            "{} is not the server's site record (GET /v1/sites/{{id}}): {e}",
            path.display()
        ))
    })
}

fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Init { key, site } => {
            let root = porter_root::init(&key, site)?;
            println!("site {}", root.site);
            println!("root_key {}", hex::encode(root.key.public_key().0));
            eprintln!("wrote {} (mode 0600): keep it offline and backed up", key.display());
        }
        Command::CertifyIssuer {
            key,
            issuer,
            epoch,
            days,
            doors,
            weekdays,
            from_minute,
            to_minute,
            max_grant_lifetime,
            max_uses,
            site,
            zone,
        } => {
            let root = porter_root::load(&key)?;
            let zone = match (site, zone) {
                (Some(path), _) => {
                    let text = read(&path, "site record")?;
                    let record: SiteRecord = serde_json::from_str(&text).map_err(|e| {
                        Error::Input(format!(
                            "{} is not the server's site record (GET /v1/sites/{{id}}): {e}",
                            path.display()
                        ))
                    })?;
                    record.zone_for(root.site)?
                }
                (None, Some(zone)) => porter_root::parse_zone(&zone)?,
                (None, None) => {
                    return Err(Error::Input(
                        "give the site's zone: --site FILE or --zone RULE".into(),
                    ))
                }
            };
            let issuer = porter_root::parse_key("--issuer", &issuer)?;
            let now = now();
            let options = CertifyOptions {
                epoch,
                not_before: now.saturating_sub(60),
                not_after: now.saturating_add(days.saturating_mul(86_400)),
                doors,
                weekdays,
                from_minute,
                to_minute,
                max_grant_lifetime,
                max_uses,
                zone,
            };
            println!("{}", hex::encode(porter_root::certify_issuer(&root, issuer, &options)?));
        }
        Command::EnrollDevice { key, door, device, site, log_key } => {
            let root = porter_root::load(&key)?;
            let device = porter_root::parse_key("--device", &device)?;
            let log_key = match (site, log_key) {
                (Some(path), _) => site_record(&path)?.log_key_for(root.site)?,
                (None, Some(text)) => porter_root::parse_log_key(&text)?,
                (None, None) => {
                    return Err(Error::Input(
                        "give the site's log key: --site FILE or --log-key HEX".into(),
                    ))
                }
            };
            let enrolment = porter_root::enroll_device(&root, door, device, Some(log_key), now())?;
            println!("{}", hex::encode(enrolment));
        }
        Command::SignState { key, revocations, sequence, clock_reset, current_state } => {
            let root = porter_root::load(&key)?;
            let text = read(&revocations, "revocation list")?;
            let list: RevocationList = serde_json::from_str(&text).map_err(|e| {
                Error::Input(format!(
                    "{} is not the server's revocation list (GET /v1/sites/{{id}}/revocations): \
                     {e}",
                    revocations.display()
                ))
            })?;
            let now = now();
            let (state, raised) = match (clock_reset, current_state) {
                (true, Some(path)) => {
                    let text = read(&path, "current door state")?;
                    let current: CurrentState = serde_json::from_str(&text).map_err(|e| {
                        Error::Input(format!(
                            "{} is not the server's door state (GET \
                             /v1/sites/{{id}}/door-states/latest): {e}",
                            path.display()
                        ))
                    })?;
                    let why = porter_root::check_clock_reset(&root, &list, &current, now)?;
                    confirm_reset(&why, now)?;
                    porter_root::sign_clock_reset(&root, &list, sequence, now)?
                }
                (false, None) => porter_root::sign_state(&root, &list, sequence, now)?,
                (false, Some(_)) => {
                    return Err(Error::Input(
                        "--current-state is for --clock-reset only: leave it out".into(),
                    ))
                }
                (true, None) => {
                    return Err(Error::Input("--clock-reset needs --current-state FILE".into()))
                }
            };
            for fence in &raised {
                eprintln!(
                    "warning: the deny-list is full; raised a fence: {fence:?}. Re-certify the \
                     issuers that should keep working (certificates) or expect earlier grants \
                     to be refused (grants)."
                );
            }
            println!("{}", hex::encode(state));
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("porter-root: {e}");
            ExitCode::FAILURE
        }
    }
}
