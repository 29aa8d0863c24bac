//! Writing a tenant's lookup rows (tenant, business units, channels, queues, bot steps, users,
//! agents, campaigns, scripts) and its agents' business-unit changes.

use super::{Person, Tenant};
use crate::demo::calendar::DAY;
use crate::demo::copy::Table;
use crate::demo::generator::Tables;

impl Tenant {
    /// Writes the tenant's lookup rows and business-unit changes.
    pub fn write_lookups(&self, tables: &mut Tables) {
        let tid = self.def.id;
        let cutoff = self.cutoff();
        tables
            .get(Table::Tenants)
            .text(tid)
            .text(self.def.name)
            .text(self.def.time_zone.name())
            .int(self.def.retention_days)
            .end();
        for (bu, name) in self.business_units.iter().zip(self.def.business_units) {
            tables.get(Table::BusinessUnits).text(tid).text(bu.id.as_str()).text(name).null().end();
        }
        for c in &self.channels {
            tables
                .get(Table::Channels)
                .text(tid)
                .text(c.id.as_str())
                .text(c.def.name)
                .text(c.def.kind.as_str())
                .text(self.business_units[c.business_unit].id.as_str())
                .null()
                .end();
        }
        for (i, queue) in self.queues.iter().enumerate() {
            let channel = &self.channels[queue.channel];
            let def = &channel.def.queues[channel.queues.iter().position(|q| *q == i).expect("queue of its channel")];
            tables
                .get(Table::Queues)
                .text(tid)
                .text(queue.id.as_str())
                .text(def.name)
                .text(channel.id.as_str())
                .text(def.routing)
                .opt_ts(queue.deleted_at)
                .end();
        }
        for (step, def) in self.bot_steps.iter().zip(self.def.bot_steps) {
            tables
                .get(Table::BotSteps)
                .text(tid)
                .text(step.id.as_str())
                .text(def.name)
                .text(def.kind.as_str())
                .text(def.media.as_str())
                .opt_ts(def.deleted_days_ago.map(|d| cutoff - i64::from(d) * DAY))
                .end();
        }
        let mut user = |p: &Person, kind: &str| {
            let name = format!("{} {}", p.first, p.last);
            tables
                .get(Table::Users)
                .text(tid)
                .text(p.id.as_str())
                .text(&name)
                .text(&p.custom_id)
                .text(&p.email)
                .text(kind)
                .opt_ts(p.deleted_at)
                .end();
        };
        for a in &self.agents {
            user(&a.person, "Agent");
        }
        for s in &self.supervisors {
            user(s, "Supervisor");
        }
        for u in &self.users {
            user(u, "User");
        }
        for a in &self.agents {
            let p = &a.person;
            let name = format!("{} {}", p.first, p.last);
            tables
                .get(Table::Agents)
                .text(tid)
                .text(p.id.as_str())
                .text(&name)
                .text(&p.custom_id)
                .opt_ts(p.deleted_at)
                .end();
        }
        for (c, (name, kind, deleted)) in self.campaigns.iter().zip(self.def.campaigns) {
            tables
                .get(Table::Campaigns)
                .text(tid)
                .text(c.id.as_str())
                .text(name)
                .text(kind)
                .opt_ts(deleted.map(|d| cutoff - i64::from(d) * DAY))
                .end();
        }
        for a in &self.agents {
            for (unit, from, until) in &a.memberships {
                let bu = self.business_units[*unit].id.as_str();
                let t = tables.get(Table::AgentBusinessUnitChanges);
                t.text(tid).text(a.person.id.as_str()).text(bu).bool(true).ts(*from).end();
                if *until < cutoff {
                    t.text(tid).text(a.person.id.as_str()).text(bu).bool(false).ts(*until).end();
                }
            }
        }
    }
}
