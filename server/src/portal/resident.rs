//! The resident's pages: the building's policy in plain words and their deliveries, every
//! entry into the building, and their settings (opt-out, notification email).

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::{context, Value};
use serde::Deserialize;

use super::passkeys::check_email;
use super::reads;
use super::session::{site_of, Signed};
use super::store::AccountRow;
use super::{page, see_other, PageResult, Portal};
use crate::ids::SiteId;
use crate::service::{OptOut, Principal, Role};
use crate::store::Page;

pub(super) fn routes() -> Router<Portal> {
    Router::new()
        .route("/portal/resident", get(home))
        .route("/portal/resident/entries", get(entries))
        .route("/portal/resident/settings", get(settings))
        .route("/portal/resident/opt-out", post(opt_out))
        .route("/portal/resident/email", post(email))
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// The policy and the resident's own deliveries, each with the door's verified receipt.
async fn home(State(portal): State<Portal>, s: Signed) -> PageResult {
    s.require(Role::Resident)?;
    let svc = portal.service();
    let site = SiteId::new(site_of(&s.principal).unwrap_or_default());
    let policy = svc.policy(&s.principal, &site).await?;
    let policy: Vec<Value> = policy
        .iter()
        .map(|p| {
            let hours = p.hours.map(|(days, from, to)| {
                let days: Vec<String> = WEEKDAYS
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| days & (1 << i) != 0)
                    .map(|(_, d)| portal.catalog.text(s.lang, &format!("day-{d}"), &[]))
                    .collect();
                let days = days.join(", ");
                context! {
                    days => days,
                    from => format!("{:02}:{:02}", from / 60, from % 60),
                    to => format!("{:02}:{:02}", to / 60, to % 60),
                }
            });
            context! {
                carrier => p.carrier, doors => p.doors, max_uses => p.max_uses,
                minutes => p.max_lifetime_minutes, hours => hours,
            }
        })
        .collect();
    let deliveries =
        svc.list_deliveries(&s.principal, &Page { after: String::new(), limit: 50 }).await?;
    let unit = match &s.principal {
        Principal::Resident { unit, .. } => unit.as_str(),
        _ => "",
    };
    let receipts = reads::receipts_of_unit(svc.store(), unit).await?;
    let rows: Vec<Value> = deliveries
        .items
        .iter()
        .rev()
        .map(|d| {
            let receipt = receipts.iter().find(|(id, _, _)| *id == d.id);
            context! {
                window_start => d.window_start, window_end => d.window_end,
                status => d.status, entered_at => d.entered_at,
                receipt_door => receipt.map(|r| r.1.clone()),
                receipt_at => receipt.map(|r| r.2),
            }
        })
        .collect();
    let me = svc.me(&s.principal).await?;
    let ctx = context! { policy => policy, deliveries => rows, opted_out => me.opted_out };
    page(&portal, "resident/home.html", s.context(&portal, "/portal/resident", ctx).await?)
}

/// Every entry into the building: carrier, door and time (the building's, not the unit's).
async fn entries(State(portal): State<Portal>, s: Signed) -> PageResult {
    s.require(Role::Resident)?;
    let site = SiteId::new(site_of(&s.principal).unwrap_or_default());
    let list = portal
        .service()
        .list_entries(&s.principal, &site, &Page { after: String::new(), limit: 200 })
        .await?;
    let mut items = list.items;
    items.sort_by_key(|e| std::cmp::Reverse(e.at));
    let ctx = context! { entries => Value::from_serialize(&items) };
    page(
        &portal,
        "resident/entries.html",
        s.context(&portal, "/portal/resident/entries", ctx).await?,
    )
}

async fn settings(State(portal): State<Portal>, s: Signed) -> PageResult {
    s.require(Role::Resident)?;
    let me = portal.service().me(&s.principal).await?;
    let ctx = context! { opted_out => me.opted_out, email => s.account.email.clone() };
    page(
        &portal,
        "resident/settings.html",
        s.context(&portal, "/portal/resident/settings", ctx).await?,
    )
}

#[derive(Deserialize)]
struct OptOutForm {
    csrf: String,
    /// `yes` to refuse in-building delivery, `no` to allow it.
    opted_out: String,
}

async fn opt_out(State(portal): State<Portal>, s: Signed, Form(f): Form<OptOutForm>) -> PageResult {
    s.check_csrf(&f.csrf)?;
    let req = OptOut { opted_out: f.opted_out == "yes" };
    portal.service().set_opt_out(&s.principal, req).await?;
    Ok(see_other("/portal/resident/settings"))
}

#[derive(Deserialize)]
struct EmailForm {
    csrf: String,
    #[serde(default)]
    email: String,
}

async fn email(State(portal): State<Portal>, s: Signed, Form(f): Form<EmailForm>) -> PageResult {
    s.check_csrf(&f.csrf)?;
    s.require(Role::Resident)?;
    let email = f.email.trim();
    let email = if email.is_empty() {
        None
    } else {
        check_email(email)?;
        Some(email)
    };
    AccountRow::set_email(portal.service().store(), &s.account.id, email).await?;
    Ok(see_other("/portal/resident/settings"))
}
