//! The agent's part of a conversation: talking with holds, the end (maybe by a transfer),
//! wrap-up and the workitem with its session, and chat response-time averages.

use super::{Activity, Conv, Session, Transfer, Workitem};
use crate::demo::calendar::{HOUR, MINUTE, Ms, SECOND};
use crate::demo::tenant::Media;
use crate::demo::words;

impl Activity<'_> {
    /// The agent's part: talking (with holds), then the end of the conversation (maybe by a
    /// transfer), then wrap-up.
    pub(super) fn agent_phase(
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

    pub(super) fn chat_averages(&mut self, c: &mut Conv, agent: bool) {
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
}
