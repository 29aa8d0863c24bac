//! A precedence-climbing parser from tokens to `Expr`, plus the `$orderby` and `$select` lists.
//!
//! Invariant: recursion depth and node count are bounded (`MAX_DEPTH`, `MAX_NODES`), so no
//! input can overflow the stack; every error carries the character position it was found at.

use super::error::SyntaxError;
use super::expr::{BinaryOp, Expr, InSet, LambdaKind, Literal, OrderItem, SelectItem};
use super::lexer::{Tok, Token, tokenize};

/// The deepest nesting of parentheses, calls, lambdas and operators accepted.
pub const MAX_DEPTH: usize = 100;
/// The most expression nodes accepted in one expression.
pub const MAX_NODES: usize = 2_000;

/// Parses a `$filter` (or any common) expression.
pub fn parse_filter(input: &str) -> Result<Expr, SyntaxError> {
    let mut p = Parser::new(input)?;
    let expr = p.expr(0)?;
    p.expect_end()?;
    Ok(expr)
}

/// Parses a `$orderby` list: `expr [asc|desc], ...`.
pub fn parse_orderby(input: &str) -> Result<Vec<OrderItem>, SyntaxError> {
    let mut p = Parser::new(input)?;
    let mut items = Vec::new();
    loop {
        let expr = p.expr(0)?;
        let descending = match &p.peek().tok {
            Tok::Ident(w) if w == "asc" && p.peek().space_before => {
                p.next();
                false
            }
            Tok::Ident(w) if w == "desc" && p.peek().space_before => {
                p.next();
                true
            }
            _ => false,
        };
        items.push(OrderItem { expr, descending });
        if p.peek().tok != Tok::Comma {
            break;
        }
        p.next();
    }
    p.expect_end()?;
    Ok(items)
}

/// Parses a `$select` list: `*` or property paths; nested options `Nav(...)` are not supported.
pub fn parse_select(input: &str) -> Result<Vec<SelectItem>, SyntaxError> {
    if let Some(idx) = input.find('(') {
        // Nested options `Nav($select=...)` use a syntax of their own: check what precedes them.
        parse_select(&input[..idx])?;
        return Err(SyntaxError::Unsupported {
            position: input[..idx].chars().count(),
            what: "a $select item with options",
        });
    }
    let mut p = Parser::new(input)?;
    let mut items = Vec::new();
    loop {
        let t = p.next();
        match t.tok {
            Tok::Star => items.push(SelectItem::Star),
            Tok::Ident(first) if !first.starts_with('$') => {
                let mut path = vec![first];
                while p.peek().tok == Tok::Slash {
                    p.next();
                    let seg = p.next();
                    match seg.tok {
                        Tok::Ident(s) if !s.starts_with('$') => path.push(s),
                        other => return Err(unexpected(seg.pos, "a property name", &other)),
                    }
                }
                items.push(SelectItem::Path(path));
            }
            other => return Err(unexpected(t.pos, "a property name or `*`", &other)),
        }
        match p.peek().tok {
            Tok::Comma => {
                p.next();
            }
            _ => break,
        }
    }
    p.expect_end()?;
    Ok(items)
}

fn unexpected(position: usize, expected: &'static str, found: &Tok) -> SyntaxError {
    SyntaxError::UnexpectedToken { position, expected, found: found.describe() }
}

/// An infix operator: a binary one, or `in` (same precedence as the comparisons).
#[derive(Clone, Copy)]
enum Infix {
    Binary(BinaryOp),
    In,
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
    nodes: usize,
}

impl Parser {
    fn new(input: &str) -> Result<Self, SyntaxError> {
        Ok(Self { tokens: tokenize(input)?, at: 0, depth: 0, nodes: 0 })
    }

    fn peek(&self) -> &Token {
        &self.tokens[self.at]
    }

