//! The two demo tenants: their fixed definitions (business units, channels, queues, bot steps,
//! staff, campaigns), and the plan built from them for one (seed, scale, end date): calendar,
//! conversations per day, lookup ids, agents' shifts and business-unit memberships.

use super::calendar::{Calendar, DAY, HOUR, MINUTE, Ms, SECOND, utc_midnight};
use super::copy::Table;
use super::generator::Tables;
use super::rng::{Guid, Hashed, Rng, mix, stream, tenant_key};
use super::words::{self, NameSet};
use chrono::{Days, NaiveDate};
use chrono_tz::Tz;
use std::collections::HashSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    Voice,
    Chat,
    Email,
}

impl Media {
    pub fn as_str(self) -> &'static str {
        match self {
            Media::Voice => "Voice",
            Media::Chat => "Chat",
            Media::Email => "Email",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    Voice,
    Webchat,
    Facebook,
    Viber,
    Email,
}

impl ChannelKind {
    pub fn media(self) -> Media {
        match self {
            ChannelKind::Voice => Media::Voice,
            ChannelKind::Webchat | ChannelKind::Facebook | ChannelKind::Viber => Media::Chat,
            ChannelKind::Email => Media::Email,
        }
    }

    /// `channelType` of channels and conversations.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Voice => "Voice",
            ChannelKind::Webchat => "Webchat",
            ChannelKind::Facebook => "Facebook",
            ChannelKind::Viber => "Viber",
            ChannelKind::Email => "Email",
        }
    }

    /// `mediaType` of workitems.
    pub fn workitem_media(self) -> &'static str {
        match self {
            ChannelKind::Voice => "voice",
            ChannelKind::Webchat => "webchat",
            ChannelKind::Facebook => "messenger",
            ChannelKind::Viber => "viber",
            ChannelKind::Email => "email",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotKind {
    Announcement,
    AutoAttendant,
    CustomBot,
    CustomerIntentEvaluator,
    IdentifyCustomer,
    MatchAni,
    MenuSelection,
    Qna,
    Question,
    SendEmailReply,
}

impl BotKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BotKind::Announcement => "announcement",
            BotKind::AutoAttendant => "autoAttendant",
            BotKind::CustomBot => "customBot",
            BotKind::CustomerIntentEvaluator => "customerIntentEvaluator",
            BotKind::IdentifyCustomer => "identifyCustomer",
            BotKind::MatchAni => "matchAni",
            BotKind::MenuSelection => "menuSelection",
            BotKind::Qna => "qna",
            BotKind::Question => "question",
            BotKind::SendEmailReply => "sendEmailReply",
        }
    }
}

pub struct QueueDef {
    pub name: &'static str,
    pub routing: &'static str,
    /// Deleted this many days before the end of the data set.
    pub deleted_days_ago: Option<u32>,
}

pub struct ChannelDef {
    pub name: &'static str,
    pub kind: ChannelKind,
    pub business_unit: usize,
    /// Voice channels: the numbers customers dial (the first is also the outbound caller id).
    pub phones: &'static [&'static str],
    /// Share of the media's inbound traffic.
    pub inbound_weight: f64,
    /// Share of the media's outbound traffic.
    pub outbound_weight: f64,
    pub queues: &'static [QueueDef],
}

pub struct BotStepDef {
    pub name: &'static str,
    pub kind: BotKind,
    pub media: Media,
    pub deleted_days_ago: Option<u32>,
    /// Put into the workflows this many days before the end (replacing a deleted step).
    pub introduced_days_ago: Option<u32>,
}

pub enum PhoneStyle {
    Hungarian,
    American,
}

