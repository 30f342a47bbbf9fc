//! Notifications by email: residents' notifications (`delivery.announced`,
//! `delivery.entered`) sent through an SMTP relay (lettre) to the portal accounts that gave an
//! address, besides the in-app inbox and the webhooks.
//!
//! A worker looks for notifications made after the account was created and not yet emailed to
//! it, claims each (notification, account) pair with an insert (so two server processes never
//! send the same one), sends it, and stamps it; a failed send frees the claim for the next
//! round. The relay's STARTTLS is used whenever it offers it (`smtp_require_tls` refuses a
//! relay that does not).

use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::watch;

use super::i18n::{negotiate, Catalog};
use super::render::local_time;
use crate::ids::{AccountId, NotificationId};
use crate::service::{now, Service};
use crate::store::StoreError;

/// Where and how to send email.
#[derive(Clone, Debug)]
pub struct SmtpSettings {
    /// The relay's host name.
    pub host: String,
    /// Its port (587 for submission with STARTTLS, 25 for a local relay).
    pub port: u16,
    /// The sender address.
    pub from: String,
    /// Login, if the relay needs one.
    pub credentials: Option<(String, String)>,
    /// Refuse to send unless the relay offers STARTTLS.
    pub require_tls: bool,
}

/// Sends notification emails.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::message::Mailbox,
    /// The portal's messages: each email is written in its account's language.
    catalog: Arc<Catalog>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from.to_string()).finish()
    }
}

/// How many notifications one round sends at most.
const BATCH: i64 = 100;

impl Mailer {
    /// A mailer for `settings`.
    pub fn new(settings: &SmtpSettings) -> Result<Mailer, String> {
        let tls = TlsParameters::new(settings.host.clone())
            .map_err(|e| format!("smtp_host {:?}: {e}", settings.host))?;
        let tls = if settings.require_tls { Tls::Required(tls) } else { Tls::Opportunistic(tls) };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(20)));
        if let Some((user, password)) = &settings.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        let from = settings
            .from
            .parse()
            .map_err(|e| format!("smtp_from {:?} is not an address: {e}", settings.from))?;
        Ok(Mailer { transport: builder.build(), from, catalog: Arc::new(Catalog::load()?) })
    }

    /// Sends one plain-text message.
    pub async fn send(&self, to: &str, subject: &str, text: String) -> Result<(), String> {
        let to = to.parse().map_err(|e| format!("address {to:?}: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(text)
            .map_err(|e| format!("message: {e}"))?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| format!("SMTP: {e}"))
    }

    /// Sends what is due every `interval` until `stop` turns true.
    pub async fn run(self, service: Service, interval: Duration, mut stop: watch::Receiver<bool>) {
        loop {
            match self.send_due(&service).await {
                Ok(sent) if sent > 0 => tracing::info!(sent, "notification emails sent"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "notification emails: will retry"),
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// One round: sends every due notification email; answers how many were sent.
    pub async fn send_due(&self, service: &Service) -> Result<usize, String> {
        let store = service.store();
        let due: Vec<Due> = sqlx::query_as(
            "SELECT n.id AS notification_id, a.id AS account_id, a.email, n.kind, n.body,
                    s.zone, s.name AS site, a.lang
             FROM notifications n
             JOIN api_tokens t ON t.resident_id = n.resident_id AND t.revoked_at IS NULL
             JOIN portal_accounts a ON a.token_id = t.id
             JOIN sites s ON s.id = t.site_id
             WHERE a.email IS NOT NULL AND n.created_at >= a.created_at
               AND NOT EXISTS (SELECT 1 FROM portal_emails e
                               WHERE e.notification_id = n.id AND e.account_id = a.id)
             ORDER BY n.id LIMIT $1",
        )
        .bind(BATCH)
        .fetch_all(store.pool())
        .await
        .map_err(|e: StoreError| e.to_string())?;
        let mut sent = 0;
        for d in due {
            let claimed = sqlx::query(
                "INSERT INTO portal_emails (notification_id, account_id, sent_at) VALUES ($1, $2, 0)",
            )
            .bind(d.notification_id.clone())
            .bind(d.account_id.clone())
            .execute(store.pool())
            .await;
            if claimed.is_err() {
                continue; // another process took it
            }
            let (subject, text) = compose(&self.catalog, &d);
            match self.send(&d.email, &subject, text).await {
                Ok(()) => {
                    sqlx::query(
                        "UPDATE portal_emails SET sent_at = $1
                         WHERE notification_id = $2 AND account_id = $3",
                    )
                    .bind(now())
                    .bind(d.notification_id.clone())
                    .bind(d.account_id.clone())
                    .execute(store.pool())
                    .await
                    .map_err(|e| e.to_string())?;
                    sent += 1;
                }
                Err(e) => {
                    sqlx::query(
                        "DELETE FROM portal_emails WHERE notification_id = $1 AND account_id = $2",
                    )
                    .bind(d.notification_id.clone())
                    .bind(d.account_id.clone())
                    .execute(store.pool())
                    .await
                    .map_err(|e| e.to_string())?;
                    return Err(e);
                }
            }
        }
        Ok(sent)
    }
}

/// A notification due to one account.
#[derive(sqlx::FromRow)]
struct Due {
    notification_id: NotificationId,
    account_id: AccountId,
    email: String,
    kind: String,
    body: String,
    zone: String,
    site: String,
    lang: String,
}

/// The subject and text of a notification email, in the account's language (times in the
/// site's zone).
fn compose(catalog: &Catalog, d: &Due) -> (String, String) {
    let data: serde_json::Value = serde_json::from_str(&d.body).unwrap_or_default();
    let time =
        |field: &str| data[field].as_i64().map(|t| local_time(&d.zone, t)).unwrap_or_default();
    let lang = negotiate(Some(&d.lang), None);
    let t = |key: &str, args: &[(&str, String)]| catalog.text(lang, key, args);
    let site = ("site", d.site.clone());
    match d.kind.as_str() {
        "delivery.announced" => {
            let carrier = match data["carrier"].as_str() {
                Some(c) => c.to_string(),
                None => t("mail-a-carrier", &[]),
            };
            let window = [
                site.clone(),
                ("carrier", carrier),
                ("from", time("window_start")),
                ("to", time("window_end")),
            ];
            (
                t("mail-announced-subject", std::slice::from_ref(&site)),
                format!(
                    "{}\n\n{}\n",
                    t("mail-announced-body", &window),
                    t("mail-opt-out-hint", &[])
                ),
            )
        }
        "delivery.entered" => {
            let entry =
                [site.clone(), ("door", data["door_number"].to_string()), ("at", time("at"))];
            (
                t("mail-entered-subject", std::slice::from_ref(&site)),
                format!("{}\n", t("mail-entered-body", &entry)),
            )
        }
        other => (t("mail-other-subject", &[("kind", other.to_string())]), format!("{}\n", d.body)),
    }
}
