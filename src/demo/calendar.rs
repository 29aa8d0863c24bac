//! Time for the generator: instants are `i64` milliseconds since the Unix epoch (UTC), written
//! by hand in the COPY timestamp format; a tenant's [`Calendar`] knows its local days (through
//! chrono-tz), opening hours and holidays.

use chrono::{Datelike, Days, NaiveDate, TimeZone};
use chrono_tz::Tz;

/// Milliseconds since 1970-01-01T00:00:00Z.
pub type Ms = i64;

pub const SECOND: Ms = 1_000;
pub const MINUTE: Ms = 60 * SECOND;
pub const HOUR: Ms = 60 * MINUTE;
pub const DAY: Ms = 24 * HOUR;

/// Whole seconds of a non-negative span, rounded half up (as PostgreSQL's `round` does for
/// positive numbers).
#[inline]
pub fn seconds(span: Ms) -> i64 {
    debug_assert!(span >= 0, "negative span {span}");
    (span + 500).div_euclid(1000)
}

/// Nudges a span off an exact half second, so every way of rounding it agrees.
#[inline]
pub fn unambiguous(span: Ms) -> Ms {
    if span.rem_euclid(1000) == 500 { span + 1 } else { span }
}

/// Midnight UTC at the start of `date`.
pub fn utc_midnight(date: NaiveDate) -> Ms {
    date.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc().timestamp_millis()
}

/// The UTC date and time of an instant as (year, month, day, hour, minute, second, millisecond).
pub fn civil(ms: Ms) -> (i64, u32, u32, u32, u32, u32, u32) {
    let days = ms.div_euclid(DAY);
    let rem = ms.rem_euclid(DAY);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = if m <= 2 { y + 1 } else { y };
    let secs = rem / 1000;
    (y, m, d, (secs / 3600) as u32, ((secs / 60) % 60) as u32, (secs % 60) as u32, (rem % 1000) as u32)
}

/// Appends `YYYY-MM-DD HH:MM:SS.mmm+00`.
pub fn write_timestamp(buf: &mut Vec<u8>, ms: Ms) {
    let (y, mo, d, h, mi, s, milli) = civil(ms);
    let y = y.clamp(0, 9999) as u32;
    let mut out = *b"0000-00-00 00:00:00.000+00";
    out[0] = b'0' + (y / 1000) as u8;
    out[1] = b'0' + (y / 100 % 10) as u8;
    out[2] = b'0' + (y / 10 % 10) as u8;
    out[3] = b'0' + (y % 10) as u8;
    two(&mut out[5..7], mo);
    two(&mut out[8..10], d);
    two(&mut out[11..13], h);
    two(&mut out[14..16], mi);
    two(&mut out[17..19], s);
    out[20] = b'0' + (milli / 100) as u8;
    out[21] = b'0' + (milli / 10 % 10) as u8;
    out[22] = b'0' + (milli % 10) as u8;
    buf.extend_from_slice(&out);
}

#[inline]
fn two(out: &mut [u8], v: u32) {
    out[0] = b'0' + (v / 10) as u8;
    out[1] = b'0' + (v % 10) as u8;
}

/// Result of a workflow's opening check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    Open,
    Closed,
    Holiday,
}

impl Opening {
    pub fn as_str(self) -> &'static str {
        match self {
            Opening::Open => "Open",
            Opening::Closed => "Closed",
            Opening::Holiday => "Holiday",
        }
    }
}

/// One local calendar day of a tenant.
#[derive(Debug, Clone)]
pub struct Day {
    /// Local midnight at the start of the day, as a UTC instant.
    pub midnight: Ms,
    /// Local noon, as a UTC instant.
    pub noon: Ms,
    /// Local midnight at the end of the day.
    pub end: Ms,
    /// 0 = Monday ... 6 = Sunday.
    pub weekday: u32,
    pub holiday: bool,
    /// The channels' opening hours that day, as UTC instants.
    pub open: Option<(Ms, Ms)>,
}

/// The local days of a tenant's activity period, up to `cutoff` (the "now" of the data set).
#[derive(Debug, Clone)]
pub struct Calendar {
    pub days: Vec<Day>,
    pub cutoff: Ms,
}