pub struct TenantDef {
    pub id: &'static str,
    pub name: &'static str,
    pub time_zone: Tz,
    pub retention_days: i64,
    pub active_days: u32,
    /// Conversations = scale / divisor (at least 1 for the secondary tenant).
    pub divisor: u32,
    pub domain: &'static str,
    pub business_units: &'static [&'static str],
    pub channels: &'static [ChannelDef],
    pub bot_steps: &'static [BotStepDef],
    pub agents: usize,
    /// Agents deleted this many days before the end.
    pub deleted_agents: &'static [u32],
    pub supervisors: usize,
    pub users: usize,
    /// (name, campaignType, deleted days ago)
    pub campaigns: &'static [(&'static str, &'static str, Option<u32>)],
    pub names: &'static NameSet,
    pub email_domains: &'static [&'static str],
    pub phone_style: PhoneStyle,
    pub agent_phone_prefix: &'static str,
    pub external_numbers: &'static [&'static str],
    pub holidays: &'static [(u32, u32)],
    pub languages: &'static [&'static str],
}

const fn q(name: &'static str) -> QueueDef {
    QueueDef { name, routing: "Automatic", deleted_days_ago: None }
}

const fn bot(name: &'static str, kind: BotKind, media: Media) -> BotStepDef {
    BotStepDef { name, kind, media, deleted_days_ago: None, introduced_days_ago: None }
}

