//! Group commit of grants: concurrent grant requests share one transaction and one fsync.
//!
//! A request decides and seals its grant by itself (its serial leased beforehand, see
//! [`SerialLeases`]), then hands the sealed row to the process's writer tasks through a
//! bounded queue and waits. A writer takes whatever is queued (up to [`MAX_GROUP`] grants),
//! and in one transaction checks that each grant was decided on its site's current facts (the
//! site's change counter, see `issuance_cache`) by a live token of a live driver (the request
//! may have been authenticated from memory, see `issuance_rows`), reserves their idempotency
//! keys, claims the deliveries' grant bounds under their row locks (one statement for the
//! group, rows locked in delivery id order, the order every transaction locks deliveries in),
//! inserts the rows in one statement and commits. Only then does each request learn its
//! outcome: a grant is acknowledged only after the transaction that stores it commits, and a
//! failed commit fails every grant of the group (none was acknowledged).
//!
//! On PostgreSQL those steps, in the same order, are one statement in autocommit (a function
//! made by a migration, `porter_commit_grants`): each statement of the transaction was a
//! loopback round trip, five or more per group, and the deliveries' row locks were held from
//! the claim's round trip through COMMIT's; now a group costs one round trip and the commit's
//! WAL flush. SQLite, in process, runs them as the statements of one transaction.
//!
//! One writer per process ([`WRITERS`]). On SQLite it is the only writer of grants, so its
//! transactions never wait for a lock; on PostgreSQL the row locks order it with other
//! processes' writers.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, OnceLock};

use futures_util::FutureExt;
use tokio::sync::{mpsc, oneshot, Mutex};
use tracing::Instrument;

use super::{Code, Error, IssuedGrant, Kind, Result, MAX_GRANTS_PER_DELIVERY};
use crate::ids::{self, IssuerId, TokenId};
use crate::store::{self, Store};

/// What grant issuance keeps across the requests of this process.
#[derive(Debug, Default)]
pub(crate) struct Issuing {
    writer: OnceLock<GrantWriter>,
    /// Serial blocks leased from the issuers' counters.
    pub leases: SerialLeases,
    /// Certificates, issuer keys and door states, decoded once.
    pub decoded: super::decoded::Decoded,
    /// Each site's rarely changing facts, read once per change.
    pub sites: super::issuance_cache::SiteFactsCache,
    /// The tokens, drivers and deliveries grants were asked with, read once.
    pub rows: super::issuance_rows::GrantRows,
}

impl Issuing {
    /// The writer, started on first use (inside the runtime that serves requests).
    pub fn writer(&self, store: &Store) -> &GrantWriter {
        self.writer.get_or_init(|| GrantWriter::start(store.clone()))
    }
}

/// The most grants one transaction commits.
pub const MAX_GROUP: usize = 256;
/// Writer tasks per process. On SQLite, its one writer connection. On PostgreSQL two took
/// turns while a group was five statements, one sending its group while the other waited for
/// its commit; with the group one statement there is no round trip left to overlap, and in
/// paired runs one writer was as fast or faster than two, whose commits waited on each other's
/// WAL flush with the queue split into smaller groups (docs/performance.md, session 12).
pub const WRITERS: usize = 1;
/// Grants waiting for the writer before new requests wait to enqueue (back-pressure).
const QUEUE: usize = 4096;

/// A sealed grant waiting for its transaction.
pub(crate) struct Pending {
    /// Its row, serial and sealed bytes included.
    pub row: store::GrantRow,
    /// The answer the phone gets.
    pub issued: IssuedGrant,
    /// The calling driver's token (confirmed live in the transaction).
    pub caller: TokenId,
    /// The idempotency key and request hash, if the request sent one.
    pub idem: Option<super::Idempotency>,
    /// The version of the site's facts the grant was decided on.
    pub site_version: i64,
}

/// What became of a pending grant.
pub(crate) enum Committed {
    /// Stored and committed: acknowledge it.
    Issued(IssuedGrant),
    /// The delivery was entered, closed or exhausted meanwhile (checked under its row lock).
    Exhausted,
    /// Its idempotency key was taken by another request: answer with that request's grant.
    KeyTaken,
    /// Its site's facts changed after it was decided, or its token or driver is no longer
    /// live: decide again on facts and rows read afresh.
    Stale,
}

struct Job {
    pending: Pending,
    reply: oneshot::Sender<Result<Committed>>,
}

/// The process's grant writer (started on first use, inside the runtime).
#[derive(Debug)]
pub(crate) struct GrantWriter {
    queue: mpsc::Sender<Job>,
}

fn unavailable() -> Error {
    Error::new(Kind::Internal, Code::Internal, "the server is shutting down; retry")
}

impl GrantWriter {
    /// Starts the [`WRITERS`] writer tasks over `store`.
    pub fn start(store: Store) -> GrantWriter {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let jobs = Arc::new(Mutex::new(jobs));
        for _ in 0..WRITERS {
            tokio::spawn(run(store.clone(), jobs.clone()));
        }
        GrantWriter { queue }
    }

