//! Splits a percent-decoded expression into tokens, validating literals as it goes.
//!
//! Invariant: positions are character offsets into the input; whitespace (space, tab) is
//! dropped but remembered as `space_before`, so the parser can demand it around keywords.

use super::error::SyntaxError;
use super::expr::Literal;

/// The longest identifier OData allows (1 leading + 127 further characters).
const MAX_IDENTIFIER: usize = 128;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// An identifier, possibly qualified (`Model.Type`) or a `$` name (`$it`, `$count`).
    Ident(String),
    Alias(String),
    Lit(Literal),
    LParen,
    RParen,
    Comma,
    Slash,
    Colon,
    Star,
    Minus,
    Plus,
    End,
}

impl Tok {
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Ident(s) => format!("`{s}`"),
            Self::Alias(s) => format!("`@{s}`"),
            Self::Lit(l) => format!("`{l}`"),
            Self::LParen => "`(`".into(),
            Self::RParen => "`)`".into(),
            Self::Comma => "`,`".into(),
            Self::Slash => "`/`".into(),
            Self::Colon => "`:`".into(),
            Self::Star => "`*`".into(),
            Self::Minus => "`-`".into(),
            Self::Plus => "`+`".into(),
            Self::End => "end of input".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub pos: usize,
    pub space_before: bool,
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Tokenizes `input`; the last token is always `Tok::End`.
pub(crate) fn tokenize(input: &str) -> Result<Vec<Token>, SyntaxError> {
    let c: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut space_before = false;
    while i < c.len() {
        let ch = c[i];
        if ch == ' ' || ch == '\t' {
            space_before = true;
            i += 1;
            continue;
        }
        let start = i;
        let tok = match ch {
            '(' => single(&mut i, Tok::LParen),
            ')' => single(&mut i, Tok::RParen),
            ',' => single(&mut i, Tok::Comma),
            '/' => single(&mut i, Tok::Slash),
            ':' => single(&mut i, Tok::Colon),
            '*' => single(&mut i, Tok::Star),
            '-' => single(&mut i, Tok::Minus),
            '+' => single(&mut i, Tok::Plus),
            '\'' => {
                let (s, end) = quoted(&c, i)?;
                i = end;
                Tok::Lit(Literal::String(s))
            }
            '@' => {
                i += 1;
                let name = identifier(&c, &mut i, false);
                if name.is_empty() {
                    return Err(SyntaxError::UnexpectedChar { position: start, found: '@' });
                }
                Tok::Alias(name)
            }
            '$' => {
                i += 1;
                let name = identifier(&c, &mut i, false);
                if name.is_empty() {
                    return Err(SyntaxError::UnexpectedChar { position: start, found: '$' });
                }
                Tok::Ident(format!("${name}"))
            }
            _ if let Some(end) = guid_end(&c, i) => {
                i = end;
                Tok::Lit(Literal::Guid(c[start..end].iter().collect()))
            }
            _ if ch.is_ascii_digit() => {
                let (lit, end) = number_or_temporal(&c, i)?;
                i = end;
                Tok::Lit(lit)
            }
            _ if is_ident_start(ch) => {
                let name = identifier(&c, &mut i, true);
                if name.split('.').any(|part| part.chars().count() > MAX_IDENTIFIER) {
                    return Err(SyntaxError::InvalidLiteral { position: start, kind: "identifier", text: name });
                }
                if c.get(i) == Some(&'\'') {
                    let (text, end) = quoted(&c, i)?;
                    i = end;
                    Tok::Lit(typed_literal(name, text, start)?)
                } else {
                    match name.as_str() {
                        "true" => Tok::Lit(Literal::Boolean(true)),
                        "false" => Tok::Lit(Literal::Boolean(false)),
                        "null" => Tok::Lit(Literal::Null),
                        "INF" | "NaN" => Tok::Lit(Literal::Double(name)),
                        _ => Tok::Ident(name),
                    }
                }
            }
            '[' | '{' | '"' => {
                return Err(SyntaxError::Unsupported { position: start, what: "JSON array or object" });
            }
            _ => return Err(SyntaxError::UnexpectedChar { position: start, found: ch }),
        };
        out.push(Token { tok, pos: start, space_before });
        space_before = false;
    }
    out.push(Token { tok: Tok::End, pos: c.len(), space_before });
    Ok(out)
}

fn single(i: &mut usize, tok: Tok) -> Tok {
    *i += 1;
    tok
}

/// Reads an identifier; with `qualified`, dot-separated parts are joined (`Model.Type`).
fn identifier(c: &[char], i: &mut usize, qualified: bool) -> String {
    let start = *i;
    if !c.get(*i).is_some_and(|&ch| is_ident_start(ch)) {
        return String::new();
    }
    loop {
        while c.get(*i).is_some_and(|&ch| is_ident_char(ch)) {
            *i += 1;
        }
        if qualified && c.get(*i) == Some(&'.') && c.get(*i + 1).is_some_and(|&ch| is_ident_start(ch)) {
            *i += 1;
            continue;
        }
        break;
    }
    c[start..*i].iter().collect()
}

/// Reads `'...'` with `''` as an escaped quote; returns the content and the end position.
fn quoted(c: &[char], start: usize) -> Result<(String, usize), SyntaxError> {
    let mut s = String::new();
    let mut i = start + 1;
    loop {
        match c.get(i) {
            None => return Err(SyntaxError::UnterminatedString { position: start }),
            Some('\'') if c.get(i + 1) == Some(&'\'') => {
                s.push('\'');
                i += 2;
            }
            Some('\'') => return Ok((s, i + 1)),
            Some(&ch) => {
                s.push(ch);
                i += 1;
            }
        }
    }
}

fn typed_literal(prefix: String, text: String, position: usize) -> Result<Literal, SyntaxError> {
    let invalid = |kind| SyntaxError::InvalidLiteral { position, kind, text: text.clone() };
    match prefix.as_str() {
        "duration" if valid_duration(&text) => Ok(Literal::Duration(text)),
        "duration" => Err(invalid("Duration")),
        "binary" if valid_base64url(&text) => Ok(Literal::Binary(text)),
        "binary" => Err(invalid("Binary")),
        "geography" | "geometry" => Err(SyntaxError::Unsupported { position, what: "a geographic literal" }),
        _ if prefix.contains('.') => Ok(Literal::Enum { type_name: prefix, value: text }),
        _ => Err(SyntaxError::UnexpectedChar { position: position + prefix.chars().count(), found: '\'' }),
    }
}

fn is_hex_at(c: &[char], i: usize) -> bool {
    c.get(i).is_some_and(|ch| ch.is_ascii_hexdigit())
}

/// The end of a Guid (8-4-4-4-12 hex digits) starting at `i`, if there is one.
fn guid_end(c: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    for (n, len) in [8, 4, 4, 4, 12].into_iter().enumerate() {
        if n > 0 {
            if c.get(j) != Some(&'-') {
                return None;
            }
            j += 1;
        }
        for _ in 0..len {
            if !is_hex_at(c, j) {
                return None;
            }
            j += 1;
        }
    }
    (!c.get(j).is_some_and(|&ch| is_ident_char(ch) || ch == '-')).then_some(j)
}

fn digits(c: &[char], i: &mut usize) -> usize {
    let start = *i;
    while c.get(*i).is_some_and(|ch| ch.is_ascii_digit()) {
        *i += 1;
    }
    *i - start
}

/// Two digits at `i` as a number not above `max`.
fn two(c: &[char], i: usize, max: u32) -> Option<u32> {
    let (a, b) = (c.get(i)?.to_digit(10)?, c.get(i + 1)?.to_digit(10)?);
    let v = a * 10 + b;
    (v <= max).then_some(v)
}

/// `hh:mm[:ss[.fff]]` at `i`; returns the end.
fn time_end(c: &[char], i: usize, max_second: u32) -> Option<usize> {
    two(c, i, 23)?;
    (c.get(i + 2) == Some(&':')).then_some(())?;
    two(c, i + 3, 59)?;
    let mut j = i + 5;
    if c.get(j) == Some(&':') {
        two(c, j + 1, max_second)?;
        j += 3;
        if c.get(j) == Some(&'.') {
            j += 1;
            if digits(c, &mut j) == 0 {
                return None;
            }
        }
    }
    Some(j)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A number, Date, DateTimeOffset or TimeOfDay starting with the digit at `start`.
fn number_or_temporal(c: &[char], start: usize) -> Result<(Literal, usize), SyntaxError> {
    let mut i = start;
    let n = digits(c, &mut i);
    let text = |end: usize| c[start..end].iter().collect::<String>();
    let next_is_ident = |end: usize| c.get(end).is_some_and(|&ch| is_ident_char(ch) || ch == '.');
    if n == 2 && c.get(i) == Some(&':') {
        let end = time_end(c, start, 59).filter(|&e| !next_is_ident(e) && c.get(e) != Some(&':'));
        return match end {
            Some(end) => Ok((Literal::TimeOfDay(text(end)), end)),
            None => Err(SyntaxError::InvalidLiteral {
                position: start,
                kind: "TimeOfDay",
                text: text(literal_end(c, start)),
            }),
        };
    }
    if n >= 4 && c.get(i) == Some(&'-') {
        return date_or_datetime(c, start, i).ok_or_else(|| {
            let text = text(literal_end(c, start));
            let kind = if text.contains('T') { "DateTimeOffset" } else { "Date" };
            SyntaxError::InvalidLiteral { position: start, kind, text }
        });
    }
    let mut kind = 0; // 0 integer, 1 decimal, 2 double
    if c.get(i) == Some(&'.') {
        i += 1;
        if digits(c, &mut i) == 0 {
            return Err(SyntaxError::InvalidLiteral { position: start, kind: "Decimal", text: text(i) });
        }
        kind = 1;
    }
    if matches!(c.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        if matches!(c.get(j), Some('+' | '-')) {
            j += 1;
        }
        if digits(c, &mut j) > 0 {
            i = j;
            kind = 2;
        }
    }
    let s = text(i);
    let lit = match kind {
        0 => s.parse::<i64>().map(Literal::Int).unwrap_or(Literal::Decimal(s)),
        1 => Literal::Decimal(s),
        _ => Literal::Double(s),
    };
    Ok((lit, i))
}

/// The end of the run of literal-ish characters at `start`, for error messages.
fn literal_end(c: &[char], start: usize) -> usize {
    let mut i = start;
    while c.get(i).is_some_and(|&ch| is_ident_char(ch) || matches!(ch, '-' | ':' | '.' | '+')) {
        i += 1;
    }
    i
}

/// `yyyy-mm-dd` (year already scanned up to `dash`), optionally `Thh:mm[:ss[.f]]` and a zone.
fn date_or_datetime(c: &[char], start: usize, dash: usize) -> Option<(Literal, usize)> {
    let year: i64 = c[start..dash].iter().collect::<String>().parse().ok()?;
    if dash - start > 4 && c[start] == '0' {
        return None;
    }
    let month = two(c, dash + 1, 12).filter(|&m| m >= 1)?;
    (c.get(dash + 3) == Some(&'-')).then_some(())?;
    two(c, dash + 4, days_in_month(year, month)).filter(|&d| d >= 1)?;
    let mut end = dash + 6;
    let text = |end: usize| c[start..end].iter().collect::<String>();
    if c.get(end) != Some(&'T') {
        return (!c.get(end).is_some_and(|&ch| is_ident_char(ch) || ch == ':'))
            .then(|| (Literal::Date(text(end)), end));
    }
    end = time_end(c, end + 1, 60)?;
    match c.get(end) {
        Some('Z') => end += 1,
        Some('+' | '-') => {
            two(c, end + 1, 23)?;
            (c.get(end + 3) == Some(&':')).then_some(())?;
            two(c, end + 4, 59)?;
            end += 6;
        }
        _ => return None,
    }
    (!c.get(end).is_some_and(|&ch| is_ident_char(ch) || ch == ':')).then(|| (Literal::DateTimeOffset(text(end)), end))
}

/// `[-]P[nD][T[nH][nM][n[.n]S]]` with at least one component (OData 4.0 has no years or months).
pub(crate) fn valid_duration(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let Some(rest) = s.strip_prefix('P') else { return false };
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut components = 0;
    if !date.is_empty() {
        let Some(days) = date.strip_suffix('D') else { return false };
        if days.is_empty() || !days.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        components += 1;
    }
    if let Some(mut t) = time {
        let before = components;
        for unit in ['H', 'M'] {
            if let Some((n, rest)) = t.split_once(unit)
                && !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
            {
                components += 1;
                t = rest;
            }
        }
        if !t.is_empty() {
            let Some(secs) = t.strip_suffix('S') else { return false };
            let (whole, frac) = secs.split_once('.').unwrap_or((secs, "0"));
            let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            if !all_digits(whole) || !all_digits(frac) {
                return false;
            }
            components += 1;
        }
        if components == before {
            return false;
        }
    }
    components > 0
}

/// Base64url text with optional padding.
fn valid_base64url(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    s.len() - body.len() <= 2
        && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && body.len() % 4 != 1
        && (s.len() == body.len() || s.len().is_multiple_of(4))
}
