//! The property manager's pages: doors, carriers, deliveries, the access log, residents,
//! API tokens and revocations. Every action calls the service as the manager's principal.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::{context, Value};
use serde::Deserialize;

use super::invitations::{check_email, invite, Invitee};
use super::reads::{self, LogFilter, LogRow};
use super::render::local_time;
use super::session::{site_of, CsrfOnly, Signed};
use super::{page, pager, see_other, PageResult, Portal};
use crate::ids::{ApprovalId, CarrierId, ResidentId, SiteId, TokenId, UnitId};
use crate::service::{DoorStateUpload, NewResident, NewRevocation, NewUnit, Role};
use crate::store::{Page, RevocationKind};

/// The most rows a list page shows.
const LIST_LIMIT: i64 = 200;

pub(super) fn routes() -> Router<Portal> {
    Router::new()
        .route("/portal/manager", get(dashboard))
        .route("/portal/manager/carriers", get(carriers))
        .route("/portal/manager/carriers/{id}/withdraw", post(withdraw_approval))
        .route("/portal/manager/deliveries", get(deliveries))
        .route("/portal/manager/log", get(log))
        .route("/portal/manager/log.csv", get(log_csv))
        .route("/portal/manager/residents", get(residents))
        .route("/portal/manager/units", post(add_unit))
        .route("/portal/manager/residents/invite", post(invite_resident))
        .route("/portal/manager/residents/{id}/remove", post(remove_resident))
        .route("/portal/manager/tokens", get(tokens))
        .route("/portal/manager/tokens/{id}/revoke", post(revoke_token))
        .route("/portal/manager/revocations", get(revocations))
        .route("/portal/manager/revocations/revoke", post(revoke))
        .route("/portal/manager/revocations/list.json", get(revocation_list))
        .route("/portal/manager/revocations/door-state", post(upload_state))
}

fn all() -> Page {
    Page { after: String::new(), limit: LIST_LIMIT }
}

/// The signed-in manager's site id (a manager's principal always has one).
fn site(s: &Signed) -> SiteId {
    site_of(&s.principal)
}

async fn dashboard(State(portal): State<Portal>, s: Signed) -> PageResult {
    s.require(Role::Manager)?;
    let site = site(&s);
    let svc = portal.service();
    let doors = reads::door_health(svc.store(), &site).await?;
    let latest = svc.latest_door_state(&s.principal, &site).await?;
    let alarms = svc.list_alarms(&s.principal, &site, &all()).await?;
    let ctx = context! {
        doors => Value::from_serialize(&doors),
        latest => Value::from_serialize(&latest),
        alarms => Value::from_serialize(&alarms.items),
    };
    page(&portal, "manager/dashboard.html", s.context(&portal, "/portal/manager", ctx).await?)
}

async fn carriers(State(portal): State<Portal>, s: Signed) -> PageResult {
    s.require(Role::Manager)?;
    let site = site(&s);
    let svc = portal.service();
    let approvals = svc.list_approvals(&s.principal, &site, &all()).await?;
    let carriers = svc.list_carriers(&s.principal, &all()).await?;
    let name_of = |id: &CarrierId| {
        carriers.items.iter().find(|c| c.id == *id).map(|c| c.name.clone()).unwrap_or_default()
    };
    let rows: Vec<Value> = approvals
        .items
        .iter()
        .map(|a| {
            context! {
                id => a.id, carrier => name_of(&a.carrier_id), carrier_id => a.carrier_id,
                doors => a.doors, max_uses => a.max_uses,
                max_lifetime_minutes => a.max_lifetime_minutes, revoked => a.revoked,
            }
        })
        .collect();
    let ctx = context! { approvals => rows };
    page(
        &portal,
        "manager/carriers.html",
        s.context(&portal, "/portal/manager/carriers", ctx).await?,
    )
}

/// Withdraws a carrier's approval at the site: no further grants for its drivers here.
async fn withdraw_approval(
    State(portal): State<Portal>,
    s: Signed,
    Path(id): Path<ApprovalId>,
    Form(f): Form<CsrfOnly>,
) -> PageResult {
    s.check_csrf(&f.csrf)?;
    portal.service().withdraw_approval(&s.principal, &site(&s), &id).await?;
    Ok(see_other("/portal/manager/carriers"))
}

/// Which page of a list read newest first: the items older than `before`.
#[derive(Deserialize)]
struct Before {
    #[serde(default)]
    before: String,
}

async fn deliveries(
    State(portal): State<Portal>,
    s: Signed,
    Query(at): Query<Before>,
) -> PageResult {
    s.require(Role::Manager)?;
    let store = portal.service().store();
    let rows = reads::site_deliveries(store, &site(&s), None, &at.before, LIST_LIMIT + 1).await?;
    let (rows, older) = reads::newest_page(rows, LIST_LIMIT as usize, |d| d.id.clone());
    let path = "/portal/manager/deliveries";
    let ctx = context! {
        deliveries => Value::from_serialize(&rows),
        pager => pager(
            Some(path.to_string()).filter(|_| !at.before.is_empty()),
            older.map(|id| format!("{path}?before={id}")),
            true,
        ),
    };
    page(
        &portal,
        "manager/deliveries.html",
        s.context(&portal, "/portal/manager/deliveries", ctx).await?,
    )
}

