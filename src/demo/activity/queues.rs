//! Waiting in queues: queue segments, overflow and rejected enqueue attempts, finding an agent to
//! connect, and when emails are picked up.

use super::{Activity, Conv, QueueSeg, Session, Transfer, Workitem};
use crate::demo::calendar::{HOUR, Ms, SECOND};
use crate::demo::tenant::{ChannelKind, Media};

impl Activity<'_> {
    /// Waits in `queue` (and maybe an overflow queue) until an agent takes the conversation,
    /// the customer gives up or the queue times out.
    pub(super) fn queue_phase(
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
    pub(super) fn must_finish_soon(&self, t: Ms) -> bool {
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
}
