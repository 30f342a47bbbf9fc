//! `porter`: the server (`porter serve`) and its operator token. The site root's offline tools
//! are another binary, `porter-root` (crate `root/`).

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use porter_server::ids::{ResidentId, SiteId};
use porter_server::portal::Invitation;
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
    /// Invite a site's property manager to the web portal: prints a one-time link (valid
    /// 7 days) that makes their account and passkey.
    InviteManager {
        /// JSON config file (for the database and the portal's address).
        #[arg(long, env = "PORTER_CONFIG")]
        config: Option<PathBuf>,
        /// The site's id (`site_...`).
        #[arg(long)]
        site: String,
        /// The manager's name.
        #[arg(long)]
        name: String,
        /// Where to send their notifications (optional).
        #[arg(long)]
        email: Option<String>,
    },
    /// Invite a unit's resident (already added by the manager) to the web portal: prints a
    /// one-time link (valid 7 days) that makes their account and passkey.
    InviteResident {
        /// JSON config file (for the database and the portal's address).
        #[arg(long, env = "PORTER_CONFIG")]
        config: Option<PathBuf>,
        /// The site's id (`site_...`).
        #[arg(long)]
        site: String,
        /// The resident's id (`res_...`, from the manager's resident list).
        #[arg(long)]
        resident: String,
        /// Where to send their notifications (optional).
        #[arg(long)]
        email: Option<String>,
    },
    /// Print the OpenAPI document of this server's API (the contract clients are built from).
    Openapi,
    /// Measure throughput: set up a site through the API, drive grant issuance and audit
    /// uploads with concurrent clients, write a Markdown and a JSON report.
    Bench(porter_server::bench::BenchArgs),
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
        Command::Bench(args) => {
            // Errors only: the scratch commits' slow-statement warnings would drown the report.
            tracing_subscriber::fmt().with_max_level(tracing::Level::ERROR).init();
            let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
            let report = rt.block_on(porter_server::bench::run(args))?;
            println!("{}", std::fs::read_to_string(&report).map_err(|e| e.to_string())?);
            eprintln!("porter bench: report written to {}", report.display());
            Ok(())
        }
        Command::Openapi => {
            let doc = porter_server::http::openapi();
            println!("{}", serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?);
            Ok(())
        }
        Command::InviteManager { config, site, name, email } => {
            let config = Config::load(config.as_deref())?;
            print_invitation(&config, |store| async move {
                let site = SiteId::new(site);
                porter_server::portal::invite_manager(&store, &site, &name, email.as_deref()).await
            })
        }
        Command::InviteResident { config, site, resident, email } => {
            let config = Config::load(config.as_deref())?;
            print_invitation(&config, |store| async move {
                let (site, resident) = (SiteId::new(site), ResidentId::new(resident));
                porter_server::portal::invite_resident(&store, &site, &resident, email.as_deref())
                    .await
            })
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
    }
}

/// Opens the database, makes an invitation with `invite`, and prints its one-time link.
fn print_invitation<F, Fut>(config: &Config, invite: F) -> Result<(), String>
where
    F: FnOnce(Store) -> Fut,
    Fut: std::future::Future<Output = porter_server::service::Result<Invitation>>,
{
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let store = Store::connect(&config.database_url()?)
            .await
            .map_err(|e| format!("cannot open the database: {e}"))?;
        let invitation = invite(store.clone()).await.map_err(|e| e.to_string());
        store.close().await;
        let invitation = invitation?;
        println!("{}{}", config.portal_url().0, invitation.path);
        Ok(())
    })
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