/// Opening hours (local, hours and minutes): weekdays 08:00-20:00, Saturday 09:00-14:00,
/// closed on Sunday and on holidays.
fn opening_hours(weekday: u32) -> Option<((u32, u32), (u32, u32))> {
    match weekday {
        0..=4 => Some(((8, 0), (20, 0))),
        5 => Some(((9, 0), (14, 0))),
        _ => None,
    }
}

fn local(tz: Tz, date: NaiveDate, h: u32, m: u32) -> Ms {
    let naive = date.and_hms_opt(h, m, 0).expect("valid local time");
    match tz.from_local_datetime(&naive).earliest() {
        Some(t) => t.timestamp_millis(),
        // In a spring-forward gap: the same wall time an hour later exists.
        None => local(tz, date, h + 1, m) - HOUR,
    }
}

impl Calendar {
    /// `count` local days starting at `first`; `holidays` are (month, day) pairs.
    pub fn new(tz: Tz, first: NaiveDate, count: u32, cutoff: Ms, holidays: &[(u32, u32)]) -> Self {
        let days = (0..count)
            .map(|i| {
                let date = first + Days::new(u64::from(i));
                let next = date + Days::new(1);
                let weekday = date.weekday().num_days_from_monday();
                let holiday = holidays.contains(&(date.month(), date.day()));
                let open = if holiday {
                    None
                } else {
                    opening_hours(weekday)
                        .map(|((h0, m0), (h1, m1))| (local(tz, date, h0, m0), local(tz, date, h1, m1)))
                };
                Day {
                    midnight: local(tz, date, 0, 0),
                    noon: local(tz, date, 12, 0),
                    end: local(tz, next, 0, 0),
                    weekday,
                    holiday,
                    open,
                }
            })
            .collect();
        Calendar { days, cutoff }
    }

    pub fn len(&self) -> usize {
        self.days.len()
    }

    /// The instant `seconds` (local wall-clock seconds after midnight) into day `day`.
    pub fn at(&self, day: usize, seconds: f64) -> Ms {
        let d = &self.days[day];
        let ms = (seconds * 1000.0) as Ms;
        if ms < 4 * HOUR { d.midnight + ms } else { d.noon + (ms - 12 * HOUR) }
    }

    /// The day containing `t`, if within the period.
    pub fn day_of(&self, t: Ms) -> Option<usize> {
        let i = self.days.partition_point(|d| d.midnight <= t);
        if i == 0 {
            return None;
        }
        let d = &self.days[i - 1];
        (t < d.end).then_some(i - 1)
    }

    /// What the opening check says at `t`.
    pub fn opening(&self, t: Ms) -> Opening {
        match self.day_of(t) {
            Some(i) => {
                let d = &self.days[i];
                match d.open {
                    Some((a, b)) if a <= t && t < b => Opening::Open,
                    _ if d.holiday => Opening::Holiday,
                    _ => Opening::Closed,
                }
            }
            None => Opening::Closed,
        }
    }

    pub fn is_open(&self, t: Ms) -> bool {
        self.opening(t) == Opening::Open
    }

    /// Milliseconds of `[a, b)` that fall within opening hours.
    pub fn open_overlap(&self, a: Ms, b: Ms) -> Ms {
        if b <= a {
            return 0;
        }
        let start = self.day_of(a).unwrap_or(0);
        let mut total = 0;
        for d in &self.days[start..] {
            if d.midnight >= b {
                break;
            }
            if let Some((o, c)) = d.open {
                let lo = a.max(o);
                let hi = b.min(c);
                if hi > lo {
                    total += hi - lo;
                }
            }
        }
        total
    }

    /// The first instant at or after `t` within opening hours, if any in the period.
    pub fn next_open(&self, t: Ms) -> Option<Ms> {
        let start = self.day_of(t).unwrap_or(0);
        self.days[start..].iter().find_map(|d| match d.open {
            Some((o, c)) if t < c => Some(t.max(o)),
            _ => None,
        })
    }
}