pub static CONTOSO: TenantDef = TenantDef {
    id: "contoso",
    name: "Contoso Support",
    time_zone: chrono_tz::Europe::Budapest,
    retention_days: 400,
    active_days: 90,
    divisor: 1,
    domain: "contoso.com",
    business_units: &["Retail Customers", "Business Customers", "Technical Support", "Billing & Payments"],
    channels: &[
        ChannelDef {
            name: "Customer Service Line",
            kind: ChannelKind::Voice,
            business_unit: 0,
            phones: &["+3614501000", "+3614501001", "+3680201000"],
            inbound_weight: 40.0,
            outbound_weight: 10.0,
            queues: &[q("Voice - General"), q("Voice - Retail Priority")],
        },
        ChannelDef {
            name: "Business Hotline",
            kind: ChannelKind::Voice,
            business_unit: 1,
            phones: &["+3614502000"],
            inbound_weight: 12.0,
            outbound_weight: 5.0,
            queues: &[q("Voice - Business")],
        },
        ChannelDef {
            name: "Technical Helpdesk",
            kind: ChannelKind::Voice,
            business_unit: 2,
            phones: &["+3614503000", "+3680203000"],
            inbound_weight: 25.0,
            outbound_weight: 5.0,
            queues: &[q("Voice - Technical L1"), q("Voice - Technical L2")],
        },
        ChannelDef {
            name: "Billing Line",
            kind: ChannelKind::Voice,
            business_unit: 3,
            phones: &["+3614504000"],
            inbound_weight: 13.0,
            outbound_weight: 5.0,
            queues: &[q("Voice - Billing")],
        },
        ChannelDef {
            name: "Sales Line",
            kind: ChannelKind::Voice,
            business_unit: 0,
            phones: &["+3614505000"],
            inbound_weight: 10.0,
            outbound_weight: 10.0,
            queues: &[
                q("Voice - Sales"),
                QueueDef { name: "Voice - Sales (old)", routing: "Automatic", deleted_days_ago: Some(21) },
            ],
        },
        ChannelDef {
            name: "Outbound Caller ID",
            kind: ChannelKind::Voice,
            business_unit: 0,
            phones: &["+3614509000"],
            inbound_weight: 0.0,
            outbound_weight: 65.0,
            queues: &[q("Voice - Callbacks")],
        },
        ChannelDef {
            name: "Website Chat",
            kind: ChannelKind::Webchat,
            business_unit: 0,
            phones: &[],
            inbound_weight: 35.0,
            outbound_weight: 0.0,
            queues: &[q("Chat - General"), q("Chat - Orders")],
        },
        ChannelDef {
            name: "Support Portal Chat",
            kind: ChannelKind::Webchat,
            business_unit: 2,
            phones: &[],
            inbound_weight: 15.0,
            outbound_weight: 0.0,
            queues: &[q("Chat - Technical")],
        },
        ChannelDef {
            name: "Business Portal Chat",
            kind: ChannelKind::Webchat,
            business_unit: 1,
            phones: &[],
            inbound_weight: 10.0,
            outbound_weight: 0.0,
            queues: &[q("Chat - Business")],
        },
        ChannelDef {
            name: "Facebook Messenger",
            kind: ChannelKind::Facebook,
            business_unit: 0,
            phones: &[],
            inbound_weight: 18.0,
            outbound_weight: 50.0,
            queues: &[q("Social - Facebook")],
        },
        ChannelDef {
            name: "Facebook Business Page",
            kind: ChannelKind::Facebook,
            business_unit: 1,
            phones: &[],
            inbound_weight: 7.0,
            outbound_weight: 10.0,
            queues: &[q("Social - Facebook Business")],
        },
        ChannelDef {
            name: "Viber",
            kind: ChannelKind::Viber,
            business_unit: 0,
            phones: &[],
            inbound_weight: 15.0,
            outbound_weight: 40.0,
            queues: &[q("Social - Viber")],
        },
        ChannelDef {
            name: "info@contoso.com",
            kind: ChannelKind::Email,
            business_unit: 0,
            phones: &[],
            inbound_weight: 55.0,
            outbound_weight: 60.0,
            queues: &[
                q("Email - General"),
                QueueDef { name: "Email - Complaints", routing: "Manual", deleted_days_ago: None },
            ],
        },
        ChannelDef {
            name: "billing@contoso.com",
            kind: ChannelKind::Email,
            business_unit: 3,
            phones: &[],
            inbound_weight: 25.0,
            outbound_weight: 20.0,
            queues: &[q("Email - Billing")],
        },
        ChannelDef {
            name: "support@contoso.com",
            kind: ChannelKind::Email,
            business_unit: 2,
            phones: &[],
            inbound_weight: 20.0,
            outbound_weight: 20.0,
            queues: &[QueueDef { name: "Email - Technical", routing: "Manual", deleted_days_ago: None }],
        },
    ],
    bot_steps: &[
        bot("Welcome message", BotKind::Announcement, Media::Voice),
        bot("Main menu", BotKind::AutoAttendant, Media::Voice),
        bot("VIP number check", BotKind::MatchAni, Media::Voice),
        bot("Identify caller", BotKind::IdentifyCustomer, Media::Voice),
        bot("Ask account number", BotKind::Question, Media::Voice),
        BotStepDef {
            name: "Chat topic menu",
            kind: BotKind::MenuSelection,
            media: Media::Chat,
            deleted_days_ago: None,
            introduced_days_ago: Some(48),
        },
        BotStepDef {
            name: "Chat topic menu (previous version)",
            kind: BotKind::MenuSelection,
            media: Media::Chat,
            deleted_days_ago: Some(47),
            introduced_days_ago: None,
        },
        bot("FAQ assistant", BotKind::Qna, Media::Chat),
        bot("Order status bot", BotKind::CustomBot, Media::Chat),
        bot("Identify chat customer", BotKind::IdentifyCustomer, Media::Chat),
        bot("Ask email address", BotKind::Question, Media::Chat),
        bot("Email intent router", BotKind::CustomerIntentEvaluator, Media::Email),
        bot("Acknowledgement reply", BotKind::SendEmailReply, Media::Email),
    ],
    agents: 100,
    deleted_agents: &[31, 58],
    supervisors: 10,
    users: 5,
    campaigns: &[
        ("Contract Renewal", "Preview", None),
        ("Missed Call Callbacks", "Callback", None),
        ("Premium Upgrade Offer", "Preview", None),
        ("Web Callback Requests", "Callback", None),
        ("Summer Promotion", "Preview", Some(45)),
    ],
    names: &words::CENTRAL_EUROPEAN,
    email_domains: words::EMAIL_DOMAINS_EU,
    phone_style: PhoneStyle::Hungarian,
    agent_phone_prefix: "+36145070",
    external_numbers: &["+3617001234", "+3612345600", "+3614889000"],
    holidays: &[(1, 1), (3, 15), (5, 1), (8, 20), (10, 23), (11, 1), (12, 24), (12, 25), (12, 26)],
    languages: &["hu", "en", "de"],
};

