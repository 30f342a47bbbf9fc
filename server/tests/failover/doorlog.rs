//! A door's audit log, kept the way the firmware keeps it: hash-chained records and a signed
//! head (only events without a holder, which need no log mask).

use porter_protocol::{
    record, AuditEvent, ChainHash, DoorId, LogHead, SigningKey, SiteId, Time, MAX_AUDIT_RECORD_LEN,
    MAX_LOG_HEAD_LEN, VERSION,
};
use serde_json::json;

pub struct DoorLog {
    site: SiteId,
    pub records: Vec<Vec<u8>>,
    previous: ChainHash,
}

impl DoorLog {
    pub fn new(site_number: u32) -> DoorLog {
        DoorLog { site: SiteId(site_number), records: Vec::new(), previous: ChainHash::GENESIS }
    }

    /// Appends a record of `event` at `at`.
    pub fn append(&mut self, at: u32, event: AuditEvent) {
        let sequence = self.records.len() as u64;
        let r = record(self.site, DoorId(1), sequence, Time(at), self.previous, event);
        let mut buf = [0u8; MAX_AUDIT_RECORD_LEN];
        let bytes = r.encode(&mut buf).unwrap().to_vec();
        self.previous = ChainHash::of(&bytes);
        self.records.push(bytes);
    }

    /// The upload of records `from..` with the door's head over the whole log.
    pub fn batch_from(&self, site_id: &str, from: usize, device: &SigningKey) -> serde_json::Value {
        let head = LogHead {
            version: VERSION,
            site: self.site,
            door: DoorId(1),
            length: self.records.len() as u64,
            head: self.previous,
            at: Time(crate::harness::now() as u32),
        };
        let mut buf = [0u8; MAX_LOG_HEAD_LEN];
        json!({
            "site_id": site_id,
            "door_number": 1,
            "records": self.records[from..].iter().map(hex::encode).collect::<Vec<_>>(),
            "head": hex::encode(head.seal(device, &mut buf).unwrap()),
        })
    }
}
