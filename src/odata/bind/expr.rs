//! Binds an `Expr` to an entity set: names become properties, literals become typed values,
//! operators and functions are type-checked, and every node learns its type and nullability.

use super::BindError;
use super::functions::Func;
use super::literal;
use super::types::{ScalarType, Value};
use crate::odata::model::{EntitySet, Property};
use crate::odata::model::{Model, NavigationProperty};
use crate::odata::uri::{BinaryOp, Expr, InSet, LambdaKind, parse_filter};
use std::collections::BTreeMap;

/// A bound expression: a node, its type (`None` for the `null` literal) and whether it may be null.
#[derive(Debug, Clone, PartialEq)]
pub struct Typed {
    pub node: Node,
    pub ty: Option<ScalarType>,
    pub nullable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logic {
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    DivBy,
    Mod,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A property of the entity set, by its index in `EntitySet::properties`.
    Property(usize),
    Literal(Value),
    Null,
    Not(Box<Typed>),
    Negate(Box<Typed>),
    Logic {
        op: Logic,
        left: Box<Typed>,
        right: Box<Typed>,
    },
    Compare {
        op: Compare,
        left: Box<Typed>,
        right: Box<Typed>,
    },
    Arith {
        op: Arith,
        left: Box<Typed>,
        right: Box<Typed>,
    },
    /// `expr in (...)`; `null` items are kept apart in `with_null`.
    In {
        expr: Box<Typed>,
        list: Vec<Typed>,
        with_null: bool,
    },
    Call {
        func: Func,
        args: Vec<Typed>,
    },
    Cast {
        expr: Box<Typed>,
        to: ScalarType,
    },
    /// A property at the end of a path of single-valued navigations (`Channel/name`,
    /// `Channel/BusinessUnit/name`, `s/Queue/Name`): the path starts at the row (`start` is
    /// `None`; `$it` inside a lambda) or at the lambda variable `start` lambdas deep, and
    /// `hops` (at least one) join each next entity to the one before; null when any hop has
    /// no related entity.
    Navigated {
        start: Option<usize>,
        hops: Vec<Related>,
        column: StoredColumn,
    },
    /// A property of the entity the lambda variable `depth` lambdas deep ranges over (1 is
    /// the outermost lambda).
    Variable {
        depth: usize,
        column: StoredColumn,
    },
    /// `path/any(v: body)`, `path/any()` or `path/all(v: body)`: the path starts like that of
    /// `Navigated` (at the row, or at the lambda variable `start` lambdas deep), follows the
    /// single-valued navigations `hops` (possibly none) and ends in the collection-valued
    /// navigation `related` the variable ranges over; the body's variable has depth `depth`.
    Lambda {
        kind: LambdaKind,
        start: Option<usize>,
        hops: Vec<Related>,
        related: Related,
        depth: usize,
        body: Option<Box<Typed>>,
    },
}

/// How rows of a related set join a row of the set a navigation starts from, as SQL needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Related {
    pub table: String,
    /// The related set's row filter (`media = 'Voice'`), as (column, value).
    pub row_filter: Option<(String, String)>,
    /// (column of the set the navigation starts from, column of the related set) pairs that
    /// must be equal.
    pub join: Vec<(String, String)>,
}

impl Related {
    /// How the target of `navigation`, a navigation property of `set`, joins `set`'s rows.
    pub fn of(set: &EntitySet, navigation: &NavigationProperty, target: &EntitySet) -> Related {
        let join = navigation
            .on
            .iter()
            .map(|(local, remote)| {
                let outer = set.property(local).expect("navigations join on properties").column().to_owned();
                let inner = target.property(remote).expect("navigations join on properties").column().to_owned();
                (outer, inner)
            })
            .collect();
        let row_filter = target.row_filter.as_ref().map(|f| (f.column.clone(), f.value.clone()));
        Related { table: target.table.clone(), row_filter, join }
    }
}

/// A stored column and whether its property is the tenant's local time of it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredColumn {
    pub name: String,
    pub local_time: bool,
}

impl Typed {
    fn new(node: Node, ty: Option<ScalarType>, nullable: bool) -> Typed {
        Typed { node, ty, nullable }
    }

    fn is_null(&self) -> bool {
        matches!(self.node, Node::Null)
    }
}