pub static FABRIKAM: TenantDef = TenantDef {
    id: "fabrikam",
    name: "Fabrikam Care",
    time_zone: chrono_tz::America::New_York,
    retention_days: 30,
    active_days: 25,
    divisor: 10,
    domain: "fabrikam.com",
    business_units: &["Customer Care", "Sales"],
    channels: &[
        ChannelDef {
            name: "Care Line",
            kind: ChannelKind::Voice,
            business_unit: 0,
            phones: &["+12125550140", "+18005550199"],
            inbound_weight: 75.0,
            outbound_weight: 60.0,
            queues: &[q("Care - Voice"), q("Care - Voice Spanish")],
        },
        ChannelDef {
            name: "Sales Line",
            kind: ChannelKind::Voice,
            business_unit: 1,
            phones: &["+12125550150"],
            inbound_weight: 25.0,
            outbound_weight: 40.0,
            queues: &[q("Sales - Voice")],
        },
        ChannelDef {
            name: "Web Chat",
            kind: ChannelKind::Webchat,
            business_unit: 0,
            phones: &[],
            inbound_weight: 70.0,
            outbound_weight: 0.0,
            queues: &[q("Care - Chat")],
        },
        ChannelDef {
            name: "Facebook",
            kind: ChannelKind::Facebook,
            business_unit: 0,
            phones: &[],
            inbound_weight: 30.0,
            outbound_weight: 100.0,
            queues: &[q("Care - Social")],
        },
        ChannelDef {
            name: "care@fabrikam.com",
            kind: ChannelKind::Email,
            business_unit: 0,
            phones: &[],
            inbound_weight: 100.0,
            outbound_weight: 100.0,
            queues: &[q("Care - Email"), QueueDef { name: "Sales - Email", routing: "Manual", deleted_days_ago: None }],
        },
    ],
    bot_steps: &[
        bot("Welcome", BotKind::Announcement, Media::Voice),
        bot("Main menu", BotKind::AutoAttendant, Media::Voice),
        bot("Care FAQ bot", BotKind::Qna, Media::Chat),
        bot("Email triage", BotKind::CustomerIntentEvaluator, Media::Email),
    ],
    agents: 33,
    deleted_agents: &[9],
    supervisors: 3,
    users: 2,
    campaigns: &[("Care Callbacks", "Callback", None), ("Plan Upgrade Outreach", "Preview", None)],
    names: &words::NORTH_AMERICAN,
    email_domains: words::EMAIL_DOMAINS_US,
    phone_style: PhoneStyle::American,
    agent_phone_prefix: "+1212555",
    external_numbers: &["+12125557000", "+18005550123"],
    holidays: &[(1, 1), (5, 26), (7, 4), (9, 1), (11, 27), (12, 25)],
    languages: &["en", "es"],
};

pub static TENANTS: [&TenantDef; 2] = [&CONTOSO, &FABRIKAM];

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

