//! Fast, allocation-free writers for the JSON form of each primitive OData value.
//!
//! Each writer appends to a `Vec<u8>` and runs once per value on pages of millions of rows, so
//! none of them allocates beyond growing `out`, and digits are written by hand (no `format!`,
//! no chrono formatting). The one exception is [`write_f64`], which borrows the standard
//! library's shortest round-trip float printing through `core::fmt`, still without allocating.
//!
//! Invariant: every writer emits a complete, valid JSON token (or, for the unquoted temporal
//! writers, the exact text that goes between the quotes) and never panics, whatever the input.
//!
//! Temporal values follow the OData ABNF: the year has at least four digits, more when it is
//! above 9999 (no `+`), and a leading `-` when it is before year 0000. Year 0000 is 1 BC, as in
//! ISO 8601 and XML Schema 1.1 (PostgreSQL's `4713-01-01 BC` comes out as `-4712-01-01`).
//! PostgreSQL's timestamp and date ranges go far beyond 0001..9999; such values are written as
//! they are, never clamped, even though OData clients may refuse them.

use std::fmt;

use chrono::{DateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// `"00"`, `"01"`, … `"99"`: two digits per lookup.
const DIGITS2: [u8; 200] = {
    let mut table = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        table[2 * i] = b'0' + (i / 10) as u8;
        table[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    table
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// What follows the backslash for each byte that JSON requires to be escaped: `u` for the
/// `\u00XX` form, 0 for bytes written as they are (all of 0x20..=0xFF except `"` and `\`, so
/// the bytes of multi-byte UTF-8 sequences are never touched).
const ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = b'u';
        i += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0A] = b'n';
    table[0x0C] = b'f';
    table[0x0D] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// Writes `s` as a JSON string, quotes included.
///
/// Escapes `"`, `\` and the control characters below 0x20 (`\b \f \n \r \t`, the others as
/// `\u00XX` in lowercase hex), exactly as `serde_json` does; every other character, U+007F,
/// U+2028 and U+2029 included, is copied as UTF-8 (valid JSON; only JavaScript `eval` would mind).
pub fn write_string(out: &mut Vec<u8>, s: &str) {
    write_utf8(out, s.as_bytes());
}

/// Writes bytes already known to be UTF-8 (PostgreSQL's text in a UTF-8 database) as a JSON
/// string, escaped as `write_string` does, without validating them again.
pub fn write_utf8(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        let escape = ESCAPE[byte as usize];
        if escape == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        if escape == b'u' {
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(byte >> 4) as usize], HEX[(byte & 0xF) as usize]]);
        } else {
            out.extend_from_slice(&[b'\\', escape]);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Writes an integer as a JSON number.
pub fn write_i64(out: &mut Vec<u8>, v: i64) {
    let mut buf = Buf::<24>::new();
    if v < 0 {
        buf.push(b'-');
    }
    buf.push_uint(v.unsigned_abs(), 1);
    out.extend_from_slice(buf.as_slice());
}

/// Writes an integer as a JSON number.
pub fn write_i32(out: &mut Vec<u8>, v: i32) {
    write_i64(out, i64::from(v));
}

/// Writes an `Edm.Double`.
///
/// Finite values are JSON numbers with the fewest digits that parse back to the same `f64`:
/// plain notation for magnitudes in `[1e-6, 1e21)` (and zero, `-0` keeping its sign), exponent
/// notation such as `1e21` or `2.5e-7` outside it, the thresholds JavaScript uses. NaN and the
/// infinities are the JSON strings `"NaN"`, `"INF"` and `"-INF"`, as OData prescribes.
pub fn write_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"\"INF\"" } else { b"\"-INF\"" });
    } else {
        let magnitude = v.abs();
        let mut writer = VecWriter(out);
        // Writing into a Vec cannot fail.
        let _ = if magnitude == 0.0 || (1e-6..1e21).contains(&magnitude) {
            fmt::Write::write_fmt(&mut writer, format_args!("{v}"))
        } else {
            fmt::Write::write_fmt(&mut writer, format_args!("{v:e}"))
        };
    }
}

/// Writes an `Edm.DateTimeOffset`, without quotes, from microseconds since
/// 1970-01-01T00:00:00Z and an offset in seconds east of UTC.
///
/// The form is `YYYY-MM-DDThh:mm:ss`, then `.` and up to six fraction digits with trailing zeros
/// trimmed (nothing when the fraction is zero), then `Z` for a zero offset, else `+hh:mm` or
/// `-hh:mm`. The wall time shown is the local one, `micros_utc` plus the offset.
///
/// OData offsets have no seconds: an offset that is not a whole number of minutes (local mean
/// time before 1900 in the tz database, e.g. Budapest's +01:16:20) is rounded to the nearest
/// minute, half away from zero, and the wall time is computed with the rounded offset, so the
/// instant written is still exactly `micros_utc`. Offsets of 100 hours or more, which no time
/// zone has, get more hour digits.
pub fn write_datetimeoffset(out: &mut Vec<u8>, micros_utc: i64, offset_seconds: i32) {
    let mut buf = Buf::<64>::new();
    fill_datetimeoffset(&mut buf, micros_utc, offset_seconds);
    out.extend_from_slice(buf.as_slice());
}

/// [`write_datetimeoffset`] between double quotes: the JSON string for the value.
pub fn write_datetimeoffset_quoted(out: &mut Vec<u8>, micros_utc: i64, offset_seconds: i32) {
    let mut buf = Buf::<64>::new();
    buf.push(b'"');
    fill_datetimeoffset(&mut buf, micros_utc, offset_seconds);
    buf.push(b'"');
    out.extend_from_slice(buf.as_slice());
}

/// Writes an `Edm.Date`, without quotes, from days since 1970-01-01: `YYYY-MM-DD`.
pub fn write_date(out: &mut Vec<u8>, days: i32) {
    let mut buf = Buf::<32>::new();
    let (year, month, day) = civil_from_days(i64::from(days));
    buf.push_date(year, month, day);
    out.extend_from_slice(buf.as_slice());
}

