//! A simulated radio between a phone and a simulated door (feature `std`): a link MTU, a
//! per-fragment latency, loss and reordering, and disconnects, on the simulator's clock. Tests
//! drive a `porter_link::PhoneSession` through [`RadioPhone`] against a controller booted on
//! [`RadioDoor`] and check that an admission survives a bad radio without ever opening twice.
//!
//! Everything is deterministic: losses and delays come from a seeded generator, and time is
//! the [`SimClock`] the door reads, so a failing seed replays exactly.

// Host-only test equipment, as `sim`.
#![allow(clippy::indexing_slicing)]

use std::cell::RefCell;
use std::rc::Rc;
use std::vec::Vec;

use crate::hal::{Transport, TransportError, MAX_FRAGMENT};
use crate::sim::SimClock;

/// How the radio behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RadioSettings {
    /// The link MTU both ends use (20..=255; BLE with the default ATT MTU: 20).
    pub mtu: usize,
    /// Every fragment arrives this long after it was sent, in ms.
    pub latency_ms: u64,
    /// Out of 1000 fragments, how many are lost (each way, independently).
    pub loss_per_mille: u32,
    /// Out of 1000 fragments, how many are held back by [`RadioSettings::reorder_delay_ms`], so
    /// that the fragments sent after them overtake them.
    pub reorder_per_mille: u32,
    /// How long a held-back fragment is delayed beyond the latency, in ms.
    pub reorder_delay_ms: u64,
    /// The seed of the losses and delays.
    pub seed: u64,
}

impl Default for RadioSettings {
    /// A perfect BLE link at a 247-byte ATT MTU with 10 ms of latency.
    fn default() -> Self {
        RadioSettings {
            mtu: crate::hal::MTU,
            latency_ms: 10,
            loss_per_mille: 0,
            reorder_per_mille: 0,
            reorder_delay_ms: 0,
            seed: 1,
        }
    }
}

/// What the radio did, for a test's assertions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RadioCounts {
    /// Fragments the phone sent.
    pub to_door: u64,
    /// Fragments the door sent.
    pub to_phone: u64,
    /// Fragments lost (either way).
    pub lost: u64,
    /// Fragments delivered after a fragment sent later in the same direction.
    pub reordered: u64,
    /// Fragments dropped by a disconnect while in flight.
    pub cut: u64,
}

struct InFlight {
    at_ms: u64,
    order: u64,
    bytes: Vec<u8>,
}

struct Air {
    settings: RadioSettings,
    clock: SimClock,
    rng: u64,
    order: u64,
    to_door: Vec<InFlight>,
    to_phone: Vec<InFlight>,
    last_delivered: [u64; 2],
    counts: RadioCounts,
    /// Fragments to lose: (toward the door, number in that direction counted from 1).
    scripted: Vec<(bool, u64)>,
}

impl Air {
    fn next_random(&mut self) -> u64 {
        // xorshift64: deterministic per seed, good enough to scatter losses and delays.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    fn send(&mut self, fragment: &[u8], to_door: bool) {
        let nth = if to_door {
            self.counts.to_door += 1;
            self.counts.to_door
        } else {
            self.counts.to_phone += 1;
            self.counts.to_phone
        };
        let random_loss = self.next_random() % 1000 < u64::from(self.settings.loss_per_mille);
        if random_loss || self.scripted.contains(&(to_door, nth)) {
            self.counts.lost += 1;
            return;
        }
        let held = self.next_random() % 1000 < u64::from(self.settings.reorder_per_mille);
        let delay = if held { self.settings.reorder_delay_ms } else { 0 };
        self.order += 1;
        let packet = InFlight {
            at_ms: self.clock.millis_now() + self.settings.latency_ms + delay,
            order: self.order,
            bytes: fragment.to_vec(),
        };
        if to_door {
            self.to_door.push(packet);
        } else {
            self.to_phone.push(packet);
        }
    }

    /// The earliest fragment due by now, in arrival order.
    fn deliver(&mut self, to_door: bool) -> Option<Vec<u8>> {
        let now = self.clock.millis_now();
        let queue = if to_door { &mut self.to_door } else { &mut self.to_phone };
        let (i, _) = queue
            .iter()
            .enumerate()
            .filter(|(_, p)| p.at_ms <= now)
            .min_by_key(|(_, p)| (p.at_ms, p.order))?;
        let packet = queue.remove(i);
        let lane = usize::from(!to_door);
        if packet.order < self.last_delivered[lane] {
            self.counts.reordered += 1;
        }
        self.last_delivered[lane] = self.last_delivered[lane].max(packet.order);
        Some(packet.bytes)
    }
}