impl Tenant {
    pub fn plan(def: &'static TenantDef, index: usize, seed: u64, scale: u32, end_date: NaiveDate) -> Tenant {
        let key = tenant_key(seed, index as u64);
        let cutoff = utc_midnight(end_date);
        let first = end_date - Days::new(u64::from(def.active_days));
        let calendar = Calendar::new(def.time_zone, first, def.active_days, cutoff, def.holidays);
        let conversations = if def.divisor == 1 { scale } else { (scale / def.divisor).max(1) };

        let mut plan_rng = Rng::new(&key, stream::PLAN);
        let day_counts = spread_over_days(&calendar, conversations, &mut plan_rng);

        let mut rng = Rng::new(&key, stream::LOOKUPS);
        let business_units: Vec<BusinessUnit> =
            def.business_units.iter().map(|_| BusinessUnit { id: rng.guid() }).collect();

        let mut channels = Vec::new();
        let mut queues = Vec::new();
        for (ci, cd) in def.channels.iter().enumerate() {
            let mut channel = Channel { id: rng.guid(), def: cd, business_unit: cd.business_unit, queues: Vec::new() };
            for qd in cd.queues {
                let deleted_at = qd.deleted_days_ago.map(|d| cutoff - i64::from(d) * DAY);
                let usable_until = deleted_at.map_or(Ms::MAX, |d| d - rng.int(1, 3) * DAY - rng.int(0, 12) * HOUR);
                channel.queues.push(queues.len());
                queues.push(Queue { id: rng.guid(), channel: ci, usable_until, deleted_at });
            }
            channels.push(channel);
        }
        let mut inbound: [Vec<(usize, f64)>; 3] = Default::default();
        let mut outbound: [Vec<(usize, f64)>; 3] = Default::default();
        for (ci, c) in channels.iter().enumerate() {
            let m = c.def.kind.media().index();
            if c.def.inbound_weight > 0.0 {
                inbound[m].push((ci, c.def.inbound_weight));
            }
            if c.def.outbound_weight > 0.0 {
                outbound[m].push((ci, c.def.outbound_weight));
            }
        }

        let bot_steps = def
            .bot_steps
            .iter()
            .map(|b| {
                let deleted_at = b.deleted_days_ago.map(|d| cutoff - i64::from(d) * DAY);
                BotStep {
                    id: rng.guid(),
                    kind: b.kind,
                    media: b.media,
                    usable_from: b.introduced_days_ago.map_or(Ms::MIN, |d| cutoff - i64::from(d) * DAY - 2 * DAY),
                    usable_until: deleted_at.map_or(Ms::MAX, |d| d - 2 * DAY),
                    config: rng.guid(),
                }
            })
            .collect();

        // Staff: unique names across agents, supervisors and other users.
        let mut taken = HashSet::new();
        let mut person = |rng: &mut Rng, prefix: &str, number: usize| -> Person {
            let (first, last) = loop {
                let f = *rng.pick(def.names.first);
                let l = *rng.pick(def.names.last);
                if taken.insert((f, l)) {
                    break (f, l);
                }
            };
            Person {
                id: rng.guid(),
                first,
                last,
                email: format!("{}.{}@{}", words::ascii_fold(first), words::ascii_fold(last), def.domain),
                custom_id: format!("{prefix}-{number:04}"),
                deleted_at: None,
            }
        };
        let agent_people: Vec<Person> = (0..def.agents).map(|i| person(&mut rng, "AG", 1001 + i)).collect();
        let mut supervisors: Vec<Person> = (0..def.supervisors).map(|i| person(&mut rng, "SV", 101 + i)).collect();
        let users: Vec<Person> = (0..def.users).map(|i| person(&mut rng, "US", 11 + i)).collect();
        for s in &mut supervisors {
            s.email = s.email.replace('@', ".supervisor@");
        }

        let period_start = calendar.days[0].midnight;
        // Business-unit weights follow the inbound traffic of their channels.
        let mut unit_weight = vec![0.0; business_units.len()];
        for c in &channels {
            unit_weight[c.business_unit] += c.def.inbound_weight * media_share(c.def.kind.media());
        }
        let mut agents: Vec<Agent> = agent_people
            .into_iter()
            .enumerate()
            .map(|(i, p)| Agent {
                phone: format!("{}{:03}", def.agent_phone_prefix, 100 + i),
                person: p,
                memberships: Vec::new(),
            })
            .collect();
        // Deleted agents, chosen among the whole staff.
        let mut deleted = Vec::new();
        for days in def.deleted_agents {
            let i = loop {
                let i = rng.below(agents.len());
                if !deleted.contains(&i) {
                    break i;
                }
            };
            deleted.push(i);
            agents[i].person.deleted_at = Some(cutoff - i64::from(*days) * DAY);
        }
        for agent in &mut agents {
            let primary = rng.weighted(&unit_weight);
            let mut units = vec![primary];
            if business_units.len() > 1 && rng.chance(0.35) {
                let other = loop {
                    let u = rng.below(business_units.len());
                    if u != primary {
                        break u;
                    }
                };
                units.push(other);
            }
            let until = agent.person.deleted_at.map_or(Ms::MAX, |d| d - DAY);
            let joined = period_start + 6 * HOUR + rng.int(0, 3600) * SECOND;
            agent.memberships = units.iter().map(|u| (*u, joined, until)).collect();
            // A few later changes: leaving the second unit, or joining another one.
            let days = calendar.len() as i64;
            if agent.memberships.len() == 2 && rng.chance(0.12) && days > 10 {
                let at = period_start + rng.int(days / 4, days - 3) * DAY + rng.int(7 * 3600, 9 * 3600) * SECOND;
                if at < agent.memberships[1].2 {
                    agent.memberships[1].2 = at;
                }
            } else if agent.memberships.len() == 1 && business_units.len() > 1 && rng.chance(0.06) && days > 10 {
                let at = period_start + rng.int(days / 4, days - 3) * DAY + rng.int(7 * 3600, 9 * 3600) * SECOND;
                let u = (primary_of(agent) + 1 + rng.below(business_units.len() - 1)) % business_units.len();
                if at < until {
                    agent.memberships.push((u, at, until));
                }
            }
        }

        let campaigns = def
            .campaigns
            .iter()
            .map(|(_, _, deleted)| Campaign {
                id: rng.guid(),
                usable_until: deleted.map_or(Ms::MAX, |d| cutoff - i64::from(d) * DAY - 3 * DAY),
            })
            .collect();
        let agent_scripts = (0..3).map(|_| rng.guid()).collect();
        let evaluation_scripts = (0..2).map(|_| rng.guid()).collect();

        let mut shift_rng = Rng::new(&key, stream::SHIFTS);
        let shifts = schedule(&calendar, &agents, &mut shift_rng);
        let total_shifts: usize = shifts.iter().map(Vec::len).sum();
        // About three agent states per four conversations.
        let states_per_shift =
            if total_shifts == 0 { 4.0 } else { (0.75 * f64::from(conversations) / total_shifts as f64).max(4.0) };

        Tenant {
            def,
            key,
            customer_key: mix(u64::from_le_bytes(key[..8].try_into().expect("8 bytes")) ^ 0xC057),
            customers: u64::from((conversations * 2 / 5).max(50)),
            calendar,
            conversations,
            day_counts,
            business_units,
            channels,
            inbound,
            outbound,
            queues,
            bot_steps,
            agents,
            supervisors,
            users,
            campaigns,
            agent_scripts,
            evaluation_scripts,
            shifts,
            states_per_shift,
            campaign_records: conversations / 20,
            total_shifts,
        }
    }

