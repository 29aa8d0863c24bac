//! Queries on a planned tenant used while generating activity: the cutoff, customers by index
//! or at random, business-unit membership, and the agent, queue or bot step usable at an instant.

use super::defs::PhoneStyle;
use super::kinds::{BotKind, Media};
use super::{Customer, Tenant};
use crate::demo::calendar::{DAY, MINUTE, Ms};
use crate::demo::rng::{Hashed, Rng};
use crate::demo::words;

impl Tenant {
    pub fn cutoff(&self) -> Ms {
        self.calendar.cutoff
    }

    /// A customer of the tenant by index.
    pub fn customer(&self, index: u64) -> Customer {
        let mut h = Hashed::new(self.customer_key, index);
        let first = self.def.names.first[h.below(self.def.names.first.len())];
        let last = self.def.names.last[h.below(self.def.names.last.len())];
        let phone = match self.def.phone_style {
            PhoneStyle::Hungarian => {
                if h.chance(0.2) {
                    format!("+361{}", h.digits(7))
                } else {
                    let net = ["20", "30", "70"][h.below(3)];
                    format!("+36{net}{}", h.digits(7))
                }
            }
            PhoneStyle::American => {
                let area = ["212", "646", "718", "917", "347", "201", "516"][h.below(7)];
                format!("+1{area}{}{}", 2 + h.below(8), h.digits(6))
            }
        };
        let domain = self.def.email_domains[h.below(self.def.email_domains.len())];
        let email = if h.chance(0.5) {
            format!("{}.{}{}@{domain}", words::ascii_fold(first), words::ascii_fold(last), h.below(100))
        } else {
            format!("{}{}@{domain}", &words::ascii_fold(first)[..1], words::ascii_fold(last))
        };
        Customer { id: h.guid(), first, last, phone, email, index }
    }

    /// A random customer: a few frequent callers, many occasional ones.
    pub fn random_customer(&self, rng: &mut Rng) -> Customer {
        let u = rng.unit();
        let index = ((u * u) * self.customers as f64) as u64;
        self.customer(index)
    }

    /// Whether `agent` belongs to business unit `unit` at `t`.
    pub fn member(&self, agent: usize, unit: usize, t: Ms) -> bool {
        self.agents[agent].memberships.iter().any(|(u, from, until)| *u == unit && *from <= t && t < *until)
    }

    /// An agent on shift at `t` (preferably in `unit`), other than `except`; if nobody is on
    /// shift, an agent that is not deleted at `t`.
    pub fn agent_at(&self, rng: &mut Rng, t: Ms, unit: usize, except: Option<usize>, strict: bool) -> Option<usize> {
        let mut on_shift: Vec<usize> = Vec::with_capacity(64);
        let mut in_unit: Vec<usize> = Vec::with_capacity(64);
        if let Some(day) = self.calendar.day_of(t) {
            for s in &self.shifts[day] {
                if s.login + 2 * MINUTE <= t && t + 2 * MINUTE < s.logout && Some(s.agent) != except {
                    on_shift.push(s.agent);
                    if self.member(s.agent, unit, t) {
                        in_unit.push(s.agent);
                    }
                }
            }
        }
        if !in_unit.is_empty() && (in_unit.len() * 4 >= on_shift.len() || rng.chance(0.9)) {
            return Some(*rng.pick(&in_unit));
        }
        if !on_shift.is_empty() {
            return Some(*rng.pick(&on_shift));
        }
        if strict {
            return None;
        }
        let alive: Vec<usize> = (0..self.agents.len())
            .filter(|a| Some(*a) != except && self.agents[*a].person.deleted_at.is_none_or(|d| t < d - 2 * DAY))
            .collect();
        if alive.is_empty() { None } else { Some(*rng.pick(&alive)) }
    }

    /// A queue of `channel` usable at `t`, or any usable queue of the same media.
    pub fn queue_of(&self, rng: &mut Rng, channel: usize, t: Ms, except: Option<usize>) -> Option<usize> {
        let own: Vec<usize> = self.channels[channel]
            .queues
            .iter()
            .copied()
            .filter(|q| self.queues[*q].usable_until > t && Some(*q) != except)
            .collect();
        if !own.is_empty() && (except.is_none() || rng.chance(0.5)) {
            // The first queue of a channel takes most of its traffic.
            return Some(if own.len() > 1 && rng.chance(0.3) { own[1 + rng.below(own.len() - 1)] } else { own[0] });
        }
        let media = self.channels[channel].def.kind.media();
        let others: Vec<usize> = (0..self.queues.len())
            .filter(|q| {
                let c = &self.channels[self.queues[*q].channel];
                c.def.kind.media() == media && self.queues[*q].usable_until > t && Some(*q) != except
            })
            .collect();
        if others.is_empty() { own.first().copied() } else { Some(*rng.pick(&others)) }
    }

    /// The tenant's bot step of a kind and media usable at `t`.
    pub fn bot_step(&self, kind: BotKind, media: Media, t: Ms) -> Option<usize> {
        self.bot_steps
            .iter()
            .position(|b| b.kind == kind && b.media == media && b.usable_from <= t && t < b.usable_until)
    }
}
