//! Issuer keys: made here, certified by the offline site root.

use crate::ids::{IssuerId, SiteId};
use crate::service::Code;
use porter_protocol::{Certificate, MAX_CERTIFICATE_LEN};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    hex_bytes, new_id, now, protocol, stored_key, Error, Paged, Principal, Result, Service,
};
use crate::store::{self, Page};

/// An issuer key (never its secret).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct IssuerView {
    /// Id.
    pub id: IssuerId,
    /// Site id.
    pub site_id: SiteId,
    /// Public key, hex: what `porter-root certify-issuer --issuer` takes.
    pub public_key: String,
    /// The certificate, hex, once uploaded.
    pub certificate: Option<String>,
    /// Certificate epoch.
    pub epoch: Option<i64>,
    /// Certificate end.
    pub not_after: Option<i64>,
    /// Whether it was revoked.
    pub revoked: bool,
}

impl From<store::IssuerRow> for IssuerView {
    fn from(r: store::IssuerRow) -> Self {
        IssuerView {
            id: r.id,
            site_id: r.site_id,
            public_key: r.public_key,
            certificate: r.certificate,
            epoch: r.epoch,
            not_after: r.not_after,
            revoked: r.revoked_at.is_some(),
        }
    }
}

/// Upload a certificate.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateUpload {
    /// The root-signed certificate from `porter-root certify-issuer`, hex.
    #[schema(min_length = 2, max_length = 512, pattern = r"^([0-9a-fA-F]{2})+$")]
    pub certificate: String,
}

impl Service {
    /// Makes a new issuer key for a site (manager). The root certifies it offline.
    pub async fn create_issuer(&self, p: &Principal, site_id: &SiteId) -> Result<IssuerView> {
        let site = self.managed_site(p, site_id, "create issuers").await?;
        let key =
            porter_protocol::SigningKey::from_seed(rand::random::<[u8; 32]>()).map_err(|_| {
                Error::new(super::Kind::Internal, Code::Internal, "the random source failed; retry")
            })?;
        let public = key.public_key();
        let row = store::IssuerRow {
            id: new_id("iss"),
            site_id: site.id,
            public_key: hex::encode(public.0),
            key_id: hex::encode(public.id().0),
            secret_seed: self.store_seed(&hex::encode(public.0), &key.seed())?,
            certificate: None,
            epoch: None,
            not_before: None,
            not_after: None,
            next_serial: 1,
            revoked_at: None,
            created_at: now(),
        };
        self.store.insert_issuer(&row).await?;
        Ok(row.into())
    }

    /// Stores a root-signed certificate for an issuer (manager).
    pub async fn upload_certificate(
        &self,
        p: &Principal,
        site_id: &SiteId,
        issuer_id: &IssuerId,
        req: CertificateUpload,
    ) -> Result<IssuerView> {
        let site = self.managed_site(p, site_id, "upload certificates").await?;
        let issuer = self.store.issuer(issuer_id).await?.filter(|i| i.site_id == site.id);
        let issuer = issuer.ok_or_else(|| Error::not_found("issuer"))?;
        let bytes = hex_bytes("certificate", &req.certificate, MAX_CERTIFICATE_LEN)?;
        let cert = Certificate::decode_verified(&bytes, &stored_key(&site.root_key)?)
            .map_err(|e| protocol(Code::InvalidCertificate, "certificate", e))?;
        if i64::from(cert.site.0) != site.site_number {
            return Err(Error::invalid(Code::WrongSite, "the certificate names another site"));
        }
        if hex::encode(cert.issuer.0) != issuer.public_key {
            return Err(Error::invalid(
                Code::WrongIssuer,
                "the certificate certifies another key than this issuer's",
            ));
        }
        // The site record is the one source of the zone: a certificate judging hours in
        // another zone would open doors at other local hours than the site's.
        if cert.limits.zone.to_string() != site.zone {
            return Err(Error::invalid(
                Code::WrongZone,
                format!(
                    "the certificate's zone is {} but the site's is {}: certify again with --zone '{}'",
                    cert.limits.zone, site.zone, site.zone
                ),
            ));
        }
        if issuer.revoked_at.is_some() {
            return Err(Error::conflict(
                Code::IssuerRevoked,
                "this issuer was revoked; make a new one",
            ));
        }
        self.store
            .set_certificate(
                issuer_id,
                &hex::encode(&bytes),
                i64::from(cert.epoch),
                i64::from(cert.not_before.0),
                i64::from(cert.not_after.0),
            )
            .await?;
        let issuer =
            self.store.issuer(issuer_id).await?.ok_or_else(|| Error::not_found("issuer"))?;
        Ok(issuer.into())
    }

    /// Lists a site's issuers (manager).
    pub async fn list_issuers(
        &self,
        p: &Principal,
        site_id: &SiteId,
        page: &Page,
    ) -> Result<Paged<IssuerView>> {
        self.managed_site(p, site_id, "list issuers").await?;
        let rows = self.store.issuers(site_id, page).await?;
        Ok(Paged::of(rows.into_iter().map(IssuerView::from).collect(), page, |i| i.id.clone()))
    }
}
