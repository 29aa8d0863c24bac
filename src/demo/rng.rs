//! Seeded randomness: a ChaCha8 key per (seed, tenant) and one stream per piece of work (a
//! block of a day's conversations, a day of agent states...), so that every piece draws the
//! same numbers whatever the chunking; plus the few distributions the generator needs.

use rand::{Rng as _, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// SplitMix64: a fast, well-mixed hash step.
#[inline]
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The ChaCha key of one tenant (by index) under `seed`.
pub fn tenant_key(seed: u64, tenant: u64) -> [u8; 32] {
    let mut key = [0u8; 32];
    let mut state = mix(seed ^ mix(0x6465_6d6f_0000_0000 ^ tenant));
    for part in key.chunks_mut(8) {
        state = mix(state);
        part.copy_from_slice(&state.to_le_bytes());
    }
    key
}

/// Stream numbers of the kinds of work; the low bits carry the work's own index.
pub mod stream {
    pub const PLAN: u64 = 1;
    pub const LOOKUPS: u64 = 2;
    pub const SHIFTS: u64 = 3;
    pub const CONVERSATIONS: u64 = 1 << 40;
    pub const AGENT_STATES: u64 = 2 << 40;
    pub const CAMPAIGN_RECORDS: u64 = 3 << 40;
}

/// A lowercase GUID-looking id (version 4 layout).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Guid([u8; 36]);

impl Guid {
    pub fn from_bits(hi: u64, lo: u64) -> Guid {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
        let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&hi.to_be_bytes());
        bytes[8..].copy_from_slice(&lo.to_be_bytes());
        let mut out = [b'-'; 36];
        let mut pos = 0;
        for (i, b) in bytes.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                pos += 1;
            }
            out[pos] = HEX[(b >> 4) as usize];
            out[pos + 1] = HEX[(b & 15) as usize];
            pos += 2;
        }
        Guid(out)
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("GUIDs are ASCII")
    }
}

impl std::fmt::Debug for Guid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Guid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The generator's random source.
pub struct Rng(ChaCha8Rng);

impl Rng {
    pub fn new(key: &[u8; 32], stream: u64) -> Rng {
        let mut inner = ChaCha8Rng::from_seed(*key);
        inner.set_stream(stream);
        Rng(inner)
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in [0, 1).
    #[inline]
    pub fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform integer in `lo..=hi`.
    #[inline]
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo { lo } else { self.0.random_range(lo..=hi) }
    }

    /// Uniform index below `n` (n > 0).
    #[inline]
    pub fn below(&mut self, n: usize) -> usize {
        debug_assert!(n > 0);
        self.0.random_range(0..n)
    }

    /// Uniform real in `[lo, hi)`.
    #[inline]
    pub fn real(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform milliseconds in `lo..=hi` seconds.
    #[inline]
    pub fn secs(&mut self, lo: f64, hi: f64) -> i64 {
        (self.real(lo, hi) * 1000.0) as i64
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Log-normal with the given median and shape, clamped to `[lo, hi]`.
    pub fn lognormal(&mut self, median: f64, sigma: f64, lo: f64, hi: f64) -> f64 {
        (median * (sigma * self.normal()).exp()).clamp(lo, hi)
    }

    /// Log-normal seconds as milliseconds.
    pub fn lognormal_ms(&mut self, median: f64, sigma: f64, lo: f64, hi: f64) -> i64 {
        (self.lognormal(median, sigma, lo, hi) * 1000.0) as i64
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Index drawn with the given weights (not all zero).
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
    }

    /// An item of `(item, weight)` pairs.
    pub fn choose<T: Copy>(&mut self, items: &[(T, f64)]) -> T {
        let total: f64 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.unit() * total;
        for (item, w) in items {
            if x < *w {
                return *item;
            }
            x -= w;
        }
        items.iter().rev().find(|(_, w)| *w > 0.0).unwrap_or(&items[0]).0
    }

    pub fn guid(&mut self) -> Guid {
        let hi = self.next_u64();
        let lo = self.next_u64();
        Guid::from_bits(hi, lo)
    }

    /// `n` decimal digits.
    pub fn digits(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from(b'0' + self.below(10) as u8)).collect()
    }
}

/// Deterministic attributes from a hash (used for customers, which are not stored anywhere).
pub struct Hashed(u64);

impl Hashed {
    pub fn new(key: u64, index: u64) -> Hashed {
        Hashed(mix(key ^ mix(index)))
    }

    #[inline]
    pub fn next(&mut self) -> u64 {
        self.0 = mix(self.0);
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)) < p
    }

    pub fn digits(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from(b'0' + self.below(10) as u8)).collect()
    }

    pub fn guid(&mut self) -> Guid {
        let hi = self.next();
        let lo = self.next();
        Guid::from_bits(hi, lo)
    }
}