    fn peek2(&self) -> &Token {
        &self.tokens[(self.at + 1).min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.tokens[self.at].clone();
        if self.at + 1 < self.tokens.len() {
            self.at += 1;
        }
        t
    }

    fn expect(&mut self, tok: Tok, expected: &'static str) -> Result<Token, SyntaxError> {
        let t = self.next();
        if t.tok == tok { Ok(t) } else { Err(unexpected(t.pos, expected, &t.tok)) }
    }

    fn expect_end(&mut self) -> Result<(), SyntaxError> {
        let t = self.peek();
        match t.tok {
            Tok::End => Ok(()),
            _ => Err(unexpected(t.pos, "an operator or the end of the expression", &t.tok)),
        }
    }

    /// Counts one node and checks the limit.
    fn node(&mut self, pos: usize) -> Result<(), SyntaxError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(SyntaxError::TooManyNodes { position: pos, limit: MAX_NODES });
        }
        Ok(())
    }

    fn enter(&mut self, pos: usize) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(SyntaxError::TooDeep { position: pos, limit: MAX_DEPTH });
        }
        Ok(())
    }

    /// The infix operator at the current token, if it is one.
    fn infix(&self) -> Option<Infix> {
        let Tok::Ident(word) = &self.peek().tok else { return None };
        if word == "in" { Some(Infix::In) } else { BinaryOp::from_keyword(word).map(Infix::Binary) }
    }

    fn expr(&mut self, min_prec: u8) -> Result<Expr, SyntaxError> {
        let start = self.peek().pos;
        self.enter(start)?;
        let mut left = self.unary()?;
        while let Some(op) = self.infix() {
            let prec = match op {
                Infix::Binary(op) => op.precedence(),
                Infix::In => BinaryOp::Eq.precedence(),
            };
            if prec <= min_prec {
                break;
            }
            let op_tok = self.next();
            let next = self.peek();
            if !op_tok.space_before || (!next.space_before && next.tok != Tok::End) {
                return Err(SyntaxError::UnexpectedToken {
                    position: op_tok.pos,
                    expected: "whitespace around the operator",
                    found: op_tok.tok.describe(),
                });
            }
            self.node(op_tok.pos)?;
            left = match op {
                Infix::Binary(op) => {
                    let right = self.expr(prec)?;
                    Expr::Binary { op, left: Box::new(left), right: Box::new(right) }
                }
                Infix::In => Expr::In { expr: Box::new(left), set: self.in_set()? },
            };
        }
        self.depth -= 1;
        Ok(left)
    }

    fn in_set(&mut self) -> Result<InSet, SyntaxError> {
        if self.peek().tok != Tok::LParen {
            return Ok(InSet::Expr(Box::new(self.unary()?)));
        }
        let open = self.next();
        self.enter(open.pos)?;
        let mut items = Vec::new();
        if self.peek().tok != Tok::RParen {
            loop {
                let pos = self.peek().pos;
                let item = self.expr(0)?;
                items.push((pos, item));
                if self.peek().tok != Tok::Comma {
                    break;
                }
                self.next();
            }
        }
        self.expect(Tok::RParen, "`,` or `)` in the list after `in`")?;
        if items.len() > 1
            && let Some((pos, _)) = items.iter().find(|(_, e)| !matches!(e, Expr::Literal(_) | Expr::Alias(_)))
        {
            return Err(SyntaxError::UnexpectedToken {
                position: *pos,
                expected: "a literal (a list after `in` holds only literals)",
                found: "an expression".into(),
            });
        }
        self.depth -= 1;
        Ok(InSet::List(items.into_iter().map(|(_, e)| e).collect()))
    }

    /// Prefix operators (`not`, `-`) and primaries; unary binds tighter than every binary operator.
    fn unary(&mut self) -> Result<Expr, SyntaxError> {
        let t = self.peek().clone();
        self.node(t.pos)?;
        match &t.tok {
            Tok::Ident(w) if w == "not" && (self.peek2().space_before || self.peek2().tok == Tok::LParen) => {
                self.next();
                self.enter(t.pos)?;
                let operand = self.unary()?;
                self.depth -= 1;
                Ok(Expr::Not(Box::new(operand)))
            }
            Tok::Minus | Tok::Plus => {
                self.next();
                let adjacent = !self.peek().space_before;
                if adjacent && let Tok::Lit(lit) = &self.peek().tok {
                    let negative = t.tok == Tok::Minus;
                    if let Some(lit) = signed(lit, negative) {
                        self.next();
                        return Ok(Expr::Literal(lit));
                    }
                }
                if t.tok == Tok::Plus {
                    return Err(unexpected(t.pos, "an expression", &t.tok));
                }
                self.enter(t.pos)?;
                let operand = self.unary()?;
                self.depth -= 1;
                Ok(Expr::Negate(Box::new(operand)))
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Result<Expr, SyntaxError> {
        let t = self.next();
        match t.tok {
            Tok::Lit(lit) => Ok(Expr::Literal(lit)),
            Tok::Alias(name) => Ok(Expr::Alias(name)),
            Tok::LParen => {
                self.enter(t.pos)?;
                let inner = self.expr(0)?;
                self.expect(Tok::RParen, "`)`")?;
                self.depth -= 1;
                Ok(inner)
            }
            Tok::Ident(name) => {
                if self.peek().tok == Tok::LParen && !self.peek().space_before {
                    if name == "any" || name == "all" {
                        return Err(SyntaxError::UnexpectedToken {
                            position: t.pos,
                            expected: "a collection path before `any` or `all`",
                            found: format!("`{name}`"),
                        });
                    }
                    return self.call(name, t.pos);
                }
                self.member(name, t.pos)
            }
            other => Err(unexpected(t.pos, "an expression", &other)),
        }
    }

    fn call(&mut self, name: String, pos: usize) -> Result<Expr, SyntaxError> {
        self.next();
        self.enter(pos)?;
        let mut args = Vec::new();
        if self.peek().tok != Tok::RParen {
            loop {
                args.push(self.expr(0)?);
                if self.peek().tok != Tok::Comma {
                    break;
                }
                self.next();
            }
        }
        self.expect(Tok::RParen, "`,` or `)` after a function argument")?;
        self.depth -= 1;
        Ok(Expr::Call { name, args })
    }

    fn member(&mut self, first: String, pos: usize) -> Result<Expr, SyntaxError> {
        if first.starts_with('$') && !matches!(first.as_str(), "$it" | "$this" | "$root") {
            return Err(unexpected(pos, "a property name", &Tok::Ident(first)));
        }
        let mut path = vec![first];
        while self.peek().tok == Tok::Slash {
            self.next();
            let seg = self.next();
            let Tok::Ident(name) = seg.tok else {
                return Err(unexpected(seg.pos, "a property name after `/`", &seg.tok));
            };
            if self.peek().tok == Tok::LParen && !self.peek().space_before {
                let kind = match name.as_str() {
                    "any" => LambdaKind::Any,
                    "all" => LambdaKind::All,
                    _ => {
                        return Err(SyntaxError::Unsupported {
                            position: seg.pos,
                            what: "a function or key segment in a path",
                        });
                    }
                };
                return self.lambda(path, kind, seg.pos);
            }
            if name.starts_with('$') && name != "$count" {
                return Err(unexpected(seg.pos, "a property name", &Tok::Ident(name)));
            }
            let is_count = name == "$count";
            path.push(name);
            if is_count {
                break;
            }
        }
        Ok(Expr::Member(path))
    }

    fn lambda(&mut self, path: Vec<String>, kind: LambdaKind, pos: usize) -> Result<Expr, SyntaxError> {
        self.next();
        self.enter(pos)?;
        let body = if self.peek().tok == Tok::RParen {
            if kind == LambdaKind::All {
                return Err(unexpected(
                    self.peek().pos,
                    "a lambda variable and expression in `all(...)`",
                    &Tok::RParen,
                ));
            }
            None
        } else {
            let v = self.next();
            let var = match v.tok {
                Tok::Ident(name) if !name.contains('.') && !name.starts_with('$') => name,
                other => return Err(unexpected(v.pos, "a lambda variable name", &other)),
            };
            self.expect(Tok::Colon, "`:` after the lambda variable")?;
            Some((var, Box::new(self.expr(0)?)))
        };
        self.expect(Tok::RParen, "`)` closing the lambda")?;
        self.depth -= 1;
        Ok(Expr::Lambda { path, kind, body })
    }
}

/// A numeric literal with a sign written directly before it (`-1`, `-INF`, `+42`), or a
/// date before the year 0 (`-0100-01-01`).
fn signed(lit: &Literal, negative: bool) -> Option<Literal> {
    let sign = |s: &str| if negative { format!("-{s}") } else { s.to_owned() };
    match lit {
        Literal::Int(n) if negative => {
            Some(n.checked_neg().map_or_else(|| Literal::Decimal(format!("-{n}")), Literal::Int))
        }
        Literal::Int(n) => Some(Literal::Int(*n)),
        Literal::Decimal(s) => Some(Literal::Decimal(sign(s))),
        Literal::Double(s) if s == "NaN" => None,
        Literal::Double(s) if s == "INF" && !negative => None,
        Literal::Double(s) => Some(Literal::Double(sign(s))),
        Literal::Date(s) if negative => Some(Literal::Date(sign(s))),
        Literal::DateTimeOffset(s) if negative => Some(Literal::DateTimeOffset(sign(s))),
        _ => None,
    }
}
