//! The resident's pages: the building's policy in plain words and their deliveries, every
//! entry into the building, and their settings (opt-out, notification email).

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::{context, Value};
use serde::Deserialize;

use super::i18n::negotiate;
use super::invitations::check_email;
use super::reads::{self, LogFilter, LogRow};
use super::session::{site_of, Signed};
use super::store::AccountRow;
use super::{page, pager, see_other, PageError, PageResult, Portal};
use crate::service::{self, OptOut, Principal, Role};

pub(super) fn routes() -> Router<Portal> {
    Router::new()
        .route("/portal/resident", get(home))
        .route("/portal/resident/entries", get(entries))
        .route("/portal/resident/settings", get(settings))
        .route("/portal/resident/opt-out", post(opt_out))
        .route("/portal/resident/email", post(email))
}

/// The most deliveries the home page lists (the newest).
const DELIVERIES_SHOWN: i64 = 50;
/// The most entries a page of the building's entries lists.
const ENTRIES_SHOWN: i64 = 200;

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// The policy and the resident's own deliveries, each with the door's verified receipt.
async fn home(State(portal): State<Portal>, s: Signed) -> PageResult {
    s.require(Role::Resident)?;
    let svc = portal.service();
    let site = site_of(&s.principal);
    let Principal::Resident { unit, .. } = &s.principal else {
        return Err(PageError::Service(service::Error::forbidden("see a unit's deliveries")));
    };
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
    // The newest deliveries of the resident's own unit (the principal's: never another's).
    let deliveries =
        reads::site_deliveries(svc.store(), &site, Some(unit), "", DELIVERIES_SHOWN).await?;
    let receipts = reads::receipts_of_unit(svc.store(), unit).await?;
    let rows: Vec<Value> = deliveries
        .iter()
        .map(|d| {
            let receipt = receipts.iter().find(|r| r.delivery_id == d.id);
            context! {
                carrier => d.carrier,
                window_start => d.window_start, window_end => d.window_end,
                status => d.status, entered_at => d.entered_at,
                receipt_door => receipt.map(|r| r.door.clone()),
                receipt_door_number => receipt.map(|r| r.door_number),
                receipt_at => receipt.map(|r| r.at),
            }
        })
        .collect();
    let me = svc.me(&s.principal).await?;
    let ctx = context! { policy => policy, deliveries => rows, opted_out => me.opted_out };
    page(&portal, "resident/home.html", s.context(&portal, "/portal/resident", ctx).await?)
}

/// Every entry into the building: carrier, door and time (the building's, not the unit's),
/// newest first, a page at a time.
async fn entries(
    State(portal): State<Portal>,
    s: Signed,
    Query(page_at): Query<EntriesPage>,
) -> PageResult {
    s.require(Role::Resident)?;
    let site = site_of(&s.principal);
    let filter = LogFilter { before: page_at.before.clone(), ..LogFilter::default() };
    let rows =
        reads::access_log(portal.service().store(), &site, &filter, ENTRIES_SHOWN + 1).await?;
    let (rows, older) = reads::newest_page(rows, ENTRIES_SHOWN as usize, LogRow::cursor);
    let ctx = context! {
        entries => Value::from_serialize(&rows),
        pager => pager(
            Some("/portal/resident/entries".to_string()).filter(|_| !page_at.before.is_empty()),
            older.map(|cursor| format!("/portal/resident/entries?before={cursor}")),
            true,
        ),
    };
    page(
        &portal,
        "resident/entries.html",
        s.context(&portal, "/portal/resident/entries", ctx).await?,
    )
}

/// Which page of the entries: the rows older than `before` (a [`reads::LogRow::cursor`]).
#[derive(Deserialize)]
struct EntriesPage {
    #[serde(default)]
    before: String,
}

async fn settings(State(portal): State<Portal>, s: Signed) -> PageResult {
    s.require(Role::Resident)?;
    let me = portal.service().me(&s.principal).await?;
    let ctx = context! {
        opted_out => me.opted_out,
        email => s.account.email.clone(),
        email_lang => s.account.lang.clone(),
    };
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
    /// The emails' language (`en`, `fr`); anything else is English.
    #[serde(default)]
    lang: String,
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
    let lang = negotiate(Some(&f.lang), None);
    AccountRow::set_email(portal.service().store(), &s.account.id, email, lang).await?;
    Ok(see_other("/portal/resident/settings"))
}
