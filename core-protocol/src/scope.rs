//! Who, where and when: site and door identifiers, roles, door sets and daily hours.

use heapless::Vec;
use serde::{Deserialize, Serialize};

use crate::wire::{Decode, Encode, Reader, Writer};
use crate::Error;

/// A site (a building), chosen at random when its root key is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SiteId(pub u32);

/// A door within a site.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DoorId(pub u16);

/// Seconds since the Unix epoch, UTC. u32 lasts until 2106.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Time(pub u32);

impl Time {
    /// `self + seconds`, saturating at the end of time.
    pub const fn plus(self, seconds: u32) -> Time {
        Time(self.0.saturating_add(seconds))
    }
    /// `self - seconds`, saturating at the epoch.
    pub const fn minus(self, seconds: u32) -> Time {
        Time(self.0.saturating_sub(seconds))
    }
}

/// Why someone may enter. Grants carry one role; certificates allow a set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum Role {
    /// A carrier's driver delivering a package.
    Delivery = 0,
    /// A contractor on a service call booked by the property manager.
    Service = 1,
}

impl Role {
    /// Every role, in wire order.
    pub const ALL: [Role; 2] = [Role::Delivery, Role::Service];
}

/// A set of roles as a bit mask (bit n = role with wire number n).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RoleSet(pub u8);

impl RoleSet {
    /// Every role this version knows. A certificate allowing any other bit is refused
    /// (`decode_invalid_field`): a role a door does not know cannot be judged.
    pub const KNOWN: RoleSet = RoleSet(0b11);

    /// Whether the set contains `role`.
    pub const fn contains(self, role: Role) -> bool {
        self.0 & (1 << role as u8) != 0
    }
    /// The set holding exactly `role`.
    pub const fn only(role: Role) -> RoleSet {
        RoleSet(1 << role as u8)
    }
}

/// The most doors a grant may name. A grant for a building's street door and a lobby door
/// needs two; four leaves room while keeping a grant under 160 bytes.
pub const MAX_GRANT_DOORS: usize = 4;
/// The most doors a certificate may list (a certificate can also allow every door).
pub const MAX_CERT_DOORS: usize = 16;

/// The doors an issuer certificate allows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DoorScope {
    /// Every door of the site.
    All,
    /// Only these doors, strictly increasing.
    Only(#[serde(deserialize_with = "crate::codec::u32_len_vec")] Vec<DoorId, MAX_CERT_DOORS>),
}

impl DoorScope {
    /// Whether the scope includes `door`.
    pub fn contains(&self, door: DoorId) -> bool {
        match self {
            DoorScope::All => true,
            DoorScope::Only(doors) => doors.binary_search(&door).is_ok(),
        }
    }
}

/// Checks a door list is non-empty and strictly increasing: one encoding per set.
pub(crate) fn check_door_list(doors: &[DoorId]) -> Result<(), Error> {
    if doors.is_empty() || doors.windows(2).any(|w| matches!(w, [a, b] if a >= b)) {
        return Err(Error::DecodeInvalidField);
    }
    Ok(())
}

/// When in the week an issuer may open doors, in the site's local time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hours {
    /// Allowed weekdays, bit 0 = Monday ... bit 6 = Sunday.
    pub weekdays: u8,
    /// First allowed minute of the day, 0..1440.
    pub from_minute: u16,
    /// First minute no longer allowed, 0..=1440. If not after `from_minute`, the window wraps
    /// past midnight and the weekday is that of the window's start.
    pub to_minute: u16,
}

impl Hours {
    /// Any time on any day.
    pub const ALWAYS: Hours = Hours { weekdays: 0x7f, from_minute: 0, to_minute: 1440 };

    /// Whether local time `local` (seconds since the epoch, shifted by the site's UTC offset)
    /// is inside the window. 32-bit arithmetic: a Cortex-M4 divides 32-bit numbers in
    /// hardware but 64-bit ones in a library routine.
    pub fn contains(&self, local: u32) -> bool {
        if *self == Hours::ALWAYS {
            return true;
        }
        let day = local / 86_400;
        let minute = ((local % 86_400) / 60) as u16;
        // 1970-01-01 was a Thursday: weekday 3 counting Monday as 0.
        let weekday = |day: u32| ((day + 3) % 7) as u8;
        let allowed = |day: u32| self.weekdays & (1 << weekday(day)) != 0;
        if self.from_minute < self.to_minute {
            allowed(day) && (self.from_minute..self.to_minute).contains(&minute)
        } else {
            (minute >= self.from_minute && allowed(day))
                || (minute < self.to_minute && day > 0 && allowed(day - 1))
        }
    }

    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.weekdays > 0x7f || self.from_minute >= 1440 || self.to_minute > 1440 {
            return Err(Error::DecodeInvalidField);
        }
        Ok(())
    }
}

