//! Agent states: for every shift a login (a break without a name), Idle and Busy periods with
//! lunch and other named breaks between them, and a logout that lasts until the next login.

use super::activity::Counters;
use super::calendar::{MINUTE, Ms, SECOND, seconds, unambiguous};
use super::copy::Table;
use super::generator::Tables;
use super::rng::Rng;
use super::tenant::{Shift, Tenant};
use super::words;

struct State {
    start: Ms,
    state: &'static str,
    break_name: Option<&'static str>,
    login: bool,
    logout: Option<&'static str>,
}

/// Writes the agent states of the shifts of one day.
pub fn write_day(t: &Tenant, day: usize, rng: &mut Rng, counters: &mut Counters, tables: &mut Tables) {
    let mut states = Vec::with_capacity(64);
    for shift in &t.shifts[day] {
        states.clear();
        shift_states(t, shift, rng, &mut states);
        let agent = t.agents[shift.agent].person.id;
        let cutoff = t.cutoff();
        for (i, s) in states.iter().enumerate() {
            if s.start >= cutoff {
                break;
            }
            let next = states.get(i + 1).map(|n| n.start).or(if s.logout.is_some() { shift.next_login } else { None });
            let duration = next.filter(|n| *n <= cutoff).map(|n| seconds(n - s.start));
            counters.agent_state += 1;
            tables
                .get(Table::AgentStates)
                .text(t.def.id)
                .int(counters.agent_state)
                .text(agent.as_str())
                .text(s.state)
                .opt_text(s.break_name)
                .bool(s.login)
                .bool(s.logout.is_some())
                .opt_text(s.logout)
                .ts(s.start)
                .opt_int(duration)
                .end();
        }
    }
}

fn shift_states(t: &Tenant, shift: &Shift, rng: &mut Rng, out: &mut Vec<State>) {
    let target = ((t.states_per_shift * rng.real(0.7, 1.3)).round() as usize).max(4);
    out.push(State { start: shift.login, state: "Break", break_name: None, login: true, logout: None });
    let work_start = shift.login + rng.secs(15.0, 120.0);
    let work_end = shift.logout;
    let length = work_end - work_start;
    // Named breaks, as many as leave at least one working state between them.
    let max_breaks = (target.saturating_sub(3)) / 2;
    let mut breaks: Vec<(Ms, Ms, &'static str)> = Vec::new();
    if max_breaks >= 1 && length > 5 * 60 * MINUTE {
        let at = work_start + (length as f64 * rng.real(0.42, 0.55)) as Ms;
        breaks.push((at, at + rng.secs(30.0 * 60.0, 45.0 * 60.0), "Lunch"));
    }
    if breaks.len() < max_breaks {
        let at = work_start + (length as f64 * rng.real(0.18, 0.3)) as Ms;
        breaks.push((at, at + rng.secs(8.0 * 60.0, 15.0 * 60.0), "Coffee"));
    }
    if breaks.len() < max_breaks {
        let name = rng.choose(words::BREAK_NAMES);
        let len = match name {
            "Training" => rng.secs(45.0 * 60.0, 60.0 * 60.0),
            "Meeting" => rng.secs(20.0 * 60.0, 35.0 * 60.0),
            _ => rng.secs(5.0 * 60.0, 15.0 * 60.0),
        };
        let at = work_start + (length as f64 * rng.real(0.68, 0.82)) as Ms;
        breaks.push((at, at + len, name));
    }
    breaks.sort_by_key(|b| b.0);
    // Working gaps between the breaks, each with its share of Idle/Busy states.
    let mut gaps: Vec<(Ms, Ms)> = Vec::with_capacity(breaks.len() + 1);
    let mut from = work_start;
    for b in &breaks {
        gaps.push((from, b.0));
        from = b.1;
    }
    gaps.push((from, work_end));
    let working = target.saturating_sub(2 + breaks.len()).max(gaps.len());
    let total: Ms = gaps.iter().map(|(a, b)| (b - a).max(1)).sum();
    let mut left = working;
    let mut cuts: Vec<Ms> = Vec::new();
    for (gi, (a, b)) in gaps.iter().enumerate() {
        let share = if gi + 1 == gaps.len() {
            left
        } else {
            ((working as f64 * (b - a).max(1) as f64 / total as f64).round() as usize)
                .clamp(1, left - (gaps.len() - gi - 1))
        };
        left -= share;
        cuts.clear();
        cuts.push(*a);
        for _ in 1..share {
            cuts.push(a + ((b - a) as f64 * rng.unit()) as Ms);
        }
        cuts.sort_unstable();
        for (k, at) in cuts.iter().enumerate() {
            let state = if k % 2 == 0 { "Idle" } else { "Busy" };
            out.push(State { start: *at, state, break_name: None, login: false, logout: None });
        }
        if let Some(b) = breaks.get(gi) {
            out.push(State { start: b.0, state: "Break", break_name: Some(b.2), login: false, logout: None });
        }
    }
    let reason = rng.choose(&[("AgentLogout", 90.0), ("ConnectionTimeout", 6.0), ("ForceLogout", 4.0)]);
    out.push(State { start: work_end, state: "LoggedOut", break_name: None, login: false, logout: Some(reason) });
    // Keep the instants strictly increasing and off exact half seconds.
    for i in 1..out.len() {
        let prev = out[i - 1].start;
        let start = out[i].start.max(prev + SECOND);
        out[i].start = prev + unambiguous(start - prev);
    }
}
