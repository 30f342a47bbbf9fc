//! A site's time zone: a POSIX TZ rule of the `Mm.w.d[/time]` form, evaluated on the door.
//!
//! Issuers' [`Hours`](crate::Hours) are wall-clock hours at the building. The root certifies
//! the site's zone in every issuer certificate ([`IssuerLimits::zone`](crate::IssuerLimits)),
//! so the door, the server and every tool judge hours by one source, present before any door
//! state exists, and daylight saving needs no re-signing twice a year.
//!
//! Supported: `STD offset [DST [offset] ,start[/time],end[/time]]` with `Mm.w.d` dates (the form
//! every current tzdata rule uses), names of 3 to 6 letters or `<...>` quoted names of 3 to 6
//! letters, digits, `+` and `-`, offsets within ±23:59, transition times within ±167 hours,
//! in minutes. Not supported (refused): Julian `Jn` and `n` dates, seconds in offsets or times.
//!
//! Evaluation is 32-bit: a Cortex-M4 divides 32-bit numbers in hardware, 64-bit ones in a
//! library routine.

use core::fmt;

use heapless::Vec;
use serde::{Deserialize, Serialize};

use crate::scope::Time;
use crate::wire::{Decode, Reader};
use crate::Error;

/// The longest zone abbreviation, in characters (POSIX requires at least 3).
pub const MAX_ZONE_NAME: usize = 6;

/// The widest offset from UTC, in minutes: 23:59.
const MAX_OFFSET_MINUTES: u16 = 24 * 60 - 1;
/// The widest transition time of day, in minutes: ±167 hours (RFC 8536, section 3.3.1).
const MAX_TRANSITION_MINUTES: u16 = 167 * 60;
/// POSIX's default transition time: 02:00 local.
const DEFAULT_TRANSITION_MINUTE: i16 = 120;
/// POSIX's default daylight offset: one hour ahead of standard time.
const DEFAULT_DST_SHIFT: i16 = 60;

/// A zone abbreviation: 3..=6 ASCII letters, digits, `+` or `-`. On the wire it is a length
/// then the bytes, exactly like a string.
type ZoneName = Vec<u8, MAX_ZONE_NAME>;

/// A site's time zone: standard time and, optionally, a daylight-saving rule.
///
/// Fields are private: build one with [`TimeZone::parse_posix`] or use [`TimeZone::UTC`].
/// A decoded certificate's zone is checked by the certificate decoder
/// (`decode_invalid_field` for names, ranges or a rule whose start equals its end).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TimeZone {
    /// Standard time's abbreviation.
    std_name: ZoneName,
    /// Standard time's offset east of UTC in minutes (POSIX writes it with the opposite sign).
    std_offset: i16,
    /// Daylight saving, if the site observes it.
    dst: Option<DaylightSaving>,
}

/// The daylight-saving part of a [`TimeZone`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct DaylightSaving {
    /// Daylight time's abbreviation.
    name: ZoneName,
    /// Daylight time's offset east of UTC in minutes.
    offset: i16,
    /// When daylight time starts, in local standard time.
    start: Transition,
    /// When daylight time ends, in local daylight time.
    end: Transition,
}

/// `Mm.w.d/time`: weekday `d` (0 = Sunday) of week `w` (1..=5, 5 = the last) of month `m`,
/// at `minute` minutes after that day's local midnight (may be negative or past 24 hours).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Transition {
    month: u8,
    week: u8,
    weekday: u8,
    minute: i16,
}

impl TimeZone {
    /// Coordinated Universal Time, `UTC0`.
    pub const UTC: TimeZone = TimeZone { std_name: utc_name(), std_offset: 0, dst: None };

