//! The fixed definitions of the two demo tenants (`contoso` and `fabrikam`): business units,
//! channels with their queues, bot steps, staff sizes, campaigns, naming and phone styles, holidays.

use super::kinds::{BotKind, ChannelKind, Media};
use crate::demo::words::{self, NameSet};
use chrono_tz::Tz;

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
