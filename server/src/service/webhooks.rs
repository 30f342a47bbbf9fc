//! Webhook endpoints of a site.

use crate::service::Code;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{new_id, now, Error, Paged, Principal, Result, Service};
use crate::ids::{SiteId, WebhookId};
use crate::standard_webhooks::EndpointKeys;
use crate::store::{self, Page};

/// The most webhook endpoints one site may have: each event is sent to every one, so the
/// number bounds the work (and the outbound connections) one manager can cause per event.
pub const MAX_WEBHOOKS_PER_SITE: i64 = 10;

/// A webhook endpoint and its Standard Webhooks keys: the secret is shown once.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct WebhookCreated {
    /// Id.
    pub id: WebhookId,
    /// URL.
    pub url: String,
    /// `whsec_...`: the HMAC-SHA256 secret for `v1` signatures.
    pub secret: String,
    /// `whpk_...`: the Ed25519 public key for `v1a` signatures (verify with this and hold no
    /// secret).
    pub public_key: String,
}

/// A webhook endpoint (its keys are shown only when it is added, never in a list).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct WebhookView {
    /// Id.
    pub id: WebhookId,
    /// The site it belongs to.
    pub site_id: SiteId,
    /// URL.
    pub url: String,
}

/// Add a webhook.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// `https://host/path`, reaching a public address or a range the server's
    /// `webhook_allow_targets` lists; or `http://host:port/path`, reaching a listed range only
    /// (the pattern states the default, with no range listed: `https://` and a host name).
    #[schema(
        max_length = 2000,
        pattern = r"^[hH][tT][tT][pP][sS]://([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?(:[0-9]{1,4})?([/?#][\x21-\x7E]*)?$"
    )]
    pub url: String,
}

impl Service {
    /// Adds a webhook endpoint for the site's notifications (manager).
    pub async fn add_webhook(
        &self,
        p: &Principal,
        site_id: &SiteId,
        req: NewWebhook,
    ) -> Result<WebhookCreated> {
        let site = self.managed_site(p, site_id, "add webhooks").await?;
        let url = crate::client::webhook_url(&req.url).map_err(|e| {
            Error::invalid(
                Code::InvalidUrl,
                format!("url must be https://host/path or http://host:port/path: {e}"),
            )
        })?;
        // Plain http:// is delivered only to the internal ranges the operator lists; with none
        // listed it could never arrive: say so now rather than fail every delivery.
        if url.scheme() == "http" && !self.webhook_targets.allows_plain_http() {
            return Err(Error::invalid(
                Code::InvalidUrl,
                "url must be https://: this server sends plain http:// only to the internal \
                 ranges of its webhook_allow_targets setting, and none are set",
            ));
        }
        // The stored seed derives both signing keys (see `standard_webhooks`).
        let seed: [u8; 32] = rand::random();
        let keys = EndpointKeys::from_seed(&seed);
        let row = store::WebhookRow {
            id: new_id("hook"),
            site_id: site.id,
            url: req.url,
            secret: hex::encode(seed),
        };
        if !self.store.insert_webhook_within(&row, now(), MAX_WEBHOOKS_PER_SITE).await? {
            return Err(Error::conflict(
                Code::TooManyWebhooks,
                format!(
                    "a site has at most {MAX_WEBHOOKS_PER_SITE} webhook endpoints: send to one \
                     receiver that fans out"
                ),
            ));
        }
        Ok(WebhookCreated {
            id: row.id,
            url: row.url,
            secret: keys.secret(),
            public_key: keys.public_key(),
        })
    }

    /// Lists the site's webhook endpoints (manager), without their keys: those are shown once,
    /// when an endpoint is added.
    pub async fn list_webhooks(
        &self,
        p: &Principal,
        site_id: &SiteId,
        page: &Page,
    ) -> Result<Paged<WebhookView>> {
        self.managed_site(p, site_id, "list webhooks").await?;
        let rows = self.store.webhooks_page(site_id, page).await?;
        let views = rows.into_iter().map(WebhookView::from).collect();
        Ok(Paged::of(views, page, |h| h.id.clone()))
    }

    /// Deletes a webhook endpoint of the site (manager), freeing its place under the cap of
    /// [`MAX_WEBHOOKS_PER_SITE`]; messages not yet sent to it are dropped. Another site's
    /// endpoint is not found.
    pub async fn delete_webhook(
        &self,
        p: &Principal,
        site_id: &SiteId,
        webhook_id: &WebhookId,
    ) -> Result<WebhookView> {
        let site = self.managed_site(p, site_id, "delete webhooks").await?;
        let hook = self.store.webhook(webhook_id).await?;
        let hook =
            hook.filter(|h| h.site_id == site.id).ok_or_else(|| Error::not_found("webhook"))?;
        if !self.store.delete_webhook(&hook.id).await? {
            return Err(Error::not_found("webhook"));
        }
        Ok(WebhookView::from(hook))
    }
}

impl From<store::WebhookRow> for WebhookView {
    /// The endpoint without its signing seed.
    fn from(r: store::WebhookRow) -> Self {
        WebhookView { id: r.id, site_id: r.site_id, url: r.url }
    }
}