impl Decode<'_> for SiteId {
    fn decode(r: &mut Reader<'_>) -> SiteId {
        SiteId(r.u32())
    }
}

impl Decode<'_> for DoorId {
    fn decode(r: &mut Reader<'_>) -> DoorId {
        DoorId(r.u16())
    }
}

impl Decode<'_> for Time {
    fn decode(r: &mut Reader<'_>) -> Time {
        Time(r.u32())
    }
}

impl Decode<'_> for Role {
    fn decode(r: &mut Reader<'_>) -> Role {
        match r.variant() {
            0 => Role::Delivery,
            1 => Role::Service,
            _ => r.refuse(Role::Delivery),
        }
    }
}

impl Decode<'_> for RoleSet {
    fn decode(r: &mut Reader<'_>) -> RoleSet {
        RoleSet(r.u8())
    }
}

impl Decode<'_> for DoorScope {
    fn decode(r: &mut Reader<'_>) -> DoorScope {
        match r.variant() {
            0 => DoorScope::All,
            1 => DoorScope::Only(r.list()),
            _ => r.refuse(DoorScope::All),
        }
    }
}

impl Decode<'_> for Hours {
    fn decode(r: &mut Reader<'_>) -> Hours {
        Hours { weekdays: r.u8(), from_minute: r.u16(), to_minute: r.u16() }
    }
}

impl Encode for SiteId {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.varint(self.0.into())
    }
}

impl Encode for DoorId {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.varint(self.0.into())
    }
}

impl Encode for Time {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.varint(self.0.into())
    }
}

impl Encode for Role {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.varint(*self as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-23 is a Monday.
    const MONDAY_MIDNIGHT: u32 = 1_795_392_000;

    #[test]
    fn weekday_arithmetic_matches_the_calendar() {
        let weekdays_only = Hours { weekdays: 0b001_1111, from_minute: 0, to_minute: 1440 };
        assert!(weekdays_only.contains(MONDAY_MIDNIGHT));
        assert!(!weekdays_only.contains(MONDAY_MIDNIGHT - 1)); // Sunday 23:59:59
        assert!(!weekdays_only.contains(MONDAY_MIDNIGHT + 5 * 86_400)); // Saturday
    }

    #[test]
    fn daytime_window_is_half_open() {
        let day = Hours { weekdays: 0x7f, from_minute: 8 * 60, to_minute: 20 * 60 };
        assert!(!day.contains(MONDAY_MIDNIGHT + 8 * 3600 - 1));
        assert!(day.contains(MONDAY_MIDNIGHT + 8 * 3600));
        assert!(day.contains(MONDAY_MIDNIGHT + 20 * 3600 - 1));
        assert!(!day.contains(MONDAY_MIDNIGHT + 20 * 3600));
    }

    #[test]
    fn night_window_wraps_and_belongs_to_its_start_day() {
        let monday_night = Hours { weekdays: 0b1, from_minute: 22 * 60, to_minute: 6 * 60 };
        assert!(monday_night.contains(MONDAY_MIDNIGHT + 23 * 3600));
        assert!(monday_night.contains(MONDAY_MIDNIGHT + 86_400 + 5 * 3600)); // Tuesday 05:00
        assert!(!monday_night.contains(MONDAY_MIDNIGHT + 5 * 3600)); // Monday 05:00: Sunday's night
        assert!(!monday_night.contains(MONDAY_MIDNIGHT + 12 * 3600));
    }

    #[test]
    fn door_lists_must_be_sorted_and_unique() {
        assert!(check_door_list(&[DoorId(1), DoorId(3)]).is_ok());
        assert!(check_door_list(&[]).is_err());
        assert!(check_door_list(&[DoorId(3), DoorId(1)]).is_err());
        assert!(check_door_list(&[DoorId(2), DoorId(2)]).is_err());
    }
}
