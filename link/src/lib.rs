//! # porter-link
//!
//! Porter's phone-to-door link, as `spec/link.md` defines it: one implementation for the door's
//! firmware, the FFI (C, Kotlin, Swift) and the demo.
//!
//! * [`frame`]: fragment framing for a given MTU and bounded reassembly into a caller's buffer.
//! * [`DoorLink`]: the door's end of the framing (answers under their request's id).
//! * [`Request`] and [`Answer`]: the typed messages, decoded as strictly as `porter-protocol`
//!   decodes its own (bounded lengths, no trailing bytes, known codes).
//! * [`PhoneSession`] (feature `phone`): the phone's side of an admission, sans-IO: fragments in,
//!   fragments out, `now` passed in; it never blocks and writes only into the caller's buffers.
//!   Every outcome is an [`Outcome`] with a stable number.
//!
//! `#![no_std]`, no heap, no `unsafe`, and no panic on any input.

#![no_std]
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[cfg(feature = "door-model")]
extern crate std;

mod door;
#[cfg(feature = "door-model")]
#[doc(hidden)]
pub mod door_model;
mod error;
pub mod frame;
#[cfg(feature = "fuzzing")]
mod fuzz_hooks;
#[cfg(all(feature = "fuzzing", feature = "door-model"))]
mod fuzz_session;
mod message;
#[cfg(feature = "phone")]
mod session;

// The public interface is:
pub use crate::door::{DoorEvent, DoorLink};
pub use crate::error::LinkError;
pub use crate::frame::{FrameRefusal, Progress, Reassembler, StreamDecoder, MAX_MESSAGE_LEN};
pub use crate::message::{
    coarse_code, coarse_from_code, kind, log_records, Answer, Info, LogIter, LogRecords, Refusal,
    Refused, Request, INFO_ANSWER_LEN, MAX_ANSWER_LEN, MAX_LOG_RECORDS, MAX_REQUEST_LEN,
    MAX_SIGNED_HEAD_LEN,
};
#[cfg(feature = "phone")]
pub use crate::session::{Buffers, Holder, Outcome, PhoneSession, SessionConfig, Status};

/// Hooks for the fuzz targets (feature `fuzzing`): not part of the stable interface.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod internal {
    pub use crate::fuzz_hooks::fuzz_link;
    #[cfg(feature = "door-model")]
    pub use crate::fuzz_session::fuzz_phone_session;
}
