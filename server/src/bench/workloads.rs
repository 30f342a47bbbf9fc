//! The operations the bench repeats: a driver asking for a grant, a door's uplink uploading the
//! next run of its log, and a request to a route that does no work (the HTTP ceiling).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use porter_protocol::{
    record, AuditEvent, ChainHash, DoorId, LogHead, SigningKey, SiteId, Time, MAX_AUDIT_RECORD_LEN,
    MAX_LOG_HEAD_LEN, VERSION,
};
use serde_json::json;

use super::api::Api;
use super::drive::{Done, Op};
use super::site::Site;
use crate::service::{now, MAX_GRANTS_PER_DELIVERY};

/// Grant requests: client `n` is driver `n` (modulo the drivers), taking deliveries from a
/// shared queue that holds each delivery [`MAX_GRANTS_PER_DELIVERY`] times, round after round,
/// so that concurrent requests rarely wait on one delivery's row.
pub fn grants(api: &Api, site: &Site) -> Op {
    let mut queue = VecDeque::new();
    for _ in 0..MAX_GRANTS_PER_DELIVERY {
        queue.extend(site.deliveries.iter().cloned());
    }
    let queue = Arc::new(Mutex::new(queue));
    let tokens: Arc<Vec<String>> = Arc::new(site.drivers.iter().map(|d| d.token.clone()).collect());
    let api = api.clone();
    Arc::new(move |n| {
        let (api, queue, tokens) = (api.clone(), queue.clone(), tokens.clone());
        Box::pin(async move {
            let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
            let Some(delivery) = next else { return Done::Exhausted };
            let token = &tokens[n % tokens.len()];
            let body = json!({"uses": 1, "lifetime_minutes": 10});
            let path = format!("/v1/deliveries/{delivery}/grants");
            match api.call("POST", &path, Some(token), Some(&body)).await {
                Ok(a) if a.status == 201 || a.status == 200 => Done::Ok { units: 1 },
                Ok(a) => Done::Failed(a.code()),
                Err(_) => Done::Failed("transport".into()),
            }
        })
    })
}

/// A door's log as its controller keeps it: consecutive, hash-chained records.
struct DoorLog {
    site: SiteId,
    door: DoorId,
    device: SigningKey,
    token: String,
    length: u64,
    previous: ChainHash,
}

impl DoorLog {
    /// The next `n` records (what a door logs most: refusals, and the tallies of refusals it
    /// counted instead of logging each) and the signed head that anchors them, as a batch.
    fn next_batch(&mut self, site_id: &str, n: usize) -> serde_json::Value {
        let at = Time(now() as u32);
        let mut records = Vec::with_capacity(n);
        for i in 0..n {
            let event = if i % 8 == 7 {
                AuditEvent::Tally {
                    refused: 3,
                    refused_signature: 1,
                    forced_open: 0,
                    held_open: 0,
                    egress: 2,
                    last_reason: 7,
                }
            } else {
                AuditEvent::Rejected { reason: (i % 5) as u16 + 1 }
            };
            let r = record(self.site, self.door, self.length, at, self.previous, event);
            let mut buf = [0u8; MAX_AUDIT_RECORD_LEN];
            let bytes = r.encode(&mut buf).expect("a record fits its maximum");
            self.previous = ChainHash::of(bytes);
            self.length += 1;
            records.push(hex::encode(bytes));
        }
        let head = LogHead {
            version: VERSION,
            site: self.site,
            door: self.door,
            length: self.length,
            head: self.previous,
            at,
        };
        let mut buf = [0u8; MAX_LOG_HEAD_LEN];
        let head = head.seal(&self.device, &mut buf).expect("a head fits its maximum");
        json!({
            "site_id": site_id, "door_number": self.door.0,
            "records": records, "head": hex::encode(head)
        })
    }
}

/// Audit-batch uploads: client `n` is door `n`'s uplink (modulo the doors; each door's log is
/// uploaded by one client at a time), `records` records a batch.
pub fn audit(api: &Api, site: &Site, records: usize) -> Op {
    let logs: Vec<tokio::sync::Mutex<DoorLog>> = site
        .doors
        .iter()
        .map(|d| {
            tokio::sync::Mutex::new(DoorLog {
                site: SiteId(site.number),
                door: DoorId(d.number),
                device: SigningKey::from_seed(d.device.seed()).expect("the door's key"),
                token: d.token.clone(),
                length: 0,
                previous: ChainHash::GENESIS,
            })
        })
        .collect();
    let logs = Arc::new(logs);
    let (api, site_id) = (api.clone(), site.id.clone());
    Arc::new(move |n| {
        let (api, logs, site_id) = (api.clone(), logs.clone(), site_id.clone());
        Box::pin(async move {
            let mut log = logs[n % logs.len()].lock().await;
            let batch = log.next_batch(&site_id, records);
            let token = log.token.clone();
            match api.call("POST", "/v1/audit-batches", Some(&token), Some(&batch)).await {
                Ok(a) if a.status == 200 && a.body["accepted"] == records => {
                    Done::Ok { units: records as u64 }
                }
                Ok(a) if a.status == 200 => Done::Failed("records_not_accepted".into()),
                Ok(a) => Done::Failed(a.code()),
                Err(_) => Done::Failed("transport".into()),
            }
        })
    })
}

/// `GET /livez`: routing, the middleware, no database: the HTTP stack's ceiling.
pub fn livez(api: &Api) -> Op {
    let api = api.clone();
    Arc::new(move |_| {
        let api = api.clone();
        Box::pin(async move {
            match api.call("GET", "/livez", None, None).await {
                Ok(a) if a.status == 200 => Done::Ok { units: 1 },
                Ok(a) => Done::Failed(a.code()),
                Err(_) => Done::Failed("transport".into()),
            }
        })
    })
}
