//! `porter`: the server (`porter serve`) and the site root's offline tools (`porter root ...`).

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use porter_server::root::{self, CertifyOptions};
use porter_server::service::RevocationList;
use porter_server::{Config, Service, Store};

#[derive(Parser)]
#[command(name = "porter", version, about = "Porter: package-bound door access")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// JSON config file; `PORTER_*` environment variables override it.
        #[arg(long, env = "PORTER_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Make an operator API token (prints it once; the database keeps only its hash).
    OperatorToken {
        /// JSON config file (for the database location).
        #[arg(long, env = "PORTER_CONFIG")]
        config: Option<PathBuf>,
        /// A label for the token.
        #[arg(long, default_value = "operator")]
        label: String,
    },
    /// The site root's offline tools: no server involved.
    Root {
        #[command(subcommand)]
        command: RootCommand,
    },
}

#[derive(Subcommand)]
enum RootCommand {
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
    },
}

fn now() -> u32 {
    porter_server::service::now().clamp(0, i64::from(u32::MAX)) as u32
}

fn init_logging(config: &Config) {
    let level = config.log_level.parse().unwrap_or(tracing::Level::INFO);
    let builder = tracing_subscriber::fmt().with_max_level(level).with_writer(std::io::stderr);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve { config } => {
            let config = Config::load(config.as_deref())?;
            init_logging(&config);
            let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
            rt.block_on(porter_server::serve(config))
        }
        Command::OperatorToken { config, label } => {
            let config = Config::load(config.as_deref())?;
            let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
            rt.block_on(async {
                let store = Store::connect(&config.database_url()?)
                    .await
                    .map_err(|e| format!("cannot open the database: {e}"))?;
                let token =
                    Service::bootstrap_operator(&store, &label).await.map_err(|e| e.to_string())?;
                println!("{}", token.token);
                store.close().await;
                Ok(())
            })
        }
        Command::Root { command } => root_command(command),
    }
}

fn root_command(command: RootCommand) -> Result<(), String> {
    match command {
        RootCommand::Init { key, site } => {
            let root = root::init(&key, site)?;
            println!("site {}", root.site);
            println!("root_key {}", hex::encode(root.key.public_key().0));
            eprintln!("wrote {} (mode 0600): keep it offline and backed up", key.display());
        }
        RootCommand::CertifyIssuer {
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
        } => {
            let root = root::load(&key)?;
            let issuer = root::parse_key("--issuer", &issuer)?;
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
            };
            println!("{}", hex::encode(root::certify_issuer(&root, issuer, &options)?));
        }
        RootCommand::EnrollDevice { key, door, device } => {
            let root = root::load(&key)?;
            let device = root::parse_key("--device", &device)?;
            println!("{}", hex::encode(root::enroll_device(&root, door, device, now())?));
        }
        RootCommand::SignState { key, revocations, sequence } => {
            let root = root::load(&key)?;
            let text = std::fs::read_to_string(&revocations)
                .map_err(|e| format!("cannot read {}: {e}", revocations.display()))?;
            let list: RevocationList = serde_json::from_str(&text)
                .map_err(|e| format!("{} is not a revocation list: {e}", revocations.display()))?;
            let (state, raised) = root::sign_state(&root, &list, sequence, now())?;
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
            eprintln!("porter: {e}");
            ExitCode::FAILURE
        }
    }
}
