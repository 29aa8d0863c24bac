//! Time for the nightly jobs: a `Clock` the scheduler and the jobs read (the system clock in
//! the server, a settable one in tests), and the pure arithmetic of midnights: the most recent
//! 00:00 UTC, the next one, and when the next run is due.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use std::sync::Mutex;

/// Where the jobs read the time.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that runs from a set instant at the speed of real time, and can be moved (tests).
pub struct SetClock {
    state: Mutex<(DateTime<Utc>, std::time::Instant)>,
}

impl SetClock {
    pub fn new(at: DateTime<Utc>) -> SetClock {
        SetClock { state: Mutex::new((at, std::time::Instant::now())) }
    }

    /// Moves the clock to `at`; it runs on from there.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.state.lock().expect("the clock is never poisoned") = (at, std::time::Instant::now());
    }
}

impl Clock for SetClock {
    fn now(&self) -> DateTime<Utc> {
        let (at, since) = *self.state.lock().expect("the clock is never poisoned");
        at + Duration::from_std(since.elapsed()).unwrap_or_default()
    }
}

/// The latest 00:00 UTC at or before `now`.
pub fn most_recent_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    now.date_naive().and_time(NaiveTime::MIN).and_utc()
}

/// The first 00:00 UTC strictly after `now`.
pub fn next_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    most_recent_midnight(now) + Duration::days(1)
}

/// When a job should run next, given its last successful scheduled run: now when the most
/// recent midnight has no successful run yet (catch-up after downtime), otherwise at the next
/// midnight.
pub fn next_run(now: DateTime<Utc>, last_success: Option<DateTime<Utc>>) -> DateTime<Utc> {
    match last_success {
        Some(done) if done >= most_recent_midnight(now) => next_midnight(now),
        _ => now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn midnights_are_utc_days_and_an_exact_midnight_is_its_own_most_recent() {
        assert_eq!(most_recent_midnight(at("2026-11-21T23:59:59.999Z")), at("2026-11-21T00:00:00Z"));
        assert_eq!(most_recent_midnight(at("2026-11-22T00:00:00Z")), at("2026-11-22T00:00:00Z"));
        assert_eq!(next_midnight(at("2026-11-22T00:00:00Z")), at("2026-11-23T00:00:00Z"));
        assert_eq!(next_midnight(at("2026-12-31T13:00:00+05:00")), at("2027-01-01T00:00:00Z"));
        assert_eq!(next_midnight(at("2028-02-28T10:00:00Z")), at("2028-02-29T00:00:00Z"));
    }

    #[test]
    fn a_job_without_a_run_for_the_latest_midnight_is_due_now_and_otherwise_at_the_next() {
        let now = at("2026-11-22T09:30:00Z");
        assert_eq!(next_run(now, None), now);
        assert_eq!(next_run(now, Some(at("2026-11-21T00:00:00Z"))), now, "yesterday's run: catch up");
        assert_eq!(next_run(now, Some(at("2026-11-22T00:00:00Z"))), at("2026-11-23T00:00:00Z"));
        let just_before = at("2026-11-22T23:59:59Z");
        assert_eq!(next_run(just_before, Some(at("2026-11-22T00:00:00Z"))), at("2026-11-23T00:00:00Z"));
        let midnight = at("2026-11-23T00:00:00Z");
        assert_eq!(next_run(midnight, Some(at("2026-11-22T00:00:00Z"))), midnight);
    }

    #[test]
    fn a_set_clock_runs_on_from_where_it_was_set() {
        let clock = SetClock::new(at("2026-11-21T23:59:59Z"));
        assert!(clock.now() >= at("2026-11-21T23:59:59Z") && clock.now() < at("2026-11-22T00:00:05Z"));
        clock.set(at("2026-11-22T00:00:01Z"));
        assert!(clock.now() >= at("2026-11-22T00:00:01Z"));
    }
}