async fn log(State(portal): State<Portal>, s: Signed, Query(f): Query<LogFilter>) -> PageResult {
    s.require(Role::Manager)?;
    let site = site(&s);
    let svc = portal.service();
    let rows = reads::access_log(svc.store(), &site, &f, LIST_LIMIT + 1).await?;
    let (rows, older) = reads::newest_page(rows, LIST_LIMIT as usize, LogRow::cursor);
    let doors = reads::door_health(svc.store(), &site).await?;
    let carriers = svc.list_carriers(&s.principal, &all()).await?;
    let query = serde_urlencoded_pairs(&f);
    let ctx = context! {
        rows => Value::from_serialize(&rows),
        pager => pager(
            Some(format!("/portal/manager/log?{query}")).filter(|_| !f.before.is_empty()),
            older.map(|cursor| format!("/portal/manager/log?{query}&before={cursor}")),
            true,
        ),
        doors => Value::from_serialize(&doors),
        carriers => Value::from_serialize(&carriers.items),
        filter => context! { door => f.door, carrier => f.carrier, outcome => f.outcome, from => f.from, to => f.to },
        csv => format!("/portal/manager/log.csv?{query}"),
    };
    page(&portal, "manager/log.html", s.context(&portal, "/portal/manager/log", ctx).await?)
}

/// The filter as a query string (for the CSV and paging links; a page cursor is not part
/// of it).
fn serde_urlencoded_pairs(f: &LogFilter) -> String {
    let enc = |v: &str| -> String {
        v.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "door={}&carrier={}&outcome={}&from={}&to={}",
        enc(&f.door),
        enc(&f.carrier),
        enc(&f.outcome),
        enc(&f.from),
        enc(&f.to)
    )
}

/// A CSV cell: quoted, quotes doubled, and a leading `=`, `+`, `-` or `@` defused so that a
/// spreadsheet does not run it as a formula.
fn csv_cell(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@']) { format!("'{v}") } else { v.to_string() };
    format!("\"{}\"", v.replace('"', "\"\""))
}

async fn log_csv(
    State(portal): State<Portal>,
    s: Signed,
    Query(f): Query<LogFilter>,
) -> Result<Response, super::PageError> {
    s.require(Role::Manager)?;
    let site = s.site(&portal).await?;
    // The export is the whole filtered log, whichever page the link was on.
    let f = LogFilter { before: String::new(), ..f };
    let rows = reads::access_log(portal.service().store(), &site.id, &f, 100_000).await?;
    let mut out = String::from("local_time,unix_time,door,sequence,carrier,grant\r\n");
    for r in rows {
        let cells = [
            local_time(&site.zone, r.at),
            r.at.to_string(),
            r.door,
            r.sequence.to_string(),
            r.carrier.unwrap_or_default(),
            r.grant_id.unwrap_or_default(),
        ];
        out.push_str(&cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    let mut r = out.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"access-log.csv\""),
    );
    Ok(r)
}

/// Which page of a list in the API's order: the items after `after` (the API's cursor).
#[derive(Deserialize)]
struct After {
    #[serde(default)]
    after: String,
}

impl After {
    fn page(&self) -> Page {
        Page { after: self.after.clone(), limit: LIST_LIMIT }
    }

    /// The pager of the list at `path` whose page this is, `next` its API cursor.
    fn pager(&self, path: &str, next: Option<String>) -> Value {
        let first = Some(path.to_string()).filter(|_| !self.after.is_empty());
        pager(first, next.map(|n| format!("{path}?after={n}")), false)
    }
}

async fn residents(State(portal): State<Portal>, s: Signed, Query(at): Query<After>) -> PageResult {
    s.require(Role::Manager)?;
    let site = site(&s);
    let svc = portal.service();
    let units = svc.list_units(&s.principal, &site, &at.page()).await?;
    let mut rows = Vec::new();
    for u in &units.items {
        let residents = svc.store().residents(&u.id).await?;
        let residents: Vec<Value> = residents
            .into_iter()
            .map(|r| context! { id => r.id, name => r.display_name, opted_out => r.opted_out })
            .collect();
        rows.push(context! { id => u.id, label => u.label, residents => residents });
    }
    let ctx = context! {
        units => rows,
        invitation => Value::UNDEFINED,
        pager => at.pager("/portal/manager/residents", units.next),
    };
    page(
        &portal,
        "manager/residents.html",
        s.context(&portal, "/portal/manager/residents", ctx).await?,
    )
}

#[derive(Deserialize)]
struct UnitForm {
    csrf: String,
    label: String,
}

async fn add_unit(State(portal): State<Portal>, s: Signed, Form(f): Form<UnitForm>) -> PageResult {
    s.check_csrf(&f.csrf)?;
    s.require(Role::Manager)?;
    portal.service().create_unit(&s.principal, &site(&s), NewUnit { label: f.label }).await?;
    Ok(see_other("/portal/manager/residents"))
}

