//! Reads the manager's pages need that the API does not offer as lists (the doors' health,
//! a site's deliveries, the filtered access log). Every query is bounded by the site id of
//! the signed-in manager's own principal; callers pass nothing else as scope.

use porter_protocol::{AuditEvent, AuditRecord};
use serde::Serialize;

use crate::ids::{SiteId, UnitId};
use crate::store::{Store, StoreError};

type Result<T> = std::result::Result<T, StoreError>;

/// How far back in a door's log to look for the door state it applied.
const STATE_SCAN: i64 = 500;

/// One door as the dashboard shows it.
#[derive(Clone, Debug, Serialize)]
pub struct DoorHealth {
    /// Id.
    pub id: String,
    /// Door number.
    pub door_number: i64,
    /// Name.
    pub name: String,
    /// When the server last took a log batch from it (None: never).
    pub last_log_at: Option<i64>,
    /// The next log sequence the server expects.
    pub next_sequence: Option<i64>,
    /// The newest door-state sequence its log says it applied.
    pub state_applied: Option<i64>,
}

/// A door row with its chain: id, number, name, chain updated at, next sequence.
type DoorChainRow = (String, i64, String, Option<i64>, Option<i64>);

/// The doors of `site_id`, with what their logs tell.
pub async fn door_health(store: &Store, site_id: &SiteId) -> Result<Vec<DoorHealth>> {
    let doors: Vec<DoorChainRow> = sqlx::query_as(
        "SELECT d.id, d.door_number, d.name, c.updated_at, c.next_sequence
         FROM doors d LEFT JOIN audit_chains c ON c.door_id = d.id
         WHERE d.site_id = $1 ORDER BY d.door_number",
    )
    .bind(site_id.clone())
    .fetch_all(store.pool())
    .await?;
    let mut out = Vec::with_capacity(doors.len());
    for (id, door_number, name, last_log_at, next_sequence) in doors {
        let records: Vec<(String,)> = sqlx::query_as(
            "SELECT record FROM audit_records WHERE door_id = $1 ORDER BY sequence DESC LIMIT $2",
        )
        .bind(id.clone())
        .bind(STATE_SCAN)
        .fetch_all(store.pool())
        .await?;
        let state_applied = records.iter().find_map(|(hex_record,)| {
            let bytes = hex::decode(hex_record).ok()?;
            match AuditRecord::decode(&bytes).ok()?.event {
                AuditEvent::DoorStateApplied { sequence } => Some(sequence as i64),
                _ => None,
            }
        });
        out.push(DoorHealth { id, door_number, name, last_log_at, next_sequence, state_applied });
    }
    Ok(out)
}

/// A delivery as the manager's list shows it.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct SiteDelivery {
    /// Id.
    pub id: String,
    /// Unit label.
    pub unit: String,
    /// Carrier name.
    pub carrier: String,
    /// Window.
    pub window_start: i64,
    /// Window end.
    pub window_end: i64,
    /// `open` or `cancelled`.
    pub status: String,
    /// When a door admitted it.
    pub entered_at: Option<i64>,
    /// Grants issued for it.
    pub grants_issued: i64,
}

/// The newest `limit` deliveries of a site, or of one of its units, older than the delivery
/// `before` (an id; empty for the newest). Ids are time-ordered.
pub async fn site_deliveries(
    store: &Store,
    site_id: &SiteId,
    unit_id: Option<&UnitId>,
    before: &str,
    limit: i64,
) -> Result<Vec<SiteDelivery>> {
    sqlx::query_as::<_, SiteDelivery>(
        "SELECT d.id, u.label AS unit, c.name AS carrier, d.window_start, d.window_end, d.status,
                d.entered_at, d.grants_issued
         FROM deliveries d JOIN units u ON u.id = d.unit_id JOIN carriers c ON c.id = d.carrier_id
         WHERE d.site_id = $1 AND ($2 = '' OR d.unit_id = $2) AND ($3 = '' OR d.id < $3)
         ORDER BY d.id DESC LIMIT $4",
    )
    .bind(site_id.clone())
    .bind(unit_id.cloned().unwrap_or_default())
    .bind(before.to_string())
    .bind(limit)
    .fetch_all(store.pool())
    .await
}

/// What the access log is filtered by (every field optional).
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct LogFilter {
    /// A door id.
    #[serde(default)]
    pub door: String,
    /// A carrier id.
    #[serde(default)]
    pub carrier: String,
    /// `matched` (a grant issued here) or `unmatched` (no grant: an alarm).
    #[serde(default)]
    pub outcome: String,
    /// Earliest time, `YYYY-MM-DD` (site's local date is close enough: a day filter).
    #[serde(default)]
    pub from: String,
    /// Latest date, inclusive.
    #[serde(default)]
    pub to: String,
    /// Where the page starts: the [`LogRow::cursor`] of the last row of the page before (the
    /// rows older than it); empty for the newest.
    #[serde(default)]
    pub before: String,
}