    /// Parses a POSIX TZ rule such as `CET-1CEST,M3.5.0,M10.5.0/3` (see the module docs for
    /// the supported form). Errors with `decode_invalid_field` on anything else.
    pub fn parse_posix(text: &str) -> Result<TimeZone, Error> {
        let mut p = Parser { rest: text.as_bytes() };
        let std_name = p.name()?;
        let std_offset = p.offset()?;
        let dst = if p.rest.is_empty() {
            None
        } else {
            let name = p.name()?;
            let offset = if p.peek() == Some(b',') {
                std_offset.saturating_add(DEFAULT_DST_SHIFT)
            } else {
                p.offset()?
            };
            p.expect(b',')?;
            let start = p.transition()?;
            p.expect(b',')?;
            let end = p.transition()?;
            Some(DaylightSaving { name, offset, start, end })
        };
        if !p.rest.is_empty() {
            return Err(Error::DecodeInvalidField);
        }
        let zone = TimeZone { std_name, std_offset, dst };
        zone.check()?;
        Ok(zone)
    }

    /// Standard time's offset east of UTC, in minutes.
    pub fn standard_offset_minutes(&self) -> i16 {
        self.std_offset
    }

    /// Whether the zone has a daylight-saving rule.
    pub fn observes_daylight_saving(&self) -> bool {
        self.dst.is_some()
    }

    /// Local time at the site, as seconds since 1970-01-01 00:00 local (what `Hours` judge).
    /// Saturates at both ends of `u32` rather than wrapping.
    pub fn local_seconds(&self, utc: Time) -> u32 {
        let offset = match &self.dst {
            Some(dst) if dst.in_force(self.std_offset, utc.0) => dst.offset,
            _ => self.std_offset,
        };
        shift(utc.0, offset)
    }

    /// Checks names and ranges: the rules [`TimeZone::parse_posix`] enforces, for a decoded
    /// zone.
    pub(crate) fn check(&self) -> Result<(), Error> {
        check_name(&self.std_name)?;
        check_offset(self.std_offset)?;
        if let Some(dst) = &self.dst {
            check_name(&dst.name)?;
            check_offset(dst.offset)?;
            dst.start.check()?;
            dst.end.check()?;
            if dst.start == dst.end {
                return Err(Error::DecodeInvalidField);
            }
        }
        Ok(())
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        TimeZone::UTC
    }
}

const fn utc_name() -> ZoneName {
    Vec::from_array(*b"UTC")
}

/// `seconds + minutes * 60`, saturating within `u32`.
fn shift(seconds: u32, minutes: i16) -> u32 {
    seconds.saturating_add_signed(i32::from(minutes) * 60)
}

impl DaylightSaving {
    /// Whether daylight time is in force at `utc`. The transitions are those of the calendar
    /// year of standard local time; a rule whose start month follows its end month (the
    /// southern hemisphere) is in force outside `[end, start)` rather than inside
    /// `[start, end)`.
    fn in_force(&self, std_offset: i16, utc: u32) -> bool {
        let year = year_of_day(shift(utc, std_offset) / 86_400);
        // The start is written in standard time, the end in daylight time.
        let start = shift(self.start.local_instant(year), std_offset.saturating_neg());
        let end = shift(self.end.local_instant(year), self.offset.saturating_neg());
        if start < end {
            start <= utc && utc < end
        } else {
            utc < end || start <= utc
        }
    }
}

impl Transition {
    fn check(&self) -> Result<(), Error> {
        if !(1..=12).contains(&self.month)
            || !(1..=5).contains(&self.week)
            || self.weekday > 6
            || self.minute.unsigned_abs() > MAX_TRANSITION_MINUTES
        {
            return Err(Error::DecodeInvalidField);
        }
        Ok(())
    }

    /// The transition as local seconds since the epoch, in `year`.
    fn local_instant(&self, year: u32) -> u32 {
        let month = u32::from(self.month.clamp(1, 12));
        let first = days_from_civil(year, month, 1);
        let next_month = if month == 12 {
            days_from_civil(year + 1, 1, 1)
        } else {
            days_from_civil(year, month + 1, 1)
        };
        // 1970-01-01 was a Thursday: weekday 4 counting Sunday as 0.
        let first_weekday = (first + 4) % 7;
        let wanted = u32::from(self.weekday % 7);
        let mut day =
            first + (wanted + 7 - first_weekday) % 7 + 7 * u32::from(self.week.max(1) - 1);
        while day >= next_month {
            day -= 7;
        }
        shift(day.saturating_mul(86_400), self.minute)
    }
}