/// Writes an `Edm.TimeOfDay`, without quotes, from microseconds since midnight:
/// `hh:mm:ss`, then `.` and up to six fraction digits with trailing zeros trimmed when the
/// fraction is not zero.
///
/// Values outside a day are written as they are, never wrapped: PostgreSQL's `24:00:00` comes
/// out as `24:00:00` (which OData clients may refuse), longer spans get more hour digits and
/// negative ones a leading `-`.
pub fn write_time_of_day(out: &mut Vec<u8>, micros: i64) {
    let mut buf = Buf::<40>::new();
    if micros < 0 {
        buf.push(b'-');
    }
    let micros = micros.unsigned_abs();
    let seconds = micros / MICROS_PER_SECOND as u64;
    buf.push_uint(seconds / 3600, 2);
    buf.push(b':');
    buf.push2((seconds / 60 % 60) as u32);
    buf.push(b':');
    buf.push2((seconds % 60) as u32);
    buf.push_fraction((micros % MICROS_PER_SECOND as u64) as u32);
    out.extend_from_slice(buf.as_slice());
}

/// The largest number of digits [`write_decimal_text`] writes for one value: PostgreSQL's
/// numeric limit, 131072 digits before the decimal point and 16383 after.
const MAX_DECIMAL_DIGITS: usize = 131_072 + 16_383;

/// Writes a PostgreSQL `numeric` given as text (what `numeric::text` prints, e.g. `-12.50`) as
/// a JSON number, or as a JSON string holding the same digits when `quoted`
/// (`IEEE754Compatible=true`).
///
/// PostgreSQL's own text is copied unchanged, scale (trailing zeros) included. Other decimal
/// text is normalized, never to exponent notation: a `+` sign is dropped, leading zeros are
/// removed, `.5` becomes `0.5` and `5.` becomes `5`, and an exponent is expanded (`1.5e3` is
/// `1500`). `NaN`, `Infinity`, `-Infinity`, which are not `Edm.Decimal` values, and any text
/// that is not a decimal number (or would expand beyond PostgreSQL's numeric limits) are
/// written as `null`, unquoted.
pub fn write_decimal_text(out: &mut Vec<u8>, text: &str, quoted: bool) {
    let bytes = text.as_bytes();
    if is_json_decimal(bytes) {
        if quoted {
            out.reserve(bytes.len() + 2);
            out.push(b'"');
            out.extend_from_slice(bytes);
            out.push(b'"');
        } else {
            out.extend_from_slice(bytes);
        }
        return;
    }
    match DecimalParts::parse(bytes) {
        Some(parts) => {
            if quoted {
                out.push(b'"');
            }
            parts.write(out);
            if quoted {
                out.push(b'"');
            }
        }
        None => out.extend_from_slice(b"null"),
    }
}

/// Whether `bytes` is already a JSON number without exponent: `-?(0|[1-9][0-9]*)(\.[0-9]+)?`.
/// This is the form PostgreSQL prints for every finite numeric.
fn is_json_decimal(bytes: &[u8]) -> bool {
    let digits = bytes.strip_prefix(b"-").unwrap_or(bytes);
    let (int, frac) = match digits.iter().position(|&b| b == b'.') {
        Some(dot) => (&digits[..dot], Some(&digits[dot + 1..])),
        None => (digits, None),
    };
    let int_ok = match int {
        [b'0'] => true,
        [first, rest @ ..] => matches!(first, b'1'..=b'9') && rest.iter().all(u8::is_ascii_digit),
        [] => false,
    };
    int_ok && frac.is_none_or(|frac| !frac.is_empty() && frac.iter().all(u8::is_ascii_digit))
}

/// A decimal number that is not in JSON form yet: `[+-]? digits? (. digits?)? ([eE] [+-]? digits)?`
/// with at least one mantissa digit.
struct DecimalParts<'a> {
    negative: bool,
    int: &'a [u8],
    frac: &'a [u8],
    /// Where the decimal point goes, counted in digits of `int` followed by `frac`.
    point: i64,
}

impl<'a> DecimalParts<'a> {
    fn parse(bytes: &'a [u8]) -> Option<Self> {
        let take_digits = |from: usize| from + bytes[from..].iter().take_while(|b| b.is_ascii_digit()).count();
        let (negative, mut i) = match bytes.first() {
            Some(b'-') => (true, 1),
            Some(b'+') => (false, 1),
            _ => (false, 0),
        };
        let int_end = take_digits(i);
        let int = &bytes[i..int_end];
        i = int_end;
        let mut frac: &[u8] = &[];
        if bytes.get(i) == Some(&b'.') {
            let frac_end = take_digits(i + 1);
            frac = &bytes[i + 1..frac_end];
            i = frac_end;
        }
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let mut exponent: i64 = 0;
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            i += 1;
            let exponent_negative = match bytes.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let exponent_end = take_digits(i);
            if exponent_end == i {
                return None;
            }
            for &digit in &bytes[i..exponent_end] {
                // Saturates far beyond MAX_DECIMAL_DIGITS, which `write` then refuses.
                exponent = (exponent * 10 + i64::from(digit - b'0')).min(1 << 40);
            }
            if exponent_negative {
                exponent = -exponent;
            }
            i = exponent_end;
        }
        if i != bytes.len() {
            return None;
        }
        let parts = DecimalParts { negative, int, frac, point: int.len() as i64 + exponent };
        let (_, int_digits, frac_digits) = parts.shape();
        (int_digits.saturating_add(frac_digits) <= MAX_DECIMAL_DIGITS as i64).then_some(parts)
    }

    fn digit(&self, index: usize) -> u8 {
        if index < self.int.len() { self.int[index] } else { self.frac[index - self.int.len()] }
    }

    fn len(&self) -> usize {
        self.int.len() + self.frac.len()
    }

    /// Leading zeros to skip, then the digit counts of the integer part (at least one) and of
    /// the fraction.
    fn shape(&self) -> (usize, i64, i64) {
        let len = self.len();
        let leading_zeros = (0..len).take_while(|&k| self.digit(k) == b'0').count();
        let int_digits = (self.point - leading_zeros as i64).max(1);
        let frac_digits = (len as i64 - self.point).max(0);
        (leading_zeros, int_digits, frac_digits)
    }

    fn write(&self, out: &mut Vec<u8>) {
        let len = self.len() as i64;
        let (leading_zeros, _, _) = self.shape();
        if self.negative {
            out.push(b'-');
        }
        // The integer part: the significant digits before the point, zeros past the last digit
        // (unless every digit is a zero).
        if self.point <= leading_zeros as i64 || leading_zeros as i64 == len {
            out.push(b'0');
        } else {
            for k in leading_zeros as i64..self.point {
                out.push(if k < len { self.digit(k as usize) } else { b'0' });
            }
        }
        // The fraction: zeros before the first digit when the point is left of all digits.
        if self.point < len {
            out.push(b'.');
            for k in self.point..len {
                out.push(if k < 0 { b'0' } else { self.digit(k as usize) });
            }
        }
    }
}

