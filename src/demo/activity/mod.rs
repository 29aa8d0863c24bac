//! Conversations and everything hanging off them: bot segments, rejected enqueue attempts,
//! queue segments, workitems with their conversation sessions, collected data and evaluations,
//! and captured workflow variables.
//!
//! A conversation is first simulated as a draft timeline (bots, then queues, then an agent),
//! then written; whatever lies after the data set's cutoff is left open (NULL end) or dropped,
//! which is what makes the few conversations of the last day that are still going "running".
//!
//! This module owns the draft timeline types, the [`Activity`] generator and the top of a
//! customer journey; the phases of the simulation and the writing of rows live in submodules.

mod agents;
mod draft;
mod inbound;
mod outbound;
mod queues;
mod write;
mod write_workitem;

use super::calendar::{Ms, Opening};
use super::generator::Tables;
use super::rng::{Guid, Rng};
use super::tenant::{ChannelKind, Customer, Media, Tenant};

/// Sequential bigint ids, per tenant.
#[derive(Debug, Default, Clone)]
pub struct Counters {
    pub session: i64,
    pub evaluation: i64,
    pub evaluation_data: i64,
    pub agent_state: i64,
}

struct BotSeg {
    id: Guid,
    step: usize,
    start: Ms,
    end: Ms,
    result: &'static str,
    info: Option<String>,
    finished: Option<String>,
    bot_info: Option<String>,
}

struct QueueSeg {
    queue: usize,
    queued: Ms,
    dequeued: Ms,
    reason: &'static str,
}

struct Reject {
    id: Guid,
    queue: usize,
    at: Ms,
    reason: &'static str,
}

struct Session {
    conversation: Guid,
    reason: &'static str,
    /// Voice only: (count, last hold, total hold).
    holds: Option<(i64, Ms, Ms)>,
}

struct Workitem {
    id: Guid,
    agent: usize,
    queue: Option<usize>,
    start: Ms,
    preview: Ms,
    lookup: Option<Ms>,
    active: Ms,
    wrap: Ms,
    result: &'static str,
    completion: Option<&'static str>,
    notes: Option<&'static str>,
    script: Option<usize>,
    sessions: Vec<Session>,
}

struct Conv {
    id: Guid,
    channel: usize,
    kind: ChannelKind,
    media: Media,
    start: Ms,
    end: Ms,
    reason: &'static str,
    outbound: bool,
    consult: bool,
    phone_number: Option<&'static str>,
    opening: Opening,
    customer: Customer,
    identified: bool,
    show_phone: bool,
    show_email: bool,
    joined: Option<Ms>,
    ring: Option<Ms>,
    hold_count: i64,
    hold_ms: Ms,
    next: Option<Guid>,
    transfer_by: Option<&'static str>,
    transfer_external: Option<&'static str>,
    avg_agent: Option<i64>,
    avg_bot: Option<i64>,
    avg_customer: Option<i64>,
    first_customer_answer: Option<Ms>,
    first_reply_at: Option<Ms>,
    subject: Option<(String, usize)>,
    thread: Option<Guid>,
    bots: Vec<BotSeg>,
    queues: Vec<QueueSeg>,
    rejects: Vec<Reject>,
    workitems: Vec<Workitem>,
}

/// A transfer that creates a next conversation.
struct Transfer {
    at: Ms,
    channel: usize,
    consult: bool,
    from_agent: Option<usize>,
    next: Guid,
}

/// Generates the conversations of one block of one day.
pub struct Activity<'a> {
    t: &'a Tenant,
    rng: Rng,
    day: usize,
    last_day: bool,
    cutoff: Ms,
    /// Share of the last day's agent-handled chats and emails still open at the cutoff.
    still_running: f64,
    tables: &'a mut Tables,
    counters: &'a mut Counters,
}

impl<'a> Activity<'a> {
    pub fn new(t: &'a Tenant, day: usize, rng: Rng, tables: &'a mut Tables, counters: &'a mut Counters) -> Self {
        let last_day = day + 1 == t.calendar.len();
        // About 0.3% of all conversations, taken from the last day's chats and emails.
        let still_running = if last_day && t.day_counts[day] > 0 {
            (0.003 * f64::from(t.conversations) / (0.36 * f64::from(t.day_counts[day]))).min(0.6)
        } else {
            0.0
        };
        Activity { t, rng, day, last_day, cutoff: t.cutoff(), still_running, tables, counters }
    }

    /// Generates exactly `count` conversations.
    pub fn run(&mut self, count: u32) {
        let mut left = count;
        while left > 0 {
            left -= self.journey(left >= 2);
        }
    }

    /// One customer contact: one conversation, or two when it is transferred to a new one.
    fn journey(&mut self, allow_transfer: bool) -> u32 {
        let media = self.rng.choose(&[(Media::Voice, 0.60), (Media::Chat, 0.25), (Media::Email, 0.15)]);
        let open_day = self.t.calendar.days[self.day].open.is_some();
        let outbound_share = match media {
            Media::Voice => 0.12,
            Media::Chat => 0.03,
            Media::Email => 0.12,
        };
        let outbound = open_day && !self.t.outbound[media.index()].is_empty() && self.rng.chance(outbound_share);
        let channels = if outbound { &self.t.outbound[media.index()] } else { &self.t.inbound[media.index()] };
        let channel = self.rng.choose(channels);
        let start = if outbound { self.outbound_start() } else { self.inbound_start(media) };
        let customer = self.t.random_customer(&mut self.rng);
        let id = self.rng.guid();
        let mut c = self.draft(id, channel, start, customer, outbound);
        let transfer = if outbound { self.outbound(&mut c) } else { self.inbound(&mut c, allow_transfer) };
        match transfer {
            None => {
                self.emit(c);
                1
            }
            Some(tr) => {
                let start = tr.at + self.rng.secs(0.3, 2.0);
                let mut next = self.draft(tr.next, tr.channel, start, self.t.customer(c.customer.index), false);
                next.consult = tr.consult;
                next.identified = c.identified;
                next.show_phone = c.show_phone;
                next.show_email = c.show_email;
                if c.media != Media::Email {
                    next.joined = Some(start);
                }
                if c.media == Media::Email {
                    next.subject = c.subject.clone();
                    next.thread = c.thread;
                }
                self.emit(c);
                let queue = self.t.queue_of(&mut self.rng, tr.channel, start, None);
                match queue {
                    Some(q) => {
                        self.queue_phase(&mut next, start, q, false, true, tr.from_agent);
                    }
                    None => {
                        next.end = start + self.rng.secs(5.0, 20.0);
                        next.reason = "Default";
                    }
                }
                self.emit(next);
                2
            }
        }
    }

    fn unit_of(&self, c: &Conv) -> usize {
        self.t.channels[c.channel].business_unit
    }
}
