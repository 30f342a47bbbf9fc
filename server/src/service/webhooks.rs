//! Webhook endpoints of a site.

use crate::service::Code;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{new_id, now, Error, Principal, Result, Service};
use crate::store::{self};

/// A webhook endpoint: the secret is shown once.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct WebhookCreated {
    /// Id.
    pub id: String,
    /// URL.
    pub url: String,
    /// HMAC-SHA256 key for the `Porter-Signature` header.
    pub secret: String,
}

/// Add a webhook.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// `http://host:port/path`.
    pub url: String,
}

impl Service {
    /// Adds a webhook endpoint for the site's notifications (manager).
    pub async fn add_webhook(
        &self,
        p: &Principal,
        site_id: &str,
        req: NewWebhook,
    ) -> Result<WebhookCreated> {
        let site = self.managed_site(p, site_id, "add webhooks").await?;
        if crate::client::parse_http_url(&req.url).is_none() {
            return Err(Error::invalid(
                Code::InvalidUrl,
                "url must be http://host:port/path (put a TLS-terminating proxy in front for https)",
            ));
        }
        let row = store::WebhookRow {
            id: new_id("hook"),
            site_id: site.id,
            url: req.url,
            secret: hex::encode(rand::random::<[u8; 32]>()),
        };
        self.store.insert_webhook(&row, now()).await?;
        Ok(WebhookCreated { id: row.id, url: row.url, secret: row.secret })
    }
}