    /// Commits `pending` with whatever else is queued; returns once its transaction is over.
    pub async fn commit(&self, pending: Pending) -> Result<Committed> {
        let (reply, answer) = oneshot::channel();
        self.queue.send(Job { pending, reply }).await.map_err(|_| unavailable())?;
        answer.await.map_err(|_| unavailable())?
    }
}

/// The next group: the first job to arrive and whatever else is queued behind it.
async fn next_group(jobs: &Mutex<mpsc::Receiver<Job>>) -> Option<Vec<Job>> {
    let mut jobs = jobs.lock().await;
    let first = jobs.recv().await?;
    let mut group = vec![first];
    while group.len() < MAX_GROUP {
        match jobs.try_recv() {
            Ok(job) => group.push(job),
            Err(_) => break,
        }
    }
    Some(group)
}

async fn run(store: Store, jobs: Arc<Mutex<mpsc::Receiver<Job>>>) {
    while let Some(group) = next_group(&jobs).await {
        let (pending, replies): (Vec<Pending>, Vec<_>) =
            group.into_iter().map(|j| (j.pending, j.reply)).unzip();
        let size = pending.len();
        // The group's statements in one span, so that a slow one's log line says which group it
        // served (and tests count them).
        let span = tracing::info_span!("grant_group", grants = size);
        // A panic here is a bug; it must not take the writer down with it.
        let outcome =
            AssertUnwindSafe(commit_group(&store, pending)).catch_unwind().instrument(span).await;
        match outcome {
            Ok(Ok(results)) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(Ok(result));
                }
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, grants = size, "a grant group failed to commit");
                let e = Error::from(e);
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
            Err(_) => {
                tracing::error!(grants = size, "the grant writer panicked on a group");
                for reply in replies {
                    let _ = reply.send(Err(Error::new(
                        Kind::Internal,
                        Code::Internal,
                        "the server failed on this request; it has been logged",
                    )));
                }
            }
        }
    }
}

/// Commits `group`; the outcome of each, in order.
async fn commit_group(store: &Store, group: Vec<Pending>) -> store::Result<Vec<Committed>> {
    match store.backend() {
        store::Backend::Postgres => commit_group_in_one_statement(store, group).await,
        store::Backend::Sqlite => commit_group_in_one_transaction(store, group).await,
    }
}

/// PostgreSQL: the steps of [`commit_group_in_one_transaction`], in the same order, in one
/// statement (a function, see `Store::commit_grant_group`): one round trip instead of five or
/// more, the deliveries' row locks no longer held across round trips.
async fn commit_group_in_one_statement(
    store: &Store,
    group: Vec<Pending>,
) -> store::Result<Vec<Committed>> {
    let grants: Vec<store::GroupGrant<'_>> = group
        .iter()
        .map(|p| store::GroupGrant {
            row: &p.row,
            caller: &p.caller,
            site_version: p.site_version,
            // The answer replayed to a retry if this grant is issued: this very grant.
            idempotency: p.idem.as_ref().map(|i| {
                let answer = serde_json::to_string(&p.issued).unwrap_or_default();
                (i.key.as_str(), i.request_hash.as_str(), answer)
            }),
        })
        .collect();
    let outcomes = store.commit_grant_group(&grants, super::now(), MAX_GRANTS_PER_DELIVERY).await?;
    drop(grants);
    Ok(group
        .into_iter()
        .zip(outcomes)
        .map(|(p, outcome)| match outcome {
            store::GroupOutcome::Issued => Committed::Issued(p.issued),
            store::GroupOutcome::Exhausted => Committed::Exhausted,
            store::GroupOutcome::KeyTaken => Committed::KeyTaken,
            store::GroupOutcome::Stale => Committed::Stale,
        })
        .collect())
}

