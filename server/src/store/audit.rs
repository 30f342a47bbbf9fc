//! Audit chains, records, admissions and alarms.

use sqlx::Row;

use super::placeholders::Placeholders;
use super::{i, s, Page, Result, Store, Tx};
use crate::ids::{CarrierId, DoorId, GrantId, SiteId};

/// Where the server stands in a door's log.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ChainRow {
    /// Next expected sequence.
    pub next_sequence: i64,
    /// Hash of the last record, hex.
    pub previous: String,
}

/// What an alarm is about; stored as its snake_case name, parsed once where the row is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlarmKind {
    /// The server's log and the door's signed head or records disagree (a fork).
    AuditFork,
    /// Records were missing from an upload; the server resynchronised past them.
    AuditGap,
    /// The door logged an alarm of its own.
    DoorAlarm,
    /// The door admitted someone the server issued no grant for.
    UnmatchedAdmission,
    /// The door admitted one grant use a second time.
    RepeatedAdmission,
    /// The door's log ring overwrote admissions the server never received.
    AdmissionsLost,
}

impl AlarmKind {
    /// The stored (and wire) name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmKind::AuditFork => "audit_fork",
            AlarmKind::AuditGap => "audit_gap",
            AlarmKind::DoorAlarm => "door_alarm",
            AlarmKind::UnmatchedAdmission => "unmatched_admission",
            AlarmKind::RepeatedAdmission => "repeated_admission",
            AlarmKind::AdmissionsLost => "admissions_lost",
        }
    }
}

impl std::fmt::Display for AlarmKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for AlarmKind {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        [
            AlarmKind::AuditFork,
            AlarmKind::AuditGap,
            AlarmKind::DoorAlarm,
            AlarmKind::UnmatchedAdmission,
            AlarmKind::RepeatedAdmission,
            AlarmKind::AdmissionsLost,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| format!("unknown alarm kind {s:?} in the database"))
    }
}

super::stored_as_text!(AlarmKind);

/// An alarm.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AlarmRow {
    /// Public id.
    pub id: String,
    /// Site id.
    pub site_id: SiteId,
    /// Door id, if any.
    pub door_id: Option<DoorId>,
    /// Kind.
    pub kind: AlarmKind,
    /// What was seen.
    pub detail: String,
    /// Creation time.
    pub created_at: i64,
}

/// An admission the server learnt of.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AdmissionRow {
    /// Door id.
    pub door_id: DoorId,
    /// Log sequence.
    pub sequence: i64,
    /// Matched grant, if any.
    pub grant_id: Option<GrantId>,
    /// Carrier of the matched grant.
    pub carrier_id: Option<CarrierId>,
    /// Door time.
    pub at: i64,
}

impl Store {
    /// Where the server stands in a door's log.
    pub async fn chain(&self, door_id: &DoorId) -> Result<Option<ChainRow>> {
        one!(
            self.read(),
            ChainRow,
            "SELECT next_sequence, previous FROM audit_chains WHERE door_id = $1",
            door_id.clone()
        )
    }

    /// A stored record's bytes and chain hash.
    pub async fn audit_record(
        &self,
        door_id: &DoorId,
        seq: i64,
    ) -> Result<Option<(String, String)>> {
        let row = sqlx::query(
            "SELECT record, chain_hash FROM audit_records WHERE door_id = $1 AND sequence = $2",
        )
        .bind(door_id.clone())
        .bind(seq)
        .fetch_optional(self.read())
        .await?;
        row.map(|r| Ok((s(&r, "record")?, s(&r, "chain_hash")?))).transpose()
    }

