//! Planning a tenant from its definition for one (seed, scale, end date): calendar,
//! conversations per day, lookup ids, agents with their business-unit memberships, and shifts.

use super::defs::TenantDef;
use super::kinds::Media;
use super::{Agent, BotStep, BusinessUnit, Campaign, Channel, Person, Queue, Shift, Tenant};
use crate::demo::calendar::{Calendar, DAY, HOUR, Ms, SECOND, utc_midnight};
use crate::demo::rng::{Rng, mix, stream, tenant_key};
use crate::demo::words;
use chrono::{Days, NaiveDate};
use std::collections::HashSet;

impl Tenant {
    pub fn plan(def: &'static TenantDef, index: usize, seed: u64, scale: u32, end_date: NaiveDate) -> Tenant {
        let key = tenant_key(seed, index as u64);
        let cutoff = utc_midnight(end_date);
        let first = end_date - Days::new(u64::from(def.active_days));
        let calendar = Calendar::new(def.time_zone, first, def.active_days, cutoff, def.holidays);
        let conversations = if def.divisor == 1 { scale } else { (scale / def.divisor).max(1) };

        let mut plan_rng = Rng::new(&key, stream::PLAN);
        let day_counts = spread_over_days(&calendar, conversations, &mut plan_rng);

        let mut rng = Rng::new(&key, stream::LOOKUPS);
        let business_units: Vec<BusinessUnit> =
            def.business_units.iter().map(|_| BusinessUnit { id: rng.guid() }).collect();

        let mut channels = Vec::new();
        let mut queues = Vec::new();
        for (ci, cd) in def.channels.iter().enumerate() {
            let mut channel = Channel { id: rng.guid(), def: cd, business_unit: cd.business_unit, queues: Vec::new() };
            for qd in cd.queues {
                let deleted_at = qd.deleted_days_ago.map(|d| cutoff - i64::from(d) * DAY);
                let usable_until = deleted_at.map_or(Ms::MAX, |d| d - rng.int(1, 3) * DAY - rng.int(0, 12) * HOUR);
                channel.queues.push(queues.len());
                queues.push(Queue { id: rng.guid(), channel: ci, usable_until, deleted_at });
            }
            channels.push(channel);
        }
        let mut inbound: [Vec<(usize, f64)>; 3] = Default::default();
        let mut outbound: [Vec<(usize, f64)>; 3] = Default::default();
        for (ci, c) in channels.iter().enumerate() {
            let m = c.def.kind.media().index();
            if c.def.inbound_weight > 0.0 {
                inbound[m].push((ci, c.def.inbound_weight));
            }
            if c.def.outbound_weight > 0.0 {
                outbound[m].push((ci, c.def.outbound_weight));
            }
        }

        let bot_steps = def
            .bot_steps
            .iter()
            .map(|b| {
                let deleted_at = b.deleted_days_ago.map(|d| cutoff - i64::from(d) * DAY);
                BotStep {
                    id: rng.guid(),
                    kind: b.kind,
                    media: b.media,
                    usable_from: b.introduced_days_ago.map_or(Ms::MIN, |d| cutoff - i64::from(d) * DAY - 2 * DAY),
                    usable_until: deleted_at.map_or(Ms::MAX, |d| d - 2 * DAY),
                    config: rng.guid(),
                }
            })
            .collect();

        // Staff: unique names across agents, supervisors and other users.
        let mut taken = HashSet::new();
        let mut person = |rng: &mut Rng, prefix: &str, number: usize| -> Person {
            let (first, last) = loop {
                let f = *rng.pick(def.names.first);
                let l = *rng.pick(def.names.last);
                if taken.insert((f, l)) {
                    break (f, l);
                }
            };
            Person {
                id: rng.guid(),
                first,
                last,
                email: format!("{}.{}@{}", words::ascii_fold(first), words::ascii_fold(last), def.domain),
                custom_id: format!("{prefix}-{number:04}"),
                deleted_at: None,
            }
        };
        let agent_people: Vec<Person> = (0..def.agents).map(|i| person(&mut rng, "AG", 1001 + i)).collect();
        let mut supervisors: Vec<Person> = (0..def.supervisors).map(|i| person(&mut rng, "SV", 101 + i)).collect();
        let users: Vec<Person> = (0..def.users).map(|i| person(&mut rng, "US", 11 + i)).collect();
        for s in &mut supervisors {
            s.email = s.email.replace('@', ".supervisor@");
        }

        let period_start = calendar.days[0].midnight;
        // Business-unit weights follow the inbound traffic of their channels.
        let mut unit_weight = vec![0.0; business_units.len()];
        for c in &channels {
            unit_weight[c.business_unit] += c.def.inbound_weight * media_share(c.def.kind.media());
        }
        let mut agents: Vec<Agent> = agent_people
            .into_iter()
            .enumerate()
            .map(|(i, p)| Agent {
                phone: format!("{}{:03}", def.agent_phone_prefix, 100 + i),
                person: p,
                memberships: Vec::new(),
            })
            .collect();
        // Deleted agents, chosen among the whole staff.
        let mut deleted = Vec::new();
        for days in def.deleted_agents {
            let i = loop {
                let i = rng.below(agents.len());
                if !deleted.contains(&i) {
                    break i;
                }
            };
            deleted.push(i);
            agents[i].person.deleted_at = Some(cutoff - i64::from(*days) * DAY);
        }
        for agent in &mut agents {
            let primary = rng.weighted(&unit_weight);
            let mut units = vec![primary];
            if business_units.len() > 1 && rng.chance(0.35) {
                let other = loop {
                    let u = rng.below(business_units.len());
                    if u != primary {
                        break u;
                    }
                };
                units.push(other);
            }
            let until = agent.person.deleted_at.map_or(Ms::MAX, |d| d - DAY);
            let joined = period_start + 6 * HOUR + rng.int(0, 3600) * SECOND;
            agent.memberships = units.iter().map(|u| (*u, joined, until)).collect();
            // A few later changes: leaving the second unit, or joining another one.
            let days = calendar.len() as i64;
            if agent.memberships.len() == 2 && rng.chance(0.12) && days > 10 {
                let at = period_start + rng.int(days / 4, days - 3) * DAY + rng.int(7 * 3600, 9 * 3600) * SECOND;
                if at < agent.memberships[1].2 {
                    agent.memberships[1].2 = at;
                }
            } else if agent.memberships.len() == 1 && business_units.len() > 1 && rng.chance(0.06) && days > 10 {
                let at = period_start + rng.int(days / 4, days - 3) * DAY + rng.int(7 * 3600, 9 * 3600) * SECOND;
                let u = (primary_of(agent) + 1 + rng.below(business_units.len() - 1)) % business_units.len();
                if at < until {
                    agent.memberships.push((u, at, until));
                }
            }
        }

        let campaigns = def
            .campaigns
            .iter()
            .map(|(_, _, deleted)| Campaign {
                id: rng.guid(),
                usable_until: deleted.map_or(Ms::MAX, |d| cutoff - i64::from(d) * DAY - 3 * DAY),
            })
            .collect();
        let agent_scripts = (0..3).map(|_| rng.guid()).collect();
        let evaluation_scripts = (0..2).map(|_| rng.guid()).collect();

        let mut shift_rng = Rng::new(&key, stream::SHIFTS);
        let shifts = schedule(&calendar, &agents, &mut shift_rng);
        let total_shifts: usize = shifts.iter().map(Vec::len).sum();
        // About three agent states per four conversations.
        let states_per_shift =
            if total_shifts == 0 { 4.0 } else { (0.75 * f64::from(conversations) / total_shifts as f64).max(4.0) };

        Tenant {
            def,
            key,
            customer_key: mix(u64::from_le_bytes(key[..8].try_into().expect("8 bytes")) ^ 0xC057),
            customers: u64::from((conversations * 2 / 5).max(50)),
            calendar,
            conversations,
            day_counts,
            business_units,
            channels,
            inbound,
            outbound,
            queues,
            bot_steps,
            agents,
            supervisors,
            users,
            campaigns,
            agent_scripts,
            evaluation_scripts,
            shifts,
            states_per_shift,
            campaign_records: conversations / 20,
            total_shifts,
        }
    }
}

