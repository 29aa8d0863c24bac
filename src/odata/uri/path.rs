//! The resource path after the service root: entity set, key predicate, `$count`, property and
//! `$value` segments.
//!
//! The supported subset: `Set`, `Set/$count`, `Set(key)`, `Set(key)/property` and
//! `Set(key)/property/$value`, with one optional leading and one optional trailing `/`. The path
//! is percent-decoded once (RFC 3986, a `+` stays a `+`) and then read with a cursor, so a `/` or
//! `)` inside a quoted key value (written as is or as `%2F`) belongs to the value. Key values are
//! read by the expression lexer, so they take exactly the literal forms `$filter` takes.
//!
//! Invariant: pure and model-free: names are kept as written (binding checks them against the
//! model, case-sensitively); every error is a `SyntaxError` with the position in the decoded path.

use super::error::SyntaxError;
use super::expr::{Expr, Literal};
use super::parser::parse_filter;
use super::query::percent_decode;

/// The longest identifier OData allows (1 leading + 127 further characters).
const MAX_IDENTIFIER: usize = 128;

/// The resource path of a request, relative to the service root (`/odata`).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourcePath {
    /// The entity set, as written.
    pub set: String,
    pub key: Option<KeyPredicate>,
    pub tail: PathTail,
}

/// The key predicate after the entity set.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyPredicate {
    /// `Calls('abc')` or `Agents(5)`
    Single(Literal),
    /// `QueueSegments(conversationID='a',queueID='q',queuedAtUTC=2024-01-01T00:00:00Z)`, in the
    /// order written; names are distinct.
    Named(Vec<(String, Literal)>),
}

/// What follows the entity set and its key.
#[derive(Debug, Clone, PartialEq)]
pub enum PathTail {
    None,
    /// `/$count` after a collection
    Count,
    /// `/{property}` after a key
    Property(String),
    /// `/{property}/$value`
    PropertyValue(String),
    /// `/{navigation}/$count` after a key: the number of related entities
    PropertyCount(String),
}

/// Parses the raw (still percent-encoded) request path after the service root, with or without
/// its leading `/`: `Calls`, `/Calls('a%27%27b')`, `Calls/$count`, `Calls('x')/duration/$value`.
pub fn parse_path(path: &str) -> Result<ResourcePath, SyntaxError> {
    let decoded = percent_decode(path, 0).map_err(|e| match e {
        SyntaxError::InvalidPercentEncoding { position } => SyntaxError::InvalidPathEncoding { position },
        SyntaxError::InvalidUtf8 { text } => SyntaxError::InvalidPathUtf8 { text },
        other => other,
    })?;
    let chars: Vec<char> = decoded.chars().collect();
    let start = usize::from(chars.first() == Some(&'/'));
    // One trailing `/` is tolerated; inside a (then unterminated) quoted value it fails anyway.
    let end = if chars.len() > start && chars.last() == Some(&'/') { chars.len() - 1 } else { chars.len() };
    let mut c = Cursor { c: &chars[..end], i: start };
    if c.at_end() {
        return Err(SyntaxError::EmptyPath);
    }

    let set = entity_set(&mut c)?;
    let key = if c.peek() == Some('(') { Some(key_predicate(&mut c)?) } else { None };
    let tail = match c.peek() {
        None => PathTail::None,
        Some('/') => tail(&c, c.i + 1, &set, key.is_some())?,
        Some(ch) => {
            return Err(SyntaxError::UnexpectedToken {
                position: c.i,
                expected: if key.is_some() {
                    "`/` or the end of the path after the key predicate"
                } else {
                    "`(`, `/` or the end of the path after the entity set name"
                },
                found: format!("`{ch}`"),
            });
        }
    };
    Ok(ResourcePath { set, key, tail })
}

struct Cursor<'a> {
    c: &'a [char],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<char> {
        self.c.get(self.i).copied()
    }

    fn at_end(&self) -> bool {
        self.i >= self.c.len()
    }

    fn text(&self, from: usize, to: usize) -> String {
        self.c[from..to].iter().collect()
    }

    /// The character at the cursor, for `found` in error messages.
    fn found(&self) -> String {
        self.peek().map_or_else(|| "the end of the path".to_owned(), |ch| format!("`{ch}`"))
    }

    /// An unqualified identifier at the cursor (possibly empty), advancing past it.
    fn identifier(&mut self) -> Result<String, SyntaxError> {
        let start = self.i;
        if self.peek().is_some_and(is_ident_start) {
            while self.peek().is_some_and(is_ident_char) {
                self.i += 1;
            }
        }
        let name = self.text(start, self.i);
        if name.chars().count() > MAX_IDENTIFIER {
            return Err(SyntaxError::InvalidLiteral { position: start, kind: "identifier", text: name });
        }
        Ok(name)
    }
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(is_ident_start) && chars.all(is_ident_char) && s.chars().count() <= MAX_IDENTIFIER
}

