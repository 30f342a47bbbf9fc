//! # porter-device
//!
//! The door controller: the part bolted to a door, wired to its strike or intercom release
//! relay, that must work offline, survive power cuts at any instant, and never open for anything
//! the protocol rejects.
//!
//! * [`hal`]: the hardware as eight narrow traits with written contracts (lock actuator, door
//!   sensor, clock, NOR flash, entropy, transport, indicator, installer button).
//! * [`Controller`]: boot and recovery, commissioning, the attempt state machine, back-off of
//!   signature work, door alarms, the audit log and receipts. Every verdict is
//!   [`porter_protocol::DoorMemory::admit`]'s: the controller re-implements no check.
//! * [`storage`]: append-only rings on NOR flash with sequence numbers and CRCs; the spend is
//!   durable before the relay moves.
//! * The link to a phone is `porter-link`'s (`spec/link.md`): [`porter_link::DoorLink`] frames it
//!   at the transport's MTU, [`porter_link::Request`] types each request.
//! * `sim` (feature `std`): the traits on a host, with a file-backed flash image, a clock tests
//!   can advance and a TCP transport; the `porter-door-sim` binary serves it on loopback.
//! * `radio` (feature `std`): a simulated radio (MTU, latency, loss, reordering, disconnects)
//!   between a phone session and a simulated door.
//!
//! No heap, no panics on input, no `unsafe`.

#![no_std]
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[cfg(feature = "std")]
extern crate std;

mod controller;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod hal;
#[cfg(feature = "std")]
pub mod radio;
#[cfg(feature = "std")]
pub mod sim;
pub mod storage;

// The public interface is:
pub use crate::controller::{
    BootError, Controller, Fault, Peripherals, Settings, MAX_RESPONSE_LEN,
};
pub use crate::hal::{
    div_u64_by_u16, Clock, DoorSensor, Entropy, EntropyError, FlashError, Indicator,
    InstallerButton, LockActuator, Mark, NorFlash, Signal, Transport, TransportError, MAX_FRAGMENT,
    MTU,
};