/// A tenant time zone with the offset of the last instant asked for and the interval of UTC
/// instants over which that offset holds, so that consecutive rows in that interval cost two
/// comparisons and no time zone lookup.
///
/// Between 1970 and 2100 the interval is a whole period between two offset changes, found by a
/// binary search in the zone's table of changes (`Transitions`, built once per zone and process),
/// so rows in random order mostly hit the cache too. Outside that range the interval is looked
/// for within the instant's UTC hour: the offsets at the first and last second of that hour are
/// looked up with chrono-tz; equal, the whole hour is cached; different, the change is found by
/// bisection and the side holding the instant is cached. Both rely on no zone changing its
/// offset twice within one day: in the tz database shipped with chrono-tz 0.10.4 the closest
/// pair of offset changes in any zone is 601200 seconds (7 days) apart. Changes at instants
/// that are not whole hours (local mean time, Lord Howe's half-hour DST, Kathmandu's +05:45)
/// are exact. Instants beyond chrono's range (years past ±262143) get the offset of its nearest
/// end, which the tz database leaves constant there.
#[derive(Debug, Clone)]
pub struct LocalOffset {
    tz: Tz,
    transitions: std::sync::Arc<Transitions>,
    /// First microsecond of the cached interval.
    start: i64,
    /// Microsecond after the cached interval; `start == end` when nothing is cached.
    end: i64,
    offset: i32,
}

/// The width of the window a cache miss looks at outside the table. See [`LocalOffset`].
const WINDOW_SECONDS: i64 = 3600;
/// The span the table of offset changes covers, in UTC seconds: 1970-01-01 to 2100-01-01.
const TABLE_START: i64 = 0;
const TABLE_END: i64 = 4_102_444_800;
/// The probing step while building the table (less than the closest pair of changes).
const PROBE_SECONDS: i64 = 24 * 3600;

/// Every offset change of one zone within the table's span: `(first second, offset)` of each
/// period, in order; the first period starts at `TABLE_START`.
#[derive(Debug)]
struct Transitions {
    periods: Vec<(i64, i32)>,
}

impl Transitions {
    /// The zone's table, built on first use and shared by every later request.
    fn of(tz: Tz) -> std::sync::Arc<Transitions> {
        use std::collections::HashMap;
        use std::sync::{Arc, Mutex, OnceLock};
        static TABLES: OnceLock<Mutex<HashMap<Tz, Arc<Transitions>>>> = OnceLock::new();
        let tables = TABLES.get_or_init(|| Mutex::new(HashMap::new()));
        if let Some(table) = tables.lock().unwrap_or_else(|e| e.into_inner()).get(&tz) {
            return table.clone();
        }
        let table = Arc::new(Transitions::build(tz));
        tables.lock().unwrap_or_else(|e| e.into_inner()).insert(tz, table.clone());
        table
    }

    fn build(tz: Tz) -> Transitions {
        let lookup = |second: i64| offset_at(tz, second);
        let mut periods = vec![(TABLE_START, lookup(TABLE_START))];
        let mut probe = TABLE_START;
        let mut current = periods[0].1;
        while probe < TABLE_END {
            let next = (probe + PROBE_SECONDS).min(TABLE_END);
            let offset = lookup(next);
            if offset != current {
                // The change lies in (probe, next]: `lookup(low) == current`, `lookup(high) != current`.
                let (mut low, mut high) = (probe, next);
                while high - low > 1 {
                    let middle = low + (high - low) / 2;
                    if lookup(middle) == current {
                        low = middle;
                    } else {
                        high = middle;
                    }
                }
                periods.push((high, offset));
                current = offset;
            }
            probe = next;
        }
        Transitions { periods }
    }

    /// The period holding `second` (within the table's span): `[start, end)` and its offset.
    fn period(&self, second: i64) -> (i64, i64, i32) {
        let i = self.periods.partition_point(|(start, _)| *start <= second).saturating_sub(1);
        let (start, offset) = self.periods[i];
        let end = self.periods.get(i + 1).map_or(TABLE_END, |(next, _)| *next);
        (start, end, offset)
    }
}

/// The offset of `tz` at a whole UTC second, straight from chrono-tz.
fn offset_at(tz: Tz, second: i64) -> i32 {
    let second = second.clamp(DateTime::<Utc>::MIN_UTC.timestamp(), DateTime::<Utc>::MAX_UTC.timestamp());
    let instant = DateTime::from_timestamp(second, 0).unwrap_or(DateTime::<Utc>::MIN_UTC);
    tz.offset_from_utc_datetime(&instant.naive_utc()).fix().local_minus_utc()
}

impl LocalOffset {
    pub fn new(tz: Tz) -> Self {
        LocalOffset { tz, transitions: Transitions::of(tz), start: 0, end: 0, offset: 0 }
    }

    /// The offset in seconds east of UTC of this time zone at `micros_utc` (microseconds since
    /// 1970-01-01T00:00:00Z), exactly as chrono-tz gives it.
    #[inline]
    pub fn offset_seconds(&mut self, micros_utc: i64) -> i32 {
        if self.start <= micros_utc && micros_utc < self.end {
            return self.offset;
        }
        self.refill(micros_utc)
    }

    #[cold]
    fn refill(&mut self, micros_utc: i64) -> i32 {
        let second = micros_utc.div_euclid(MICROS_PER_SECOND);
        let (start, end, offset) = if (TABLE_START..TABLE_END).contains(&second) {
            self.transitions.period(second)
        } else {
            self.hour_window(second)
        };
        self.start = start.saturating_mul(MICROS_PER_SECOND);
        self.end = end.saturating_mul(MICROS_PER_SECOND);
        self.offset = offset;
        offset
    }