/// Days since 1970-01-01 of a date in the proleptic Gregorian calendar, for years from 1970.
/// (H. Hinnant's `days_from_civil`, in unsigned 32-bit arithmetic.)
fn days_from_civil(year: u32, month: u32, day: u32) -> u32 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).saturating_sub(719_468)
}

/// The calendar year of a day counted from 1970-01-01 (H. Hinnant's `civil_from_days`).
fn year_of_day(days: u32) -> u32 {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // mp counts from March: 10 and 11 are January and February of the next year.
    yoe + era * 400 + u32::from(mp >= 10)
}

fn check_name(name: &[u8]) -> Result<(), Error> {
    let ok = name.len() >= 3
        && name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::DecodeInvalidField)
    }
}

fn check_offset(minutes: i16) -> Result<(), Error> {
    if minutes.unsigned_abs() > MAX_OFFSET_MINUTES {
        return Err(Error::DecodeInvalidField);
    }
    Ok(())
}

/// A cursor over the POSIX text. Every error is `decode_invalid_field`.
struct Parser<'t> {
    rest: &'t [u8],
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let (&first, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(first)
    }

    fn expect(&mut self, byte: u8) -> Result<(), Error> {
        if self.bump() == Some(byte) {
            Ok(())
        } else {
            Err(Error::DecodeInvalidField)
        }
    }

    /// `abc` (letters) or `<ab+1>` (letters, digits, `+`, `-`), 3..=6 characters.
    fn name(&mut self) -> Result<ZoneName, Error> {
        let mut name = ZoneName::new();
        let quoted = self.peek() == Some(b'<');
        if quoted {
            self.bump();
        }
        while let Some(b) = self.peek() {
            let takes = if quoted {
                b.is_ascii_alphanumeric() || b == b'+' || b == b'-'
            } else {
                b.is_ascii_alphabetic()
            };
            if !takes {
                break;
            }
            self.bump();
            name.push(b).map_err(|_| Error::DecodeInvalidField)?;
        }
        if quoted {
            self.expect(b'>')?;
        }
        check_name(&name)?;
        Ok(name)
    }

    /// An unsigned number of at most `digits` digits.
    fn number(&mut self, digits: usize) -> Result<u16, Error> {
        let mut value: u16 = 0;
        let mut seen = 0;
        while let Some(b @ b'0'..=b'9') = self.peek() {
            if seen == digits {
                return Err(Error::DecodeInvalidField);
            }
            self.bump();
            value = value * 10 + u16::from(b - b'0');
            seen += 1;
        }
        if seen == 0 {
            return Err(Error::DecodeInvalidField);
        }
        Ok(value)
    }

    /// `[+-]h[h[h]][:mm]` as signed minutes, POSIX sign (positive = the text's sign).
    fn signed_minutes(&mut self, hour_digits: usize) -> Result<i16, Error> {
        let negative = match self.peek() {
            Some(b'-') => {
                self.bump();
                true
            }
            Some(b'+') => {
                self.bump();
                false
            }
            _ => false,
        };
        let hours = self.number(hour_digits)?;
        let minutes = if self.peek() == Some(b':') {
            self.bump();
            let m = self.number(2)?;
            if m >= 60 {
                return Err(Error::DecodeInvalidField);
            }
            m
        } else {
            0
        };
        if self.peek() == Some(b':') {
            // Seconds: no current rule needs them, and the door counts in minutes.
            return Err(Error::DecodeInvalidField);
        }
        let total = i16::try_from(hours * 60 + minutes).map_err(|_| Error::DecodeInvalidField)?;
        Ok(if negative { -total } else { total })
    }

    /// A POSIX offset (hours west of UTC) as minutes east of UTC.
    fn offset(&mut self) -> Result<i16, Error> {
        let west = self.signed_minutes(2)?;
        check_offset(west)?;
        Ok(-west)
    }

    /// `Mm.w.d[/time]`.
    fn transition(&mut self) -> Result<Transition, Error> {
        self.expect(b'M')?;
        let month = self.number(2)?;
        self.expect(b'.')?;
        let week = self.number(1)?;
        self.expect(b'.')?;
        let weekday = self.number(1)?;
        let minute = if self.peek() == Some(b'/') {
            self.bump();
            let minute = self.signed_minutes(3)?;
            if minute.unsigned_abs() > MAX_TRANSITION_MINUTES {
                return Err(Error::DecodeInvalidField);
            }
            minute
        } else {
            DEFAULT_TRANSITION_MINUTE
        };
        let narrow = |n: u16| u8::try_from(n).map_err(|_| Error::DecodeInvalidField);
        let transition = Transition {
            month: narrow(month)?,
            week: narrow(week)?,
            weekday: narrow(weekday)?,
            minute,
        };
        transition.check()?;
        Ok(transition)
    }
}