fn primary_of(agent: &Agent) -> usize {
    agent.memberships[0].0
}

/// Share of conversations per media: 60% voice, 25% chat, 15% email.
pub fn media_share(media: Media) -> f64 {
    match media {
        Media::Voice => 0.60,
        Media::Chat => 0.25,
        Media::Email => 0.15,
    }
}

/// Conversations per day: weekday peaks (Monday busiest), quiet weekends and holidays, a little
/// noise and a slow growth over the period; exact total by largest remainders.
fn spread_over_days(calendar: &Calendar, total: u32, rng: &mut Rng) -> Vec<u32> {
    let n = calendar.len();
    let weights: Vec<f64> = calendar
        .days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let weekday = [1.15, 1.05, 1.0, 1.0, 0.9, 0.35, 0.15][d.weekday as usize];
            let holiday = if d.holiday { 0.25 } else { 1.0 };
            let trend = 1.0 + 0.1 * i as f64 / n.max(1) as f64;
            weekday * holiday * trend * rng.real(0.9, 1.1)
        })
        .collect();
    let sum: f64 = weights.iter().sum();
    let exact: Vec<f64> = weights.iter().map(|w| w / sum * f64::from(total)).collect();
    let mut counts: Vec<u32> = exact.iter().map(|e| e.floor() as u32).collect();
    let mut left = total - counts.iter().sum::<u32>();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|a, b| (exact[*b] - exact[*b].floor()).total_cmp(&(exact[*a] - exact[*a].floor())).then(a.cmp(b)));
    for i in order.into_iter().cycle() {
        if left == 0 {
            break;
        }
        counts[i] += 1;
        left -= 1;
    }
    counts
}

