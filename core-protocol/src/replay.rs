//! The replay window: which grant serials this door has spent, per issuer.
//!
//! Each issuer hands out serials that grow; a grant with `uses` entries owns `uses`
//! consecutive serials and each admission spends the lowest unspent one. Per issuer the door
//! remembers the highest serial spent (`top`) and a ring of `32 * WORDS` bits for the serials
//! just below it, as in RFC 6479 and WireGuard. A serial at or below `top - 32 * WORDS` is
//! "too old": the door can no longer tell, so it refuses (fail closed).
//!
//! The door keeps windows for `ISSUERS` issuers. A new issuer takes a free slot or the slot
//! used longest ago; the table then remembers the time of that eviction and refuses any grant
//! of an issuer without a slot whose validity began before it, since the evicted window might
//! have held its spends.
//!
//! Use is check, then verify, then commit: [`ReplayTable::check`] is cheap and changes nothing,
//! so it runs before the signatures; [`ReplayTable::commit`] runs only after every check passed.

use serde::{Deserialize, Serialize};

use crate::codec::byte_array;
use crate::keys::KeyId;
use crate::scope::Time;
use crate::Error;

/// One issuer's window: 8 + 8 + 4 + 4 * WORDS bytes (56 with WORDS = 8 after alignment).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerWindow<const WORDS: usize> {
    issuer: KeyId,
    /// The highest serial spent.
    top: u64,
    /// Door time of the last spend, for choosing which slot to evict.
    last_used: Time,
    /// Bit `s % (32 * WORDS)` is set when serial `s` in `(top - 32 * WORDS, top]` is spent.
    #[serde(with = "byte_array")]
    bits: [u32; WORDS],
}

/// The replay windows of a door: `ISSUERS` slots of `32 * WORDS` serials each.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayTable<const ISSUERS: usize, const WORDS: usize> {
    slots: heapless::Vec<IssuerWindow<WORDS>, ISSUERS>,
    /// The last use of the most recently evicted window: grants of issuers without a window
    /// must have become valid after it.
    forgotten_at: Time,
}

/// Where a checked grant's next entry would be recorded. Only valid for the table it came from
/// until that table changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spend {
    issuer: KeyId,
    /// The serial this admission spends.
    pub serial: u64,
    /// Which entry of the grant this is, from 0.
    pub use_index: u8,
    slot: SlotChoice,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlotChoice {
    Existing(usize),
    Free,
    Evict(usize),
}

impl<const ISSUERS: usize, const WORDS: usize> Default for ReplayTable<ISSUERS, WORDS> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const ISSUERS: usize, const WORDS: usize> ReplayTable<ISSUERS, WORDS> {
    /// How many serials below the top each window remembers.
    pub const WINDOW: u64 = 32 * WORDS as u64;

    /// A window of zero words could remember nothing: refuse to build one.
    const HAS_WINDOW: () = assert!(WORDS > 0, "a replay window needs at least one word");

    /// An empty table.
    pub const fn new() -> Self {
        let () = Self::HAS_WINDOW;
        ReplayTable { slots: heapless::Vec::new(), forgotten_at: Time(0) }
    }

