//! `porter serve` configuration: a JSON file, then `PORTER_*` environment overrides.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Everything `porter serve` reads.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on (`PORTER_LISTEN`), e.g. `127.0.0.1:8080`; port 0 picks one.
    pub listen: String,
    /// Directory for the embedded SQLite database (`PORTER_DATA_DIR`).
    pub data_dir: PathBuf,
    /// `postgres://...` or `sqlite://...` (`PORTER_DATABASE_URL`); default: SQLite in data_dir.
    pub database_url: Option<String>,
    /// PEM certificate chain: serve HTTPS with rustls (`PORTER_TLS_CERT`).
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (`PORTER_TLS_KEY`).
    pub tls_key: Option<PathBuf>,
    /// `error`, `warn`, `info`, `debug` or `trace` (`PORTER_LOG_LEVEL`).
    pub log_level: String,
    /// `text` or `json` (`PORTER_LOG_FORMAT`).
    pub log_format: String,
    /// Requests per minute per API token (`PORTER_RATE_LIMIT_PER_MINUTE`).
    pub rate_limit_per_minute: u32,
    /// How often the outbox worker looks for due webhooks (`PORTER_OUTBOX_INTERVAL_MS`).
    pub outbox_interval_ms: u64,
    /// First retry delay of a failed webhook, doubled per attempt up to an hour
    /// (`PORTER_WEBHOOK_BACKOFF_SECONDS`).
    pub webhook_backoff_seconds: i64,
    /// Seconds a webhook being sent is left alone before it is retried (after a crash, or by
    /// another process) (`PORTER_WEBHOOK_LEASE_SECONDS`).
    pub webhook_lease_seconds: i64,
    /// Address ranges webhooks may reach besides public addresses (`PORTER_WEBHOOK_ALLOW_TARGETS`,
    /// comma separated), e.g. `["10.20.0.0/16"]` for a receiver on the internal network. Empty
    /// by default: loopback, private, link-local and other non-public addresses are refused.
    pub webhook_allow_targets: Vec<String>,
    /// A PEM file of CA certificates that `https://` webhook receivers may be certified by
    /// besides the web PKI roots built into porter (`PORTER_WEBHOOK_CA_FILE`): an internal CA.
    pub webhook_ca_file: Option<PathBuf>,
    /// Webhook messages in flight at once, per process (`PORTER_WEBHOOK_CONCURRENCY`).
    pub webhook_concurrency: u32,
    /// Of those, at most this many for one site's endpoints, so that one site's slow
    /// receivers cannot hold the others' (`PORTER_WEBHOOK_CONCURRENCY_PER_SITE`).
    pub webhook_concurrency_per_site: u32,
    /// A file holding 64 hex digits: the secret that seals issuer private keys in the database
    /// (`PORTER_ISSUER_KEY_SECRET_FILE`). Without it they are stored in the clear.
    pub issuer_key_secret_file: Option<PathBuf>,
    /// Seconds to let requests in flight finish on shutdown (`PORTER_SHUTDOWN_GRACE_SECONDS`).
    pub shutdown_grace_seconds: u64,
    /// The bearer token Prometheus must send to read `/metrics` (`PORTER_METRICS_TOKEN`).
    /// Without it `/metrics` is closed (403): its counters describe the whole operator.
    pub metrics_token: Option<String>,
    /// The web portal's public address (`PORTER_PORTAL_URL`), e.g. `https://porter.example`:
    /// its origin is the one passkeys are made for, and invitation links start with it.
    /// Default: `http://localhost:<listen port>`.
    pub portal_url: Option<String>,
    /// The SMTP relay that emails residents' notifications (`PORTER_SMTP_HOST`); none: no email.
    pub smtp_host: Option<String>,
    /// The relay's port (`PORTER_SMTP_PORT`): 587 (submission; STARTTLS used when offered).
    pub smtp_port: u16,
    /// The sender address (`PORTER_SMTP_FROM`).
    pub smtp_from: String,
    /// The relay login (`PORTER_SMTP_USERNAME`), with the password in `smtp_password_file`.
    pub smtp_username: Option<String>,
    /// A file holding the relay password (`PORTER_SMTP_PASSWORD_FILE`).
    pub smtp_password_file: Option<PathBuf>,
    /// Refuse a relay that does not offer STARTTLS (`PORTER_SMTP_REQUIRE_TLS`).
    pub smtp_require_tls: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("porter-data"),
            database_url: None,
            tls_cert: None,
            tls_key: None,
            log_level: "info".into(),
            log_format: "text".into(),
            rate_limit_per_minute: 600,
            outbox_interval_ms: 1000,
            webhook_backoff_seconds: 5,
            webhook_lease_seconds: 60,
            webhook_allow_targets: Vec::new(),
            webhook_ca_file: None,
            webhook_concurrency: 32,
            webhook_concurrency_per_site: 4,
            shutdown_grace_seconds: 10,
            issuer_key_secret_file: None,
            metrics_token: None,
            portal_url: None,
            smtp_host: None,
            smtp_port: 587,
            smtp_from: "porter@localhost".into(),
            smtp_username: None,
            smtp_password_file: None,
            smtp_require_tls: false,
        }
    }
}