/// The deepest chain of parameter aliases that refer to other aliases.
const MAX_ALIAS_DEPTH: usize = 8;

/// The most navigation properties one path in an expression may follow (each is a join).
pub const MAX_PATH_STEPS: usize = 8;

/// Binds expressions of one request against one entity set.
pub struct Binder<'a> {
    pub model: &'a Model,
    pub set: &'a EntitySet,
    pub aliases: &'a BTreeMap<String, String>,
    alias_depth: usize,
    /// The lambda variables in scope, outermost first, with the set each ranges over.
    variables: Vec<(String, &'a EntitySet)>,
}

impl<'a> Binder<'a> {
    pub fn new(model: &'a Model, set: &'a EntitySet, aliases: &'a BTreeMap<String, String>) -> Binder<'a> {
        Binder { model, set, aliases, alias_depth: 0, variables: Vec::new() }
    }

    /// Binds a `$filter`: the expression must be Boolean.
    pub fn filter(&mut self, expr: &Expr) -> Result<Typed, BindError> {
        let bound = self.bind(expr)?;
        match bound.ty {
            Some(ScalarType::Boolean) | None => Ok(bound),
            Some(other) => Err(BindError::NotBoolean(other)),
        }
    }

    pub fn bind(&mut self, expr: &Expr) -> Result<Typed, BindError> {
        match expr {
            Expr::Literal(lit) => Ok(match literal::value(lit)? {
                Some(v) => {
                    let ty = v.ty;
                    Typed::new(Node::Literal(v), Some(ty), false)
                }
                None => Typed::new(Node::Null, None, true),
            }),
            Expr::Alias(name) => self.alias(name),
            Expr::Member(path) => self.member(path),
            Expr::Call { name, args } => self.call(name, args),
            Expr::Lambda { path, kind, body } => self.lambda(path, *kind, body.as_ref()),
            Expr::Not(inner) => {
                let inner = self.bind(inner)?;
                expect(&inner, &[ScalarType::Boolean], "not")?;
                let nullable = inner.nullable;
                Ok(Typed::new(Node::Not(Box::new(inner)), Some(ScalarType::Boolean), nullable))
            }
            Expr::Negate(inner) => {
                let inner = self.bind(inner)?;
                let ty = inner.ty;
                if ty.is_some_and(|t| !t.is_numeric() && t != ScalarType::Duration) {
                    return Err(BindError::Operand { operator: "-".into(), found: ty.unwrap_or(ScalarType::Int32) });
                }
                let nullable = inner.nullable;
                Ok(Typed::new(Node::Negate(Box::new(inner)), ty, nullable))
            }
            Expr::Binary { op, left, right } => {
                let (left, right) = (self.bind(left)?, self.bind(right)?);
                binary(*op, left, right)
            }
            Expr::In { expr, set } => {
                let expr = self.bind(expr)?;
                let InSet::List(items) = set else {
                    return Err(BindError::NotImplemented("`in` with a collection expression".into()));
                };
                let mut list = Vec::new();
                let mut with_null = false;
                for item in items {
                    let item = self.bind(item)?;
                    if item.is_null() {
                        with_null = true;
                        continue;
                    }
                    check_comparable(&expr, &item, "in")?;
                    list.push(item);
                }
                let nullable = expr.nullable || list.iter().any(|i| i.nullable);
                Ok(Typed::new(Node::In { expr: Box::new(expr), list, with_null }, Some(ScalarType::Boolean), nullable))
            }
        }
    }

    /// An alias's value, bound in place; an alias never given a value is null (OData URL
    /// conventions, parameter aliases).
    fn alias(&mut self, name: &str) -> Result<Typed, BindError> {
        let Some(text) = self.aliases.get(name) else {
            return Ok(Typed::new(Node::Null, None, true));
        };
        if self.alias_depth >= MAX_ALIAS_DEPTH {
            return Err(BindError::AliasTooDeep(name.to_owned()));
        }
        let expr = parse_filter(text).map_err(|e| BindError::AliasSyntax { alias: name.to_owned(), error: e })?;
        self.alias_depth += 1;
        let bound = self.bind(&expr);
        self.alias_depth -= 1;
        bound
    }

    /// A property: of the entity set, of a lambda variable, or at the end of a path of
    /// single-valued navigations from either.
    fn member(&mut self, path: &[String]) -> Result<Typed, BindError> {
        let (start, set, rest) = self.start(path)?;
        let Some((name, navigations)) = rest.split_last() else {
            return match start {
                Some(_) => Err(BindError::NotImplemented(format!("the lambda variable `{}` as a value", path[0]))),
                None => Err(BindError::NotStructured { path: path.join("/") }),
            };
        };
        let (hops, set) = self.hops(set, navigations, path, 0)?;
        let Some(index) = set.property_index(name) else {
            return Err(match set.navigation_property(name) {
                Some(n) if n.collection => BindError::CollectionPath { path: path.join("/") },
                Some(_) => BindError::NotStructured { path: path.join("/") },
                None => BindError::UnknownProperty { entity_set: set.name.clone(), property: name.clone() },
            });
        };
        let p: &Property = &set.properties[index];
        let ty = Some(ScalarType::of(p.edm_type));
        let column = StoredColumn { name: p.column().to_owned(), local_time: p.is_local_time() };
        Ok(match (start, hops.is_empty()) {
            (None, true) => Typed::new(Node::Property(index), ty, p.nullable),
            (Some(depth), true) => Typed::new(Node::Variable { depth, column }, ty, p.nullable),
            (start, false) => Typed::new(Node::Navigated { start, hops, column }, ty, true),
        })
    }

    /// Where `path` starts: the row (`$it`, `$this` or no prefix: `None`) or the lambda
    /// variable it names (its depth), the set there, and the rest of the path.
    fn start<'p>(&self, path: &'p [String]) -> Result<(Option<usize>, &'a EntitySet, &'p [String]), BindError> {
        match path.first().map(String::as_str) {
            Some("$it" | "$this") => Ok((None, self.set, &path[1..])),
            Some("$root") => Err(BindError::NotImplemented("`$root` paths".into())),
            Some(first) => Ok(match self.variables.iter().rposition(|(name, _)| name == first) {
                Some(i) => (Some(i + 1), self.variables[i].1, &path[1..]),
                None => (None, self.set, path),
            }),
            None => Ok((None, self.set, path)),
        }
    }

