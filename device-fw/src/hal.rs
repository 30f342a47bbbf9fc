//! The hardware the controller needs, as eight narrow traits. Each trait's documentation states
//! the contract an implementation MUST keep; the controller relies on nothing more.
//!
//! The host simulator (`sim`, feature `std`) and the Cortex-M4 board crate implement them.

use core::num::{NonZeroU16, NonZeroU32};

use porter_protocol::Time;

/// A transport's link MTU unless it says otherwise ([`Transport::mtu`]): a BLE ATT payload with
/// a 247-byte ATT MTU (247 - 3 bytes of ATT header), `spec/link.md` 8.1.
pub const MTU: usize = porter_link::frame::BLE_MTU;

/// The largest fragment any link carries (`spec/link.md` 2.2): the size of the buffer
/// [`Transport::receive`] fills.
pub const MAX_FRAGMENT: usize = porter_link::frame::MAX_MTU;

/// The door strike or the intercom's release relay.
///
/// * `release` MUST energise the output (the door can be pushed open) until `secure` is called;
///   the controller pulses it for the configured time and calls `secure` itself.
/// * Both MUST be idempotent and infallible from the controller's point of view.
/// * At reset, before the controller runs, the hardware MUST hold the door secured.
/// * Mechanical egress (the handle on the inside) never depends on this output.
pub trait LockActuator {
    /// Lets the door open.
    fn release(&mut self);
    /// Holds the door shut.
    fn secure(&mut self);
}

/// The door position switch.
///
/// * `is_open` MUST report the position now (debounced by the implementation), without blocking.
/// * A wiring fault SHOULD read as open: the controller then raises a forced-open alarm instead of
///   staying silent.
///
/// * `exit_requested` MUST report whether the request-to-exit input (a push button or presence
///   detector on the secured side) is active now. The door opening within
///   `Settings::egress_window_ms` of it is an exit, counted in the log, not a forced-open alarm.
///   A door without such an input returns `false`: every opening without an admission is then
///   an alarm (counted after the first of each minute).
pub trait DoorSensor {
    /// Whether the door leaf is away from its frame.
    fn is_open(&mut self) -> bool;
    /// Whether someone inside asks to leave.
    fn exit_requested(&mut self) -> bool;
}

/// The installer's commissioning button: inside the housing, reachable only with the cover off
/// on the secured side of the door (or a jumper on the board). Commissioning needs it: an
/// unenrolled door takes an enrolment only within `Settings::enrol_window_ms` of a press, so a
/// stranger in radio range cannot claim a door that has not been commissioned yet.
///
/// * `pressed` MUST report whether the button is held now, debounced, without blocking.
/// * It MUST NOT be operable from the unsecured side of the door, nor over any radio.
pub trait InstallerButton {
    /// Whether the button is held now.
    fn pressed(&mut self) -> bool;
}

/// Time, from two sources with different promises.
///
/// * `now` is the real-time clock in Unix seconds, UTC. It MAY drift, jump, or restart from zero
///   after a power loss; the controller never trusts it below the signed floor
///   ([`porter_protocol::DoorMemory::now`]) and raises an alarm when it reads earlier than that.
/// * `millis` is monotonic milliseconds since boot. It MUST never decrease while powered. All
///   timeouts (relay pulse, challenge expiry, reassembly, back-off) use it.
pub trait Clock {
    /// The real-time clock.
    fn now(&mut self) -> Time;
    /// Milliseconds since boot, monotonic.
    fn millis(&mut self) -> u64;
    /// Profiling: the controller passed `point` of an admission. A no-op unless a board wants
    /// a cycle-level breakdown (the QEMU cost report does). MUST NOT block.
    fn mark(&mut self, point: Mark) {
        let _ = point;
    }
}

