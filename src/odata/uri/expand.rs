//! `$expand` as a tree: items separated by `,`, each a path (`Nav`, `Model.Type/Nav`,
//! `Complex/Nav`, `Nav/Model.Type`, `*`) optionally ending in `/$ref` or `/$count`, with nested
//! options in `( ... )` separated by `;`. Nested `$filter`, `$orderby` and `$select` go through the
//! expression parsers; `$search` and `$compute` are kept as text; a nested `$expand` recurses.
//!
//! Invariants: pure and model-free (names are kept as written); error positions are character
//! offsets into the percent-decoded `$expand` value, nested option values included; the nesting of
//! `$expand` is bounded by `MAX_DEPTH`, and an option value is delimited by one scan that skips
//! quoted text and balanced parentheses, so `;` or `)` inside a string never splits it and no input
//! can overflow the stack.

use std::fmt;

use super::error::SyntaxError;
use super::expr::{Expr, OrderItem, SelectItem};
use super::parser::{MAX_DEPTH, parse_filter, parse_orderby, parse_select};
use super::query::non_negative;

/// One `$expand` item: what to expand, and the options applied to the expanded entities.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpandItem {
    pub path: ExpandPath,
    pub options: ExpandOptions,
}

/// What an `$expand` item expands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpandPath {
    /// `*` (every navigation property), or `*/$ref`.
    Star { is_ref: bool },
    /// A navigation property, reached through type casts and complex properties.
    Navigation {
        /// The segments as written, e.g. `["QueueSegments"]` or `["Model.Type", "Nav"]`.
        segments: Vec<String>,
        /// Ends in `/$ref`: only references to the related entities.
        is_ref: bool,
        /// Ends in `/$count`: only the number of related entities.
        count: bool,
    },
}

/// The options nested in an `$expand` item, each given at most once. Which ones an item may take
/// depends on its path: `/$ref` takes `$filter`, `$search`, `$orderby`, `$skip`, `$top` and
/// `$count`; `/$count` takes `$filter` and `$search`; `*` takes `$levels`; `*/$ref` takes none.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExpandOptions {
    pub filter: Option<Expr>,
    pub select: Option<Vec<SelectItem>>,
    pub orderby: Option<Vec<OrderItem>>,
    pub top: Option<u64>,
    pub skip: Option<u64>,
    pub count: Option<bool>,
    pub expand: Option<Vec<ExpandItem>>,
    pub levels: Option<Levels>,
    /// Kept as text (trimmed); this layer does not parse search expressions.
    pub search: Option<String>,
    /// Kept as text (trimmed); this layer does not parse compute expressions.
    pub compute: Option<String>,
}

impl ExpandOptions {
    /// Whether no option is given.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// `$levels`: how many times a recursive expansion is repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Levels {
    Max,
    Count(u64),
}

/// Parses a percent-decoded `$expand` value into its items.
pub fn parse_expand(input: &str) -> Result<Vec<ExpandItem>, SyntaxError> {
    let mut cursor = Cursor { c: input.chars().collect(), at: 0 };
    let items = cursor.items(1)?;
    if cursor.peek().is_some() {
        return Err(cursor.unexpected("`,` or the end of $expand"));
    }
    Ok(items)
}

/// The options an `$expand` item can carry, in canonical order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opt {
    Filter,
    Select,
    OrderBy,
    Top,
    Skip,
    Count,
    Expand,
    Levels,
    Search,
    Compute,
}

