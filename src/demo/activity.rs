//! Conversations and everything hanging off them: bot segments, rejected enqueue attempts,
//! queue segments, workitems with their conversation sessions, collected data and evaluations,
//! and captured workflow variables.
//!
//! A conversation is first simulated as a draft timeline (bots, then queues, then an agent),
//! then written; whatever lies after the data set's cutoff is left open (NULL end) or dropped,
//! which is what makes the few conversations of the last day that are still going "running".

use super::calendar::{DAY, HOUR, MINUTE, Ms, Opening, SECOND, seconds, unambiguous};
use super::copy::Table;
use super::generator::Tables;
use super::rng::{Guid, Hashed, Rng};
use super::tenant::{BotKind, ChannelKind, Customer, Media, Tenant};
use super::words;

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

/// Local hour weights of inbound arrivals.
const VOICE_WEEKDAY: [f64; 24] = [
    0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.5, 6.0, 10.0, 11.0, 10.5, 8.0, 8.5, 9.5, 9.0, 8.0, 6.5, 4.5, 3.0, 1.5, 1.0,
    0.6, 0.4,
];
const VOICE_SATURDAY: [f64; 24] = [
    0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.4, 1.0, 3.0, 7.0, 8.0, 7.5, 6.0, 4.0, 2.0, 1.5, 1.2, 1.0, 0.8, 0.7, 0.6, 0.5, 0.4,
    0.3,
];
const QUIET_DAY: [f64; 24] = [
    0.4, 0.2, 0.1, 0.1, 0.1, 0.2, 0.4, 0.8, 1.5, 2.5, 3.0, 3.0, 2.8, 2.5, 2.5, 2.5, 2.3, 2.2, 2.0, 2.0, 1.8, 1.4, 1.0,
    0.6,
];
const EMAIL_WEEKDAY: [f64; 24] = [
    0.5, 0.3, 0.2, 0.2, 0.2, 0.4, 1.0, 2.5, 5.0, 6.5, 7.0, 7.0, 6.0, 6.5, 6.5, 6.0, 5.5, 4.5, 3.5, 3.0, 2.5, 2.0, 1.5,
    1.0,
];

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

    fn draft(&mut self, id: Guid, channel: usize, start: Ms, customer: Customer, outbound: bool) -> Conv {
        let ch = &self.t.channels[channel];
        let kind = ch.def.kind;
        let media = kind.media();
        let r = &mut self.rng;
        let (identified, show_phone, show_email) = match kind {
            ChannelKind::Voice => (r.chance(if outbound { 0.9 } else { 0.75 }), outbound || r.chance(0.97), false),
            ChannelKind::Webchat => (r.chance(0.55), false, false),
            ChannelKind::Facebook => (true, false, false),
            ChannelKind::Viber => (r.chance(0.95), true, false),
            ChannelKind::Email => (r.chance(0.85), false, true),
        };
        let phone_number = match kind {
            ChannelKind::Voice if outbound => ch.def.phones.first().copied(),
            ChannelKind::Voice => Some(*r.pick(ch.def.phones)),
            _ => None,
        };
        let (subject, thread) = if media == Media::Email {
            // A customer writes about a handful of subjects; the same subject keeps its thread.
            let slot = r.below(4) as u64;
            let mut h = Hashed::new(self.t.customer_key ^ 0x7412, customer.index * 8 + slot);
            let si = h.below(words::SUBJECTS.len());
            let number = 10_000 + h.below(90_000);
            let text = words::SUBJECTS[si].0.replace("{n}", &number.to_string());
            let thread = h.guid();
            (Some((text, si)), Some(thread))
        } else {
            (None, None)
        };
        Conv {
            id,
            channel,
            kind,
            media,
            start,
            end: start,
            reason: "Default",
            outbound,
            consult: false,
            phone_number,
            opening: self.t.calendar.opening(start),
            customer,
            identified,
            show_phone,
            show_email,
            joined: None,
            ring: None,
            hold_count: 0,
            hold_ms: 0,
            next: None,
            transfer_by: None,
            transfer_external: None,
            avg_agent: None,
            avg_bot: None,
            avg_customer: None,
            first_customer_answer: None,
            first_reply_at: None,
            subject,
            thread,
            bots: Vec::new(),
            queues: Vec::new(),
            rejects: Vec::new(),
            workitems: Vec::new(),
        }
    }

    /// An arrival time in the day, following the media's intraday profile, before the cutoff.
    fn inbound_start(&mut self, media: Media) -> Ms {
        let d = &self.t.calendar.days[self.day];
        let profile = match (media, d.weekday, d.holiday) {
            (_, _, true) | (_, 6, _) => &QUIET_DAY,
            (Media::Email, 5, _) => &QUIET_DAY,
            (Media::Email, _, _) => &EMAIL_WEEKDAY,
            (_, 5, _) => &VOICE_SATURDAY,
            _ => &VOICE_WEEKDAY,
        };
        for _ in 0..20 {
            let hour = self.rng.weighted(profile) as f64;
            let t = self.t.calendar.at(self.day, (hour + self.rng.unit()) * 3600.0);
            if t < self.cutoff - 10 * MINUTE && t >= d.midnight {
                return t;
            }
        }
        let end = d.end.min(self.cutoff - 10 * MINUTE);
        d.midnight + ((end - d.midnight) as f64 * self.rng.unit()) as Ms
    }

    /// Agents dial out or write during opening hours, away from their edges.
    fn outbound_start(&mut self) -> Ms {
        let (o, c) = self.t.calendar.days[self.day].open.expect("outbound only on open days");
        let hi = c.min(self.cutoff - HOUR) - 30 * MINUTE;
        let lo = o + 30 * MINUTE;
        if hi <= lo {
            return o.min(self.cutoff - HOUR);
        }
        lo + ((hi - lo) as f64 * self.rng.unit()) as Ms
    }

    fn unit_of(&self, c: &Conv) -> usize {
        self.t.channels[c.channel].business_unit
    }

    // ----- inbound --------------------------------------------------------------------------

    fn inbound(&mut self, c: &mut Conv, allow_transfer: bool) -> Option<Transfer> {
        let mut t = c.start;
        let media = c.media;
        if media != Media::Email {
            c.joined = Some(c.start);
        }
        // Bots.
        let path: &[BotKind] = self.bot_path(media, c.opening);
        for &kind in path {
            let Some(step) = self.t.bot_step(kind, media, t) else { continue };
            let seg = self.bot_segment(c, step, kind, t);
            t = seg.end;
            let result = seg.result;
            if kind == BotKind::IdentifyCustomer && result == "Success" {
                // The customer fields follow what the identification found.
                c.identified = seg.info.as_deref() != Some("invalid");
            }
            c.bots.push(seg);
            match result {
                "CustomerDisconnect" => {
                    c.end = t + self.rng.secs(0.1, 2.0);
                    c.reason = self.customer_left_reason(c);
                    self.chat_averages(c, false);
                    return None;
                }
                "Failed" if media != Media::Email && self.rng.chance(0.5) => {
                    c.end = t + self.rng.secs(0.5, 3.0);
                    c.reason = if media == Media::Voice { "InternalError" } else { "Default" };
                    self.chat_averages(c, false);
                    return None;
                }
                _ => {}
            }
            t += self.rng.secs(0.2, 1.5);
        }
        // Out of hours: a closed message, then the end (emails wait in the queue instead).
        if media != Media::Email && c.opening != Opening::Open {
            c.end = t + self.rng.secs(3.0, 15.0);
            c.reason = if self.rng.chance(0.8) { "Default" } else { self.customer_left_reason(c) };
            self.chat_averages(c, false);
            return None;
        }
        // The voice menu may send the call elsewhere.
        if media == Media::Voice && !c.bots.is_empty() {
            let r = self.rng.unit();
            if r < 0.03 && allow_transfer && t < self.cutoff - 15 * MINUTE {
                c.end = t + self.rng.secs(0.5, 3.0);
                c.reason = "TransferToChannel";
                c.transfer_by = Some("workflow");
                let next = self.rng.guid();
                c.next = Some(next);
                let channel = self.transfer_target(c);
                return Some(Transfer { at: c.end, channel, consult: false, from_agent: None, next });
            } else if r < 0.04 {
                c.end = t + self.rng.secs(15.0, 400.0);
                c.reason = "TransferToExternal";
                c.transfer_by = Some("workflow");
                c.transfer_external = Some(*self.rng.pick(self.t.def.external_numbers));
                return None;
            } else if r < 0.043 {
                c.end = t + self.rng.secs(30.0, 32.0);
                c.reason = "TransferToExternalFailed";
                c.transfer_by = Some("workflow");
                c.transfer_external = Some(*self.rng.pick(self.t.def.external_numbers));
                return None;
            }
        }
        let Some(mut queue) = self.t.queue_of(&mut self.rng, c.channel, t, None) else {
            c.end = t + self.rng.secs(2.0, 10.0);
            c.reason = "Default";
            return None;
        };
        // Rejected by the queue: nobody logged in, or a limit reached.
        let unit = self.unit_of(c);
        let nobody = media != Media::Email && self.t.agent_at(&mut self.rng, t, unit, None, true).is_none();
        if nobody || self.rng.chance(0.035) {
            let reason = if nobody {
                "NoAgentLoggedIn"
            } else {
                self.rng.choose(&[
                    ("NoStaffedAgentLoggedIn", 15.0),
                    ("NoAvailableStaffedAgent", 35.0),
                    ("EstimatedWaitTimeLimitReached", 30.0),
                    ("QueueSizeLimitReached", 20.0),
                ])
            };
            let id = self.rng.guid();
            c.rejects.push(Reject { id, queue, at: t, reason });
            let retry = if nobody { None } else { self.t.queue_of(&mut self.rng, c.channel, t, Some(queue)) };
            match retry {
                Some(q) if self.rng.chance(0.45) => {
                    queue = q;
                    t += self.rng.secs(0.5, 3.0);
                }
                _ => {
                    c.end = t + self.rng.secs(5.0, 20.0);
                    c.reason =
                        if media == Media::Voice && self.rng.chance(0.3) { "CustomerDisconnected" } else { "Default" };
                    self.chat_averages(c, false);
                    return None;
                }
            }
        }
        self.queue_phase(c, t, queue, allow_transfer, true, None)
    }

    fn customer_left_reason(&mut self, c: &Conv) -> &'static str {
        match c.kind {
            ChannelKind::Voice | ChannelKind::Webchat => "CustomerDisconnected",
            ChannelKind::Email => "Default",
            _ => "IdleTimeout",
        }
    }

    fn bot_path(&mut self, media: Media, opening: Opening) -> &'static [BotKind] {
        use BotKind::*;
        let closed = opening != Opening::Open && media != Media::Email;
        match media {
            Media::Voice if closed => {
                if self.rng.chance(0.8) {
                    &[Announcement]
                } else {
                    &[]
                }
            }
            Media::Voice => {
                if !self.rng.chance(0.7) {
                    return &[];
                }
                const PATHS: &[(&[BotKind], f64)] = &[
                    (&[Announcement, AutoAttendant], 35.0),
                    (&[AutoAttendant], 25.0),
                    (&[MatchAni, AutoAttendant], 10.0),
                    (&[IdentifyCustomer, Question], 10.0),
                    (&[Announcement], 10.0),
                    (&[IdentifyCustomer, AutoAttendant], 10.0),
                ];
                self.rng.choose(PATHS)
            }
            Media::Chat if closed => &[],
            Media::Chat => {
                if !self.rng.chance(0.7) {
                    return &[];
                }
                const PATHS: &[(&[BotKind], f64)] = &[
                    (&[MenuSelection], 30.0),
                    (&[Qna], 25.0),
                    (&[IdentifyCustomer, MenuSelection], 15.0),
                    (&[CustomBot], 10.0),
                    (&[Question, Qna], 10.0),
                    (&[MenuSelection, CustomBot], 10.0),
                ];
                self.rng.choose(PATHS)
            }
            Media::Email => {
                if !self.rng.chance(0.6) {
                    return &[];
                }
                const PATHS: &[(&[BotKind], f64)] = &[
                    (&[CustomerIntentEvaluator, SendEmailReply], 50.0),
                    (&[CustomerIntentEvaluator], 30.0),
                    (&[SendEmailReply], 20.0),
                ];
                self.rng.choose(PATHS)
            }
        }
    }

    fn bot_segment(&mut self, c: &Conv, step: usize, kind: BotKind, start: Ms) -> BotSeg {
        use BotKind::*;
        let voice = c.media == Media::Voice;
        let r = &mut self.rng;
        let span = match kind {
            Announcement => r.secs(6.0, 20.0),
            AutoAttendant => r.lognormal_ms(15.0, 0.5, 4.0, 90.0),
            MatchAni => r.secs(0.1, 0.8),
            IdentifyCustomer if voice => r.secs(1.0, 6.0),
            IdentifyCustomer => r.lognormal_ms(30.0, 0.6, 5.0, 300.0),
            Question if voice => r.lognormal_ms(18.0, 0.5, 5.0, 90.0),
            Question => r.lognormal_ms(35.0, 0.7, 5.0, 400.0),
            MenuSelection => r.lognormal_ms(15.0, 0.7, 3.0, 200.0),
            Qna => r.lognormal_ms(90.0, 0.8, 10.0, 1200.0),
            CustomBot => r.lognormal_ms(60.0, 0.8, 5.0, 900.0),
            CustomerIntentEvaluator => r.secs(0.2, 2.0),
            SendEmailReply => r.secs(0.5, 3.0),
        };
        let result = if c.media == Media::Email {
            if r.chance(0.99) { "Success" } else { "Failed" }
        } else {
            let failed = if kind == CustomBot { 0.05 } else { 0.015 };
            let left = match kind {
                MatchAni | IdentifyCustomer if voice => 0.005,
                Announcement => 0.03,
                _ => 0.06,
            };
            let x = r.unit();
            if x < failed {
                "Failed"
            } else if x < failed + left {
                "CustomerDisconnect"
            } else {
                "Success"
            }
        };
        let (info, finished, bot_info): (Option<String>, Option<String>, Option<String>) = if result != "Success" {
            (None, if result == "Failed" { Some("Error".into()) } else { None }, None)
        } else {
            match kind {
                Announcement => (None, Some("Next".into()), None),
                AutoAttendant => {
                    if r.chance(0.05) {
                        (None, Some("RetryExhausted".into()), Some("retry exhausted".into()))
                    } else {
                        let digit =
                            r.choose(&[("1", 40.0), ("2", 25.0), ("3", 20.0), ("4", 10.0), ("0", 5.0)]).to_string();
                        (Some(digit.clone()), Some(digit.clone()), Some(digit))
                    }
                }
                MatchAni => {
                    let rule = r.choose(words::ANI_RULES).to_string();
                    (Some(rule.clone()), Some(rule.clone()), Some(rule))
                }
                IdentifyCustomer => {
                    let how = if voice {
                        r.choose(&[("byPhone", 70.0), ("invalid", 10.0), ("created", 10.0), ("external", 10.0)])
                    } else {
                        r.choose(&[
                            ("byEmail", 50.0),
                            ("byPhone", 10.0),
                            ("invalid", 15.0),
                            ("created", 20.0),
                            ("external", 5.0),
                        ])
                    };
                    let outcome = if how == "invalid" { "invalid" } else { "success" };
                    (Some(how.into()), Some(how.into()), Some(outcome.into()))
                }
                Question if voice => {
                    if r.chance(0.08) {
                        (None, Some("retryExhausted".into()), Some("retry exhausted".into()))
                    } else {
                        (Some(r.digits(8)), Some("success".into()), Some("success".into()))
                    }
                }
                Question => {
                    if r.chance(0.1) {
                        (Some("not sure".into()), Some("invalid".into()), Some("invalid".into()))
                    } else {
                        (Some(c.customer.email.clone()), Some("success".into()), Some("success".into()))
                    }
                }
                MenuSelection => {
                    let option = r.pick(words::MENU_OPTIONS).to_string();
                    (Some(option.clone()), Some(option.clone()), Some(option))
                }
                Qna => {
                    if r.chance(0.35) {
                        (Some("exitQuestion".into()), Some("exitQuestion".into()), Some("No Answer".into()))
                    } else {
                        (None, Some("Answered".into()), Some(self.t.bot_steps[step].config.to_string()))
                    }
                }
                CustomBot => {
                    let out = r.pick(words::CUSTOM_BOT_OUTPUTS).to_string();
                    let done = if out.starts_with("handover") { "Handover" } else { "Completed" };
                    (Some(out), Some(done.into()), None)
                }
                CustomerIntentEvaluator => {
                    let (_, category, keyword) = words::SUBJECTS[c.subject.as_ref().map_or(0, |s| s.1)];
                    match keyword {
                        Some(k) => {
                            let place = if r.chance(0.7) { "subject" } else { "content" };
                            (Some(format!("{place}:{k}")), Some(category.into()), Some(category.into()))
                        }
                        None => (None, Some("NoMatch".into()), Some("no match".into())),
                    }
                }
                SendEmailReply => (None, Some("Sent".into()), None),
            }
        };
        BotSeg { id: self.rng.guid(), step, start, end: start + span, result, info, finished, bot_info }
    }

    fn transfer_target(&mut self, c: &Conv) -> usize {
        match c.media {
            Media::Chat => c.channel,
            media => {
                let others: Vec<(usize, f64)> =
                    self.t.inbound[media.index()].iter().copied().filter(|(ch, _)| *ch != c.channel).collect();
                if others.is_empty() { c.channel } else { self.rng.choose(&others) }
            }
        }
    }

    // ----- queues ---------------------------------------------------------------------------

    /// Waits in `queue` (and maybe an overflow queue) until an agent takes the conversation,
    /// the customer gives up or the queue times out.
    fn queue_phase(
        &mut self,
        c: &mut Conv,
        mut t: Ms,
        mut queue: usize,
        allow_transfer: bool,
        mut allow_overflow: bool,
        except: Option<usize>,
    ) -> Option<Transfer> {
        #[derive(Clone, Copy, PartialEq)]
        enum Out {
            Connect,
            Leave,
            Callback,
            Timeout,
        }
        let media = c.media;
        let unit = self.unit_of(c);
        loop {
            let mut out = match c.kind {
                ChannelKind::Voice => self.rng.choose(&[
                    (Out::Connect, 84.0),
                    (Out::Leave, 9.0),
                    (Out::Callback, 3.0),
                    (Out::Timeout, 4.0),
                ]),
                ChannelKind::Webchat => {
                    self.rng.choose(&[(Out::Connect, 88.0), (Out::Leave, 7.0), (Out::Timeout, 5.0)])
                }
                ChannelKind::Facebook | ChannelKind::Viber => {
                    self.rng.choose(&[(Out::Connect, 93.0), (Out::Timeout, 7.0)])
                }
                ChannelKind::Email => self.rng.choose(&[(Out::Connect, 96.0), (Out::Timeout, 4.0)]),
            };
            if out == Out::Timeout && !allow_overflow && media != Media::Email {
                out = if c.kind == ChannelKind::Voice && self.rng.chance(0.3) { Out::Leave } else { Out::Connect };
            }
            if out == Out::Connect {
                if let Some(transfer) = self.connect(c, t, queue, allow_transfer, except) {
                    return transfer;
                }
                out = Out::Timeout;
            }
            match out {
                Out::Leave => {
                    let wait = self.rng.lognormal_ms(50.0, 0.9, 3.0, 540.0);
                    let gone = t + wait;
                    if media == Media::Voice && self.rng.chance(0.15) {
                        // Hung up while the task was being offered to an agent.
                        let offered = self.rng.secs(1.0, 10.0).min(wait - 500);
                        if offered > 0
                            && let Some(agent) = self.t.agent_at(&mut self.rng, gone - offered, unit, except, true)
                        {
                            let id = self.rng.guid();
                            c.workitems.push(Workitem {
                                id,
                                agent,
                                queue: Some(queue),
                                start: gone - offered,
                                preview: offered,
                                lookup: None,
                                active: 0,
                                wrap: 0,
                                result: "Abandoned",
                                completion: None,
                                notes: None,
                                script: None,
                                sessions: vec![Session {
                                    conversation: c.id,
                                    reason: "ConversationEnded",
                                    holds: Some((0, 0, 0)),
                                }],
                            });
                        }
                    }
                    c.queues.push(QueueSeg { queue, queued: t, dequeued: gone, reason: "CustomerDisconnected" });
                    c.end = gone + self.rng.secs(0.1, 1.5);
                    c.reason = if media == Media::Voice { "Abandoned" } else { "CustomerDisconnected" };
                    self.chat_averages(c, false);
                    return None;
                }
                Out::Callback => {
                    let left = t + self.rng.lognormal_ms(80.0, 0.8, 10.0, 540.0);
                    c.queues.push(QueueSeg { queue, queued: t, dequeued: left, reason: "CallbackRequested" });
                    c.end = left + self.rng.secs(5.0, 25.0);
                    c.reason = "CallbackRequested";
                    return None;
                }
                _ => {
                    let timeout = match media {
                        Media::Voice => 300 * SECOND,
                        Media::Chat => 600 * SECOND,
                        Media::Email => 4 * HOUR,
                    };
                    let out_at = t + timeout + self.rng.int(0, 900);
                    c.queues.push(QueueSeg { queue, queued: t, dequeued: out_at, reason: "QueueTimedOut" });
                    if allow_overflow
                        && self.rng.chance(0.6)
                        && let Some(q2) = self.t.queue_of(&mut self.rng, c.channel, out_at, Some(queue))
                    {
                        queue = q2;
                        t = out_at + self.rng.secs(0.3, 2.0);
                        allow_overflow = false;
                        continue;
                    }
                    c.end = out_at + self.rng.secs(2.0, 30.0);
                    c.reason = match media {
                        Media::Email => "IdleTimeout",
                        Media::Chat if self.rng.chance(0.5) => "IdleTimeout",
                        _ => "Default",
                    };
                    self.chat_averages(c, false);
                    return None;
                }
            }
        }
    }

    /// When an agent takes a conversation queued at `t`: `None` if no agent can be found (the
    /// caller then times the queue out), otherwise the outcome of the agent's handling.
    fn connect(
        &mut self,
        c: &mut Conv,
        t: Ms,
        queue: usize,
        allow_transfer: bool,
        except: Option<usize>,
    ) -> Option<Option<Transfer>> {
        let media = c.media;
        let unit = self.unit_of(c);
        let mut offer_at = match media {
            Media::Voice => t + self.rng.lognormal_ms(35.0, 1.0, 1.0, 280.0),
            Media::Chat => t + self.rng.lognormal_ms(45.0, 1.0, 1.0, 560.0),
            Media::Email => self.email_pickup(t),
        };
        let mut except = except;
        // A first offer the agent misses (RONA) or rejects.
        let fails = if media == Media::Voice { 0.07 } else { 0.01 };
        if self.rng.chance(fails) {
            let at = t + ((offer_at - t) as f64 * self.rng.real(0.2, 0.6)) as Ms;
            if let Some(agent) = self.t.agent_at(&mut self.rng, at, unit, except, true) {
                let missed = self.rng.chance(0.7);
                let preview = if !missed {
                    self.rng.secs(2.0, 10.0)
                } else if media == Media::Voice {
                    self.rng.secs(19.5, 21.0)
                } else {
                    self.rng.secs(59.0, 61.0)
                };
                let id = self.rng.guid();
                c.workitems.push(Workitem {
                    id,
                    agent,
                    queue: Some(queue),
                    start: at,
                    preview,
                    lookup: None,
                    active: 0,
                    wrap: 0,
                    result: if missed { "Missed" } else { "Rejected" },
                    completion: None,
                    notes: None,
                    script: None,
                    sessions: vec![Session {
                        conversation: c.id,
                        reason: "AgentFailedToJoin",
                        holds: (media == Media::Voice).then_some((0, 0, 0)),
                    }],
                });
                except = Some(agent);
                offer_at = offer_at.max(at + preview + self.rng.secs(2.0, 20.0));
            }
        }
        let strict = media != Media::Email || !self.must_finish_soon(offer_at);
        let agent = self.t.agent_at(&mut self.rng, offer_at, unit, except, strict)?;
        let preview = match media {
            Media::Voice => self.rng.lognormal_ms(5.0, 0.5, 1.5, 20.0),
            _ => self.rng.secs(0.3, 1.9),
        };
        let dequeued = offer_at + preview;
        c.queues.push(QueueSeg { queue, queued: t, dequeued, reason: "AgentConnected" });
        Some(self.agent_phase(c, agent, Some(queue), offer_at, preview, allow_transfer))
    }

    /// Whether an instant is too late for a conversation that must end before the cutoff.
    fn must_finish_soon(&self, t: Ms) -> bool {
        !self.last_day && t > self.cutoff - 2 * HOUR
    }

    /// When an agent picks up an email queued at `t`: during opening hours, within minutes to
    /// hours. On the last day some are still waiting at the cutoff; on earlier days every
    /// email is picked up before it.
    fn email_pickup(&mut self, t: Ms) -> Ms {
        let cal = &self.t.calendar;
        let mut at = t + self.rng.lognormal_ms(40.0 * 60.0, 1.0, 60.0, 10.0 * 3600.0);
        for _ in 0..3 {
            if cal.is_open(at) {
                break;
            }
            match cal.next_open(at) {
                Some(o) => at = o + self.rng.lognormal_ms(25.0 * 60.0, 0.8, 30.0, 3.0 * 3600.0),
                None => {
                    at = Ms::MAX / 4;
                    break;
                }
            }
        }
        if self.must_finish_soon(at) {
            let latest = self.cutoff - 3 * HOUR;
            at = if latest > t {
                t + ((latest - t) as f64 * self.rng.unit()) as Ms
            } else {
                t + self.rng.secs(60.0, 600.0)
            };
        }
        at
    }

    // ----- agents ---------------------------------------------------------------------------

    /// The agent's part: talking (with holds), then the end of the conversation (maybe by a
    /// transfer), then wrap-up.
    fn agent_phase(
        &mut self,
        c: &mut Conv,
        agent: usize,
        queue: Option<usize>,
        wi_start: Ms,
        preview: Ms,
        allow_transfer: bool,
    ) -> Option<Transfer> {
        #[derive(Clone, Copy, PartialEq)]
        enum End {
            Normal,
            CustomerLeft,
            Idle,
            Transfer,
            External,
            ExternalFailed,
            AgentFailed,
        }
        let media = c.media;
        let connected = wi_start + preview;
        let r = &mut self.rng;
        let (talk, mut end) = match media {
            Media::Voice => (
                r.lognormal_ms(170.0, 0.8, 15.0, 3600.0),
                r.choose(&[
                    (End::Normal, 80.0),
                    (End::CustomerLeft, 12.0),
                    (End::Transfer, 6.5),
                    (End::External, 1.5),
                    (End::ExternalFailed, 0.4),
                    (End::AgentFailed, 0.4),
                    (End::Idle, 0.05),
                ]),
            ),
            Media::Chat => (
                r.lognormal_ms(420.0, 0.7, 60.0, 5400.0),
                r.choose(&[(End::Normal, 82.0), (End::CustomerLeft, 6.0), (End::Idle, 5.0), (End::Transfer, 7.0)]),
            ),
            Media::Email => (
                r.lognormal_ms(300.0, 0.7, 30.0, 3600.0),
                r.choose(&[(End::Normal, 89.0), (End::Transfer, 7.0), (End::Idle, 4.0)]),
            ),
        };
        let mut release = connected + talk;
        let mut conv_end = release + self.rng.secs(0.2, 2.0);
        if end == End::Transfer && (!allow_transfer || conv_end > self.cutoff - 15 * MINUTE) {
            end = End::Normal;
        }
        if end == End::Idle && media == Media::Email {
            // The reply went out; the customer never answered and the workflow timed out.
            conv_end = release + 8 * HOUR;
            if self.must_finish_soon(conv_end) {
                end = End::Normal;
                conv_end = release + self.rng.secs(0.2, 2.0);
            }
        } else if end == End::Idle && media == Media::Chat {
            conv_end = release + 10 * MINUTE + self.rng.secs(0.0, 5.0);
        }
        // On the last day, some chats and emails are still waiting for the customer at the
        // cutoff: the agent's task is done, the conversation is not.
        if media != Media::Voice
            && end != End::Transfer
            && self.still_running > 0.0
            && self.rng.chance(self.still_running)
        {
            end = End::Idle;
            conv_end = conv_end.max(self.cutoff + self.rng.secs(600.0, 20.0 * 3600.0));
        }
        // Holds (voice).
        let mut holds = (0i64, 0 as Ms, 0 as Ms);
        if media == Media::Voice && self.rng.chance(0.22) {
            let n = self.rng.int(1, 3);
            let mut total = 0;
            let mut last = 0;
            for _ in 0..n {
                last = self.rng.lognormal_ms(40.0, 0.6, 5.0, 600.0);
                total += last;
            }
            if total < talk * 6 / 10 {
                holds = (n, last, total);
            }
        }
        let mut transfer = None;
        let mut session_reason = if self.rng.chance(0.02) { "default" } else { "ConversationEnded" };
        let mut consult_session = None;
        match end {
            End::Normal => {
                c.reason = "Default";
            }
            End::CustomerLeft => {
                c.reason = self.customer_left_reason(c);
            }
            End::Idle => {
                c.reason = "IdleTimeout";
            }
            End::Transfer => {
                let next = self.rng.guid();
                let channel = self.transfer_target(c);
                let consult = media == Media::Voice && self.rng.chance(0.35);
                c.next = Some(next);
                c.reason = match media {
                    Media::Chat => "TransferredToQueue",
                    _ => "TransferToChannel",
                };
                if media == Media::Voice {
                    c.transfer_by = Some("agent");
                }
                session_reason = "Transferred";
                if consult {
                    // The agent stays on the consult call until the handover.
                    release += self.rng.secs(10.0, 60.0);
                    consult_session = Some(next);
                }
                transfer = Some(Transfer { at: conv_end, channel, consult, from_agent: Some(agent), next });
            }
            End::External => {
                c.reason = "TransferToExternal";
                c.transfer_by = Some("agent");
                c.transfer_external = Some(*self.rng.pick(self.t.def.external_numbers));
                session_reason = "Transferred";
                conv_end += self.rng.lognormal_ms(120.0, 0.8, 10.0, 1800.0);
            }
            End::ExternalFailed => {
                c.reason = "TransferToExternalFailed";
                c.transfer_by = Some("agent");
                c.transfer_external = Some(*self.rng.pick(self.t.def.external_numbers));
                conv_end += 30 * SECOND + self.rng.int(0, 1500);
            }
            End::AgentFailed => {
                c.reason = "TransferToAgentFailed";
                c.transfer_by = Some("agent");
                conv_end += self.rng.secs(15.0, 25.0);
            }
        }
        c.end = conv_end;
        if media == Media::Voice {
            c.hold_count += holds.0;
            c.hold_ms += holds.2;
        }
        if media == Media::Email {
            c.first_reply_at = Some(connected + talk * 8 / 10);
        }
        self.chat_averages(c, true);
        let wrap = match media {
            Media::Voice => self.rng.lognormal_ms(20.0, 0.9, 0.0, 300.0),
            Media::Chat => self.rng.lognormal_ms(10.0, 0.9, 0.0, 180.0),
            Media::Email => self.rng.lognormal_ms(15.0, 0.9, 0.0, 240.0),
        };
        let voice = media == Media::Voice;
        let mut sessions = vec![Session { conversation: c.id, reason: session_reason, holds: voice.then_some(holds) }];
        if let Some(next) = consult_session {
            sessions.push(Session { conversation: next, reason: "Transferred", holds: Some((0, 0, 0)) });
        }
        let id = self.rng.guid();
        let completion = Some(*self.rng.pick(words::COMPLETION_CODES));
        let notes = self.rng.chance(0.08).then(|| *self.rng.pick(words::NOTES));
        let script = self.rng.chance(0.6).then(|| self.rng.below(self.t.agent_scripts.len()));
        c.workitems.push(Workitem {
            id,
            agent,
            queue,
            start: wi_start,
            preview,
            lookup: None,
            active: release - connected,
            wrap,
            result: "Handled",
            completion,
            notes,
            script,
            sessions,
        });
        transfer
    }

    fn chat_averages(&mut self, c: &mut Conv, agent: bool) {
        if c.media != Media::Chat {
            return;
        }
        let r = &mut self.rng;
        if agent {
            c.avg_agent = Some((r.lognormal(35.0, 0.5, 5.0, 180.0) * 100.0).round() as i64);
        }
        if !c.bots.is_empty() {
            c.avg_bot = Some((r.real(0.6, 3.5) * 100.0).round() as i64);
        }
        if agent || !c.bots.is_empty() {
            c.avg_customer = Some((r.lognormal(25.0, 0.6, 3.0, 300.0) * 100.0).round() as i64);
        }
    }

    // ----- outbound -------------------------------------------------------------------------

    fn outbound(&mut self, c: &mut Conv) -> Option<Transfer> {
        let unit = self.unit_of(c);
        let Some(agent) = self.t.agent_at(&mut self.rng, c.start, unit, None, false) else {
            c.end = c.start + self.rng.secs(2.0, 10.0);
            c.reason = if c.media == Media::Voice { "AgentJoinFailed" } else { "Default" };
            return None;
        };
        let voice = c.media == Media::Voice;
        let completion;
        let mut result = "Handled";
        let mut session_reason = "ConversationEnded";
        let mut holds = (0i64, 0 as Ms, 0 as Ms);
        let (preview, lookup) = if voice {
            let lookup = self.rng.secs(5.0, 40.0);
            (lookup + self.rng.secs(1.0, 5.0), Some(lookup))
        } else {
            (self.rng.int(0, 1500), None)
        };
        let wi_start = c.start - preview;
        match c.media {
            Media::Voice => {
                let r = &mut self.rng;
                let outcome = r.choose(&[(0u8, 68.0), (1, 27.0), (2, 5.0)]);
                match outcome {
                    0 => {
                        let ring = r.secs(4.0, 25.0);
                        c.ring = Some(ring);
                        c.joined = Some(c.start + ring);
                        let talk = r.lognormal_ms(150.0, 0.8, 10.0, 2400.0);
                        c.end = c.start + ring + talk;
                        c.reason = if r.chance(0.85) { "Default" } else { "CustomerDisconnected" };
                        if r.chance(0.1) {
                            let hold = r.lognormal_ms(30.0, 0.5, 5.0, 300.0);
                            if hold < talk / 2 {
                                holds = (1, hold, hold);
                            }
                        }
                        completion = Some(*r.pick(words::COMPLETION_CODES));
                    }
                    1 => {
                        let ring = 30 * SECOND + r.int(0, 900);
                        c.ring = Some(ring);
                        c.end = c.start + ring + r.int(100, 1500);
                        c.reason = "CustomerJoinFailed";
                        completion = Some(*r.pick(&["No answer", "Voicemail", "Busy"]));
                    }
                    _ => {
                        c.ring = Some(0);
                        c.end = c.start + r.secs(2.0, 10.0);
                        c.reason = "AgentJoinFailed";
                        result = "Cancelled";
                        session_reason = "AgentFailedToJoin";
                        completion = None;
                    }
                }
                c.hold_count = holds.0;
                c.hold_ms = holds.2;
            }
            Media::Email => {
                c.end = c.start + self.rng.lognormal_ms(240.0, 0.7, 30.0, 1800.0);
                c.reason = "Default";
                completion = Some(*self.rng.pick(words::COMPLETION_CODES));
            }
            Media::Chat => {
                c.joined = None;
                if self.rng.chance(0.8) {
                    let answer = self.rng.lognormal_ms(240.0, 1.0, 5.0, 7200.0);
                    c.first_customer_answer = Some(answer);
                    c.joined = Some(c.start + answer);
                    c.end = c.start + answer + self.rng.lognormal_ms(300.0, 0.7, 30.0, 3600.0);
                    c.reason = "Default";
                } else {
                    c.end = c.start + HOUR + self.rng.secs(0.0, 5.0);
                    c.reason = "IdleTimeout";
                }
                self.chat_averages(c, true);
                completion = Some(*self.rng.pick(words::COMPLETION_CODES));
            }
        }
        let (active, preview) =
            if result == "Cancelled" { (0, preview + (c.end - c.start)) } else { (c.end - c.start, preview) };
        let active =
            if c.media == Media::Chat && c.reason == "IdleTimeout" { self.rng.secs(60.0, 600.0) } else { active };
        let wrap = self.rng.lognormal_ms(15.0, 0.9, 0.0, 240.0);
        let wrap = if result == "Cancelled" { 0 } else { wrap };
        let id = self.rng.guid();
        let notes = (result == "Handled" && self.rng.chance(0.08)).then(|| *self.rng.pick(words::NOTES));
        let script = self.rng.chance(0.6).then(|| self.rng.below(self.t.agent_scripts.len()));
        c.workitems.push(Workitem {
            id,
            agent,
            queue: None,
            start: wi_start,
            preview,
            lookup,
            active,
            wrap,
            result,
            completion,
            notes,
            script,
            sessions: vec![Session { conversation: c.id, reason: session_reason, holds: voice.then_some(holds) }],
        });
        None
    }

    // ----- writing --------------------------------------------------------------------------

    /// Writes a conversation and its dependents, cutting everything at the cutoff.
    fn emit(&mut self, mut c: Conv) {
        let tid = self.t.def.id;
        let cutoff = self.cutoff;
        c.end = c.start + unambiguous((c.end - c.start).max(SECOND));
        let running = c.end > cutoff;
        let ch = &self.t.channels[c.channel];
        let unit = self.t.business_units[ch.business_unit].id;
        let voice = c.media == Media::Voice;
        let duration = seconds(c.end - c.start);
        let (open, closed) = if running {
            (0, 0)
        } else {
            let open = seconds(self.t.calendar.open_overlap(c.start, c.end)).min(duration);
            (open, duration - open)
        };
        let visible_end = if running { cutoff } else { c.end };
        let first_reply = c.first_reply_at.filter(|t| *t <= visible_end).map(|t| seconds(t - c.start));
        {
            let row = self.tables.get(Table::Conversations);
            row.text(tid)
                .text(c.id.as_str())
                .text(c.media.as_str())
                .text(ch.id.as_str())
                .text(c.kind.as_str())
                .text(unit.as_str())
                .opt_text(c.phone_number)
                .bool(c.outbound)
                .opt_bool(voice.then_some(c.consult))
                .ts(c.start)
                .opt_ts((!running).then_some(c.end))
                .opt_int((!running).then_some(duration))
                .opt_text((!running).then_some(c.reason))
                .text(c.opening.as_str())
                .int(open)
                .int(closed);
            if c.identified {
                row.text(c.customer.id.as_str()).text(c.customer.first).text(c.customer.last);
            } else {
                row.null().null().null();
            }
            row.opt_text(c.show_phone.then_some(c.customer.phone.as_str()))
                .opt_text(c.show_email.then_some(c.customer.email.as_str()))
                .opt_ts(c.joined.filter(|t| *t <= visible_end))
                .opt_int(if voice && c.outbound { Some(seconds(c.ring.unwrap_or(0))) } else { None })
                .opt_int(voice.then_some(c.hold_count))
                .opt_int(voice.then_some(seconds(c.hold_ms)))
                .opt_text(c.next.as_ref().map(Guid::as_str))
                .opt_text(c.transfer_by)
                .opt_text(c.transfer_external)
                .opt_cents(c.avg_agent)
                .opt_cents(c.avg_bot)
                .opt_cents(c.avg_customer)
                .opt_int(c.first_customer_answer.map(seconds))
                .opt_int(first_reply)
                .opt_text(c.subject.as_ref().map(|s| s.0.as_str()))
                .opt_text(c.thread.as_ref().map(Guid::as_str));
            row.end();
        }
        for b in &c.bots {
            if b.start >= cutoff {
                continue;
            }
            let end = b.start + unambiguous(b.end - b.start);
            let done = end <= cutoff;
            self.tables
                .get(Table::BotSegments)
                .text(tid)
                .text(b.id.as_str())
                .text(c.id.as_str())
                .text(self.t.bot_steps[b.step].id.as_str())
                .text(ch.id.as_str())
                .ts(b.start)
                .opt_ts(done.then_some(end))
                .opt_int(done.then(|| seconds(end - b.start)))
                .opt_text(done.then_some(b.result))
                .opt_text(b.info.as_deref().filter(|_| done))
                .opt_text(b.finished.as_deref().filter(|_| done))
                .opt_text(b.bot_info.as_deref().filter(|_| done))
                .end();
        }
        for r in &c.rejects {
            if r.at >= cutoff {
                continue;
            }
            self.tables
                .get(Table::RejectedEnqueueAttempts)
                .text(tid)
                .text(r.id.as_str())
                .text(c.id.as_str())
                .text(self.t.queues[r.queue].id.as_str())
                .text(ch.id.as_str())
                .ts(r.at)
                .text(r.reason)
                .end();
        }
        for q in &c.queues {
            if q.queued >= cutoff {
                continue;
            }
            let dequeued = q.queued + unambiguous(q.dequeued - q.queued);
            let done = dequeued <= cutoff;
            self.tables
                .get(Table::QueueSegments)
                .text(tid)
                .text(c.id.as_str())
                .text(self.t.queues[q.queue].id.as_str())
                .text(ch.id.as_str())
                .ts(q.queued)
                .opt_ts(done.then_some(dequeued))
                .opt_int(done.then(|| seconds(dequeued - q.queued)))
                .opt_text(done.then_some(q.reason))
                .end();
        }
        for w in &c.workitems {
            self.emit_workitem(&c, w);
        }
        // Workflow variables captured during the conversation.
        if self.rng.chance(0.5) {
            let n = self.rng.int(1, 3) as usize;
            let mut names: Vec<&str> = Vec::with_capacity(n);
            while names.len() < n {
                let name = *self.rng.pick(words::CAPTURED_NAMES);
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            for name in names {
                let at = c.start + ((visible_end - c.start) as f64 * self.rng.unit()) as Ms;
                if at >= cutoff {
                    continue;
                }
                let value = match name {
                    "Language" => self.rng.pick(self.t.def.languages).to_string(),
                    "AccountNumber" => self.rng.digits(8),
                    "Intent" => self.rng.pick(words::INTENTS).to_string(),
                    "CustomerTier" => self.rng.pick(words::TIERS).to_string(),
                    "CallbackNumber" => c.customer.phone.clone(),
                    "OrderNumber" => format!("ORD-{}", self.rng.digits(6)),
                    _ => (if self.rng.chance(0.6) { "true" } else { "false" }).to_string(),
                };
                self.tables.get(Table::CapturedData).text(tid).text(c.id.as_str()).text(name).ts(at).text(&value).end();
            }
        }
    }

    fn emit_workitem(&mut self, c: &Conv, w: &Workitem) {
        let tid = self.t.def.id;
        let cutoff = self.cutoff;
        if w.start >= cutoff {
            return;
        }
        let preview = unambiguous(w.preview);
        let active = unambiguous(w.active);
        let wrap = unambiguous(w.wrap);
        let end = w.start + unambiguous(preview + active + wrap);
        let done = end <= cutoff;
        let ch = &self.t.channels[c.channel];
        let agent = &self.t.agents[w.agent];
        let voice = c.media == Media::Voice;
        self.tables
            .get(Table::Workitems)
            .text(tid)
            .text(w.id.as_str())
            .text(agent.person.id.as_str())
            .opt_text(voice.then_some(agent.phone.as_str()))
            .opt_text(w.queue.map(|q| self.t.queues[q].id.as_str()))
            .text(ch.id.as_str())
            .text(c.id.as_str())
            .text(self.t.business_units[ch.business_unit].id.as_str())
            .opt_text(c.identified.then_some(c.customer.id.as_str()))
            .text(c.kind.workitem_media())
            .ts(w.start)
            .opt_ts(done.then_some(end))
            .opt_int(done.then(|| seconds(end - w.start)))
            .int(seconds(preview))
            .opt_int(w.lookup.map(seconds))
            .opt_int(done.then(|| seconds(active)))
            .opt_int(done.then(|| seconds(wrap)))
            .opt_text(done.then_some(w.result))
            .opt_text(w.completion.filter(|_| done))
            .opt_text(w.notes.filter(|_| done))
            .opt_text(w.script.map(|s| self.t.agent_scripts[s].as_str()))
            .end();
        for s in &w.sessions {
            self.counters.session += 1;
            let row = self.tables.get(Table::WorkitemConversationSessions);
            row.text(tid)
                .int(self.counters.session)
                .text(w.id.as_str())
                .text(s.conversation.as_str())
                .opt_text(done.then_some(s.reason));
            match s.holds {
                Some((n, last, total)) => row.int(n).int(seconds(last)).int(seconds(total)),
                None => row.null().null().null(),
            };
            row.end();
        }
        if !done || w.result != "Handled" {
            return;
        }
        // Script fields filled in by the agent.
        let connected = w.start + preview;
        if self.rng.chance(0.3) && active > 0 {
            let n = self.rng.int(1, 3) as usize;
            let mut names: Vec<&str> = Vec::with_capacity(n);
            while names.len() < n {
                let name = *self.rng.pick(words::COLLECTED_NAMES);
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            for name in names {
                let at = connected + ((active + wrap) as f64 * self.rng.unit()) as Ms;
                let value = match name {
                    "ContactReason" => self.rng.pick(words::CONTACT_REASONS).to_string(),
                    "Product" => self.rng.pick(words::PRODUCTS).to_string(),
                    "Outcome" => self.rng.pick(words::OUTCOMES).to_string(),
                    "FollowUpDate" => {
                        let (y, m, d, ..) = super::calendar::civil(at + self.rng.int(1, 14) * DAY);
                        format!("{y:04}-{m:02}-{d:02}")
                    }
                    "OrderNumber" => format!("ORD-{}", self.rng.digits(6)),
                    _ => self.rng.pick(words::SENTIMENTS).to_string(),
                };
                self.tables
                    .get(Table::CollectedData)
                    .text(tid)
                    .text(w.id.as_str())
                    .text(name)
                    .ts(at)
                    .text(&value)
                    .end();
            }
        }
        // Quality evaluation by a supervisor, a few days later during opening hours.
        if self.rng.chance(0.05) {
            let later = end + self.rng.int(1, 6) * DAY + self.rng.int(0, 8 * 3600) * SECOND;
            let Some(open) = self.t.calendar.next_open(later) else { return };
            let started = open + self.rng.secs(0.0, 3.0 * 3600.0);
            if started >= cutoff {
                return;
            }
            let finished = started + self.rng.lognormal_ms(8.0 * 60.0, 0.5, 120.0, 3600.0);
            let supervisor = &self.t.supervisors[self.rng.below(self.t.supervisors.len())];
            let script = self.t.evaluation_scripts[self.rng.below(self.t.evaluation_scripts.len())];
            self.counters.evaluation += 1;
            let evaluation = self.counters.evaluation;
            let done = finished <= cutoff;
            self.tables
                .get(Table::WorkitemEvaluations)
                .text(tid)
                .int(evaluation)
                .text(w.id.as_str())
                .text(supervisor.id.as_str())
                .text(script.as_str())
                .ts(started)
                .opt_ts(done.then_some(finished))
                .end();
            let n = self.rng.int(2, 5) as usize;
            let mut items: Vec<usize> = Vec::with_capacity(n);
            while items.len() < n {
                let i = self.rng.below(words::EVALUATION_ITEMS.len());
                if !items.contains(&i) {
                    items.push(i);
                }
            }
            items.sort_unstable();
            let mut answers: Vec<(&str, String)> = items
                .iter()
                .map(|i| (words::EVALUATION_ITEMS[*i].0, self.rng.pick(words::EVALUATION_ITEMS[*i].1).to_string()))
                .collect();
            answers.push((
                "Score",
                self.rng.choose(&[("5", 30.0), ("4", 35.0), ("3", 20.0), ("2", 10.0), ("1", 5.0)]).to_string(),
            ));
            let step = (finished - started) / (answers.len() as i64 + 1);
            for (k, (name, value)) in answers.into_iter().enumerate() {
                let at = started + step * (k as i64 + 1) + self.rng.int(0, 999);
                if at > cutoff {
                    break;
                }
                self.counters.evaluation_data += 1;
                self.tables
                    .get(Table::WorkitemEvaluationData)
                    .text(tid)
                    .int(self.counters.evaluation_data)
                    .int(evaluation)
                    .text(w.id.as_str())
                    .text(supervisor.id.as_str())
                    .text(script.as_str())
                    .ts(at)
                    .text(name)
                    .text(&value)
                    .end();
            }
        }
    }
}
