//! The door's side of the framing (`spec/link.md` 2.3): reassembly into the door's buffer,
//! one `Frame` refusal per broken request, and answers under their request's id. The door's
//! controller decodes [`DoorLink::request`] with [`crate::Request::decode`] and dispatches on
//! the type.

use crate::frame::{self, Progress, Reassembler, MAX_MESSAGE_LEN};
use crate::message::{Answer, Refusal, Refused};

/// What one received fragment asks of the door.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DoorEvent {
    /// Nothing yet (a middle fragment, or a quiet drop).
    Nothing,
    /// A whole request, in [`DoorLink::request`]; answer it under this id.
    Request(u8),
    /// A broken request: send this refusal under this id (once per broken message).
    Refuse(u8, Refused),
}

/// A door's end of one link, with a message buffer of [`MAX_MESSAGE_LEN`] bytes.
#[derive(Debug)]
pub struct DoorLink {
    rx: Reassembler<[u8; MAX_MESSAGE_LEN]>,
    mtu: usize,
}

impl DoorLink {
    /// A link of `mtu` (clamped to 20..=255).
    pub fn new(mtu: usize) -> DoorLink {
        let mtu = mtu.clamp(frame::MIN_MTU, frame::MAX_MTU);
        DoorLink { rx: Reassembler::new([0; MAX_MESSAGE_LEN], mtu), mtu }
    }

    /// The link's MTU.
    pub fn mtu(&self) -> usize {
        self.mtu
    }

    /// Takes one fragment received at `now_ms`.
    pub fn push(&mut self, fragment: &[u8], now_ms: u64) -> DoorEvent {
        match self.rx.push(fragment, now_ms) {
            Ok(Progress::Partial) => DoorEvent::Nothing,
            Ok(Progress::Complete { id, .. }) => DoorEvent::Request(id),
            Err(r) if r.first => DoorEvent::Refuse(r.id.unwrap_or(0), frame_refusal(r.error)),
            Err(_) => DoorEvent::Nothing,
        }
    }

    /// A partial request silent for more than `timeout_ms` is dropped: the refusal to send.
    pub fn expire(&mut self, now_ms: u64, timeout_ms: u32) -> Option<DoorEvent> {
        let id = self.rx.in_progress_id()?;
        self.rx.expire(now_ms, timeout_ms).err().map(|e| DoorEvent::Refuse(id, frame_refusal(e)))
    }

    /// The request completed by the last [`DoorEvent::Request`].
    pub fn request(&self) -> &[u8] {
        self.rx.message()
    }

    /// A new link (a new phone): forgets any partial request.
    pub fn reset(&mut self) {
        self.rx.reset();
    }

    /// The request buffer ([`MAX_MESSAGE_LEN`] bytes) as scratch space while no request is
    /// expected (at boot); forgets any partial request.
    pub fn scratch(&mut self) -> &mut [u8] {
        self.rx.scratch()
    }

    /// Calls `emit` with each fragment of the encoded answer `answer` under `id`.
    pub fn send<E>(
        &self,
        id: u8,
        answer: &[u8],
        emit: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        match frame::for_each_fragment(id, answer, self.mtu, emit) {
            Ok(result) => result,
            // An empty or oversized answer is a door bug; nothing is sent.
            Err(_) => Ok(()),
        }
    }

    /// Encodes `refused` into `out` and sends it under `id` with `emit`.
    pub fn send_refusal<E>(
        &self,
        id: u8,
        refused: Refused,
        emit: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut buf = [0u8; 8];
        match Answer::Refused(refused).encode(&mut buf) {
            Ok(bytes) => self.send(id, bytes, emit),
            Err(_) => Ok(()),
        }
    }
}

fn frame_refusal(e: crate::LinkError) -> Refused {
    Refused { refusal: Refusal::Frame, detail: e.code(), retry_ms: 0 }
}