    /// Follows the single-valued navigations `names` from `set`: how each next set joins the
    /// one before, and the set reached. `more` steps follow in the path (`path`, for errors).
    fn hops(
        &self,
        mut set: &'a EntitySet,
        names: &[String],
        path: &[String],
        more: usize,
    ) -> Result<(Vec<Related>, &'a EntitySet), BindError> {
        if names.len() + more > MAX_PATH_STEPS {
            return Err(BindError::NotImplemented(format!(
                "navigation paths of more than {MAX_PATH_STEPS} steps (`{}`)",
                path.join("/")
            )));
        }
        let mut hops = Vec::with_capacity(names.len());
        for name in names {
            let Some(navigation) = set.navigation_property(name) else {
                return Err(match set.property(name) {
                    Some(_) => BindError::NotStructured { path: path.join("/") },
                    None => BindError::UnknownProperty { entity_set: set.name.clone(), property: name.clone() },
                });
            };
            if navigation.collection {
                return Err(BindError::CollectionPath { path: path.join("/") });
            }
            let target = self.model.entity_set(&navigation.target).expect("the model's navigation targets exist");
            hops.push(Related::of(set, navigation, target));
            set = target;
        }
        Ok((hops, set))
    }

    /// `path/any(v: body)` and `path/all(v: body)` over a collection-valued navigation at the
    /// end of a path from the row or a lambda variable.
    fn lambda(
        &mut self,
        path: &[String],
        kind: LambdaKind,
        body: Option<&(String, Box<Expr>)>,
    ) -> Result<Typed, BindError> {
        let (start, set, rest) = self.start(path)?;
        let Some((name, navigations)) = rest.split_last() else {
            return Err(BindError::NotCollection { path: path.join("/") });
        };
        let (hops, set) = self.hops(set, navigations, path, 1)?;
        let navigation = match set.navigation_property(name) {
            Some(n) if n.collection => n,
            Some(_) => return Err(BindError::NotCollection { path: path.join("/") }),
            None if set.property(name).is_some() => return Err(BindError::NotCollection { path: path.join("/") }),
            None => {
                return Err(BindError::UnknownProperty { entity_set: set.name.clone(), property: name.clone() });
            }
        };
        let target = self.model.entity_set(&navigation.target).expect("the model's navigation targets exist");
        let related = Related::of(set, navigation, target);
        let depth = self.variables.len() + 1;
        let body = match body {
            None => None,
            Some((variable, expr)) => {
                self.variables.push((variable.clone(), target));
                let bound = self.bind(expr);
                self.variables.pop();
                let bound = bound?;
                expect(&bound, &[ScalarType::Boolean], kind_name(kind))?;
                Some(Box::new(bound))
            }
        };
        Ok(Typed::new(Node::Lambda { kind, start, hops, related, depth, body }, Some(ScalarType::Boolean), false))
    }