/// `n / d` in 32-bit steps, for a board's clock (SysTick ticks to milliseconds to seconds):
/// a Cortex-M4 divides 32-bit words in hardware but has no 64-bit division, which links
/// compiler-builtins' 864-byte routine. Long division by 16-bit digits, high first: each step
/// divides `(remainder << 16) | digit`, below `d << 16` <= 2^32, so it fits a u32; with a
/// constant `d` each step is a multiply. Equal to `n / d` for every `n` and every `d`.
#[inline]
pub fn div_u64_by_u16(n: u64, d: NonZeroU16) -> u64 {
    let d = NonZeroU32::from(d);
    let (mut quotient, mut remainder) = (0u64, 0u32);
    for shift in [48u32, 32, 16, 0] {
        let step = (remainder << 16) | ((n >> shift) as u32 & 0xFFFF);
        quotient = (quotient << 16) | u64::from(step / d);
        remainder = step % d;
    }
    quotient
}

/// Points of an admission, for [`Clock::mark`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// `DoorMemory::admit` is about to run.
    DecisionStart,
    /// It returned.
    DecisionEnd,
    /// The replay record (the spend) is durable.
    SpendDurable,
    /// The audit record is durable; the relay moves next.
    Logged,
}

/// The source of challenge nonces and of the device key.
///
/// * `fill` MUST fill `out` with bytes unpredictable to anyone outside the device (a TRNG, or a
///   CSPRNG seeded from one), or fail. It MUST NOT return zeros or a fixed pattern on failure.
/// * Uniqueness across reboots does not rest on this trait alone: the controller mixes a boot
///   counter it persists and an attempt counter into every nonce.
pub trait Entropy {
    /// Fills `out` with fresh random bytes.
    fn fill(&mut self, out: &mut [u8]) -> Result<(), EntropyError>;
}

/// The entropy source could not deliver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntropyError;

/// The link to a phone (BLE GATT, NFC, or a serial line), one fragment at a time
/// (`spec/link.md` 2 and 8).
///
/// * `mtu` is the link's MTU (20..=255), fixed for the transport's life: the controller
///   reassembles and fragments at it. The default is [`MTU`] (BLE); a stream link (TCP, UART)
///   usually carries 255 (`spec/link.md` 2.4).
/// * `receive` MUST NOT block. It returns the length of one whole fragment of at most `mtu`
///   bytes written to the start of `buf`, or `None` when nothing arrived. A stream link delimits
///   fragments itself, with [`porter_link::StreamDecoder`] and [`porter_link::frame::stream_prefix`].
/// * `send` transmits one fragment of at most `mtu` bytes, in order. It MAY fail (link lost);
///   the controller then drops the reply and carries on.
/// * Fragmentation, reassembly and timeouts are the controller's ([`porter_link::DoorLink`]);
///   the transport only moves fragments.
pub trait Transport {
    /// Takes one received fragment, if any.
    fn receive(&mut self, buf: &mut [u8; MAX_FRAGMENT]) -> Option<usize>;
    /// Sends one fragment.
    fn send(&mut self, fragment: &[u8]) -> Result<(), TransportError>;
    /// The link's MTU.
    fn mtu(&self) -> usize {
        MTU
    }
}

/// A fragment could not be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransportError;

/// What the controller shows the person at the door (LEDs, a buzzer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// Waiting for a phone.
    Idle,
    /// A challenge is out; waiting for the answer.
    Waiting,
    /// Entry granted: the door is released.
    Admitted,
    /// Entry refused.
    Denied,
    /// Retired: the door no longer locks out; kept so that indicator glue keeps compiling.
    LockedOut,
    /// An alarm (held open, forced open, clock behind the floor).
    Alarm,
    /// Not commissioned yet: grants are refused until the site root's enrolment is stored.
    NotEnrolled,
    /// Storage or entropy failed: the controller refuses everything (fails closed).
    Fault,
}

/// The indicator. `show` MUST NOT block and MAY ignore signals it cannot display.
pub trait Indicator {
    /// Shows `signal` until the next call.
    fn show(&mut self, signal: Signal);
}