/// One row of the access log.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct LogRow {
    /// Door id.
    pub door_id: String,
    /// Door name.
    pub door: String,
    /// Door number.
    pub door_number: i64,
    /// Log sequence.
    pub sequence: i64,
    /// Carrier name, when matched.
    pub carrier: Option<String>,
    /// The grant it matched.
    pub grant_id: Option<String>,
    /// Door time.
    pub at: i64,
}

impl LogRow {
    /// This row's place in the log's order (newest first): `at:door_id:sequence`, what
    /// [`LogFilter::before`] takes to show the rows after it.
    pub fn cursor(&self) -> String {
        format!("{}:{}:{}", self.at, self.door_id, self.sequence)
    }
}

/// A page of a list read newest first: at most `limit` rows, and the cursor of the next
/// (older) page if there is one. `rows` holds up to `limit + 1` rows, as the reads here answer
/// when asked for `limit + 1`.
pub fn newest_page<T>(
    mut rows: Vec<T>,
    limit: usize,
    cursor: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let older = rows.last().map(cursor);
    (rows, older)
}

/// A `before` cursor's parts: (at, door id, sequence). Anything unreadable starts at the
/// newest row (a stale or edited link shows the first page, not an error).
fn parse_cursor(s: &str) -> (i64, String, i64) {
    let mut parts = s.splitn(3, ':');
    let at = parts.next().and_then(|a| a.parse::<i64>().ok());
    let door = parts.next().map(str::to_string);
    let sequence = parts.next().and_then(|q| q.parse::<i64>().ok());
    match (at, door, sequence) {
        (Some(at), Some(door), Some(sequence)) => (at, door, sequence),
        _ => (i64::MAX, String::new(), 0),
    }
}

/// Unix seconds at 00:00 UTC of a `YYYY-MM-DD` date.
pub fn parse_date(s: &str) -> Option<i64> {
    let mut parts = s.splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from civil (Howard Hinnant).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400)
}

/// The newest `limit` admissions of a site that pass `f`, from `f.before` on: newest first,
/// in the total order (time, door id, sequence) that the cursors follow.
pub async fn access_log(
    store: &Store,
    site_id: &SiteId,
    f: &LogFilter,
    limit: i64,
) -> Result<Vec<LogRow>> {
    let from = parse_date(&f.from).unwrap_or(0);
    let to = parse_date(&f.to).map_or(i64::MAX, |t| t + 86_400);
    let outcome = match f.outcome.as_str() {
        "matched" => 1,
        "unmatched" => 2,
        _ => 0,
    };
    let (before_at, before_door, before_sequence) = parse_cursor(&f.before);
    sqlx::query_as::<_, LogRow>(
        "SELECT a.door_id, d.name AS door, d.door_number, a.sequence, c.name AS carrier,
                a.grant_id, a.at
         FROM admissions a JOIN doors d ON d.id = a.door_id
         LEFT JOIN carriers c ON c.id = a.carrier_id
         WHERE a.site_id = $1 AND ($2 = '' OR a.door_id = $2) AND ($3 = '' OR a.carrier_id = $3)
           AND a.at >= $4 AND a.at < $5
           AND ($6 = 0 OR ($6 = 1 AND a.grant_id IS NOT NULL) OR ($6 = 2 AND a.grant_id IS NULL))
           AND (a.at < $7 OR (a.at = $7 AND (a.door_id < $8
                OR (a.door_id = $8 AND a.sequence < $9))))
         ORDER BY a.at DESC, a.door_id DESC, a.sequence DESC LIMIT $10",
    )
    .bind(site_id.clone())
    .bind(f.door.clone())
    .bind(f.carrier.clone())
    .bind(from)
    .bind(to)
    .bind(outcome)
    .bind(before_at)
    .bind(before_door)
    .bind(before_sequence)
    .bind(limit)
    .fetch_all(store.pool())
    .await
}

/// The receipt a door signed for one of a unit's deliveries: the admission matched to one of
/// its grants.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Receipt {
    /// The delivery.
    pub delivery_id: String,
    /// The door's name.
    pub door: String,
    /// The door's number.
    pub door_number: i64,
    /// Door time of the admission.
    pub at: i64,
}

/// The receipts of a unit's deliveries.
pub async fn receipts_of_unit(store: &Store, unit_id: &UnitId) -> Result<Vec<Receipt>> {
    sqlx::query_as::<_, Receipt>(
        "SELECT g.delivery_id, d.name AS door, d.door_number, a.at FROM admissions a
         JOIN grants g ON g.id = a.grant_id JOIN deliveries dl ON dl.id = g.delivery_id
         JOIN doors d ON d.id = a.door_id
         WHERE dl.unit_id = $1",
    )
    .bind(unit_id.clone())
    .fetch_all(store.pool())
    .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_become_utc_midnights() {
        assert_eq!(super::parse_date("1970-01-01"), Some(0));
        assert_eq!(super::parse_date("2026-01-15"), Some(1_768_435_200));
        assert_eq!(super::parse_date("2026-13-01"), None);
        assert_eq!(super::parse_date("yesterday"), None);
    }
}