    fn call(&mut self, name: &str, args: &[Expr]) -> Result<Typed, BindError> {
        if name == "cast" || name == "isof" {
            return self.type_function(name, args);
        }
        let func = Func::lookup(name)?;
        let args = args.iter().map(|a| self.bind(a)).collect::<Result<Vec<_>, _>>()?;
        let types: Vec<_> = args.iter().map(|a| a.ty).collect();
        let ty = func.result(&types).map_err(|signature| BindError::Arguments {
            function: name.to_owned(),
            signature,
            found: describe(&types),
        })?;
        let nullable = args.iter().any(|a| a.nullable);
        Ok(Typed::new(Node::Call { func, args }, Some(ty), nullable))
    }

    /// `cast(expr, Edm.Type)` and `isof(expr, Edm.Type)` on primitive values.
    fn type_function(&mut self, name: &str, args: &[Expr]) -> Result<Typed, BindError> {
        let (value, type_name) = match args {
            [value, Expr::Member(t)] if t.len() == 1 => (value, &t[0]),
            [Expr::Member(t)] if t.len() == 1 && t[0].contains('.') => {
                return Err(BindError::NotImplemented(format!("`{name}` of the entity itself")));
            }
            _ => {
                return Err(BindError::Arguments {
                    function: name.to_owned(),
                    signature: "(expression, Edm.<primitive type>)".into(),
                    found: format!("{} argument(s)", args.len()),
                });
            }
        };
        let to = ScalarType::from_name(type_name).ok_or_else(|| BindError::UnknownType(type_name.clone()))?;
        let value = self.bind(value)?;
        if name == "isof" {
            // A primitive value is of a type when its own type is that type; null has none.
            return Ok(match value.ty {
                Some(ty) if ty == to => Typed::new(
                    Node::Compare {
                        op: Compare::Ne,
                        left: Box::new(value),
                        right: Box::new(Typed::new(Node::Null, None, true)),
                    },
                    Some(ScalarType::Boolean),
                    false,
                ),
                _ => Typed::new(
                    Node::Literal(Value::new(ScalarType::Boolean, "false")),
                    Some(ScalarType::Boolean),
                    false,
                ),
            });
        }
        if let Some(from) = value.ty
            && !castable(from, to)
        {
            return Err(BindError::Cast { from, to });
        }
        let nullable = value.nullable;
        Ok(Typed::new(Node::Cast { expr: Box::new(value), to }, Some(to), nullable))
    }
}

/// Which primitive casts PostgreSQL evaluates with OData's meaning.
fn castable(from: ScalarType, to: ScalarType) -> bool {
    use ScalarType::*;
    from == to
        || (from.is_numeric() && to.is_numeric())
        || to == String
        || (from == String
            && matches!(to, Boolean | Int32 | Int64 | Decimal | Double | Date | DateTimeOffset | TimeOfDay | Guid))
        || (from == DateTimeOffset && matches!(to, Date | TimeOfDay))
}

fn kind_name(kind: LambdaKind) -> &'static str {
    match kind {
        LambdaKind::Any => "any",
        LambdaKind::All => "all",
    }
}

fn describe(types: &[Option<ScalarType>]) -> String {
    let names: Vec<String> = types.iter().map(|t| t.map_or("null".into(), |t| t.to_string())).collect();
    format!("({})", names.join(", "))
}

fn expect(e: &Typed, allowed: &[ScalarType], operator: &str) -> Result<(), BindError> {
    match e.ty {
        Some(t) if !allowed.contains(&t) => Err(BindError::Operand { operator: operator.into(), found: t }),
        _ => Ok(()),
    }
}