    pub fn cutoff(&self) -> Ms {
        self.calendar.cutoff
    }

    /// A customer of the tenant by index.
    pub fn customer(&self, index: u64) -> Customer {
        let mut h = Hashed::new(self.customer_key, index);
        let first = self.def.names.first[h.below(self.def.names.first.len())];
        let last = self.def.names.last[h.below(self.def.names.last.len())];
        let phone = match self.def.phone_style {
            PhoneStyle::Hungarian => {
                if h.chance(0.2) {
                    format!("+361{}", h.digits(7))
                } else {
                    let net = ["20", "30", "70"][h.below(3)];
                    format!("+36{net}{}", h.digits(7))
                }
            }
            PhoneStyle::American => {
                let area = ["212", "646", "718", "917", "347", "201", "516"][h.below(7)];
                format!("+1{area}{}{}", 2 + h.below(8), h.digits(6))
            }
        };
        let domain = self.def.email_domains[h.below(self.def.email_domains.len())];
        let email = if h.chance(0.5) {
            format!("{}.{}{}@{domain}", words::ascii_fold(first), words::ascii_fold(last), h.below(100))
        } else {
            format!("{}{}@{domain}", &words::ascii_fold(first)[..1], words::ascii_fold(last))
        };
        Customer { id: h.guid(), first, last, phone, email, index }
    }

