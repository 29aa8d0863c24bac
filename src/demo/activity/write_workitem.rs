//! Writing a workitem's rows, cut at the cutoff: the workitem, its conversation sessions,
//! collected data and evaluations with their answers.

use super::{Activity, Conv, Workitem};
use crate::demo::calendar::{self, DAY, Ms, SECOND, seconds, unambiguous};
use crate::demo::copy::Table;
use crate::demo::tenant::Media;
use crate::demo::words;

impl Activity<'_> {
    pub(super) fn emit_workitem(&mut self, c: &Conv, w: &Workitem) {
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
                        let (y, m, d, ..) = calendar::civil(at + self.rng.int(1, 14) * DAY);
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