fn check_comparable(left: &Typed, right: &Typed, operator: &str) -> Result<(), BindError> {
    match (left.ty, right.ty) {
        (Some(a), Some(b)) if !ScalarType::comparable(a, b) => {
            Err(BindError::Incompatible { operator: operator.into(), left: a, right: b })
        }
        _ => Ok(()),
    }
}

fn binary(op: BinaryOp, left: Typed, right: Typed) -> Result<Typed, BindError> {
    use ScalarType::*;
    let nullable = left.nullable || right.nullable;
    let boxed = |l, r| (Box::new(l), Box::new(r));
    let logic = |op| -> Result<Typed, BindError> {
        expect(&left, &[Boolean], op_name(op))?;
        expect(&right, &[Boolean], op_name(op))?;
        let (l, r) = boxed(left.clone(), right.clone());
        let op = if op == BinaryOp::And { Logic::And } else { Logic::Or };
        Ok(Typed::new(Node::Logic { op, left: l, right: r }, Some(Boolean), nullable))
    };
    let compare = |c: Compare| -> Result<Typed, BindError> {
        check_comparable(&left, &right, op.keyword())?;
        let (l, r) = boxed(left.clone(), right.clone());
        // eq/ne with null operands are definite; ordering comparisons with null are false.
        let nullable = !matches!(c, Compare::Eq | Compare::Ne) && nullable;
        Ok(Typed::new(Node::Compare { op: c, left: l, right: r }, Some(Boolean), nullable))
    };
    match op {
        BinaryOp::And | BinaryOp::Or => logic(op),
        BinaryOp::Eq => compare(Compare::Eq),
        BinaryOp::Ne => compare(Compare::Ne),
        BinaryOp::Gt => compare(Compare::Gt),
        BinaryOp::Ge => compare(Compare::Ge),
        BinaryOp::Lt => compare(Compare::Lt),
        BinaryOp::Le => compare(Compare::Le),
        BinaryOp::Has => Err(BindError::NotImplemented("`has` (this feed has no enumeration types)".into())),
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::DivBy | BinaryOp::Mod => {
            let arith = match op {
                BinaryOp::Add => Arith::Add,
                BinaryOp::Sub => Arith::Sub,
                BinaryOp::Mul => Arith::Mul,
                BinaryOp::Div => Arith::Div,
                BinaryOp::DivBy => Arith::DivBy,
                _ => Arith::Mod,
            };
            let ty = arith_type(arith, left.ty, right.ty).ok_or_else(|| BindError::Incompatible {
                operator: op.keyword().into(),
                left: left.ty.unwrap_or(Int32),
                right: right.ty.unwrap_or(Int32),
            })?;
            let (l, r) = boxed(left, right);
            Ok(Typed::new(Node::Arith { op: arith, left: l, right: r }, Some(ty), nullable))
        }
    }
}

fn op_name(op: BinaryOp) -> &'static str {
    op.keyword()
}

/// The result type of an arithmetic operator, if the operand types allow it. Integer
/// arithmetic is done in 64 bits, so sums of Int32 values do not overflow.
fn arith_type(op: Arith, left: Option<ScalarType>, right: Option<ScalarType>) -> Option<ScalarType> {
    use ScalarType::*;
    let (l, r) = match (left, right) {
        (Some(l), Some(r)) => (l, r),
        (Some(t), None) | (None, Some(t)) => (t, t),
        (None, None) => (Int64, Int64),
    };
    if l.is_numeric() && r.is_numeric() {
        let t = ScalarType::promote(l, r);
        return Some(match (op, t) {
            (Arith::DivBy, Int32 | Int64) => Decimal,
            (_, Int32) => Int64,
            (_, t) => t,
        });
    }
    match (op, l, r) {
        (Arith::Add | Arith::Sub, DateTimeOffset, Duration) => Some(DateTimeOffset),
        (Arith::Add, Duration, DateTimeOffset) => Some(DateTimeOffset),
        (Arith::Sub, DateTimeOffset, DateTimeOffset) => Some(Duration),
        (Arith::Add | Arith::Sub, Duration, Duration) => Some(Duration),
        _ => None,
    }
}
