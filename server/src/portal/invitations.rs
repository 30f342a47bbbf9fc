//! Invitations: one-time links that make a portal account.
//!
//! An invitation is a one-time link (a 256-bit secret, stored hashed) that expires after
//! [`INVITATION_LIFETIME`]. The operator invites a site's managers (`porter invite-manager`),
//! a manager or the operator a unit's residents. Opening the link shows who is invited and the
//! button that makes a passkey (`passkeys.rs`); looking does not use it up, only the account
//! made with the passkey does.

use axum::extract::{Path, State};
use serde::Serialize;

use super::session::{new_secret, Lang};
use super::store::InvitationRow;
use super::{page, PageError, PageResult, Portal};
use crate::ids::{InvitationId, ResidentId, SiteId, TokenId, UnitId};
use crate::service::{self, new_id, now, sha256_hex, Code, Role};
use crate::store::Store;

/// How long an invitation link works: 7 days.
pub const INVITATION_LIFETIME: i64 = 7 * 86_400;
/// A new invitation: give `path` (joined to the portal's address) to the invitee, once.
#[derive(Clone, Debug, Serialize)]
pub struct Invitation {
    /// Invitation id.
    pub id: InvitationId,
    /// `/portal/invitations/<secret>`: the one-time link's path.
    pub path: String,
    /// When the link stops working (Unix seconds).
    pub expires_at: i64,
}

/// Who is invited to what.
pub(crate) struct Invitee<'a> {
    pub role: Role,
    pub site_id: &'a SiteId,
    pub unit_id: Option<&'a UnitId>,
    pub resident_id: Option<&'a ResidentId>,
    pub display_name: &'a str,
    pub email: Option<&'a str>,
    pub created_by: Option<&'a TokenId>,
}

/// Invites a site's manager (the operator's `porter invite-manager`).
pub async fn invite_manager(
    store: &Store,
    site_id: &SiteId,
    display_name: &str,
    email: Option<&str>,
) -> service::Result<Invitation> {
    store.site(site_id).await?.ok_or_else(|| service::Error::not_found("site"))?;
    let invitee = Invitee {
        role: Role::Manager,
        site_id,
        unit_id: None,
        resident_id: None,
        display_name,
        email,
        created_by: None,
    };
    invite(store, &invitee).await
}

/// Invites an existing resident of one of the site's units to the portal (the operator's
/// `porter invite-resident`; a manager does the same from the Residents page). The account the
/// link makes is that resident's, with the resident role and scope.
pub async fn invite_resident(
    store: &Store,
    site_id: &SiteId,
    resident_id: &ResidentId,
    email: Option<&str>,
) -> service::Result<Invitation> {
    let resident =
        store.resident(resident_id).await?.ok_or_else(|| service::Error::not_found("resident"))?;
    // A resident of another site is as unknown here as a missing one.
    let unit = store
        .unit(&resident.unit_id)
        .await?
        .filter(|u| u.site_id == *site_id)
        .ok_or_else(|| service::Error::not_found("resident"))?;
    let invitee = Invitee {
        role: Role::Resident,
        site_id,
        unit_id: Some(&unit.id),
        resident_id: Some(&resident.id),
        display_name: &resident.display_name,
        email,
        created_by: None,
    };
    invite(store, &invitee).await
}

/// Stores an invitation after checking its text fields.
pub(crate) async fn invite(store: &Store, who: &Invitee<'_>) -> service::Result<Invitation> {
    let name = who.display_name.trim();
    // Characters, as the API's `display_name` counts them.
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(service::Error::invalid(
            Code::InvalidText,
            "the name must be 1..=200 characters of printable text",
        ));
    }
    let email = who.email.map(str::trim).filter(|e| !e.is_empty());
    if let Some(e) = email {
        check_email(e)?;
    }
    let secret = new_secret();
    let created_at = now();
    let row = InvitationRow {
        hash: sha256_hex(secret.as_bytes()),
        id: new_id("inv"),
        role: who.role,
        site_id: who.site_id.clone(),
        unit_id: who.unit_id.cloned(),
        resident_id: who.resident_id.cloned(),
        display_name: name.into(),
        email: email.map(Into::into),
        created_by: who.created_by.cloned(),
        created_at,
        expires_at: created_at + INVITATION_LIFETIME,
        used_at: None,
    };
    row.insert(store).await?;
    Ok(Invitation {
        id: row.id,
        path: format!("/portal/invitations/{secret}"),
        expires_at: row.expires_at,
    })
}

/// A plausible address: one `@`, something on each side, no spaces or controls, at most 254
/// bytes. (Deliverability is the mail relay's to judge.)
pub(crate) fn check_email(e: &str) -> service::Result<()> {
    let ok = e.len() <= 254
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(e.split_once('@'), Some((l, d)) if !l.is_empty() && d.contains('.') && !d.contains('@'));
    if ok {
        Ok(())
    } else {
        Err(service::Error::invalid(Code::InvalidText, "the email address is not valid"))
    }
}

/// `GET /portal/invitations/{secret}`: who is invited, and the button that makes a passkey.
pub(crate) async fn invitation_page(
    State(portal): State<Portal>,
    Lang(lang): Lang,
    Path(secret): Path<String>,
) -> PageResult {
    let live =
        InvitationRow::live(portal.service.store(), &sha256_hex(secret.as_bytes()), now()).await?;
    let Some(inv) = live else {
        return Err(PageError::Service(service::Error::not_found(
            "invitation (it was used, has expired or never existed: ask for a new one)",
        )));
    };
    let site = portal.service.store().site(&inv.site_id).await?;
    page(
        &portal,
        "invitation.html",
        minijinja::context! {
            lang, zone => "UTC0",
            current => format!("/portal/invitations/{secret}"),
            name => inv.display_name,
            invited_role => inv.role.as_str(),
            site_name => site.map(|s| s.name).unwrap_or_default(),
            start => format!("/portal/invitations/{secret}/start"),
            finish => format!("/portal/invitations/{secret}/finish"),
        },
    )
}