    /// Finds the entry of grant `serial .. serial + uses` (from `issuer`, valid from
    /// `not_before`) that an admission at door time `now` would spend, without changing
    /// anything. `skew` is the clock tolerance the door allows.
    pub fn check(
        &self,
        issuer: KeyId,
        serial: u64,
        uses: u8,
        not_before: Time,
        skew: u32,
    ) -> Result<Spend, Error> {
        let spend = |slot, use_index: u8| Spend {
            issuer,
            serial: serial.saturating_add(u64::from(use_index)),
            use_index,
            slot,
        };
        if let Some(i) = self.slots.iter().position(|w| w.issuer == issuer) {
            let window = self.slots.get(i).ok_or(Error::ReplayTooOld)?;
            let mut any_remembered = false;
            for use_index in 0..uses {
                match window.state_of(serial.saturating_add(u64::from(use_index))) {
                    SerialState::Unspent => return Ok(spend(SlotChoice::Existing(i), use_index)),
                    SerialState::Spent => any_remembered = true,
                    SerialState::TooOld => {}
                }
            }
            return Err(if any_remembered { Error::ReplayDuplicate } else { Error::ReplayTooOld });
        }
        // A grant that became valid (less the skew) before the last eviction may have been
        // spent in the window that was thrown away.
        if not_before.minus(skew) <= self.forgotten_at && self.forgotten_at != Time(0) {
            return Err(Error::ReplayTooOld);
        }
        if self.slots.len() < ISSUERS {
            return Ok(spend(SlotChoice::Free, 0));
        }
        let oldest = self
            .slots
            .iter()
            .enumerate()
            .min_by_key(|(_, w)| w.last_used)
            .map(|(i, _)| i)
            .ok_or(Error::ReplayTooOld)?;
        Ok(spend(SlotChoice::Evict(oldest), 0))
    }

    /// Records `spend` at door time `now`. Call only with a `Spend` from [`Self::check`] on
    /// this table, unchanged since.
    pub fn commit(&mut self, spend: Spend, now: Time) {
        let fresh = IssuerWindow {
            issuer: spend.issuer,
            top: spend.serial,
            last_used: now,
            bits: [0; WORDS],
        };
        let window = match spend.slot {
            SlotChoice::Existing(i) => match self.slots.get_mut(i) {
                Some(w) => w,
                None => return,
            },
            SlotChoice::Free => {
                if self.slots.push(fresh.clone()).is_err() {
                    return;
                }
                match self.slots.last_mut() {
                    Some(w) => w,
                    None => return,
                }
            }
            SlotChoice::Evict(i) => match self.slots.get_mut(i) {
                Some(w) => {
                    // Every spend the evicted window held happened at or before its last use.
                    self.forgotten_at = self.forgotten_at.max(w.last_used);
                    *w = fresh;
                    w
                }
                None => return,
            },
        };
        window.spend(spend.serial);
        window.last_used = window.last_used.max(now);
    }

    /// The number of issuers with a window.
    pub fn issuers(&self) -> usize {
        self.slots.len()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SerialState {
    Unspent,
    Spent,
    TooOld,
}

impl<const WORDS: usize> IssuerWindow<WORDS> {
    const WINDOW: u64 = 32 * WORDS as u64;

    fn state_of(&self, serial: u64) -> SerialState {
        if serial > self.top {
            return SerialState::Unspent;
        }
        if self.top - serial >= Self::WINDOW {
            return SerialState::TooOld;
        }
        if self.bit(serial) {
            SerialState::Spent
        } else {
            SerialState::Unspent
        }
    }

    fn spend(&mut self, serial: u64) {
        if serial > self.top {
            // Slide the window up: serials top+1 ..= serial become remembered and unspent.
            let advance = serial - self.top;
            if advance >= Self::WINDOW {
                self.bits = [0; WORDS];
            } else {
                for s in self.top + 1..=serial {
                    self.set_bit(s, false);
                }
            }
            self.top = serial;
        }
        self.set_bit(serial, true);
    }

    fn position(serial: u64) -> (usize, u32) {
        let index = serial % Self::WINDOW;
        ((index / 32) as usize, (index % 32) as u32)
    }

    fn bit(&self, serial: u64) -> bool {
        let (word, bit) = Self::position(serial);
        self.bits.get(word).is_some_and(|w| w & (1 << bit) != 0)
    }

    fn set_bit(&mut self, serial: u64, value: bool) {
        let (word, bit) = Self::position(serial);
        if let Some(w) = self.bits.get_mut(word) {
            if value {
                *w |= 1 << bit;
            } else {
                *w &= !(1 << bit);
            }
        }
    }
}