    /// A random customer: a few frequent callers, many occasional ones.
    pub fn random_customer(&self, rng: &mut Rng) -> Customer {
        let u = rng.unit();
        let index = ((u * u) * self.customers as f64) as u64;
        self.customer(index)
    }

    /// Whether `agent` belongs to business unit `unit` at `t`.
    pub fn member(&self, agent: usize, unit: usize, t: Ms) -> bool {
        self.agents[agent].memberships.iter().any(|(u, from, until)| *u == unit && *from <= t && t < *until)
    }

    /// An agent on shift at `t` (preferably in `unit`), other than `except`; if nobody is on
    /// shift, an agent that is not deleted at `t`.
    pub fn agent_at(&self, rng: &mut Rng, t: Ms, unit: usize, except: Option<usize>, strict: bool) -> Option<usize> {
        let mut on_shift: Vec<usize> = Vec::with_capacity(64);
        let mut in_unit: Vec<usize> = Vec::with_capacity(64);
        if let Some(day) = self.calendar.day_of(t) {
            for s in &self.shifts[day] {
                if s.login + 2 * MINUTE <= t && t + 2 * MINUTE < s.logout && Some(s.agent) != except {
                    on_shift.push(s.agent);
                    if self.member(s.agent, unit, t) {
                        in_unit.push(s.agent);
                    }
                }
            }
        }
        if !in_unit.is_empty() && (in_unit.len() * 4 >= on_shift.len() || rng.chance(0.9)) {
            return Some(*rng.pick(&in_unit));
        }
        if !on_shift.is_empty() {
            return Some(*rng.pick(&on_shift));
        }
        if strict {
            return None;
        }
        let alive: Vec<usize> = (0..self.agents.len())
            .filter(|a| Some(*a) != except && self.agents[*a].person.deleted_at.is_none_or(|d| t < d - 2 * DAY))
            .collect();
        if alive.is_empty() { None } else { Some(*rng.pick(&alive)) }
    }

    /// A queue of `channel` usable at `t`, or any usable queue of the same media.
    pub fn queue_of(&self, rng: &mut Rng, channel: usize, t: Ms, except: Option<usize>) -> Option<usize> {
        let own: Vec<usize> = self.channels[channel]
            .queues
            .iter()
            .copied()
            .filter(|q| self.queues[*q].usable_until > t && Some(*q) != except)
            .collect();
        if !own.is_empty() && (except.is_none() || rng.chance(0.5)) {
            // The first queue of a channel takes most of its traffic.
            return Some(if own.len() > 1 && rng.chance(0.3) { own[1 + rng.below(own.len() - 1)] } else { own[0] });
        }
        let media = self.channels[channel].def.kind.media();
        let others: Vec<usize> = (0..self.queues.len())
            .filter(|q| {
                let c = &self.channels[self.queues[*q].channel];
                c.def.kind.media() == media && self.queues[*q].usable_until > t && Some(*q) != except
            })
            .collect();
        if others.is_empty() { own.first().copied() } else { Some(*rng.pick(&others)) }
    }