/// A radio: make one, boot the door on [`Radio::door`] and talk through [`Radio::phone`].
#[derive(Clone)]
pub struct Radio {
    air: Rc<RefCell<Air>>,
}

impl Radio {
    /// A radio on the simulator clock `clock` (the door's, so latency is door time).
    pub fn new(settings: RadioSettings, clock: SimClock) -> Radio {
        let air = Air {
            settings,
            clock,
            rng: settings.seed | 1,
            order: 0,
            to_door: Vec::new(),
            to_phone: Vec::new(),
            last_delivered: [0; 2],
            counts: RadioCounts::default(),
            scripted: Vec::new(),
        };
        Radio { air: Rc::new(RefCell::new(air)) }
    }

    /// The door's end, to boot a controller on.
    pub fn door(&self) -> RadioDoor {
        RadioDoor { air: self.air.clone() }
    }

    /// The phone's end.
    pub fn phone(&self) -> RadioPhone {
        RadioPhone { air: self.air.clone() }
    }

    /// The link drops (the phone walked away, the door rebooted): every fragment in flight is
    /// lost. The phone's session learns it from its app (`PhoneSession::reconnected`).
    pub fn disconnect(&self) {
        let mut air = self.air.borrow_mut();
        let cut = (air.to_door.len() + air.to_phone.len()) as u64;
        air.counts.cut += cut;
        air.to_door.clear();
        air.to_phone.clear();
    }

    /// Loses the `nth` fragment (from 1) the phone sends to the door (`to_door`) or the door
    /// sends to the phone, whatever the loss rate.
    pub fn lose(&self, to_door: bool, nth: u64) {
        self.air.borrow_mut().scripted.push((to_door, nth));
    }

    /// Changes the loss rate from now on (a phone walking out of range: 1000).
    pub fn set_loss_per_mille(&self, loss: u32) {
        self.air.borrow_mut().settings.loss_per_mille = loss;
    }

    /// A door rebooted on the same radio: its end again (what was in flight is lost too, see
    /// [`Radio::disconnect`]).
    pub fn reconnect_door(&self) -> RadioDoor {
        self.disconnect();
        self.door()
    }

    /// What the radio did so far.
    pub fn counts(&self) -> RadioCounts {
        self.air.borrow().counts
    }

    /// The earliest time a fragment in flight arrives, if any.
    pub fn next_arrival_ms(&self) -> Option<u64> {
        let air = self.air.borrow();
        air.to_door.iter().chain(&air.to_phone).map(|p| p.at_ms).min()
    }
}

/// The door's end of a [`Radio`]: a [`Transport`] at the radio's MTU.
pub struct RadioDoor {
    air: Rc<RefCell<Air>>,
}

impl Transport for RadioDoor {
    fn receive(&mut self, buf: &mut [u8; MAX_FRAGMENT]) -> Option<usize> {
        let fragment = self.air.borrow_mut().deliver(true)?;
        let n = fragment.len().min(MAX_FRAGMENT);
        buf[..n].copy_from_slice(&fragment[..n]);
        Some(n)
    }

    fn send(&mut self, fragment: &[u8]) -> Result<(), TransportError> {
        if fragment.len() > self.mtu() {
            return Err(TransportError);
        }
        self.air.borrow_mut().send(fragment, false);
        Ok(())
    }

    fn mtu(&self) -> usize {
        self.air.borrow().settings.mtu
    }
}

/// The phone's end of a [`Radio`].
pub struct RadioPhone {
    air: Rc<RefCell<Air>>,
}

impl RadioPhone {
    /// The link MTU, for the phone's session.
    pub fn mtu(&self) -> usize {
        self.air.borrow().settings.mtu
    }

    /// Sends one fragment toward the door (it may be lost or delayed).
    pub fn send(&self, fragment: &[u8]) {
        self.air.borrow_mut().send(fragment, true);
    }

    /// Takes the next fragment that has reached the phone by now.
    pub fn receive(&self) -> Option<Vec<u8>> {
        self.air.borrow_mut().deliver(false)
    }
}