impl Opt {
    const ALL: [Opt; 10] = [
        Self::Filter,
        Self::Select,
        Self::OrderBy,
        Self::Top,
        Self::Skip,
        Self::Count,
        Self::Expand,
        Self::Levels,
        Self::Search,
        Self::Compute,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Filter => "$filter",
            Self::Select => "$select",
            Self::OrderBy => "$orderby",
            Self::Top => "$top",
            Self::Skip => "$skip",
            Self::Count => "$count",
            Self::Expand => "$expand",
            Self::Levels => "$levels",
            Self::Search => "$search",
            Self::Compute => "$compute",
        }
    }

    /// The option written as `name`: case-insensitive, with or without `$`.
    fn from_name(name: &str) -> Option<Self> {
        let bare = name.strip_prefix('$').unwrap_or(name);
        Self::ALL.into_iter().find(|o| o.name()[1..].eq_ignore_ascii_case(bare))
    }

    /// Whether an item with `path` may take this option; if not, where it is not allowed.
    fn allowed_after(self, path: &ExpandPath) -> Result<(), &'static str> {
        let ref_option =
            matches!(self, Self::Filter | Self::Search | Self::OrderBy | Self::Skip | Self::Top | Self::Count);
        match path {
            ExpandPath::Star { is_ref: true } => Err("after `*/$ref`"),
            ExpandPath::Star { is_ref: false } if self != Self::Levels => Err("after `*` (only `$levels` is)"),
            ExpandPath::Navigation { count: true, .. } if !matches!(self, Self::Filter | Self::Search) => {
                Err("after `/$count`")
            }
            ExpandPath::Navigation { is_ref: true, .. } if !ref_option => Err("after `/$ref`"),
            _ => Ok(()),
        }
    }
}

/// The longest identifier OData allows (1 leading + 127 further characters), as in expressions.
const MAX_IDENTIFIER: usize = 128;

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// One path segment of an `$expand` item.
enum Segment {
    Name(String),
    Ref,
    Count,
    Star,
}

/// A position in the decoded `$expand` value.
struct Cursor {
    c: Vec<char>,
    at: usize,
}

