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
//! * [`frame`] and [`wire`]: messages fragmented to a 244-byte MTU, reassembled within bounds.
//! * `sim` (feature `std`): the traits on a host, with a file-backed flash image, a clock tests
//!   can advance and a TCP transport; the `porter-door-sim` binary serves it on loopback.
//!
//! No heap, no panics on input, no `unsafe`.

#![no_std]
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[cfg(feature = "std")]
extern crate std;

mod controller;
pub mod frame;
pub mod hal;
#[cfg(feature = "std")]
pub mod sim;
pub mod storage;
pub mod wire;

// The public interface is:
pub use crate::controller::{
    frame_error_code, BootError, Controller, Fault, Peripherals, Settings, MAX_RESPONSE_LEN,
};
pub use crate::hal::{
    Clock, DoorSensor, Entropy, EntropyError, FlashError, Indicator, InstallerButton, LockActuator,
    Mark, NorFlash, Signal, Transport, TransportError, MTU,
};
