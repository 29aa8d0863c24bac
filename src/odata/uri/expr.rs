//! The syntax tree of the OData expression language (`$filter`, `$orderby`) and its canonical,
//! fully parenthesised rendering, which tests compare as strings.
//!
//! Invariant: nothing here knows the model; names are kept as written and literal values keep
//! their text, so binding decides types (an integer literal may become Int32, Int64 or Decimal).

use std::fmt;

/// An expression as written in the URL.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Literal(Literal),
    /// A parameter alias reference `@name` (the name is kept without `@`).
    Alias(String),
    /// A member path `a/b/c`; segments may be qualified type names (`Model.Type`), `$it`,
    /// `$this`, `$root` (first) or `$count` (last).
    Member(Vec<String>),
    /// A function call `name(arg, ...)`; arity and the name itself are checked by binding.
    Call {
        name: String,
        args: Vec<Expr>,
    },
    /// `path/any(var: body)`, `path/all(var: body)` or `path/any()`.
    Lambda {
        path: Vec<String>,
        kind: LambdaKind,
        body: Option<(String, Box<Expr>)>,
    },
    Not(Box<Expr>),
    Negate(Box<Expr>),
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// `expr in (v1, v2, ...)`, or `expr in other` (an alias or a collection path).
    In {
        expr: Box<Expr>,
        set: InSet,
    },
}

/// The right-hand side of `in`.
#[derive(Debug, Clone, PartialEq)]
pub enum InSet {
    List(Vec<Expr>),
    Expr(Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LambdaKind {
    Any,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Has,
    Add,
    Sub,
    Mul,
    Div,
    DivBy,
    Mod,
}

impl BinaryOp {
    /// The operator for an OData keyword (case-sensitive, as in OData 4.0).
    pub fn from_keyword(word: &str) -> Option<Self> {
        Some(match word {
            "or" => Self::Or,
            "and" => Self::And,
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "le" => Self::Le,
            "has" => Self::Has,
            "add" => Self::Add,
            "sub" => Self::Sub,
            "mul" => Self::Mul,
            "div" => Self::Div,
            "divby" => Self::DivBy,
            "mod" => Self::Mod,
            _ => return None,
        })
    }

    pub fn keyword(self) -> &'static str {
        match self {
            Self::Or => "or",
            Self::And => "and",
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
            Self::Has => "has",
            Self::Add => "add",
            Self::Sub => "sub",
            Self::Mul => "mul",
            Self::Div => "div",
            Self::DivBy => "divby",
            Self::Mod => "mod",
        }
    }

    /// Binding power: or < and < comparison (and `in`) < additive < multiplicative.
    pub(crate) fn precedence(self) -> u8 {
        match self {
            Self::Or => 1,
            Self::And => 2,
            Self::Eq | Self::Ne | Self::Gt | Self::Ge | Self::Lt | Self::Le | Self::Has => 3,
            Self::Add | Self::Sub => 4,
            Self::Mul | Self::Div | Self::DivBy | Self::Mod => 5,
        }
    }
}

/// A literal; numbers and temporal values keep their (validated) text.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Boolean(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// A number with a decimal point (or an integer too large for 64 bits), e.g. `1.5`.
    Decimal(String),
    /// A number with an exponent, or `INF`, `-INF`, `NaN`.
    Double(String),
    String(String),
    Guid(String),
    Date(String),
    DateTimeOffset(String),
    TimeOfDay(String),
    /// The ISO 8601 text inside `duration'...'`.
    Duration(String),
    /// The base64url text inside `binary'...'`.
    Binary(String),
    /// `Namespace.Type'Member'`.
    Enum {
        type_name: String,
        value: String,
    },
}

/// One `$orderby` item.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    pub expr: Expr,
    pub descending: bool,
}

/// One `$select` item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectItem {
    /// `*`: all structural properties.
    Star,
    /// A property path (or navigation property name), segments as written.
    Path(Vec<String>),
}

fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    write!(f, "'{}'", s.replace('\'', "''"))
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            Self::Boolean(b) => write!(f, "{b}"),
            Self::Int(n) => write!(f, "{n}"),
            Self::Decimal(s)
            | Self::Double(s)
            | Self::Guid(s)
            | Self::Date(s)
            | Self::DateTimeOffset(s)
            | Self::TimeOfDay(s) => f.write_str(s),
            Self::String(s) => write_quoted(f, s),
            Self::Duration(s) => write!(f, "duration'{s}'"),
            Self::Binary(s) => write!(f, "binary'{s}'"),
            Self::Enum { type_name, value } => {
                f.write_str(type_name)?;
                write_quoted(f, value)
            }
        }
    }
}

fn write_list(f: &mut fmt::Formatter<'_>, items: &[Expr]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Literal(l) => write!(f, "{l}"),
            Self::Alias(a) => write!(f, "@{a}"),
            Self::Member(path) => f.write_str(&path.join("/")),
            Self::Call { name, args } => {
                write!(f, "{name}(")?;
                write_list(f, args)?;
                f.write_str(")")
            }
            Self::Lambda { path, kind, body } => {
                let kind = match kind {
                    LambdaKind::Any => "any",
                    LambdaKind::All => "all",
                };
                write!(f, "{}/{kind}(", path.join("/"))?;
                if let Some((var, body)) = body {
                    write!(f, "{var}:{body}")?;
                }
                f.write_str(")")
            }
            Self::Not(e) => write!(f, "(not {e})"),
            Self::Negate(e) => write!(f, "(-{e})"),
            Self::Binary { op, left, right } => write!(f, "({left} {} {right})", op.keyword()),
            Self::In { expr, set: InSet::List(items) } => {
                write!(f, "({expr} in (")?;
                write_list(f, items)?;
                f.write_str("))")
            }
            Self::In { expr, set: InSet::Expr(other) } => write!(f, "({expr} in {other})"),
        }
    }
}

impl fmt::Display for OrderItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.expr, if self.descending { "desc" } else { "asc" })
    }
}

impl fmt::Display for SelectItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Star => f.write_str("*"),
            Self::Path(p) => f.write_str(&p.join("/")),
        }
    }
}