impl Cursor {
    fn peek(&self) -> Option<char> {
        self.c.get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.at += 1;
        }
    }

    fn found(&self) -> String {
        match self.peek() {
            Some(ch) => format!("`{ch}`"),
            None => "end of input".into(),
        }
    }

    fn unexpected(&self, expected: &'static str) -> SyntaxError {
        SyntaxError::UnexpectedToken { position: self.at, expected, found: self.found() }
    }

    /// Items separated by `,`, at nesting `level` (1 at the top); stops before anything else.
    fn items(&mut self, level: usize) -> Result<Vec<ExpandItem>, SyntaxError> {
        let mut items = Vec::new();
        loop {
            items.push(self.item(level)?);
            if self.peek() != Some(',') {
                return Ok(items);
            }
            self.at += 1;
        }
    }

    fn item(&mut self, level: usize) -> Result<ExpandItem, SyntaxError> {
        self.skip_whitespace();
        let path = self.path()?;
        self.skip_whitespace();
        let mut options = ExpandOptions::default();
        if self.peek() == Some('(') {
            self.at += 1;
            self.options(&path, &mut options, level)?;
            self.skip_whitespace();
        }
        Ok(ExpandItem { path, options })
    }

    fn path(&mut self) -> Result<ExpandPath, SyntaxError> {
        let start = self.at;
        match self.segment()? {
            Segment::Star => {
                if self.peek() != Some('/') {
                    return Ok(ExpandPath::Star { is_ref: false });
                }
                self.at += 1;
                let at = self.at;
                match self.segment()? {
                    Segment::Ref => Ok(ExpandPath::Star { is_ref: true }),
                    _ => Err(SyntaxError::UnexpectedToken {
                        position: at,
                        expected: "`$ref` after `*/`",
                        found: format!("`{}`", self.c[at..self.at].iter().collect::<String>()),
                    }),
                }
            }
            Segment::Ref | Segment::Count => Err(SyntaxError::UnexpectedToken {
                position: start,
                expected: "a navigation property or `*`",
                found: format!("`{}`", self.c[start..self.at].iter().collect::<String>()),
            }),
            Segment::Name(first) => {
                let (mut segments, mut is_ref, mut count) = (vec![first], false, false);
                while self.peek() == Some('/') {
                    self.at += 1;
                    let at = self.at;
                    match self.segment()? {
                        Segment::Name(name) => segments.push(name),
                        Segment::Ref => is_ref = true,
                        Segment::Count => count = true,
                        Segment::Star => {
                            return Err(SyntaxError::Unsupported {
                                position: at,
                                what: "`*` after a path (all navigation properties of a complex property)",
                            });
                        }
                    }
                    if is_ref || count {
                        break;
                    }
                }
                Ok(ExpandPath::Navigation { segments, is_ref, count })
            }
        }
    }

    fn segment(&mut self) -> Result<Segment, SyntaxError> {
        let start = self.at;
        match self.peek() {
            Some('*') => {
                self.at += 1;
                Ok(Segment::Star)
            }
            Some('$') => {
                self.at += 1;
                let name = self.identifier(false);
                match name.as_str() {
                    "ref" => Ok(Segment::Ref),
                    "count" => Ok(Segment::Count),
                    "value" => Err(SyntaxError::Unsupported { position: start, what: "expanding `$value` (a stream)" }),
                    _ => Err(SyntaxError::UnexpectedToken {
                        position: start,
                        expected: "a navigation property, `$ref` or `$count`",
                        found: format!("`${name}`"),
                    }),
                }
            }
            Some('@') => Err(SyntaxError::Unsupported { position: start, what: "an annotation in $expand" }),
            Some(ch) if is_ident_start(ch) => {
                let name = self.identifier(true);
                if name.split('.').any(|part| part.chars().count() > MAX_IDENTIFIER) {
                    return Err(SyntaxError::InvalidLiteral { position: start, kind: "identifier", text: name });
                }
                Ok(Segment::Name(name))
            }
            _ => Err(self.unexpected("a navigation property or `*`")),
        }
    }

    /// Reads an identifier; with `qualified`, dot-separated parts are joined (`Model.Type`).
    fn identifier(&mut self, qualified: bool) -> String {
        let start = self.at;
        if !self.peek().is_some_and(is_ident_start) {
            return String::new();
        }
        loop {
            while self.peek().is_some_and(is_ident_char) {
                self.at += 1;
            }
            if qualified && self.peek() == Some('.') && self.c.get(self.at + 1).is_some_and(|&c| is_ident_start(c)) {
                self.at += 1;
                continue;
            }
            break;
        }
        self.c[start..self.at].iter().collect()
    }

    /// The options after `(`, up to and including the closing `)`.
    fn options(&mut self, path: &ExpandPath, out: &mut ExpandOptions, level: usize) -> Result<(), SyntaxError> {
        let mut seen = Vec::new();
        loop {
            self.skip_whitespace();
            let start = self.at;
            let opt = self.option_name()?;
            if seen.contains(&opt) {
                return Err(SyntaxError::DuplicateExpandOption { position: start, name: opt.name().into() });
            }
            seen.push(opt);
            opt.allowed_after(path).map_err(|context| SyntaxError::ExpandOptionNotAllowed {
                position: start,
                option: opt.name().into(),
                context,
            })?;
            if self.peek() != Some('=') {
                return Err(self.unexpected("`=` after the option name"));
            }
            self.at += 1;
            self.value(opt, out, level)?;
            self.skip_whitespace();
            match self.peek() {
                Some(';') => self.at += 1,
                Some(')') => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(self.unexpected("`;` or `)` closing the options of the $expand item")),
            }
        }
    }

    fn option_name(&mut self) -> Result<Opt, SyntaxError> {
        let start = self.at;
        if self.peek() == Some('@') {
            return Err(SyntaxError::Unsupported {
                position: start,
                what: "a parameter alias in the options of $expand",
            });
        }
        if self.peek() == Some('$') {
            self.at += 1;
        }
        if self.identifier(false).is_empty() {
            self.at = start;
            return Err(self.unexpected("a query option name"));
        }
        let name: String = self.c[start..self.at].iter().collect();
        Opt::from_name(&name).ok_or(SyntaxError::UnknownExpandOption { position: start, name })
    }

    /// Reads the value of `opt` after its `=` into `out`.
    fn value(&mut self, opt: Opt, out: &mut ExpandOptions, level: usize) -> Result<(), SyntaxError> {
        if opt == Opt::Expand {
            if level >= MAX_DEPTH {
                return Err(SyntaxError::TooDeep { position: self.at, limit: MAX_DEPTH });
            }
            out.expand = Some(self.items(level + 1)?);
            return Ok(());
        }
        let (start, text) = self.scan_value()?;
        let in_option =
            |error| SyntaxError::InOption { option: opt.name().into(), error: Box::new(shifted(error, start)) };
        match opt {
            Opt::Filter => out.filter = Some(parse_filter(&text).map_err(in_option)?),
            Opt::Select => out.select = Some(parse_select(&text).map_err(in_option)?),
            Opt::OrderBy => out.orderby = Some(parse_orderby(&text).map_err(in_option)?),
            Opt::Top => out.top = Some(non_negative("$top", &text)?),
            Opt::Skip => out.skip = Some(non_negative("$skip", &text)?),
            Opt::Count => {
                out.count = Some(match text.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(SyntaxError::InvalidBoolean(text)),
                })
            }
            Opt::Levels => out.levels = Some(levels(text, start)?),
            Opt::Search => out.search = Some(self.non_empty(text, start, "a search expression")?),
            Opt::Compute => out.compute = Some(self.non_empty(text, start, "a compute expression")?),
            Opt::Expand => {} // read above
        }
        Ok(())
    }

    /// The text of an option value, trimmed, with the position it starts at: everything up to the
    /// `;` or `)` that ends it, skipping quoted text (`'...'` with `''`, `"..."` with `\`) and
    /// balanced parentheses.
    fn scan_value(&mut self) -> Result<(usize, String), SyntaxError> {
        let start = self.at;
        let mut depth = 0usize;
        while let Some(ch) = self.peek() {
            match ch {
                '\'' | '"' => self.skip_quoted(ch)?,
                '(' => depth += 1,
                ')' if depth == 0 => break,
                ')' => depth -= 1,
                ';' if depth == 0 => break,
                _ => {}
            }
            self.at += 1;
        }
        let span = &self.c[start..self.at];
        let lead = span.iter().take_while(|c| matches!(c, ' ' | '\t')).count();
        let text: String = span[lead..].iter().collect();
        Ok((start + lead, text.trim_end_matches([' ', '\t']).to_owned()))
    }

    /// Moves to the quote closing the one at the cursor.
    fn skip_quoted(&mut self, quote: char) -> Result<(), SyntaxError> {
        let start = self.at;
        let mut i = start + 1;
        loop {
            match self.c.get(i) {
                None => return Err(SyntaxError::UnterminatedString { position: start }),
                Some('\\') if quote == '"' => i += 2,
                Some(&c) if c == quote && quote == '\'' && self.c.get(i + 1) == Some(&'\'') => i += 2,
                Some(&c) if c == quote => {
                    self.at = i;
                    return Ok(());
                }
                Some(_) => i += 1,
            }
        }
    }

    fn non_empty(&self, text: String, start: usize, expected: &'static str) -> Result<String, SyntaxError> {
        if text.is_empty() {
            return Err(SyntaxError::UnexpectedToken { position: start, expected, found: self.found() });
        }
        Ok(text)
    }
}