/// Writes `[-]h[:mm]`: the canonical form of a POSIX offset or time.
fn write_minutes(f: &mut fmt::Formatter<'_>, minutes: i16) -> fmt::Result {
    if minutes < 0 {
        f.write_str("-")?;
    }
    let m = minutes.unsigned_abs();
    write!(f, "{}", m / 60)?;
    if m % 60 != 0 {
        write!(f, ":{:02}", m % 60)?;
    }
    Ok(())
}

fn write_name(f: &mut fmt::Formatter<'_>, name: &[u8]) -> fmt::Result {
    let quoted = !name.iter().all(u8::is_ascii_alphabetic);
    if quoted {
        f.write_str("<")?;
    }
    for &b in name {
        write!(f, "{}", char::from(b))?;
    }
    if quoted {
        f.write_str(">")?;
    }
    Ok(())
}

/// The canonical POSIX string: `parse_posix(zone.to_string()) == zone`, defaults omitted
/// (a daylight offset one hour ahead, a `/2` transition time), no leading zeros.
impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_name(f, &self.std_name)?;
        write_minutes(f, self.std_offset.saturating_neg())?;
        if let Some(dst) = &self.dst {
            write_name(f, &dst.name)?;
            if dst.offset != self.std_offset.saturating_add(DEFAULT_DST_SHIFT) {
                write_minutes(f, dst.offset.saturating_neg())?;
            }
            for t in [dst.start, dst.end] {
                write!(f, ",M{}.{}.{}", t.month, t.week, t.weekday)?;
                if t.minute != DEFAULT_TRANSITION_MINUTE {
                    f.write_str("/")?;
                    write_minutes(f, t.minute)?;
                }
            }
        }
        Ok(())
    }
}

impl Decode<'_> for TimeZone {
    fn decode(r: &mut Reader<'_>) -> TimeZone {
        TimeZone { std_name: r.list(), std_offset: r.i16(), dst: r.option() }
    }
}

impl Decode<'_> for DaylightSaving {
    fn decode(r: &mut Reader<'_>) -> DaylightSaving {
        DaylightSaving {
            name: r.list(),
            offset: r.i16(),
            start: Transition::decode(r),
            end: Transition::decode(r),
        }
    }
}

