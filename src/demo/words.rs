//! Built-in word lists: names, subjects, notes and the other free texts of the demo data set.

/// First and last names of one tenant's people (customers and staff).
pub struct NameSet {
    pub first: &'static [&'static str],
    pub last: &'static [&'static str],
}

/// Contoso (Budapest): mostly Hungarian names, some international ones.
pub const CENTRAL_EUROPEAN: NameSet = NameSet {
    first: &[
        "Anna",
        "Bence",
        "Csilla",
        "Dániel",
        "Eszter",
        "Ferenc",
        "Gábor",
        "Hanna",
        "István",
        "Judit",
        "Katalin",
        "László",
        "Márton",
        "Nóra",
        "Orsolya",
        "Péter",
        "Réka",
        "Sándor",
        "Tamás",
        "Zsófia",
        "Balázs",
        "Viktória",
        "Ádám",
        "Lilla",
        "Zoltán",
        "Krisztina",
        "Attila",
        "Dóra",
        "Gergely",
        "Emese",
        "Emma",
        "Lukas",
        "Sophie",
        "Jonas",
        "Maria",
        "David",
        "Laura",
        "Michael",
        "Sarah",
        "Thomas",
    ],
    last: &[
        "Nagy",
        "Kovács",
        "Tóth",
        "Szabó",
        "Horváth",
        "Varga",
        "Kiss",
        "Molnár",
        "Németh",
        "Farkas",
        "Balogh",
        "Papp",
        "Takács",
        "Juhász",
        "Lakatos",
        "Mészáros",
        "Oláh",
        "Simon",
        "Rácz",
        "Fekete",
        "Szilágyi",
        "Török",
        "Fehér",
        "Gál",
        "Kis",
        "Szűcs",
        "Kocsis",
        "Pintér",
        "Vincze",
        "Bogdán",
        "Müller",
        "Schmidt",
        "Novak",
        "Weber",
        "Fischer",
        "Smith",
        "Brown",
        "Wagner",
        "Horvat",
        "Popescu",
    ],
};

/// Fabrikam (New York).
pub const NORTH_AMERICAN: NameSet = NameSet {
    first: &[
        "James",
        "Mary",
        "Robert",
        "Patricia",
        "John",
        "Jennifer",
        "Michael",
        "Linda",
        "David",
        "Elizabeth",
        "William",
        "Barbara",
        "Richard",
        "Susan",
        "Joseph",
        "Jessica",
        "Thomas",
        "Sarah",
        "Christopher",
        "Karen",
        "Daniel",
        "Lisa",
        "Matthew",
        "Nancy",
        "Anthony",
        "Betty",
        "Mark",
        "Sandra",
        "José",
        "María",
        "Luis",
        "Carmen",
        "Kevin",
        "Emily",
        "Brian",
        "Ashley",
        "Jason",
        "Michelle",
        "Andrew",
        "Amanda",
    ],
    last: &[
        "Smith",
        "Johnson",
        "Williams",
        "Brown",
        "Jones",
        "Garcia",
        "Miller",
        "Davis",
        "Rodriguez",
        "Martinez",
        "Hernandez",
        "Lopez",
        "Gonzalez",
        "Wilson",
        "Anderson",
        "Thomas",
        "Taylor",
        "Moore",
        "Jackson",
        "Martin",
        "Lee",
        "Perez",
        "Thompson",
        "White",
        "Harris",
        "Sanchez",
        "Clark",
        "Ramirez",
        "Lewis",
        "Robinson",
        "Walker",
        "Young",
        "Allen",
        "King",
        "Wright",
        "Scott",
        "Torres",
        "Nguyen",
        "O'Brien",
        "O'Connor",
    ],
};

/// Lowercase ASCII for email addresses: accents dropped, apostrophes and spaces removed.
pub fn ascii_fold(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            let c = match c {
                'á' | 'Á' => 'a',
                'é' | 'É' => 'e',
                'í' | 'Í' => 'i',
                'ó' | 'Ó' | 'ö' | 'Ö' | 'ő' | 'Ő' => 'o',
                'ú' | 'Ú' | 'ü' | 'Ü' | 'ű' | 'Ű' => 'u',
                'ñ' | 'Ñ' => 'n',
                '\'' | ' ' => return None,
                c => c.to_ascii_lowercase(),
            };
            Some(c)
        })
        .collect()
}

/// Email subjects: (template with `{n}` for a number, intent category, keyword the intent
/// evaluator matches on, if any).
pub const SUBJECTS: &[(&str, &str, Option<&str>)] = &[
    ("Question about invoice {n}", "Billing", Some("invoice")),
    ("Refund request for order {n}", "Billing", Some("refund")),
    ("Payment failed", "Billing", Some("payment")),
    ("Order {n} has not arrived", "Orders", Some("order")),
    ("Change of delivery address", "Orders", Some("address")),
    ("Complaint about your service", "Complaint", Some("complaint")),
    ("App not working after the update", "Technical", Some("not working")),
    ("Error message when logging in", "Technical", Some("error")),
    ("Password reset", "Technical", Some("password")),
    ("Cancel my subscription", "Cancellation", Some("cancel")),
    ("Contract renewal {n}", "Sales", Some("contract")),
    ("Request for a price offer", "Sales", Some("offer")),
    ("Thank you!", "General", None),
    ("Question", "General", None),
    ("RE: Your service request #{n}", "General", None),
];