/// One transaction for `group` (SQLite, where a statement costs no round trip); the outcome of
/// each, in order.
async fn commit_group_in_one_transaction(
    store: &Store,
    group: Vec<Pending>,
) -> store::Result<Vec<Committed>> {
    let now = super::now();
    let mut tx = store.begin().await?;
    // Each grant's site facts still current?
    let mut sites: Vec<&ids::SiteId> = group.iter().map(|p| &p.row.site_id).collect();
    sites.sort_unstable();
    sites.dedup();
    // And each caller's token and driver still live? (The request may have been
    // authenticated from memory.) The same statement.
    let mut callers: Vec<&TokenId> = group.iter().map(|p| &p.caller).collect();
    callers.sort_unstable();
    callers.dedup();
    let (versions, live) = Store::group_facts_tx(&mut tx, &sites, &callers, now).await?;
    let stale: Vec<bool> = group
        .iter()
        .map(|p| versions.get(&p.row.site_id) != Some(&p.site_version) || !live.contains(&p.caller))
        .collect();
    // Idempotency keys next: a request whose key is taken does nothing else.
    // In (token, key) order, the order every group takes them in: two groups in flight that
    // share two keys (a client's retries) then never wait on each other in a cycle.
    let mut taken = vec![false; group.len()];
    let mut keyed: Vec<usize> = (0..group.len()).filter(|n| group[*n].idem.is_some()).collect();
    keyed.sort_by_key(|n| (&group[*n].caller, group[*n].idem.as_ref().map(|i| &i.key)));
    for n in keyed {
        let p = &group[n];
        if let (Some(idem), false) = (&p.idem, stale[n]) {
            let (token, key, hash) = (&p.caller, &idem.key, &idem.request_hash);
            taken[n] = !Store::reserve_idempotent_tx(&mut tx, token, key, hash, now).await?;
        }
    }
    let live = (0..group.len()).filter(|n| !stale[*n] && !taken[*n]);
    let claimed = claim_bounds(store, &mut tx, &group, live).await?;
    let rows: Vec<store::GrantRow> =
        group.iter().zip(&claimed).filter(|(_, c)| **c).map(|(p, _)| p.row.clone()).collect();
    Store::insert_grants(&mut tx, &rows).await?;
    let mut results = Vec::with_capacity(group.len());
    for (n, p) in group.into_iter().enumerate() {
        let result = if stale[n] {
            Committed::Stale
        } else if taken[n] {
            Committed::KeyTaken
        } else if claimed[n] {
            Committed::Issued(p.issued)
        } else {
            Committed::Exhausted
        };
        if let (Some(idem), false, false) = (&p.idem, stale[n], taken[n]) {
            let token = &p.caller;
            match &result {
                Committed::Issued(issued) => {
                    // The answer replayed to a retry: this very grant.
                    let body = serde_json::to_string(issued).unwrap_or_default();
                    Store::answer_idempotent_tx(&mut tx, token, &idem.key, 201, &body).await?;
                }
                // A refused request frees its key for a retry.
                _ => Store::release_idempotent_tx(&mut tx, token, &idem.key).await?,
            }
        }
        results.push(result);
    }
    tx.commit().await?;
    Ok(results)
}

/// Claims the grant bound of each of the `live` grants of `group` under its delivery's row
/// lock: one statement per round, where round r claims the r-th grant of every delivery that
/// has one (a group rarely holds two grants of one delivery, so one round is the rule). Which
/// of them held, by index in `group`.
async fn claim_bounds(
    store: &Store,
    tx: &mut store::Tx,
    group: &[Pending],
    live: impl Iterator<Item = usize>,
) -> store::Result<Vec<bool>> {
    let mut claimed = vec![false; group.len()];
    // Per delivery, in id order, its grants in arrival order.
    let mut waiting: BTreeMap<&ids::DeliveryId, VecDeque<usize>> = BTreeMap::new();
    for n in live {
        waiting.entry(&group[n].row.delivery_id).or_default().push_back(n);
    }
    let mut round: Vec<&ids::DeliveryId> = waiting.keys().copied().collect();
    let mut first = true;
    while !round.is_empty() {
        let held: HashSet<ids::DeliveryId> = store
            .claim_grants(tx, &round, MAX_GRANTS_PER_DELIVERY, first)
            .await?
            .into_iter()
            .collect();
        first = false;
        let mut next = Vec::new();
        for delivery in round {
            // A delivery whose claim failed yields no more grants in this group either.
            if !held.contains(delivery) {
                continue;
            }
            let Some(queue) = waiting.get_mut(delivery) else { continue };
            if let Some(n) = queue.pop_front() {
                claimed[n] = true;
            }
            if !queue.is_empty() {
                next.push(delivery);
            }
        }
        round = next;
    }
    Ok(claimed)
}

/// Blocks of serials leased from each issuer's counter, in their own committed transaction,
/// before any grant uses them: a grant then takes its serials from memory, and the grant's
/// transaction never holds the issuer row's lock. Blocks of two processes never overlap, and
/// a block leased before a crash is never leased again (its unused serials are skipped: a gap
/// in serials is harmless, a repeat is not).
#[derive(Debug, Default)]
pub(crate) struct SerialLeases {
    blocks: Mutex<HashMap<IssuerId, (i64, i64)>>,
}

/// Serials leased at a time.
pub const LEASE: i64 = 1024;

impl SerialLeases {
    /// The first of `uses` consecutive serials of `issuer_id`, never handed out before.
    pub async fn take(&self, store: &Store, issuer_id: &IssuerId, uses: i64) -> Result<i64> {
        let mut blocks = self.blocks.lock().await;
        if let Some((next, end)) = blocks.get_mut(issuer_id) {
            if *next + uses <= *end {
                let first = *next;
                *next += uses;
                return Ok(first);
            }
        }
        let size = LEASE.max(uses);
        let mut tx = store.begin().await?;
        let first = Store::take_serials(&mut tx, issuer_id, size).await?;
        tx.commit().await?;
        blocks.insert(issuer_id.clone(), (first + uses, first + size));
        Ok(first)
    }
}