/// `max` (any case) or a positive integer without leading zeros.
fn levels(text: String, position: usize) -> Result<Levels, SyntaxError> {
    if text.eq_ignore_ascii_case("max") {
        return Ok(Levels::Max);
    }
    let digits = !text.is_empty() && !text.starts_with('0') && text.bytes().all(|b| b.is_ascii_digit());
    match text.parse() {
        Ok(n) if digits => Ok(Levels::Count(n)),
        _ => Err(SyntaxError::InvalidLevels { position, value: text }),
    }
}

/// `error` from parsing an option value, with its positions moved by `by` (where the value starts
/// in the `$expand` value).
fn shifted(error: SyntaxError, by: usize) -> SyntaxError {
    use SyntaxError as E;
    match error {
        E::InOption { option, error } => E::InOption { option, error: Box::new(shifted(*error, by)) },
        E::UnexpectedChar { position, found } => E::UnexpectedChar { position: position + by, found },
        E::UnterminatedString { position } => E::UnterminatedString { position: position + by },
        E::InvalidLiteral { position, kind, text } => E::InvalidLiteral { position: position + by, kind, text },
        E::UnexpectedToken { position, expected, found } => {
            E::UnexpectedToken { position: position + by, expected, found }
        }
        E::Unsupported { position, what } => E::Unsupported { position: position + by, what },
        E::TooDeep { position, limit } => E::TooDeep { position: position + by, limit },
        E::TooManyNodes { position, limit } => E::TooManyNodes { position: position + by, limit },
        E::UnknownExpandOption { position, name } => E::UnknownExpandOption { position: position + by, name },
        E::DuplicateExpandOption { position, name } => E::DuplicateExpandOption { position: position + by, name },
        E::ExpandOptionNotAllowed { position, option, context } => {
            E::ExpandOptionNotAllowed { position: position + by, option, context }
        }
        E::InvalidLevels { position, value } => E::InvalidLevels { position: position + by, value },
        // No position, or one into the raw query string or the resource path.
        other @ (E::InvalidPercentEncoding { .. }
        | E::InvalidUtf8 { .. }
        | E::DuplicateOption(_)
        | E::UnknownSystemOption(_)
        | E::MissingValue(_)
        | E::InvalidInteger { .. }
        | E::InvalidBoolean(_)
        | E::EmptyPath
        | E::NotAnEntitySet { .. }
        | E::InvalidSegment { .. }
        | E::EmptyKey { .. }
        | E::NullKey { .. }
        | E::DuplicateKey { .. }
        | E::InvalidPathEncoding { .. }
        | E::InvalidPathUtf8 { .. }) => other,
    }
}