/// The first segment's name: an entity set, never a `$` resource or a qualified name.
fn entity_set(c: &mut Cursor<'_>) -> Result<String, SyntaxError> {
    let start = c.i;
    if c.peek() == Some('$') {
        c.i += 1;
        while c.peek().is_some_and(is_ident_char) {
            c.i += 1;
        }
        let segment = c.text(start, c.i);
        let reason = match segment.as_str() {
            "$metadata" => "the metadata document has a route of its own",
            "$batch" => "batch requests are not supported",
            "$entity" => "resolving entity ids (`$entity`) is not supported",
            "$crossjoin" => "cross joins are not supported",
            "$all" => "addressing all entities of the service is not supported",
            _ => "the resource path must start with an entity set name",
        };
        return Err(SyntaxError::NotAnEntitySet { segment, reason });
    }
    let name = c.identifier()?;
    if name.is_empty() {
        return Err(SyntaxError::UnexpectedToken { position: start, expected: "an entity set name", found: c.found() });
    }
    if c.peek() == Some('.') {
        while c.peek().is_some_and(|ch| ch != '/' && ch != '(') {
            c.i += 1;
        }
        return Err(SyntaxError::InvalidSegment {
            position: start,
            segment: c.text(start, c.i),
            reason: "an entity set name has no dots (qualified names: casts, actions, functions, \
                     containers are not supported)"
                .into(),
        });
    }
    Ok(name)
}

/// `(value)` or `(name=value,...)` at the cursor, which is on the `(`.
fn key_predicate(c: &mut Cursor<'_>) -> Result<KeyPredicate, SyntaxError> {
    let open = c.i;
    c.i += 1;
    if c.peek() == Some(')') {
        return Err(SyntaxError::EmptyKey { position: open });
    }
    if !is_named(c) {
        let value = key_value(c)?;
        return match c.peek() {
            Some(')') => {
                c.i += 1;
                Ok(KeyPredicate::Single(value))
            }
            Some(',') => Err(SyntaxError::UnexpectedToken {
                position: c.i,
                expected: "`)` after a single key value (a composite key names its properties: `Name=value,...`)",
                found: c.found(),
            }),
            _ => Err(SyntaxError::UnexpectedToken {
                position: c.i,
                expected: "`)` closing the key predicate",
                found: c.found(),
            }),
        };
    }
    let mut pairs: Vec<(String, Literal)> = Vec::new();
    loop {
        let name_at = c.i;
        let name = c.identifier()?;
        if name.is_empty() {
            return Err(SyntaxError::UnexpectedToken {
                position: c.i,
                expected: "a key property name",
                found: c.found(),
            });
        }
        if c.peek() != Some('=') {
            return Err(SyntaxError::UnexpectedToken {
                position: c.i,
                expected: "`=` after the key property name",
                found: c.found(),
            });
        }
        c.i += 1;
        let value = key_value(c)?;
        if pairs.iter().any(|(n, _)| *n == name) {
            return Err(SyntaxError::DuplicateKey { position: name_at, name });
        }
        pairs.push((name, value));
        match c.peek() {
            Some(',') => c.i += 1,
            Some(')') => {
                c.i += 1;
                return Ok(KeyPredicate::Named(pairs));
            }
            _ => {
                return Err(SyntaxError::UnexpectedToken {
                    position: c.i,
                    expected: "`,` or `)` in the key predicate",
                    found: c.found(),
                });
            }
        }
    }
}

/// Whether the key at the cursor starts with `name=`.
fn is_named(c: &Cursor<'_>) -> bool {
    let mut j = c.i;
    if !c.c.get(j).copied().is_some_and(is_ident_start) {
        return false;
    }
    while c.c.get(j).copied().is_some_and(is_ident_char) {
        j += 1;
    }
    c.c.get(j) == Some(&'=')
}