pub const EMAIL_DOMAINS_EU: &[&str] = &["example.com", "example.net", "example.org", "posta.example.hu"];
pub const EMAIL_DOMAINS_US: &[&str] = &["example.com", "example.net", "example.org", "mail.example.us"];

/// Agent notes; some span lines or hold tabs, backslashes and quotes on purpose.
pub const NOTES: &[&str] = &[
    "Customer will call back tomorrow.",
    "Sent password reset link.",
    "Escalated to second line – ticket opened.",
    "Refund approved.\nAmount credited within 5 working days.",
    "Caller asked for a manager; explained the \"standard\" escalation process.",
    "Address updated:\tnew street name and postcode.",
    "Screenshots saved to \\\\fileserver\\cases\\incoming.",
    "Ügyfél elégedett, a problémát megoldottuk.",
    "Offered 10% discount on renewal.",
    "Duplicate of an earlier request, closed.",
    "Line was very noisy, customer will email details.\r\nChecked account: no open invoices.",
    "Customer's order is delayed at the warehouse.",
];

pub const COMPLETION_CODES: &[&str] = &[
    "Resolved",
    "Information provided",
    "Follow-up required",
    "Escalated",
    "Sale",
    "No sale",
    "Complaint registered",
    "Wrong number",
];

pub const BREAK_NAMES: &[(&str, f64)] =
    &[("Coffee", 5.0), ("Personal", 2.0), ("Meeting", 1.0), ("Training", 0.7), ("Backoffice", 1.5)];

/// Workflow variables captured in conversations: (name, kind of value).
pub const CAPTURED_NAMES: &[&str] =
    &["Language", "AccountNumber", "Intent", "CustomerTier", "CallbackNumber", "OrderNumber", "MarketingConsent"];

pub const INTENTS: &[&str] = &["Billing", "TechnicalSupport", "Sales", "Cancellation", "OrderStatus", "General"];

pub const TIERS: &[&str] = &["Standard", "Silver", "Gold", "Platinum"];

/// Script fields agents fill in (collected data).
pub const COLLECTED_NAMES: &[&str] =
    &["ContactReason", "Product", "Outcome", "FollowUpDate", "OrderNumber", "Sentiment"];

pub const CONTACT_REASONS: &[&str] =
    &["Billing question", "Delivery status", "Technical problem", "Contract change", "Complaint", "New order"];

pub const PRODUCTS: &[&str] = &["Home Internet", "Mobile Plan", "TV Package", "Smart Home Kit", "Business Line"];

pub const OUTCOMES: &[&str] = &["Solved", "Pending customer", "Pending internal", "Not solvable"];

pub const SENTIMENTS: &[&str] = &["Positive", "Neutral", "Negative"];

/// Evaluation script items: (name, possible values).
pub const EVALUATION_ITEMS: &[(&str, &[&str])] = &[
    ("Greeting", &["Yes", "No"]),
    ("IdentityVerified", &["Yes", "No", "N/A"]),
    ("ProblemUnderstood", &["Yes", "Partly", "No"]),
    ("Empathy", &["1", "2", "3", "4", "5"]),
    ("HoldProcedure", &["Yes", "No", "N/A"]),
    ("Closing", &["Yes", "No"]),
    ("Comment", &["Good call.", "Needs coaching on closing.", "Excellent product knowledge.", "Too long on hold."]),
];

/// Campaign record custom fields: (name, possible values).
pub const CUSTOM_FIELDS: &[(&str, &[&str])] = &[
    ("ContractNumber", &[]),
    ("Product", &["Home Internet", "Mobile Plan", "TV Package", "Smart Home Kit"]),
    ("PreferredTime", &["Morning", "Afternoon", "Evening"]),
    ("Segment", &["Consumer", "Small business", "Enterprise"]),
    ("LastOrderDate", &[]),
    ("Notes", &["Asked for callback", "VIP", "Price sensitive", "Interested in upgrade"]),
];

pub const MENU_OPTIONS: &[&str] = &["Billing", "Orders", "Technical support", "Other"];

pub const CUSTOM_BOT_OUTPUTS: &[&str] =
    &["order-status:shipped", "order-status:in-progress", "order-status:not-found", "handover:agent"];

pub const ANI_RULES: &[(&str, f64)] = &[("VIP customers", 0.15), ("Known business numbers", 0.1), ("No match", 0.75)];
