//! The one error type of the URI syntax stage. Codes `SYNTAX1xx` are stable: clients and
//! tests may match on them; messages may be reworded.

/// An error raised while parsing a query string, an expression or the resource path, before the
/// model is consulted. Positions are character offsets (0-based) into the percent-decoded option
/// value (inside `$expand`: into the whole `$expand` value, nested options included), or into the
/// percent-decoded resource path (percent-encoding errors: into the raw text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    #[error("invalid percent-encoding at position {position} of the query string")]
    InvalidPercentEncoding { position: usize },
    #[error("`{text}` in the query string is not valid UTF-8 after percent-decoding")]
    InvalidUtf8 { text: String },
    #[error("the query option `{0}` is given more than once")]
    DuplicateOption(String),
    #[error("`{0}` is not an OData system query option")]
    UnknownSystemOption(String),
    #[error("the query option `{0}` needs a value")]
    MissingValue(String),
    #[error("the value of `{option}` must be a non-negative integer, found `{value}`")]
    InvalidInteger { option: String, value: String },
    #[error("the value of `$count` must be `true` or `false`, found `{0}`")]
    InvalidBoolean(String),
    #[error("in {option}: {error}")]
    InOption { option: String, error: Box<SyntaxError> },
    #[error("unexpected character `{found}` at position {position}")]
    UnexpectedChar { position: usize, found: char },
    #[error("unterminated string literal starting at position {position}")]
    UnterminatedString { position: usize },
    #[error("invalid {kind} literal `{text}` at position {position}")]
    InvalidLiteral { position: usize, kind: &'static str, text: String },
    #[error("expected {expected} at position {position}, found {found}")]
    UnexpectedToken { position: usize, expected: &'static str, found: String },
    #[error("{what} at position {position} is not supported")]
    Unsupported { position: usize, what: &'static str },
    #[error("the expression is nested more than {limit} levels deep (at position {position})")]
    TooDeep { position: usize, limit: usize },
    #[error("the expression has more than {limit} nodes (at position {position})")]
    TooManyNodes { position: usize, limit: usize },
    #[error("the resource path is empty: it must start with an entity set name")]
    EmptyPath,
    #[error("`{segment}` is not an entity set: {reason}")]
    NotAnEntitySet { segment: String, reason: &'static str },
    #[error("the path segment `{segment}` at position {position} is not allowed here: {reason}")]
    InvalidSegment { position: usize, segment: String, reason: String },
    #[error("the key predicate at position {position} is empty")]
    EmptyKey { position: usize },
    #[error("`null` at position {position} is not a valid key value")]
    NullKey { position: usize },
    #[error("the key property `{name}` is given more than once (at position {position})")]
    DuplicateKey { position: usize, name: String },
    #[error("invalid percent-encoding at position {position} of the resource path")]
    InvalidPathEncoding { position: usize },
    #[error("`{text}` in the resource path is not valid UTF-8 after percent-decoding")]
    InvalidPathUtf8 { text: String },
    #[error("`{name}` at position {position} is not a query option allowed inside $expand")]
    UnknownExpandOption { position: usize, name: String },
    #[error("the option `{name}` is given more than once in one $expand item (at position {position})")]
    DuplicateExpandOption { position: usize, name: String },
    #[error("`{option}` at position {position} is not allowed {context}")]
    ExpandOptionNotAllowed { position: usize, option: String, context: &'static str },
    #[error("the value of `$levels` must be `max` or a positive integer, found `{value}` at position {position}")]
    InvalidLevels { position: usize, value: String },
}

impl SyntaxError {
    /// The stable code of this error (`SYNTAX1xx`); an error inside an option reports its cause's code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidPercentEncoding { .. } => "SYNTAX101",
            Self::InvalidUtf8 { .. } => "SYNTAX102",
            Self::DuplicateOption(_) => "SYNTAX103",
            Self::UnknownSystemOption(_) => "SYNTAX104",
            Self::MissingValue(_) => "SYNTAX105",
            Self::InvalidInteger { .. } => "SYNTAX106",
            Self::InvalidBoolean(_) => "SYNTAX107",
            Self::InOption { error, .. } => error.code(),
            Self::UnexpectedChar { .. } => "SYNTAX110",
            Self::UnterminatedString { .. } => "SYNTAX111",
            Self::InvalidLiteral { .. } => "SYNTAX112",
            Self::UnexpectedToken { .. } => "SYNTAX113",
            Self::Unsupported { .. } => "SYNTAX114",
            Self::TooDeep { .. } => "SYNTAX115",
            Self::TooManyNodes { .. } => "SYNTAX116",
            Self::EmptyPath => "SYNTAX117",
            Self::NotAnEntitySet { .. } => "SYNTAX118",
            Self::InvalidSegment { .. } => "SYNTAX119",
            Self::EmptyKey { .. } => "SYNTAX120",
            Self::NullKey { .. } => "SYNTAX121",
            Self::DuplicateKey { .. } => "SYNTAX122",
            Self::InvalidPathEncoding { .. } => "SYNTAX123",
            Self::InvalidPathUtf8 { .. } => "SYNTAX124",
            Self::UnknownExpandOption { .. } => "SYNTAX125",
            Self::DuplicateExpandOption { .. } => "SYNTAX126",
            Self::ExpandOptionNotAllowed { .. } => "SYNTAX127",
            Self::InvalidLevels { .. } => "SYNTAX128",
        }
    }

    /// The query option the error occurred in, when it occurred inside one (`$filter`, ...).
    pub fn option(&self) -> Option<&str> {
        match self {
            Self::InOption { option, .. } => Some(option),
            _ => None,
        }
    }
}
