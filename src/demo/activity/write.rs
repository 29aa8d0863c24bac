//! Writing a conversation's rows, cut at the cutoff: the conversation itself, its bot segments,
//! rejected enqueue attempts, queue segments and captured workflow variables.

use super::{Activity, Conv};
use crate::demo::calendar::{Ms, SECOND, seconds, unambiguous};
use crate::demo::copy::Table;
use crate::demo::rng::Guid;
use crate::demo::tenant::Media;
use crate::demo::words;

impl Activity<'_> {
    /// Writes a conversation and its dependents, cutting everything at the cutoff.
    pub(super) fn emit(&mut self, mut c: Conv) {
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
}
