//! The two demo tenants: their fixed definitions (business units, channels, queues, bot steps,
//! staff, campaigns), and the plan built from them for one (seed, scale, end date): calendar,
//! conversations per day, lookup ids, agents' shifts and business-unit memberships.
//!
//! This module owns the planned tenant's types ([`Tenant`] and what it is made of); the media,
//! channel and bot kinds, the static definitions, the planning, the queries used while
//! generating activity and the writing of lookup rows live in submodules.

mod defs;
mod kinds;
mod lookups;
mod plan;
mod queries;

pub use defs::{ChannelDef, TENANTS, TenantDef};
pub use kinds::{BotKind, ChannelKind, Media};

use super::calendar::{Calendar, Ms};
use super::rng::Guid;

pub struct BusinessUnit {
    pub id: Guid,
}

pub struct Channel {
    pub id: Guid,
    pub def: &'static ChannelDef,
    pub business_unit: usize,
    pub queues: Vec<usize>,
}

pub struct Queue {
    pub id: Guid,
    pub channel: usize,
    pub usable_until: Ms,
    pub deleted_at: Option<Ms>,
}

pub struct BotStep {
    pub id: Guid,
    pub kind: BotKind,
    pub media: Media,
    pub usable_from: Ms,
    pub usable_until: Ms,
    /// QnA configuration id (QnA bots only).
    pub config: Guid,
}

pub struct Person {
    pub id: Guid,
    pub first: &'static str,
    pub last: &'static str,
    pub email: String,
    pub custom_id: String,
    pub deleted_at: Option<Ms>,
}

pub struct Agent {
    pub person: Person,
    pub phone: String,
    /// Business-unit memberships: (unit, from, until).
    pub memberships: Vec<(usize, Ms, Ms)>,
}

pub struct Campaign {
    pub id: Guid,
    pub usable_until: Ms,
}

#[derive(Debug, Clone, Copy)]
pub struct Shift {
    pub agent: usize,
    pub login: Ms,
    pub logout: Ms,
    /// The agent's next login, if any.
    pub next_login: Option<Ms>,
}

/// Everything about one tenant that the generation of its rows needs.
pub struct Tenant {
    pub def: &'static TenantDef,
    pub key: [u8; 32],
    pub customer_key: u64,
    pub customers: u64,
    pub calendar: Calendar,
    pub conversations: u32,
    pub day_counts: Vec<u32>,
    pub business_units: Vec<BusinessUnit>,
    pub channels: Vec<Channel>,
    /// Channels of each media with inbound and outbound weights.
    pub inbound: [Vec<(usize, f64)>; 3],
    pub outbound: [Vec<(usize, f64)>; 3],
    pub queues: Vec<Queue>,
    pub bot_steps: Vec<BotStep>,
    pub agents: Vec<Agent>,
    pub supervisors: Vec<Person>,
    pub users: Vec<Person>,
    pub campaigns: Vec<Campaign>,
    pub agent_scripts: Vec<Guid>,
    pub evaluation_scripts: Vec<Guid>,
    /// Shifts of each day, by agent.
    pub shifts: Vec<Vec<Shift>>,
    /// Agent states to aim for per shift.
    pub states_per_shift: f64,
    pub campaign_records: u32,
    /// Holiday-free weekdays' share of conversation volume, used for sizing.
    pub total_shifts: usize,
}

/// A customer: derived from the tenant's customer key and an index, never stored.
pub struct Customer {
    pub id: Guid,
    pub first: &'static str,
    pub last: &'static str,
    pub phone: String,
    pub email: String,
    pub index: u64,
}