    /// Moves a door's chain from `old` (None: no chain yet) to `new`; false if another batch
    /// moved it first.
    pub async fn advance_chain(
        tx: &mut Tx,
        door_id: &DoorId,
        old: Option<&ChainRow>,
        new: &ChainRow,
        now: i64,
    ) -> Result<bool> {
        let n = match old {
            None => exec!(
                &mut **tx,
                "INSERT INTO audit_chains (door_id, next_sequence, previous, updated_at)
                 VALUES ($1,$2,$3,$4) ON CONFLICT (door_id) DO NOTHING",
                door_id.clone(),
                new.next_sequence,
                new.previous.clone(),
                now
            )?,
            Some(old) => exec!(
                &mut **tx,
                "UPDATE audit_chains SET next_sequence = $1, previous = $2, updated_at = $3
                 WHERE door_id = $4 AND next_sequence = $5",
                new.next_sequence,
                new.previous.clone(),
                now,
                door_id.clone(),
                old.next_sequence
            )?,
        };
        Ok(n == 1)
    }

    /// Inserts verified audit records of one door, uploaded by `uploaded_by`, in multi-row
    /// statements: `(sequence, record hex, chain hash hex, door time)` each.
    pub async fn insert_audit_records(
        tx: &mut Tx,
        door_id: &DoorId,
        records: &[(i64, String, String, i64)],
        uploaded_by: &str,
        now: i64,
    ) -> Result<()> {
        /// Rows per statement (7 parameters each: far under both backends' limits).
        const ROWS: usize = 256;
        let places = Placeholders::of(tx);
        for chunk in records.chunks(ROWS) {
            let sql = format!(
                "INSERT INTO audit_records (door_id, sequence, record, chain_hash, at, received_at,
                 uploaded_by) VALUES {}",
                places.rows(1, 7, chunk.len())
            );
            let mut query = sqlx::query(&sql);
            for (seq, record, hash, at) in chunk {
                query = query
                    .bind(door_id.clone())
                    .bind(*seq)
                    .bind(record.clone())
                    .bind(hash.clone())
                    .bind(*at)
                    .bind(now)
                    .bind(uploaded_by.to_string());
            }
            query.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Records an admission; false if it was already known (by receipt or earlier batch).
    #[allow(clippy::too_many_arguments)] // one column each; a struct would only rename them
    pub async fn insert_admission(
        tx: &mut Tx,
        door_id: &DoorId,
        seq: i64,
        site_id: &SiteId,
        record: &str,
        grant_id: Option<&GrantId>,
        carrier_id: Option<&CarrierId>,
        at: i64,
        now: i64,
    ) -> Result<bool> {
        let n = exec!(
            &mut **tx,
            "INSERT INTO admissions (door_id, sequence, site_id, record, grant_id, carrier_id, at,
             received_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (door_id, sequence) DO NOTHING",
            door_id.clone(),
            seq,
            site_id.clone(),
            record.to_string(),
            grant_id.cloned(),
            carrier_id.cloned(),
            at,
            now
        )?;
        Ok(n == 1)
    }

    /// The record bytes of a known admission.
    pub async fn admission_record(&self, door_id: &DoorId, seq: i64) -> Result<Option<String>> {
        let row = sqlx::query("SELECT record FROM admissions WHERE door_id = $1 AND sequence = $2")
            .bind(door_id.clone())
            .bind(seq)
            .fetch_optional(self.read())
            .await?;
        row.map(|r| s(&r, "record")).transpose()
    }

    /// A page of a site's admissions, newest last.
    /// The cursor is `door_id:sequence` of the last row seen.
    pub async fn admissions(&self, site_id: &SiteId, page: &Page) -> Result<Vec<AdmissionRow>> {
        let (after_door, after_seq) = match page.after.rsplit_once(':') {
            Some((door, seq)) => (door, seq.parse::<i64>().unwrap_or(i64::MAX)),
            None => (page.after.as_str(), -1),
        };
        all!(
            self.read(),
            AdmissionRow,
            "SELECT door_id, sequence, grant_id, carrier_id, at FROM admissions
             WHERE site_id = $1 AND (door_id > $2 OR (door_id = $2 AND sequence > $3))
             ORDER BY door_id, sequence LIMIT $4",
            site_id.clone(),
            after_door.to_string(),
            after_seq,
            page.limit
        )
    }

    /// Raises an alarm inside a transaction.
    pub async fn insert_alarm_tx(tx: &mut Tx, r: &AlarmRow) -> Result<()> {
        exec!(
            &mut **tx,
            "INSERT INTO alarms (id, site_id, door_id, kind, detail, created_at)
             VALUES ($1,$2,$3,$4,$5,$6)",
            r.id.clone(),
            r.site_id.clone(),
            r.door_id.clone(),
            r.kind.as_str(),
            r.detail.clone(),
            r.created_at
        )?;
        Ok(())
    }

    /// A page of a site's alarms.
    pub async fn alarms(&self, site_id: &SiteId, page: &Page) -> Result<Vec<AlarmRow>> {
        all!(
            self.read(),
            AlarmRow,
            "SELECT * FROM alarms WHERE site_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            site_id.clone(),
            page.after.clone(),
            page.limit
        )
    }
}

impl Store {
    /// Raises an alarm unless one with the same `dedup_key` exists; true if it was new.
    pub async fn insert_alarm_once(
        tx: &mut Tx,
        r: &AlarmRow,
        dedup_key: &str,
        uploaded_by: &str,
    ) -> Result<bool> {
        let n = exec!(
            &mut **tx,
            "INSERT INTO alarms (id, site_id, door_id, kind, detail, created_at, dedup_key,
             uploaded_by) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (dedup_key) DO NOTHING",
            r.id.clone(),
            r.site_id.clone(),
            r.door_id.clone(),
            r.kind.as_str(),
            r.detail.clone(),
            r.created_at,
            dedup_key.to_string(),
            uploaded_by.to_string()
        )?;
        Ok(n == 1)
    }