/// NOR flash, as the controller's storage ([`crate::storage`]) needs it.
///
/// * The flash is `page_count()` pages of `page_size()` bytes; `page_size()` MUST be a multiple
///   of 4 and at least [`crate::storage::MIN_PAGE_SIZE`]. Offsets are bytes from the start of the
///   region given to the controller.
/// * `erase_page` sets every byte of the page to `0xFF`. Power loss during it MAY leave any mix of
///   erased and old words.
/// * `program_word` writes a 4-byte little-endian word at a 4-aligned offset whose word reads
///   `0xFFFF_FFFF` (erased); programming a word twice without erase is never done. Power loss
///   during it MAY leave any subset of the word's zero bits programmed (a torn word).
/// * Operations are durable and ordered once they return `Ok`: a later read, after any power
///   loss, sees them.
/// * Pages wear out after a limited number of erase cycles (typically 10k-100k); the storage
///   spreads erases over its pages, see `device-fw/README.md`.
/// * Any `Err` is treated as a failed operation: the controller fails closed and does not move
///   the relay on the strength of a write that did not complete.
pub trait NorFlash {
    /// Bytes per erasable page.
    fn page_size(&self) -> usize;
    /// Pages in the region.
    fn page_count(&self) -> usize;
    /// Reads `buf.len()` bytes at `offset`.
    fn read(&mut self, offset: usize, buf: &mut [u8]) -> Result<(), FlashError>;
    /// Erases page `page` (0-based).
    fn erase_page(&mut self, page: usize) -> Result<(), FlashError>;
    /// Programs one erased word at the 4-aligned `offset`.
    fn program_word(&mut self, offset: usize, word: u32) -> Result<(), FlashError>;
}

/// A flash operation failed (out of range, unaligned, hardware error, or power lost).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlashError {
    /// The offset or page is outside the region, or not word-aligned.
    OutOfBounds,
    /// The device reported an error, or power was lost mid-operation.
    Device,
    /// A word was programmed that was not erased: a bug in the caller.
    NotErased,
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use proptest::prelude::*;

    fn divisor(d: u16) -> NonZeroU16 {
        NonZeroU16::new(d).unwrap()
    }

    /// Every divisor the boards use and the edges of the 16-bit digits, against every
    /// numerator at the edges of each digit and of each multiple of the divisor there.
    #[test]
    fn dividing_in_16_bit_steps_equals_dividing_a_u64_at_the_edges() {
        let divisors = [1u16, 2, 3, 7, 60, 255, 256, 1000, 25_000, 32_767, 32_768, 65_534, 65_535];
        for d in divisors {
            let mut numerators = std::vec::Vec::new();
            for shift in [0u32, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63] {
                let base = 1u64 << shift;
                let multiple = base / u64::from(d) * u64::from(d);
                for around in [base, base.wrapping_sub(1), multiple, multiple.wrapping_sub(1)] {
                    numerators.extend([
                        around,
                        around.wrapping_add(1),
                        around.wrapping_add(u64::from(d)),
                    ]);
                }
            }
            numerators.extend([0, u64::MAX, u64::MAX - u64::from(d), u64::MAX / 2]);
            for n in numerators {
                assert_eq!(div_u64_by_u16(n, divisor(d)), n / u64::from(d), "{n} / {d}");
            }
        }
        // Every numerator below 2^20 for the board's two divisors (SysTick ticks per
        // millisecond, milliseconds per second).
        for n in 0..1u64 << 20 {
            assert_eq!(div_u64_by_u16(n, divisor(25_000)), n / 25_000);
            assert_eq!(div_u64_by_u16(n, divisor(1000)), n / 1000);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn dividing_in_16_bit_steps_equals_dividing_a_u64(n in any::<u64>(), d in 1u16..) {
            prop_assert_eq!(div_u64_by_u16(n, divisor(d)), n / u64::from(d));
        }
    }
}