impl Decode<'_> for Transition {
    fn decode(r: &mut Reader<'_>) -> Transition {
        Transition { month: r.u8(), week: r.u8(), weekday: r.u8(), minute: r.i16() }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::ToString;

    use super::*;

    /// Seconds since the epoch of a UTC date and time.
    fn utc(year: u32, month: u32, day: u32, hour: u32, minute: u32) -> Time {
        Time(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60)
    }

    /// The local offset in force at `at`, in minutes.
    fn offset_at(zone: &TimeZone, at: Time) -> i64 {
        (i64::from(zone.local_seconds(at)) - i64::from(at.0)) / 60
    }

    fn zone(text: &str) -> TimeZone {
        TimeZone::parse_posix(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn calendar_arithmetic_matches_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2026, 11, 23), 1_795_392_000 / 86_400); // a Monday
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for days in [0, 59, 365, 10_956, 11_016, 11_017, 20_819, 20_820, 49_709] {
            let year = year_of_day(days);
            assert!(days_from_civil(year, 1, 1) <= days && days < days_from_civil(year + 1, 1, 1));
        }
    }

    #[test]
    fn rule_days_are_the_right_sundays_in_every_year_a_time_can_name() {
        let paris = zone("CET-1CEST,M3.5.0,M10.5.0/3");
        let new_york = zone("EST5EDT,M3.2.0,M11.1.0");
        let on_a_sunday_between = |zone: &TimeZone, year: u32, month: u32, days: [u32; 2]| {
            let dst = zone.dst.as_ref().map(|d| d.start).expect("a daylight-saving rule");
            assert_eq!(u32::from(dst.month), month);
            let day = (dst.local_instant(year) - 120 * 60) / 86_400;
            let first = days_from_civil(year, month, days[0]);
            assert!((first..=first + days[1] - days[0]).contains(&day), "{zone} {year}");
            assert_eq!((day + 4) % 7, 0, "{zone} {year}: not a Sunday");
        };
        for year in 1971..=2105 {
            on_a_sunday_between(&paris, year, 3, [25, 31]);
            on_a_sunday_between(&new_york, year, 3, [8, 14]);
            // And local time around each change moves by exactly the daylight shift.
            let start = paris.dst.as_ref().map_or(0, |d| d.start.local_instant(year)) - 3600;
            assert_eq!(offset_at(&paris, Time(start - 1)), 60, "{year}");
            assert_eq!(offset_at(&paris, Time(start)), 120, "{year}");
        }
    }

    #[test]
    fn europe_switches_at_one_utc_on_the_last_sundays() {
        let paris = zone("CET-1CEST,M3.5.0,M10.5.0/3");
        // 2026: 29 March and 25 October, both at 01:00 UTC.
        assert_eq!(offset_at(&paris, utc(2026, 3, 29, 0, 59)), 60);
        assert_eq!(offset_at(&paris, utc(2026, 3, 29, 1, 0)), 120);
        assert_eq!(offset_at(&paris, utc(2026, 10, 25, 0, 59)), 120);
        assert_eq!(offset_at(&paris, utc(2026, 10, 25, 1, 0)), 60);
        // Local wall clock: 01:59 -> 03:00 in spring.
        let before = paris.local_seconds(utc(2026, 3, 29, 0, 59)) % 86_400;
        let after = paris.local_seconds(utc(2026, 3, 29, 1, 0)) % 86_400;
        assert_eq!((before / 60, after / 60), (60 + 59, 3 * 60));
    }

    #[test]
    fn united_states_switches_on_the_second_and_first_sundays() {
        let new_york = zone("EST5EDT,M3.2.0,M11.1.0");
        // 2026: 8 March 02:00 EST = 07:00 UTC; 1 November 02:00 EDT = 06:00 UTC.
        assert_eq!(offset_at(&new_york, utc(2026, 3, 8, 6, 59)), -300);
        assert_eq!(offset_at(&new_york, utc(2026, 3, 8, 7, 0)), -240);
        assert_eq!(offset_at(&new_york, utc(2026, 11, 1, 5, 59)), -240);
        assert_eq!(offset_at(&new_york, utc(2026, 11, 1, 6, 0)), -300);
    }

    #[test]
    fn australia_keeps_daylight_time_across_new_year() {
        let sydney = zone("AEST-10AEDT,M10.1.0,M4.1.0/3");
        // 2026: ends 5 April 03:00 AEDT = 4 April 16:00 UTC; starts 4 October 02:00 AEST =
        // 3 October 16:00 UTC.
        assert_eq!(offset_at(&sydney, utc(2026, 1, 1, 0, 0)), 660);
        assert_eq!(offset_at(&sydney, utc(2026, 4, 4, 15, 59)), 660);
        assert_eq!(offset_at(&sydney, utc(2026, 4, 4, 16, 0)), 600);
        assert_eq!(offset_at(&sydney, utc(2026, 10, 3, 15, 59)), 600);
        assert_eq!(offset_at(&sydney, utc(2026, 10, 3, 16, 0)), 660);
        assert_eq!(offset_at(&sydney, utc(2026, 12, 31, 23, 0)), 660);
    }

    #[test]
    fn zones_without_daylight_saving_are_a_fixed_shift() {
        assert_eq!(TimeZone::UTC.local_seconds(Time(1_000)), 1_000);
        assert_eq!(offset_at(&zone("IST-5:30"), utc(2026, 6, 1, 0, 0)), 330);
        assert_eq!(offset_at(&zone("<-03>3"), utc(2026, 6, 1, 0, 0)), -180);
        // Saturates instead of wrapping before the epoch.
        assert_eq!(zone("<-03>3").local_seconds(Time(60)), 0);
    }

    #[test]
    fn display_writes_the_canonical_rule_back() {
        for canonical in [
            "UTC0",
            "CET-1CEST,M3.5.0,M10.5.0/3",
            "EST5EDT,M3.2.0,M11.1.0",
            "AEST-10AEDT,M10.1.0,M4.1.0/3",
            "IST-5:30",
            "<-03>3",
            "<+0330>-3:30",
            "IST-2IDT,M3.4.4/26,M10.5.0",
            "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
            "LHST-10:30LHDT-11,M10.1.0,M4.1.0",
        ] {
            assert_eq!(zone(canonical).to_string(), canonical);
        }
        assert_eq!(TimeZone::UTC.to_string(), "UTC0");
        assert_eq!(zone("UTC0"), TimeZone::UTC);
        assert_eq!(
            zone("CET-01:00CEST-2,M03.5.0/02,M10.5.0/3:00").to_string(),
            zone("CET-1CEST,M3.5.0,M10.5.0/3").to_string()
        );
    }

    #[test]
    fn parse_refuses_what_the_door_cannot_evaluate() {
        for bad in [
            "",
            "UT0",                          // name too short
            "ABCDEFG0",                     // name too long
            "CET",                          // no offset
            "CET-24",                       // offset out of range
            "CET-1:60",                     // minutes out of range
            "CET-1:00:30",                  // seconds
            "CET-1CEST",                    // daylight name without rule
            "CET-1CEST,J60,J300",           // Julian dates
            "CET-1CEST,M13.5.0,M10.5.0",    // month
            "CET-1CEST,M3.6.0,M10.5.0",     // week
            "CET-1CEST,M3.5.7,M10.5.0",     // weekday
            "CET-1CEST,M3.5.0/168,M10.5.0", // time out of range
            "CET-1CEST,M3.5.0,M3.5.0",      // start equals end
            "CET-1 ",                       // trailing
            "<AB>1",                        // quoted name too short
        ] {
            assert_eq!(TimeZone::parse_posix(bad), Err(Error::DecodeInvalidField), "{bad:?}");
        }
    }

    #[test]
    fn decoded_zones_are_checked_like_parsed_ones() {
        let mut bad = zone("CET-1CEST,M3.5.0,M10.5.0/3");
        if let Some(dst) = &mut bad.dst {
            dst.start.weekday = 7;
        }
        assert_eq!(bad.check(), Err(Error::DecodeInvalidField));
        let mut bad = TimeZone::UTC;
        bad.std_name = Vec::from_array(*b"U C");
        assert_eq!(bad.check(), Err(Error::DecodeInvalidField));
        let mut bad = TimeZone::UTC;
        bad.std_offset = 1440;
        assert_eq!(bad.check(), Err(Error::DecodeInvalidField));
    }
}