    /// The interval within `second`'s UTC hour over which its offset holds.
    fn hour_window(&self, second: i64) -> (i64, i64, i32) {
        let window_start = second.div_euclid(WINDOW_SECONDS) * WINDOW_SECONDS;
        let window_end = window_start + WINDOW_SECONDS;
        let first = self.lookup(window_start);
        let last = self.lookup(window_end - 1);
        if first == last {
            return (window_start, window_end, first);
        }
        // `lookup(low) == first` and `lookup(high) != first` throughout.
        let (mut low, mut high) = (window_start, window_end - 1);
        while high - low > 1 {
            let middle = low + (high - low) / 2;
            if self.lookup(middle) == first {
                low = middle;
            } else {
                high = middle;
            }
        }
        if second < high { (window_start, high, first) } else { (high, window_end, last) }
    }

    /// The offset at a whole UTC second, straight from chrono-tz.
    fn lookup(&self, second: i64) -> i32 {
        offset_at(self.tz, second)
    }
}

fn fill_datetimeoffset<const N: usize>(buf: &mut Buf<N>, micros_utc: i64, offset_seconds: i32) {
    // Rounded to whole minutes, half away from zero.
    let offset_minutes = i64::from(offset_seconds.signum()) * ((i64::from(offset_seconds.unsigned_abs()) + 30) / 60);
    // Days and time of day apart, so that no value of either argument overflows.
    let mut days = micros_utc.div_euclid(MICROS_PER_DAY);
    let mut time = micros_utc.rem_euclid(MICROS_PER_DAY) + offset_minutes * 60 * MICROS_PER_SECOND;
    days += time.div_euclid(MICROS_PER_DAY);
    time = time.rem_euclid(MICROS_PER_DAY);

    let (year, month, day) = civil_from_days(days);
    buf.push_date(year, month, day);
    buf.push(b'T');
    let seconds = (time / MICROS_PER_SECOND) as u32;
    buf.push2(seconds / 3600);
    buf.push(b':');
    buf.push2(seconds / 60 % 60);
    buf.push(b':');
    buf.push2(seconds % 60);
    buf.push_fraction((time % MICROS_PER_SECOND) as u32);
    if offset_minutes == 0 {
        buf.push(b'Z');
    } else {
        buf.push(if offset_minutes < 0 { b'-' } else { b'+' });
        let minutes = offset_minutes.unsigned_abs();
        buf.push_uint(minutes / 60, 2);
        buf.push(b':');
        buf.push2((minutes % 60) as u32);
    }
}

/// Year, month (1..=12) and day (1..=31) of the proleptic Gregorian calendar for a count of
/// days since 1970-01-01: Howard Hinnant's `civil_from_days`. Exact for every `days` whose
/// year fits an `i64` (far beyond anything passed here); year 0 is 1 BC.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097); // [0, 146096]
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365; // [0, 399]
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100); // [0, 365]
    let shifted_month = (5 * day_of_year + 2) / 153; // [0, 11], March first
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A small stack buffer: a value is assembled here and appended to the output in one copy.
struct Buf<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Buf<N> {
    fn new() -> Self {
        Buf { bytes: [0; N], len: 0 }
    }

    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    fn push(&mut self, byte: u8) {
        self.bytes[self.len] = byte;
        self.len += 1;
    }

    /// Two digits of `value`, which is below 100.
    fn push2(&mut self, value: u32) {
        let i = value as usize * 2;
        self.bytes[self.len] = DIGITS2[i];
        self.bytes[self.len + 1] = DIGITS2[i + 1];
        self.len += 2;
    }

    /// The decimal digits of `value`, zero-padded on the left to at least `min_width` (at most 20).
    fn push_uint(&mut self, mut value: u64, min_width: usize) {
        let mut digits = [b'0'; 20];
        let mut pos = digits.len();
        while value >= 100 {
            let i = (value % 100) as usize * 2;
            value /= 100;
            pos -= 2;
            digits[pos] = DIGITS2[i];
            digits[pos + 1] = DIGITS2[i + 1];
        }
        if value >= 10 {
            let i = value as usize * 2;
            pos -= 2;
            digits[pos] = DIGITS2[i];
            digits[pos + 1] = DIGITS2[i + 1];
        } else {
            pos -= 1;
            digits[pos] = b'0' + value as u8;
        }
        let pos = pos.min(digits.len() - min_width);
        let count = digits.len() - pos;
        self.bytes[self.len..self.len + count].copy_from_slice(&digits[pos..]);
        self.len += count;
    }

    /// `YYYY-MM-DD`, the year as described in the module documentation.
    fn push_date(&mut self, year: i64, month: u32, day: u32) {
        if (0..10_000).contains(&year) {
            self.push2((year / 100) as u32);
            self.push2((year % 100) as u32);
        } else {
            if year < 0 {
                self.push(b'-');
            }
            self.push_uint(year.unsigned_abs(), 4);
        }
        self.push(b'-');
        self.push2(month);
        self.push(b'-');
        self.push2(day);
    }

    /// `.` and the microseconds with trailing zeros trimmed; nothing for zero.
    fn push_fraction(&mut self, micros: u32) {
        if micros == 0 {
            return;
        }
        let (mut value, mut width) = (micros, 6);
        while value % 10 == 0 {
            value /= 10;
            width -= 1;
        }
        self.push(b'.');
        self.push_uint(u64::from(value), width);
    }
}

/// `core::fmt` output appended to a `Vec<u8>`.
struct VecWriter<'a>(&'a mut Vec<u8>);