    /// The tenant's bot step of a kind and media usable at `t`.
    pub fn bot_step(&self, kind: BotKind, media: Media, t: Ms) -> Option<usize> {
        self.bot_steps
            .iter()
            .position(|b| b.kind == kind && b.media == media && b.usable_from <= t && t < b.usable_until)
    }

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

fn primary_of(agent: &Agent) -> usize {
    agent.memberships[0].0
}

/// Share of conversations per media: 60% voice, 25% chat, 15% email.
pub fn media_share(media: Media) -> f64 {
    match media {
        Media::Voice => 0.60,
        Media::Chat => 0.25,
        Media::Email => 0.15,
    }
}

/// Conversations per day: weekday peaks (Monday busiest), quiet weekends and holidays, a little
/// noise and a slow growth over the period; exact total by largest remainders.
fn spread_over_days(calendar: &Calendar, total: u32, rng: &mut Rng) -> Vec<u32> {
    let n = calendar.len();
    let weights: Vec<f64> = calendar
        .days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let weekday = [1.15, 1.05, 1.0, 1.0, 0.9, 0.35, 0.15][d.weekday as usize];
            let holiday = if d.holiday { 0.25 } else { 1.0 };
            let trend = 1.0 + 0.1 * i as f64 / n.max(1) as f64;
            weekday * holiday * trend * rng.real(0.9, 1.1)
        })
        .collect();
    let sum: f64 = weights.iter().sum();
    let exact: Vec<f64> = weights.iter().map(|w| w / sum * f64::from(total)).collect();
    let mut counts: Vec<u32> = exact.iter().map(|e| e.floor() as u32).collect();
    let mut left = total - counts.iter().sum::<u32>();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|a, b| (exact[*b] - exact[*b].floor()).total_cmp(&(exact[*a] - exact[*a].floor())).then(a.cmp(b)));
    for i in order.into_iter().cycle() {
        if left == 0 {
            break;
        }
        counts[i] += 1;
        left -= 1;
    }
    counts
}

/// Agents' shifts: early, middle or late on weekdays (a few absences), a Saturday rota, none on
/// Sundays and holidays, none after an agent's last working day.
fn schedule(calendar: &Calendar, agents: &[Agent], rng: &mut Rng) -> Vec<Vec<Shift>> {
    let prefs: Vec<usize> = agents.iter().map(|_| rng.weighted(&[0.35, 0.35, 0.30])).collect();
    let last_day: Vec<Ms> =
        agents.iter().map(|a| a.person.deleted_at.map_or(Ms::MAX, |d| d - DAY - rng.int(0, 3) * DAY)).collect();
    let mut days: Vec<Vec<Shift>> = Vec::with_capacity(calendar.len());
    for (di, day) in calendar.days.iter().enumerate() {
        let mut shifts = Vec::new();
        for (ai, _) in agents.iter().enumerate() {
            let absent = rng.chance(0.07);
            let jitter_in = rng.int(-10 * 60, 10 * 60) as f64;
            let jitter_len = rng.int(-20 * 60, 30 * 60) as f64;
            if day.holiday || day.midnight >= last_day[ai] {
                continue;
            }
            let (start, hours) = match day.weekday {
                0..=4 if !absent => ([7.75, 9.0, 11.75][prefs[ai]], 8.5),
                5 if (ai + di / 7) % 4 == 0 => (8.75, 5.5),
                _ => continue,
            };
            // Whole seconds, so that a logout's duration until the next login is exact.
            let login = calendar.at(di, start * 3600.0 + jitter_in) / SECOND * SECOND;
            let logout = calendar.at(di, (start + hours) * 3600.0 + jitter_in + jitter_len) / SECOND * SECOND;
            shifts.push(Shift { agent: ai, login, logout, next_login: None });
        }
        days.push(shifts);
    }
    // Link each shift to the agent's next one.
    let mut next: Vec<Option<Ms>> = vec![None; agents.len()];
    for shifts in days.iter_mut().rev() {
        for s in shifts.iter_mut() {
            s.next_login = next[s.agent];
            next[s.agent] = Some(s.login);
        }
    }
    days
}
