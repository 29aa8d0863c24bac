//! The start of a conversation: when it arrives (intraday profiles of inbound traffic, agents'
//! outbound hours) and its initial draft (customer identification, phone number, email subject
//! and thread).

use super::{Activity, Conv};
use crate::demo::calendar::{HOUR, MINUTE, Ms};
use crate::demo::rng::{Guid, Hashed};
use crate::demo::tenant::{ChannelKind, Customer, Media};
use crate::demo::words;

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

impl Activity<'_> {
    pub(super) fn draft(&mut self, id: Guid, channel: usize, start: Ms, customer: Customer, outbound: bool) -> Conv {
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
    pub(super) fn inbound_start(&mut self, media: Media) -> Ms {
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
    pub(super) fn outbound_start(&mut self) -> Ms {
        let (o, c) = self.t.calendar.days[self.day].open.expect("outbound only on open days");
        let hi = c.min(self.cutoff - HOUR) - 30 * MINUTE;
        let lo = o + 30 * MINUTE;
        if hi <= lo {
            return o.min(self.cutoff - HOUR);
        }
        lo + ((hi - lo) as f64 * self.rng.unit()) as Ms
    }
}