/// One key value: the text up to the next `,` or `)` outside quotes, which must be a single
/// literal other than `null`.
fn key_value(c: &mut Cursor<'_>) -> Result<Literal, SyntaxError> {
    let start = c.i;
    while let Some(ch) = c.peek() {
        match ch {
            ',' | ')' => break,
            '\'' => {
                let quote = c.i;
                c.i += 1;
                loop {
                    match c.peek() {
                        None => return Err(SyntaxError::UnterminatedString { position: quote }),
                        Some('\'') if c.c.get(c.i + 1) == Some(&'\'') => c.i += 2,
                        Some('\'') => {
                            c.i += 1;
                            break;
                        }
                        Some(_) => c.i += 1,
                    }
                }
            }
            _ => c.i += 1,
        }
    }
    if c.i == start {
        return Err(SyntaxError::UnexpectedToken { position: start, expected: "a key value", found: c.found() });
    }
    for at in [start, c.i - 1] {
        if let found @ (' ' | '\t') = c.c[at] {
            return Err(SyntaxError::UnexpectedChar { position: at, found });
        }
    }
    let text = c.text(start, c.i);
    match parse_filter(&text) {
        Err(e) => Err(shifted(e, start)),
        Ok(Expr::Literal(Literal::Null)) => Err(SyntaxError::NullKey { position: start }),
        Ok(Expr::Literal(lit)) => Ok(lit),
        Ok(Expr::Alias(_)) => {
            Err(SyntaxError::Unsupported { position: start, what: "a parameter alias as a key value" })
        }
        Ok(_) => Err(SyntaxError::UnexpectedToken {
            position: start,
            expected: "a literal key value",
            found: format!("`{text}`"),
        }),
    }
}

/// `e` with its position moved by `by` characters (it was found in a part of the path).
fn shifted(mut e: SyntaxError, by: usize) -> SyntaxError {
    use SyntaxError as E;
    match &mut e {
        E::UnexpectedChar { position, .. }
        | E::UnterminatedString { position }
        | E::InvalidLiteral { position, .. }
        | E::UnexpectedToken { position, .. }
        | E::Unsupported { position, .. }
        | E::TooDeep { position, .. }
        | E::TooManyNodes { position, .. }
        | E::InvalidSegment { position, .. }
        | E::EmptyKey { position }
        | E::NullKey { position }
        | E::DuplicateKey { position, .. } => *position += by,
        _ => {}
    }
    e
}

/// Where the path stands after each segment.
enum State {
    Collection,
    Entity,
    Property(String),
    /// Nothing may follow (`$count`, `$value`).
    Final(&'static str),
}

/// The segments after the first, starting at `from` (after the `/`); they hold no quotes.
fn tail(c: &Cursor<'_>, from: usize, set: &str, keyed: bool) -> Result<PathTail, SyntaxError> {
    let mut state = if keyed { State::Entity } else { State::Collection };
    let mut out = PathTail::None;
    let mut at = from;
    let rest = c.text(from, c.c.len());
    for segment in rest.split('/') {
        let position = at;
        at += segment.chars().count() + 1;
        let invalid = |reason: String| SyntaxError::InvalidSegment { position, segment: segment.to_owned(), reason };
        if segment.is_empty() {
            return Err(invalid("the segment is empty".into()));
        }
        state = match (state, segment) {
            (State::Final(what), _) => return Err(invalid(format!("nothing may follow {what}"))),
            (State::Collection, "$count") => {
                out = PathTail::Count;
                State::Final("`$count`")
            }
            (State::Collection, _) if segment.starts_with('$') => {
                return Err(invalid(format!("only `$count` may follow the entity set `{set}`")));
            }
            (State::Collection, _) if segment.contains(['(', '.']) => {
                return Err(invalid("type casts, functions and actions are not supported".into()));
            }
            (State::Collection, _) => {
                return Err(invalid(format!(
                    "only `$count` may follow the entity set `{set}`; address one entity with its key in \
                     parentheses, `{set}(key)` (keys as segments are not supported)"
                )));
            }
            (State::Entity, "$count") => {
                return Err(invalid("`$count` counts a collection, and a key addresses a single entity".into()));
            }
            (State::Entity, "$value") => {
                return Err(invalid(
                    "entities have no media stream; the raw value of a property is `/{property}/$value`".into(),
                ));
            }
            (State::Entity, name) => {
                check_property(name).map_err(|reason| invalid(reason.into()))?;
                out = PathTail::Property(name.to_owned());
                State::Property(name.to_owned())
            }
            (State::Property(p), "$value") => {
                out = PathTail::PropertyValue(p);
                State::Final("`$value`")
            }
            (State::Property(p), "$count") => {
                out = PathTail::PropertyCount(p);
                State::Final("`$count`")
            }
            (State::Property(p), _) => {
                return Err(invalid(format!(
                    "only `$value` or `$count` may follow `{p}` (navigation beyond one step, complex \
                     property paths, casts and `$ref` are not supported)"
                )));
            }
        };
    }
    Ok(out)
}

/// Whether a segment after a key is a property name; Err says why not.
fn check_property(segment: &str) -> Result<(), &'static str> {
    if is_identifier(segment) {
        Ok(())
    } else if segment.starts_with('$') {
        Err("only a property name may follow a key predicate")
    } else if segment.contains('(') {
        Err("function calls and keys after a property are not supported")
    } else if segment.contains('.') {
        Err("type casts and bound operations are not supported")
    } else {
        Err("a property name is an identifier of at most 128 letters, digits and `_`, not starting with a digit")
    }
}