fn env_parse<T: std::str::FromStr>(name: &str, slot: &mut T) -> Result<(), String> {
    if let Ok(v) = std::env::var(name) {
        *slot = v.parse().map_err(|_| format!("{name}={v:?} is not a valid value"))?;
    }
    Ok(())
}

impl Config {
    /// Reads `path` (if given), then applies `PORTER_*` environment variables.
    pub fn load(path: Option<&Path>) -> Result<Config, String> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
                serde_json::from_str(&text)
                    .map_err(|e| format!("config file {} is not valid: {e}", path.display()))?
            }
            None => Config::default(),
        };
        env_parse("PORTER_LISTEN", &mut config.listen)?;
        env_parse("PORTER_DATA_DIR", &mut config.data_dir)?;
        if let Ok(v) = std::env::var("PORTER_DATABASE_URL") {
            config.database_url = Some(v);
        }
        if let Ok(v) = std::env::var("PORTER_TLS_CERT") {
            config.tls_cert = Some(v.into());
        }
        if let Ok(v) = std::env::var("PORTER_TLS_KEY") {
            config.tls_key = Some(v.into());
        }
        env_parse("PORTER_LOG_LEVEL", &mut config.log_level)?;
        env_parse("PORTER_LOG_FORMAT", &mut config.log_format)?;
        env_parse("PORTER_RATE_LIMIT_PER_MINUTE", &mut config.rate_limit_per_minute)?;
        env_parse("PORTER_OUTBOX_INTERVAL_MS", &mut config.outbox_interval_ms)?;
        env_parse("PORTER_WEBHOOK_BACKOFF_SECONDS", &mut config.webhook_backoff_seconds)?;
        env_parse("PORTER_WEBHOOK_LEASE_SECONDS", &mut config.webhook_lease_seconds)?;
        if let Ok(v) = std::env::var("PORTER_WEBHOOK_ALLOW_TARGETS") {
            config.webhook_allow_targets =
                v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
        }
        crate::client::Targets::allowing(&config.webhook_allow_targets)
            .map_err(|e| format!("webhook_allow_targets: {e}"))?;
        if let Ok(v) = std::env::var("PORTER_WEBHOOK_CA_FILE") {
            config.webhook_ca_file = Some(v.into());
        }
        config.webhook_roots()?;
        env_parse("PORTER_WEBHOOK_CONCURRENCY", &mut config.webhook_concurrency)?;
        env_parse("PORTER_WEBHOOK_CONCURRENCY_PER_SITE", &mut config.webhook_concurrency_per_site)?;
        env_parse("PORTER_SHUTDOWN_GRACE_SECONDS", &mut config.shutdown_grace_seconds)?;
        if let Ok(v) = std::env::var("PORTER_ISSUER_KEY_SECRET_FILE") {
            config.issuer_key_secret_file = Some(v.into());
        }
        if let Ok(v) = std::env::var("PORTER_METRICS_TOKEN") {
            config.metrics_token = Some(v);
        }
        if let Ok(v) = std::env::var("PORTER_PORTAL_URL") {
            config.portal_url = Some(v);
        }
        if let Ok(v) = std::env::var("PORTER_SMTP_HOST") {
            config.smtp_host = Some(v);
        }
        env_parse("PORTER_SMTP_PORT", &mut config.smtp_port)?;
        env_parse("PORTER_SMTP_FROM", &mut config.smtp_from)?;
        if let Ok(v) = std::env::var("PORTER_SMTP_USERNAME") {
            config.smtp_username = Some(v);
        }
        if let Ok(v) = std::env::var("PORTER_SMTP_PASSWORD_FILE") {
            config.smtp_password_file = Some(v.into());
        }
        env_parse("PORTER_SMTP_REQUIRE_TLS", &mut config.smtp_require_tls)?;
        if config.metrics_token.as_deref().is_some_and(|t| t.len() < 16) {
            return Err(
                "metrics_token must be at least 16 characters (try `openssl rand -hex 16`)".into(),
            );
        }
        if config.tls_cert.is_some() != config.tls_key.is_some() {
            return Err("tls_cert and tls_key go together: give both or neither".into());
        }
        let ranges: [(&str, i64, i64, i64); 7] = [
            ("webhook_concurrency", i64::from(config.webhook_concurrency), 1, 1024),
            (
                "webhook_concurrency_per_site",
                i64::from(config.webhook_concurrency_per_site),
                1,
                i64::from(config.webhook_concurrency),
            ),
            ("rate_limit_per_minute", i64::from(config.rate_limit_per_minute), 1, 1_000_000),
            ("outbox_interval_ms", config.outbox_interval_ms as i64, 10, 3_600_000),
            ("webhook_backoff_seconds", config.webhook_backoff_seconds, 1, 3600),
            ("webhook_lease_seconds", config.webhook_lease_seconds, 1, 86_400),
            ("shutdown_grace_seconds", config.shutdown_grace_seconds as i64, 0, 3600),
        ];
        for (name, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                return Err(format!("{name} = {value} is out of range: use {min}..={max}"));
            }
        }
        if !["text", "json"].contains(&config.log_format.as_str()) {
            return Err(format!("log_format {:?}: use \"text\" or \"json\"", config.log_format));
        }
        if config.log_level.parse::<tracing::Level>().is_err() {
            return Err(format!(
                "log_level {:?}: use error, warn, info, debug or trace",
                config.log_level
            ));
        }
        Ok(config)
    }

    /// The portal's address: `portal_url`, or `http://localhost:<listen port>`. The flag says
    /// whether passkeys must accept any port (listening on port 0 with no `portal_url`).
    pub fn portal_url(&self) -> (String, bool) {
        if let Some(url) = &self.portal_url {
            return (url.trim_end_matches('/').to_string(), false);
        }
        let port = self.listen.rsplit_once(':').map_or("8080", |(_, p)| p);
        (format!("http://localhost:{port}"), port == "0")
    }

    /// The SMTP settings, if a relay is configured.
    pub fn smtp(&self) -> Result<Option<crate::portal::mail::SmtpSettings>, String> {
        let Some(host) = &self.smtp_host else { return Ok(None) };
        let credentials = match (&self.smtp_username, &self.smtp_password_file) {
            (Some(user), Some(file)) => {
                let password = std::fs::read_to_string(file).map_err(|e| {
                    format!("cannot read smtp_password_file {}: {e}", file.display())
                })?;
                Some((user.clone(), password.trim_end().to_string()))
            }
            (None, None) => None,
            _ => return Err("smtp_username and smtp_password_file go together".into()),
        };
        Ok(Some(crate::portal::mail::SmtpSettings {
            host: host.clone(),
            port: self.smtp_port,
            from: self.smtp_from.clone(),
            credentials,
            require_tls: self.smtp_require_tls,
        }))
    }

    /// The extra CA certificates trusted for `https://` webhook receivers (none without
    /// `webhook_ca_file`).
    pub fn webhook_roots(&self) -> Result<crate::client::TrustedRoots, String> {
        match &self.webhook_ca_file {
            Some(path) => crate::client::TrustedRoots::from_pem_file(path)
                .map_err(|e| format!("webhook_ca_file: {e}")),
            None => Ok(crate::client::TrustedRoots::none()),
        }
    }

    /// The issuer-key secret, if configured.
    pub fn issuer_key_secret(&self) -> Result<Option<[u8; 32]>, String> {
        let Some(path) = &self.issuer_key_secret_file else { return Ok(None) };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read issuer key secret {}: {e}", path.display()))?;
        let secret = hex::decode(text.trim()).ok().and_then(|b| <[u8; 32]>::try_from(b).ok());
        secret.map(Some).ok_or_else(|| {
            format!("{} must hold 64 hex digits (try `openssl rand -hex 32`)", path.display())
        })
    }

    /// The database URL: the configured one, or SQLite in the data directory (created).
    pub fn database_url(&self) -> Result<String, String> {
        if let Some(url) = &self.database_url {
            return Ok(url.clone());
        }
        std::fs::create_dir_all(&self.data_dir).map_err(|e| {
            format!("cannot create data directory {}: {e}", self.data_dir.display())
        })?;
        Ok(format!("sqlite://{}", self.data_dir.join("porter.db").display()))
    }
}