/// Writes `items` separated by `,` (no space), as in a URL.
fn write_joined<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

/// The canonical form: options in a fixed order, expressions fully parenthesised, no spaces
/// around separators; parsing it again gives the same tree.
impl fmt::Display for ExpandItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path)?;
        if !self.options.is_empty() {
            write!(f, "({})", self.options)?;
        }
        Ok(())
    }
}

impl fmt::Display for ExpandPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (is_ref, count) = match self {
            Self::Star { is_ref } => {
                f.write_str("*")?;
                (*is_ref, false)
            }
            Self::Navigation { segments, is_ref, count } => {
                f.write_str(&segments.join("/"))?;
                (*is_ref, *count)
            }
        };
        if is_ref {
            f.write_str("/$ref")?;
        }
        if count {
            f.write_str("/$count")?;
        }
        Ok(())
    }
}

/// The options separated by `;`, without the parentheses around them.
impl fmt::Display for ExpandOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        let mut next = |f: &mut fmt::Formatter<'_>, name: &str| {
            let s = std::mem::replace(&mut sep, ";");
            write!(f, "{s}{name}=")
        };
        if let Some(filter) = &self.filter {
            next(f, "$filter")?;
            write!(f, "{filter}")?;
        }
        if let Some(select) = &self.select {
            next(f, "$select")?;
            write_joined(f, select)?;
        }
        if let Some(orderby) = &self.orderby {
            next(f, "$orderby")?;
            write_joined(f, orderby)?;
        }
        if let Some(top) = self.top {
            next(f, "$top")?;
            write!(f, "{top}")?;
        }
        if let Some(skip) = self.skip {
            next(f, "$skip")?;
            write!(f, "{skip}")?;
        }
        if let Some(count) = self.count {
            next(f, "$count")?;
            write!(f, "{count}")?;
        }
        if let Some(expand) = &self.expand {
            next(f, "$expand")?;
            write_joined(f, expand)?;
        }
        if let Some(levels) = self.levels {
            next(f, "$levels")?;
            write!(f, "{levels}")?;
        }
        if let Some(search) = &self.search {
            next(f, "$search")?;
            f.write_str(search)?;
        }
        if let Some(compute) = &self.compute {
            next(f, "$compute")?;
            f.write_str(compute)?;
        }
        Ok(())
    }
}

impl fmt::Display for Levels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Max => f.write_str("max"),
            Self::Count(n) => write!(f, "{n}"),
        }
    }
}