impl fmt::Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, NaiveDate, NaiveTime};

    /// A deterministic stream of pseudo-random numbers (SplitMix64).
    struct Numbers(u64);

    impl Numbers {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// Uniform enough in `[low, high)`.
        fn between(&mut self, low: i64, high: i64) -> i64 {
            low.wrapping_add((self.next() % high.wrapping_sub(low) as u64) as i64)
        }
    }

    fn written(write: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = b"prefix ".to_vec();
        write(&mut out);
        let text = String::from_utf8(out).expect("writers emit UTF-8");
        text.strip_prefix("prefix ").expect("writers append").to_owned()
    }

    fn micros_of(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text).unwrap().timestamp_micros()
    }

    /// Chrono's rendering with the fraction trimmed and `Z` for a zero offset.
    fn chrono_datetimeoffset(micros: i64, offset_seconds: i32) -> String {
        let offset = FixedOffset::east_opt(offset_seconds).unwrap();
        let local = DateTime::from_timestamp_micros(micros).unwrap().with_timezone(&offset);
        let mut text = local.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
        while text.ends_with('0') {
            text.pop();
        }
        if text.ends_with('.') {
            text.pop();
        }
        if offset_seconds == 0 {
            text.push('Z');
        } else {
            text.push_str(&local.format("%:z").to_string());
        }
        text
    }

    #[test]
    fn strings_match_serde_json_and_parse_back_for_every_ascii_char() {
        let mut all = String::new();
        for code in 0u8..0x80 {
            let c = char::from(code);
            all.push(c);
            let single = c.to_string();
            let json = written(|out| write_string(out, &single));
            assert_eq!(json, serde_json::to_string(&single).unwrap(), "char {code:#04x}");
            assert_eq!(serde_json::from_str::<String>(&json).unwrap(), single);
        }
        let json = written(|out| write_string(out, &all));
        assert_eq!(json, serde_json::to_string(&all).unwrap());
        assert_eq!(serde_json::from_str::<String>(&json).unwrap(), all);
    }

    #[test]
    fn strings_escape_with_short_forms_and_keep_multi_byte_characters() {
        assert_eq!(written(|out| write_string(out, "")), r#""""#);
        assert_eq!(written(|out| write_string(out, "a\"b\\c\nd\re\tf\u{8}g\u{c}")), r#""a\"b\\c\nd\re\tf\bg\f""#);
        assert_eq!(written(|out| write_string(out, "\u{0}\u{1}\u{1f}\u{7f}")), "\"\\u0000\\u0001\\u001f\u{7f}\"");
        for text in ["é", "€uro", "😀", "\u{2028}\u{2029}", "\u{ffff}", "ő\"ű\n😀\u{1}ç", "Árvíztűrő tükörfúrógép"]
        {
            let json = written(|out| write_string(out, text));
            assert_eq!(json, serde_json::to_string(text).unwrap());
            assert_eq!(serde_json::from_str::<String>(&json).unwrap(), text);
        }
    }

    #[test]
    fn integers_match_to_string_across_the_range() {
        let mut values: Vec<i64> = (-1000..=1000).collect();
        values.extend([i64::MIN, i64::MIN + 1, i64::MAX, i64::MAX - 1, i64::from(i32::MIN), i64::from(i32::MAX)]);
        let mut power = 1i64;
        for _ in 0..19 {
            values.extend([power - 1, power, power + 1, -power - 1, -power, -power + 1]);
            power = power.saturating_mul(10);
        }
        let mut numbers = Numbers(1);
        values.extend((0..10_000).map(|_| numbers.next() as i64));
        values.extend((0..10_000).map(|_| (numbers.next() as i64) >> (numbers.next() % 64)));
        for v in values {
            assert_eq!(written(|out| write_i64(out, v)), v.to_string());
        }
        for v in [i32::MIN, -1, 0, 7, i32::MAX] {
            assert_eq!(written(|out| write_i32(out, v)), v.to_string());
        }
    }

    #[test]
    fn doubles_are_shortest_json_numbers_and_special_values_are_strings() {
        let cases = [
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-1.5, "-1.5"),
            (0.1, "0.1"),
            (123456.789, "123456.789"),
            (1e-6, "0.000001"),
            (1e-7, "1e-7"),
            (2.5e-7, "2.5e-7"),
            (1e20, "100000000000000000000"),
            (1e21, "1e21"),
            (-1.25e300, "-1.25e300"),
            (f64::MAX, "1.7976931348623157e308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (5e-324, "5e-324"),
            (f64::NAN, r#""NaN""#),
            (f64::INFINITY, r#""INF""#),
            (f64::NEG_INFINITY, r#""-INF""#),
        ];
        for (v, expected) in cases {
            assert_eq!(written(|out| write_f64(out, v)), expected);
        }
    }

    #[test]
    fn doubles_round_trip_and_are_valid_json_for_random_bit_patterns() {
        let mut numbers = Numbers(2);
        let mut values: Vec<f64> = (0..50_000).map(|_| f64::from_bits(numbers.next())).collect();
        values.extend((0..20_000).map(|_| numbers.between(-1_000_000_000, 1_000_000_000) as f64 / 1000.0));
        for v in values.into_iter().filter(|v| v.is_finite()) {
            let json = written(|out| write_f64(out, v));
            assert_eq!(json.parse::<f64>().unwrap().to_bits(), v.to_bits(), "{json}");
            assert!(serde_json::from_str::<serde_json::Value>(&json).unwrap().is_number(), "{json}");
            let shortest = if (1e-6..1e21).contains(&v.abs()) { v.to_string() } else { format!("{v:e}") };
            assert_eq!(json, shortest);
        }
    }

    #[test]
    fn datetimeoffsets_match_chrono_over_years_one_to_9999_and_parse_back() {
        let first = NaiveDate::from_ymd_opt(1, 1, 2).unwrap().and_time(NaiveTime::MIN).and_utc().timestamp_micros();
        let last = NaiveDate::from_ymd_opt(9999, 12, 30).unwrap().and_time(NaiveTime::MIN).and_utc().timestamp_micros();
        let offsets =
            [0, 3600, -3600, 7200, -18_000, -14_400, 19_800, 20_700, -34_200, 45_900, 50_400, -43_200, 60, -60];
        let fractions = [0, 1, 999_999, 120_000, 500_000, 10, 123_456];
        let mut numbers = Numbers(3);
        for i in 0..200_000 {
            let mut micros = numbers.between(first, last);
            if i % 2 == 0 {
                let fraction = fractions[(numbers.next() % fractions.len() as u64) as usize];
                micros = micros - micros.rem_euclid(MICROS_PER_SECOND) + fraction;
            }
            let offset = offsets[(numbers.next() % offsets.len() as u64) as usize];
            let text = written(|out| write_datetimeoffset(out, micros, offset));
            assert_eq!(text, chrono_datetimeoffset(micros, offset));
            assert_eq!(micros_of(&text), micros);
        }
    }

    #[test]
    fn datetimeoffsets_trim_fractions_and_show_the_local_wall_time() {
        let base = micros_of("2024-02-29T23:30:00Z");
        let cases = [
            (base, 0, "2024-02-29T23:30:00Z"),
            (base + 1, 0, "2024-02-29T23:30:00.000001Z"),
            (base + 999_999, 0, "2024-02-29T23:30:00.999999Z"),
            (base + 120_000, 0, "2024-02-29T23:30:00.12Z"),
            (base + 100_000, 0, "2024-02-29T23:30:00.1Z"),
            (base, 3600, "2024-03-01T00:30:00+01:00"),
            (base, -5 * 3600, "2024-02-29T18:30:00-05:00"),
            (base, 20_700, "2024-03-01T05:15:00+05:45"),
            (base, -9 * 3600 - 1800, "2024-02-29T14:00:00-09:30"),
            (0, 0, "1970-01-01T00:00:00Z"),
            (-1, 0, "1969-12-31T23:59:59.999999Z"),
            (-1_000_000, 3600, "1970-01-01T00:59:59+01:00"),
            (micros_of("2100-02-28T23:00:00Z"), 7200, "2100-03-01T01:00:00+02:00"),
            (micros_of("2000-02-28T23:00:00Z"), 7200, "2000-02-29T01:00:00+02:00"),
            (micros_of("1900-02-28T23:00:00Z"), 7200, "1900-03-01T01:00:00+02:00"),
            (micros_of("0001-01-01T00:00:00Z"), 0, "0001-01-01T00:00:00Z"),
            (micros_of("9999-12-31T23:59:59.999999Z"), 0, "9999-12-31T23:59:59.999999Z"),
        ];
        for (micros, offset, expected) in cases {
            assert_eq!(written(|out| write_datetimeoffset(out, micros, offset)), expected);
            assert_eq!(written(|out| write_datetimeoffset_quoted(out, micros, offset)), format!("\"{expected}\""));
        }
    }

    #[test]
    fn offsets_with_seconds_are_rounded_to_the_minute_and_keep_the_instant() {
        let micros = micros_of("1890-01-01T12:00:00Z");
        // Budapest's local mean time, +01:16:20.
        assert_eq!(written(|out| write_datetimeoffset(out, micros, 4580)), "1890-01-01T13:16:00+01:16");
        assert_eq!(written(|out| write_datetimeoffset(out, micros, 4590)), "1890-01-01T13:17:00+01:17");
        assert_eq!(written(|out| write_datetimeoffset(out, micros, -4590)), "1890-01-01T10:43:00-01:17");
        assert_eq!(written(|out| write_datetimeoffset(out, micros, 29)), "1890-01-01T12:00:00Z");
        assert_eq!(written(|out| write_datetimeoffset(out, micros, -30)), "1890-01-01T11:59:00-00:01");
        for offset in -50_000..50_000 {
            let text = written(|out| write_datetimeoffset(out, micros + 7, offset * 7 % 86_300));
            assert_eq!(micros_of(&text), micros + 7, "{text}");
        }
    }

    #[test]
    fn datetimeoffsets_outside_years_one_to_9999_widen_the_year_and_never_panic() {
        let cases = [
            (i64::MAX, 0, "294247-01-10T04:00:54.775807Z"),
            (i64::MIN, 0, "-290308-12-21T19:59:05.224192Z"),
            (i64::MAX, 14 * 3600, "294247-01-10T18:00:54.775807+14:00"),
            (i64::MIN, -14 * 3600, "-290308-12-21T05:59:05.224192-14:00"),
            (i64::MIN, i32::MIN, "-290376-12-03T16:45:05.224192-596523:14"),
            (i64::MAX, i32::MAX, "294315-01-29T07:14:54.775807+596523:14"),
            (micros_of("0001-01-01T00:30:00Z"), -3600, "0000-12-31T23:30:00-01:00"),
        ];
        for (micros, offset, expected) in cases {
            assert_eq!(written(|out| write_datetimeoffset(out, micros, offset)), expected);
        }
        // Within chrono's range, the date agrees with chrono's (which writes `+` above 9999).
        let mut numbers = Numbers(4);
        for _ in 0..100_000 {
            let micros = numbers.between(-8_000_000_000_000_000_000, 8_000_000_000_000_000_000);
            let text = written(|out| write_datetimeoffset(out, micros, 0));
            if let Some(utc) = DateTime::from_timestamp_micros(micros) {
                let expected = utc.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
                let expected = expected.trim_start_matches('+').trim_end_matches('0').trim_end_matches('.');
                assert_eq!(text, format!("{expected}Z"));
            }
        }
    }

    #[test]
    fn dates_match_chrono_for_every_day_of_years_one_to_9999() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let first = (NaiveDate::from_ymd_opt(1, 1, 1).unwrap() - epoch).num_days() as i32;
        let last = (NaiveDate::from_ymd_opt(9999, 12, 31).unwrap() - epoch).num_days() as i32;
        let mut date = NaiveDate::from_ymd_opt(1, 1, 1).unwrap();
        let mut out = Vec::new();
        for days in first..=last {
            out.clear();
            write_date(&mut out, days);
            assert_eq!(out, date.to_string().as_bytes());
            date = date.succ_opt().unwrap_or(date);
        }
        for (text, days) in [("2000-02-29", 11_016), ("2024-02-29", 19_782), ("1969-12-31", -1), ("1970-01-01", 0)] {
            assert_eq!(written(|out| write_date(out, days)), text);
        }
        assert_eq!(written(|out| write_date(out, 47_541)), "2100-03-01");
        assert_eq!(written(|out| write_date(out, 47_540)), "2100-02-28");
    }

    #[test]
    fn dates_outside_years_one_to_9999_widen_the_year_and_never_panic() {
        assert_eq!(written(|out| write_date(out, i32::MAX)), "5881580-07-11");
        assert_eq!(written(|out| write_date(out, i32::MIN)), "-5877641-06-23");
        assert_eq!(written(|out| write_date(out, -719_528)), "0000-01-01");
        assert_eq!(written(|out| write_date(out, -719_529)), "-0001-12-31");
        assert_eq!(written(|out| write_date(out, 2_932_897)), "10000-01-01");
        let mut numbers = Numbers(5);
        for _ in 0..100_000 {
            let days = numbers.between(-95_000_000, 95_000_000) as i32;
            let expected = NaiveDate::from_num_days_from_ce_opt(days + 719_163).unwrap().to_string();
            assert_eq!(written(|out| write_date(out, days)), expected.trim_start_matches('+'));
        }
    }

    #[test]
    fn times_of_day_match_chrono_for_every_second_and_trim_fractions() {
        for fraction in [0, 1, 999_999, 120_000, 500_000, 10_500] {
            for second in 0..86_400i64 {
                let micros = second * MICROS_PER_SECOND + fraction;
                let time =
                    NaiveTime::from_num_seconds_from_midnight_opt(second as u32, fraction as u32 * 1000).unwrap();
                let expected = time.format("%H:%M:%S%.6f").to_string();
                let expected = expected.trim_end_matches('0').trim_end_matches('.');
                assert_eq!(written(|out| write_time_of_day(out, micros)), expected);
            }
        }
        assert_eq!(written(|out| write_time_of_day(out, 0)), "00:00:00");
        assert_eq!(written(|out| write_time_of_day(out, 45_296_120_000)), "12:34:56.12");
    }

    #[test]
    fn times_of_day_outside_a_day_are_written_unwrapped_and_never_panic() {
        assert_eq!(written(|out| write_time_of_day(out, MICROS_PER_DAY)), "24:00:00");
        assert_eq!(written(|out| write_time_of_day(out, -1)), "-00:00:00.000001");
        assert_eq!(written(|out| write_time_of_day(out, 360_000 * MICROS_PER_SECOND)), "100:00:00");
        assert_eq!(written(|out| write_time_of_day(out, i64::MAX)), "2562047788:00:54.775807");
        assert_eq!(written(|out| write_time_of_day(out, i64::MIN)), "-2562047788:00:54.775808");
    }

    #[test]
    fn decimals_keep_postgresql_text_and_never_use_an_exponent() {
        let cases = [
            ("0", "0"),
            ("-0.00", "-0.00"),
            ("-12.50", "-12.50"),
            ("123456789012345678.123", "123456789012345678.123"),
            ("0.000001", "0.000001"),
            ("NaN", "null"),
            ("Infinity", "null"),
            ("-Infinity", "null"),
            ("+1.5", "1.5"),
            ("007.10", "7.10"),
            ("-00", "-0"),
            (".5", "0.5"),
            ("5.", "5"),
            ("1e5", "100000"),
            ("1.5E+3", "1500"),
            ("1.50e1", "15.0"),
            ("-.5e-2", "-0.005"),
            ("12.5e-1", "1.25"),
            ("0.0e3", "0"),
            ("0.00e-2", "0.0000"),
            ("", "null"),
            ("-", "null"),
            (".", "null"),
            ("1e", "null"),
            ("1e+", "null"),
            ("1.2.3", "null"),
            (" 1", "null"),
            ("1 ", "null"),
            ("0x10", "null"),
            ("1e999999999999999999999", "null"),
            ("1e-200000", "null"),
        ];
        for (text, expected) in cases {
            let json = written(|out| write_decimal_text(out, text, false));
            assert_eq!(json, expected, "{text}");
            assert!(!json.contains(['e', 'E']), "{text}");
            serde_json::from_str::<serde_json::Value>(&json).unwrap();
            let quoted = written(|out| write_decimal_text(out, text, true));
            let expected_quoted = if expected == "null" { "null".to_owned() } else { format!("\"{expected}\"") };
            assert_eq!(quoted, expected_quoted, "{text}");
        }
        let big = written(|out| write_decimal_text(out, "1e1000", false));
        assert_eq!(big.len(), 1001);
        assert!(big.starts_with('1') && big[1..].bytes().all(|b| b == b'0'));
    }

    #[test]
    fn decimals_from_doubles_print_as_plain_json_numbers_of_the_same_value() {
        let mut numbers = Numbers(6);
        for _ in 0..20_000 {
            let v = f64::from_bits(numbers.next());
            if !v.is_finite() || v.abs() > 1e100 || (v != 0.0 && v.abs() < 1e-100) {
                continue;
            }
            let json = written(|out| write_decimal_text(out, &format!("{v:e}"), false));
            assert!(!json.contains(['e', 'E']));
            assert!(serde_json::from_str::<serde_json::Value>(&json).unwrap().is_number());
            assert_eq!(json.parse::<f64>().unwrap().to_bits(), v.to_bits(), "{json}");
            assert_eq!(json, v.to_string());
        }
    }

    fn chrono_offset(tz: Tz, micros: i64) -> i32 {
        let utc = DateTime::from_timestamp_micros(micros).unwrap();
        tz.offset_from_utc_datetime(&utc.naive_utc()).fix().local_minus_utc()
    }

    fn micros_at(year: i32, month: u32, day: u32) -> i64 {
        NaiveDate::from_ymd_opt(year, month, day).unwrap().and_time(NaiveTime::MIN).and_utc().timestamp_micros()
    }

    /// Compares every 15 minutes from `from` to `to` forwards, backwards and in a scrambled order,
    /// and returns the instants where the offset changes.
    fn assert_matches_chrono_every_quarter_hour(tz: Tz, from: i64, to: i64) -> Vec<i64> {
        let step = 15 * 60 * MICROS_PER_SECOND;
        let instants: Vec<i64> = (from..to).step_by(step as usize).collect();
        let mut local = LocalOffset::new(tz);
        let mut changes = Vec::new();
        for pair in instants.windows(2) {
            let expected = chrono_offset(tz, pair[1]);
            assert_eq!(local.offset_seconds(pair[1]), expected, "{tz} at {}", pair[1]);
            if chrono_offset(tz, pair[0]) != expected {
                changes.push(pair[1]);
            }
        }
        for &micros in instants.iter().rev() {
            assert_eq!(local.offset_seconds(micros), chrono_offset(tz, micros), "{tz} at {micros}");
        }
        let mut numbers = Numbers(7);
        for _ in 0..instants.len() {
            let micros = instants[(numbers.next() % instants.len() as u64) as usize] + numbers.between(-step, step);
            assert_eq!(local.offset_seconds(micros), chrono_offset(tz, micros), "{tz} at {micros}");
        }
        changes
    }

    /// Compares every second and the microseconds on both sides of each second for an hour
    /// around `instant`.
    fn assert_matches_chrono_around(tz: Tz, instant: i64) {
        let mut local = LocalOffset::new(tz);
        let second = instant.div_euclid(MICROS_PER_SECOND) * MICROS_PER_SECOND;
        for k in -3600..3600 {
            for micros in [second + k * MICROS_PER_SECOND - 1, second + k * MICROS_PER_SECOND] {
                assert_eq!(local.offset_seconds(micros), chrono_offset(tz, micros), "{tz} at {micros}");
            }
        }
    }

    #[test]
    fn local_offsets_match_chrono_tz_every_quarter_hour_of_a_year_in_budapest_and_new_york() {
        for tz in [chrono_tz::Europe::Budapest, chrono_tz::America::New_York] {
            let changes = assert_matches_chrono_every_quarter_hour(tz, micros_at(2024, 1, 1), micros_at(2025, 1, 1));
            assert_eq!(changes.len(), 2, "{tz}: spring forward and fall back");
            for change in changes {
                assert_matches_chrono_around(tz, change);
            }
        }
    }

    #[test]
    fn local_offsets_match_chrono_tz_for_kathmandu_and_lord_howe() {
        let kathmandu = chrono_tz::Asia::Kathmandu;
        // +05:30 became +05:45 on 1986-01-01.
        let changes = assert_matches_chrono_every_quarter_hour(kathmandu, micros_at(1985, 6, 1), micros_at(1986, 6, 1));
        assert_eq!(changes.len(), 1);
        assert_matches_chrono_around(kathmandu, changes[0]);
        assert_eq!(LocalOffset::new(kathmandu).offset_seconds(micros_at(2024, 7, 1)), 20_700);

        // +10:30 with a 30-minute DST, switching at 02:00 local: 15:30 or 15:00 UTC.
        let lord_howe = chrono_tz::Australia::Lord_Howe;
        let changes = assert_matches_chrono_every_quarter_hour(lord_howe, micros_at(2024, 1, 1), micros_at(2025, 1, 1));
        assert_eq!(changes.len(), 2);
        assert!(changes.iter().any(|change| change % (3600 * MICROS_PER_SECOND) != 0), "a change off the hour");
        for change in changes {
            assert_matches_chrono_around(lord_howe, change);
        }
    }

    #[test]
    fn local_offsets_match_chrono_tz_at_transitions_that_are_not_on_whole_minutes() {
        // Budapest left local mean time (+01:16:20) at 1890-09-30T22:43:40Z.
        let budapest = chrono_tz::Europe::Budapest;
        assert_matches_chrono_around(budapest, -2_498_260_580 * MICROS_PER_SECOND);
        let mut local = LocalOffset::new(budapest);
        assert_eq!(local.offset_seconds(-2_498_260_580 * MICROS_PER_SECOND - 1), 4580);
        assert_eq!(local.offset_seconds(-2_498_260_580 * MICROS_PER_SECOND), 3600);
    }

    #[test]
    fn a_miss_caches_the_whole_period_between_offset_changes_within_the_table() {
        let mut budapest = LocalOffset::new(chrono_tz::Europe::Budapest);
        let july = micros_of("2024-07-01T10:00:00.000123Z");
        assert_eq!(budapest.offset_seconds(july), 7200);
        // Summer time 2024: from 2024-03-31T01:00Z to 2024-10-27T01:00Z.
        assert_eq!(
            (budapest.start, budapest.end),
            (micros_of("2024-03-31T01:00:00Z"), micros_of("2024-10-27T01:00:00Z"))
        );

        // Lord Howe went to +11:00 at 2024-10-06T02:00 local, 2024-10-05T15:30Z.
        let transition = micros_of("2024-10-05T15:30:00Z");
        let mut lord_howe = LocalOffset::new(chrono_tz::Australia::Lord_Howe);
        assert_eq!(lord_howe.offset_seconds(transition - 1), 37_800);
        assert_eq!(lord_howe.end, transition);
        assert_eq!(lord_howe.offset_seconds(transition), 39_600);
        assert_eq!(lord_howe.start, transition);
    }

    #[test]
    fn before_1970_a_miss_caches_the_utc_hour() {
        let hour = 3600 * MICROS_PER_SECOND;
        let mut budapest = LocalOffset::new(chrono_tz::Europe::Budapest);
        let instant = micros_of("1960-07-01T10:00:00.000123Z");
        assert_eq!(budapest.offset_seconds(instant), chrono_offset(chrono_tz::Europe::Budapest, instant));
        assert_eq!((budapest.start, budapest.end), (instant - 123, instant - 123 + hour));
    }

    #[test]
    fn local_offsets_match_chrono_tz_in_every_zone_from_1850_to_2100() {
        let (from, to) = (micros_at(1850, 1, 1), micros_at(2100, 1, 1));
        let mut numbers = Numbers(8);
        for tz in chrono_tz::TZ_VARIANTS {
            let mut local = LocalOffset::new(tz);
            // Walks with a step that drifts against the hour, then random instants.
            let mut micros = from;
            while micros < to {
                assert_eq!(local.offset_seconds(micros), chrono_offset(tz, micros), "{tz} at {micros}");
                micros += 5 * 86_400 * MICROS_PER_SECOND + 1_234_567_891;
            }
            for _ in 0..2000 {
                let micros = numbers.between(from, to);
                assert_eq!(local.offset_seconds(micros), chrono_offset(tz, micros), "{tz} at {micros}");
            }
        }
    }

    #[test]
    fn local_offsets_at_the_ends_of_the_i64_range_take_the_nearest_known_offset() {
        let tz = chrono_tz::America::New_York;
        let mut local = LocalOffset::new(tz);
        let min = DateTime::<Utc>::MIN_UTC.timestamp_micros();
        let max = DateTime::<Utc>::MAX_UTC.timestamp_micros();
        assert_eq!(local.offset_seconds(i64::MIN), chrono_offset(tz, min));
        assert_eq!(local.offset_seconds(i64::MAX), chrono_offset(tz, max));
        assert_eq!(local.offset_seconds(i64::MAX - 1), chrono_offset(tz, max));
        assert_eq!(local.offset_seconds(i64::MIN + 1), chrono_offset(tz, min));
    }

    #[test]
    fn local_offsets_and_datetimeoffsets_together_match_chrono_tz_wall_times() {
        let tz = chrono_tz::America::New_York;
        let mut local = LocalOffset::new(tz);
        let (from, to) = (micros_at(2023, 1, 1), micros_at(2026, 1, 1));
        let mut numbers = Numbers(9);
        for _ in 0..50_000 {
            let micros = numbers.between(from, to);
            let text = written(|out| write_datetimeoffset(out, micros, local.offset_seconds(micros)));
            let zoned = DateTime::from_timestamp_micros(micros).unwrap().with_timezone(&tz);
            let expected = zoned.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
            let expected = expected.trim_end_matches('0').trim_end_matches('.');
            assert_eq!(text, format!("{expected}{}", zoned.format("%:z")));
            assert_eq!(micros_of(&text), micros);
        }
    }
}
