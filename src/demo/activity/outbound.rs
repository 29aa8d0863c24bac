//! Outbound conversations: agents dialling out or writing to customers, with their workitem.

use super::{Activity, Conv, Session, Transfer, Workitem};
use crate::demo::calendar::{HOUR, Ms, SECOND};
use crate::demo::tenant::Media;
use crate::demo::words;

impl Activity<'_> {
    pub(super) fn outbound(&mut self, c: &mut Conv) -> Option<Transfer> {
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
}