/// Agents' shifts: early, middle or late on weekdays (a few absences), a Saturday rota, none on
/// Sundays and holidays, none after an agent's last working day.
fn schedule(calendar: &Calendar, agents: &[Agent], rng: &mut Rng) -> Vec<Vec<Shift>> {
    let prefs: Vec<usize> = agents.iter().map(|_| rng.weighted(&[0.35, 0.35, 0.30])).collect();
    let last_day: Vec<Ms> =
        agents.iter().map(|a| a.person.deleted_at.map_or(Ms::MAX, |d| d - DAY - rng.int(0, 3) * DAY)).collect();
    let mut days: Vec<Vec<Shift>> = Vec::with_capacity(calendar.len());
    for (di, day) in calendar.days.iter().enumerate() {
        let mut shifts = Vec::new();
        for (ai, _) in agents.iter().enumerate() {
            let absent = rng.chance(0.07);
            let jitter_in = rng.int(-10 * 60, 10 * 60) as f64;
            let jitter_len = rng.int(-20 * 60, 30 * 60) as f64;
            if day.holiday || day.midnight >= last_day[ai] {
                continue;
            }
            let (start, hours) = match day.weekday {
                0..=4 if !absent => ([7.75, 9.0, 11.75][prefs[ai]], 8.5),
                5 if (ai + di / 7) % 4 == 0 => (8.75, 5.5),
                _ => continue,
            };
            // Whole seconds, so that a logout's duration until the next login is exact.
            let login = calendar.at(di, start * 3600.0 + jitter_in) / SECOND * SECOND;
            let logout = calendar.at(di, (start + hours) * 3600.0 + jitter_in + jitter_len) / SECOND * SECOND;
            shifts.push(Shift { agent: ai, login, logout, next_login: None });
        }
        days.push(shifts);
    }
    // Link each shift to the agent's next one.
    let mut next: Vec<Option<Ms>> = vec![None; agents.len()];
    for shifts in days.iter_mut().rev() {
        for s in shifts.iter_mut() {
            s.next_login = next[s.agent];
            next[s.agent] = Some(s.login);
        }
    }
    days
}
