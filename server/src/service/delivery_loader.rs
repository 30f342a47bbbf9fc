//! Deliveries read for grant requests in batches: every request that needs a delivery this
//! process does not hold waits for one statement that reads all of those wanted at that moment
//! (`SELECT * FROM deliveries WHERE id IN (...)`), instead of a round trip each (and, on
//! PostgreSQL, the pool's ping before each). The statement starts after the request asked, so
//! what it reads is at least as new as a read of the request's own.

use std::collections::HashMap;

use tokio::sync::{mpsc, oneshot};

use super::{Code, Error, Kind, Result};
use crate::ids::DeliveryId;
use crate::store::{DeliveryRow, Store};

/// The most deliveries one statement reads.
const MAX_BATCH: usize = 256;
/// Requests waiting for the loader before new ones wait to enqueue (back-pressure).
const QUEUE: usize = 4096;

struct Wanted {
    id: DeliveryId,
    reply: oneshot::Sender<Result<Option<DeliveryRow>>>,
}

/// The process's delivery loader (started on first use, inside the runtime).
#[derive(Debug)]
pub(crate) struct DeliveryLoader {
    queue: mpsc::Sender<Wanted>,
}

fn unavailable() -> Error {
    Error::new(Kind::Internal, Code::Internal, "the server is shutting down; retry")
}

impl DeliveryLoader {
    /// Starts the loader task over `store`.
    pub fn start(store: Store) -> DeliveryLoader {
        let (queue, wanted) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, wanted));
        DeliveryLoader { queue }
    }

    /// The delivery `id` as the database holds it now; None if there is none.
    pub async fn load(&self, id: &DeliveryId) -> Result<Option<DeliveryRow>> {
        let (reply, answer) = oneshot::channel();
        let wanted = Wanted { id: id.clone(), reply };
        self.queue.send(wanted).await.map_err(|_| unavailable())?;
        answer.await.map_err(|_| unavailable())?
    }
}

async fn run(store: Store, mut wanted: mpsc::Receiver<Wanted>) {
    while let Some(first) = wanted.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match wanted.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        let mut ids: Vec<&DeliveryId> = batch.iter().map(|w| &w.id).collect();
        ids.sort_unstable();
        ids.dedup();
        match store.deliveries_by_id(&ids).await {
            Ok(rows) => {
                let by_id: HashMap<DeliveryId, DeliveryRow> =
                    rows.into_iter().map(|r| (r.id.clone(), r)).collect();
                for w in batch {
                    let _ = w.reply.send(Ok(by_id.get(&w.id).cloned()));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, deliveries = ids.len(), "reading deliveries failed");
                let e = Error::from(e);
                for w in batch {
                    let _ = w.reply.send(Err(e.clone()));
                }
            }
        }
    }
}
