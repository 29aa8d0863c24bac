//! The inbound phase of a conversation: the bot path and its segments (with their results and
//! bot info), then the hand-over to a queue or a transfer, or the customer leaving.

use super::{Activity, BotSeg, Conv, Reject, Transfer};
use crate::demo::calendar::{MINUTE, Ms, Opening};
use crate::demo::tenant::{BotKind, ChannelKind, Media};
use crate::demo::words;

impl Activity<'_> {
    pub(super) fn inbound(&mut self, c: &mut Conv, allow_transfer: bool) -> Option<Transfer> {
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

    pub(super) fn customer_left_reason(&mut self, c: &Conv) -> &'static str {
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

    pub(super) fn transfer_target(&mut self, c: &Conv) -> usize {
        match c.media {
            Media::Chat => c.channel,
            media => {
                let others: Vec<(usize, f64)> =
                    self.t.inbound[media.index()].iter().copied().filter(|(ch, _)| *ch != c.channel).collect();
                if others.is_empty() { c.channel } else { self.rng.choose(&others) }
            }
        }
    }
}