    /// Names the token that brought a door's record (and its admission, if any).
    pub async fn set_uploader(
        tx: &mut Tx,
        door_id: &DoorId,
        seq: i64,
        uploaded_by: &str,
    ) -> Result<()> {
        for table in ["audit_records", "admissions"] {
            exec!(
                &mut **tx,
                &format!(
                    "UPDATE {table} SET uploaded_by = $1 WHERE door_id = $2 AND sequence = $3"
                ),
                uploaded_by.to_string(),
                door_id.clone(),
                seq
            )?;
        }
        Ok(())
    }

    /// The grant an admission was matched to, if any.
    pub async fn admission_grant(&self, door_id: &DoorId, seq: i64) -> Result<Option<GrantId>> {
        let row =
            sqlx::query("SELECT grant_id FROM admissions WHERE door_id = $1 AND sequence = $2")
                .bind(door_id.clone())
                .bind(seq)
                .fetch_optional(self.read())
                .await?;
        Ok(row.map(|r| r.try_get::<Option<GrantId>, _>("grant_id")).transpose()?.flatten())
    }

    /// Who brought a door's record, if recorded.
    pub async fn record_uploader(&self, door_id: &DoorId, seq: i64) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT uploaded_by FROM audit_records WHERE door_id = $1 AND sequence = $2
             UNION ALL
             SELECT uploaded_by FROM admissions WHERE door_id = $1 AND sequence = $2",
        )
        .bind(door_id.clone())
        .bind(seq)
        .fetch_optional(self.read())
        .await?;
        Ok(row.map(|r| r.try_get::<Option<String>, _>("uploaded_by")).transpose()?.flatten())
    }

    /// The admissions at a door already matched to `grant_id`: (sequence, record hex).
    pub async fn admissions_of_grant(
        tx: &mut Tx,
        door_id: &DoorId,
        grant_id: &GrantId,
    ) -> Result<Vec<(i64, String)>> {
        let rows = sqlx::query(
            "SELECT sequence, record FROM admissions WHERE door_id = $1 AND grant_id = $2
             ORDER BY sequence",
        )
        .bind(door_id.clone())
        .bind(grant_id.clone())
        .fetch_all(&mut **tx)
        .await?;
        rows.iter().map(|r| Ok((i(r, "sequence")?, s(r, "record")?))).collect()
    }
}