#[derive(Deserialize)]
struct InviteForm {
    csrf: String,
    unit_id: String,
    display_name: String,
    #[serde(default)]
    email: String,
}

/// Adds a resident to a unit and shows their one-time invitation link (once).
async fn invite_resident(
    State(portal): State<Portal>,
    s: Signed,
    Form(f): Form<InviteForm>,
) -> PageResult {
    s.check_csrf(&f.csrf)?;
    s.require(Role::Manager)?;
    let site = site(&s);
    let svc = portal.service();
    let email = Some(f.email.as_str()).filter(|e| !e.trim().is_empty());
    if let Some(e) = email {
        check_email(e.trim())?;
    }
    // The service checks the unit is the manager's; the resident record comes first so the
    // invitation names it.
    let resident = svc
        .add_resident(
            &s.principal,
            &site,
            &UnitId::new(f.unit_id.as_str()),
            NewResident { display_name: f.display_name },
        )
        .await?;
    let invitee = Invitee {
        role: Role::Resident,
        site_id: &site,
        unit_id: Some(&resident.unit_id),
        resident_id: Some(&resident.id),
        display_name: &resident.display_name,
        email,
        created_by: Some(s.principal.token_id()),
    };
    let invitation = invite(svc.store(), &invitee).await?;
    let link = portal.link(&invitation.path);
    let ctx = context! {
        name => resident.display_name, link => link,
        expires_at => invitation.expires_at,
    };
    page(
        &portal,
        "message.html",
        s.context(
            &portal,
            "/portal/manager/residents",
            context! {
                kind => "invitation", ..ctx
            },
        )
        .await?,
    )
}

async fn remove_resident(
    State(portal): State<Portal>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> PageResult {
    s.check_csrf(&f.csrf)?;
    portal.service().remove_resident(&s.principal, &ResidentId::new(id)).await?;
    Ok(see_other("/portal/manager/residents"))
}

async fn tokens(State(portal): State<Portal>, s: Signed, Query(at): Query<After>) -> PageResult {
    s.require(Role::Manager)?;
    let list = portal.service().list_tokens(&s.principal, &at.page()).await?;
    let ctx = context! {
        tokens => Value::from_serialize(&list.items),
        pager => at.pager("/portal/manager/tokens", list.next),
    };
    page(&portal, "manager/tokens.html", s.context(&portal, "/portal/manager/tokens", ctx).await?)
}

async fn revoke_token(
    State(portal): State<Portal>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> PageResult {
    s.check_csrf(&f.csrf)?;
    s.require(Role::Manager)?;
    portal.service().revoke_token(&s.principal, &TokenId::new(id)).await?;
    Ok(see_other("/portal/manager/tokens"))
}

async fn revocations(State(portal): State<Portal>, s: Signed) -> PageResult {
    s.require(Role::Manager)?;
    let site = site(&s);
    let svc = portal.service();
    let list = svc.list_revocations(&s.principal, &site).await?;
    let latest = svc.latest_door_state(&s.principal, &site).await?;
    let doors = reads::door_health(svc.store(), &site).await?;
    let ctx = context! {
        list => Value::from_serialize(&list),
        latest => Value::from_serialize(&latest),
        doors => Value::from_serialize(&doors),
    };
    page(
        &portal,
        "manager/revocations.html",
        s.context(&portal, "/portal/manager/revocations", ctx).await?,
    )
}

#[derive(Deserialize)]
struct RevokeForm {
    csrf: String,
    kind: String,
    id: String,
}

async fn revoke(State(portal): State<Portal>, s: Signed, Form(f): Form<RevokeForm>) -> PageResult {
    s.check_csrf(&f.csrf)?;
    let kind = match f.kind.as_str() {
        "driver" => RevocationKind::Driver,
        "issuer" => RevocationKind::Issuer,
        _ => RevocationKind::Grant,
    };
    let req = NewRevocation { kind, id: f.id.trim().to_string() };
    portal.service().revoke(&s.principal, &site(&s), req).await?;
    Ok(see_other("/portal/manager/revocations"))
}

/// The pending deny-list as `GET /v1/sites/{id}/revocations` answers it: the file
/// `porter-root sign-state` reads.
async fn revocation_list(
    State(portal): State<Portal>,
    s: Signed,
) -> Result<Response, super::PageError> {
    let list = portal.service().list_revocations(&s.principal, &site(&s)).await?;
    let body = serde_json::to_string_pretty(&list).unwrap_or_default();
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"revocations.json\""),
    );
    Ok(r)
}

#[derive(Deserialize)]
struct StateForm {
    csrf: String,
    state: String,
}

async fn upload_state(
    State(portal): State<Portal>,
    s: Signed,
    Form(f): Form<StateForm>,
) -> PageResult {
    s.check_csrf(&f.csrf)?;
    let req = DoorStateUpload { state: f.state.trim().to_string() };
    portal.service().upload_door_state(&s.principal, &site(&s), req).await?;
    Ok(see_other("/portal/manager/revocations"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(super::csv_cell("Door 1"), "\"Door 1\"");
        assert_eq!(super::csv_cell("a\"b"), "\"a\"\"b\"");
        assert_eq!(super::csv_cell("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
    }
}
