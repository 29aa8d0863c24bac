//! The kinds the tenant definitions and the generated rows are made of: media, channel kinds
//! and bot step kinds, with the strings they are written as.

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
