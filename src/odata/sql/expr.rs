//! Writes bound expressions as PostgreSQL, with OData's null semantics: `eq null` is `IS NULL`,
//! `ne` is `IS DISTINCT FROM` when an operand may be null, and an ordering comparison with a
//! null operand is false, also under `not` (where SQL's unknown would otherwise turn true).

use super::{SqlQuery, TenantScope};
use crate::odata::bind::{Arith, Compare, Func, Logic, Node, Related, ScalarType, Typed};
use crate::odata::model::EntitySet;
use crate::odata::model::TENANT_COLUMN;
use crate::odata::uri::LambdaKind;

/// Accumulates statement text and its text parameters.
pub struct Writer<'a> {
    set: &'a EntitySet,
    tenant: &'a TenantScope,
    text: String,
    params: Vec<String>,
    time_zone: Option<usize>,
    /// The parameter holding the tenant, once written.
    tenant_param: Option<usize>,
    /// The alias of the row whose properties expressions name (`t` unless `within` says otherwise).
    alias: String,
    /// Aliases handed out to scalar subqueries (`n1`, `n2`, ...).
    next_alias: usize,
}

impl<'a> Writer<'a> {
    pub fn new(set: &'a EntitySet, tenant: &'a TenantScope) -> Writer<'a> {
        Writer {
            set,
            tenant,
            text: String::with_capacity(256),
            params: Vec::new(),
            time_zone: None,
            tenant_param: None,
            alias: "t".to_owned(),
            next_alias: 0,
        }
    }

    /// The tenant, as a parameter (written once, then reused).
    pub fn tenant(&mut self) {
        match self.tenant_param {
            Some(n) => self.text.push_str(&format!("${n}::text")),
            None => {
                self.param(self.tenant.id.clone(), None);
                self.tenant_param = Some(self.params.len());
            }
        }
    }

    /// `<alias>.tenant_id = $tenant`: the row `alias` belongs to the request's tenant (`TRUE`
    /// when the scope omits the predicate).
    pub fn tenant_of(&mut self, alias: &str) {
        if !self.tenant.predicate {
            self.push("TRUE");
            return;
        }
        self.push(&format!("{alias}.{TENANT_COLUMN} = "));
        self.tenant();
    }

    /// Runs `f` with property references naming `alias`, a row of `set`.
    pub fn within<R>(&mut self, set: &'a EntitySet, alias: &str, f: impl FnOnce(&mut Self) -> R) -> R {
        let outer_set = std::mem::replace(&mut self.set, set);
        let outer_alias = std::mem::replace(&mut self.alias, alias.to_owned());
        let result = f(self);
        self.set = outer_set;
        self.alias = outer_alias;
        result
    }

    /// What `f` writes, taken out of the statement text (its parameters stay numbered).
    pub fn capture(&mut self, f: impl FnOnce(&mut Self)) -> String {
        let start = self.text.len();
        f(self);
        self.text.split_off(start)
    }

    pub fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }

    /// A parameter, cast from text to `ty` when given (text otherwise).
    pub fn param(&mut self, value: String, ty: Option<ScalarType>) {
        self.params.push(value);
        let n = self.params.len();
        self.text.push_str(&format!("${n}::text"));
        if let Some(ty) = ty.filter(|t| *t != ScalarType::String) {
            self.text.push_str("::");
            self.text.push_str(ty.sql_name());
        }
    }

    fn time_zone(&mut self) {
        match self.time_zone {
            Some(n) => self.text.push_str(&format!("${n}::text")),
            None => {
                self.param(self.tenant.time_zone.clone(), None);
                self.time_zone = Some(self.params.len());
            }
        }
    }

    pub fn finish(self) -> SqlQuery {
        SqlQuery { text: self.text, params: self.params }
    }

    /// Writes `e`. `negated` is true under an odd number of `not`s, where a comparison that
    /// SQL would leave unknown must be made false explicitly.
    pub fn expr(&mut self, e: &Typed, negated: bool) {
        match &e.node {
            Node::Property(i) => {
                let column = format!("{}.{}", self.alias, self.set.properties[*i].column());
                self.push(&column);
            }
            Node::Literal(v) => self.param(v.text.clone(), Some(v.ty)),
            Node::Null => self.push("NULL"),
            Node::Not(inner) => {
                self.push("(NOT ");
                self.expr(inner, !negated);
                self.push(")");
            }
            Node::Negate(inner) => {
                self.push("(- ");
                self.expr(inner, negated);
                self.push(")");
            }
            Node::Logic { op, left, right } => {
                self.push("(");
                self.expr(left, negated);
                self.push(if *op == Logic::And { " AND " } else { " OR " });
                self.expr(right, negated);
                self.push(")");
            }
            Node::Compare { op, left, right } => self.compare(*op, left, right, negated),
            Node::Arith { op, left, right } => self.arith(*op, e.ty, left, right, negated),
            Node::In { expr, list, with_null } => {
                let guard = negated && (expr.nullable || list.iter().any(|i| i.nullable));
                self.push(if guard { "coalesce((" } else { "(" });
                if !list.is_empty() {
                    self.expr(expr, negated);
                    self.push(" IN (");
                    for (i, item) in list.iter().enumerate() {
                        if i > 0 {
                            self.push(", ");
                        }
                        self.expr(item, negated);
                    }
                    self.push(")");
                }
                if *with_null {
                    self.push(if list.is_empty() { "" } else { " OR " });
                    self.expr(expr, negated);
                    self.push(" IS NULL");
                }
                if list.is_empty() && !with_null {
                    self.push("FALSE");
                }
                self.push(if guard { "), FALSE)" } else { ")" });
            }
            Node::Call { func, args } => self.call(*func, args, negated),
            Node::Cast { expr, to } => self.cast(expr, *to, negated),
            Node::Navigated { start, hops, column } => {
                let aliases = self.hop_aliases(hops.len());
                let last = aliases.last().expect("a navigated property has hops");
                self.push(&format!("(SELECT {last}.{} FROM ", column.name));
                let steps: Vec<_> = hops.iter().zip(&aliases).collect();
                self.path(*start, &steps);
                self.push(")");
            }
            Node::Variable { depth, column } => self.push(&format!("l{depth}.{}", column.name)),
            Node::Lambda { kind, start, hops, related, depth, body } => {
                let aliases = self.hop_aliases(hops.len());
                let alias = format!("l{depth}");
                self.push(if *kind == LambdaKind::All {
                    "(NOT EXISTS (SELECT 1 FROM "
                } else {
                    "(EXISTS (SELECT 1 FROM "
                });
                let mut steps: Vec<_> = hops.iter().zip(&aliases).collect();
                steps.push((related, &alias));
                self.path(*start, &steps);
                if let Some(body) = body {
                    // The body decides membership inside the subquery: unknown counts as false.
                    self.push(if *kind == LambdaKind::All { " AND NOT coalesce(" } else { " AND coalesce(" });
                    self.expr(body, false);
                    self.push(", FALSE)");
                }
                self.push("))");
            }
        }
    }

    /// Fresh aliases (`n1`, `n2`, ...) for the entities a path passes through.
    fn hop_aliases(&mut self, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| {
                self.next_alias += 1;
                format!("n{}", self.next_alias)
            })
            .collect()
    }

    /// The `FROM` list and join conditions of a path of related sets, each with its alias:
    /// `<table1> <a1> JOIN <table2> <a2> ON <a2 joined to a1> ... WHERE <a1 joined to start>`,
    /// where the start is the current row (`None`) or the lambda variable `l{depth}`.
    fn path(&mut self, start: Option<usize>, steps: &[(&Related, &String)]) {
        let [(first, first_alias), rest @ ..] = steps else { unreachable!("a path has at least one step") };
        self.push(&format!("{} {first_alias}", first.table));
        let mut outer = *first_alias;
        for (related, alias) in rest {
            self.push(&format!(" JOIN {} {alias} ON ", related.table));
            self.joined(related, alias, outer);
            outer = alias;
        }
        self.push(" WHERE ");
        let start = match start {
            Some(depth) => format!("l{depth}"),
            None => self.alias.clone(),
        };
        self.joined(first, first_alias, &start);
    }

    /// `<alias>.tenant_id = $tenant [AND <row filter>] AND <alias>.<inner> = <outer>.<outer column> ...`:
    /// the rows of a related set (`alias`) that belong to the row `outer`, in the request's tenant.
    pub fn joined(&mut self, related: &Related, alias: &str, outer: &str) {
        self.tenant_of(alias);
        if let Some((column, value)) = &related.row_filter {
            self.push(&format!(" AND {alias}.{column} = "));
            self.param(value.clone(), None);
        }
        for (outer_column, inner) in &related.join {
            self.push(&format!(" AND {alias}.{inner} = {outer}.{outer_column}"));
        }
    }

    fn compare(&mut self, op: Compare, left: &Typed, right: &Typed, negated: bool) {
        let null_side = match (&left.node, &right.node) {
            (Node::Null, Node::Null) => {
                self.push(if op == Compare::Eq { "TRUE" } else { "FALSE" });
                return;
            }
            (Node::Null, _) => Some(right),
            (_, Node::Null) => Some(left),
            _ => None,
        };
        if let Some(value) = null_side {
            match op {
                Compare::Eq | Compare::Ne => {
                    self.push("(");
                    self.expr(value, negated);
                    self.push(if op == Compare::Eq { " IS NULL)" } else { " IS NOT NULL)" });
                }
                _ => self.push("FALSE"),
            }
            return;
        }
        let either_nullable = left.nullable || right.nullable;
        let symbol = match op {
            Compare::Eq if left.nullable && right.nullable => " IS NOT DISTINCT FROM ",
            Compare::Eq => " = ",
            Compare::Ne if either_nullable => " IS DISTINCT FROM ",
            Compare::Ne => " <> ",
            Compare::Gt => " > ",
            Compare::Ge => " >= ",
            Compare::Lt => " < ",
            Compare::Le => " <= ",
        };
        let definite = symbol.contains("DISTINCT");
        let guard = negated && either_nullable && !definite;
        self.push(if guard { "coalesce((" } else { "(" });
        self.expr(left, negated);
        self.push(symbol);
        self.expr(right, negated);
        self.push(if guard { "), FALSE)" } else { ")" });
    }

    fn arith(&mut self, op: Arith, ty: Option<ScalarType>, left: &Typed, right: &Typed, negated: bool) {
        use ScalarType::*;
        let widen = |w: &mut Writer, e: &Typed| {
            w.push("(");
            w.expr(e, negated);
            match (ty, op) {
                (_, Arith::DivBy) => w.push(")::numeric"),
                (Some(Int64), _) => w.push(")::bigint"),
                (Some(Double), Arith::Mod) => w.push(")::numeric"),
                _ => w.push(")"),
            }
        };
        if op == Arith::Mod && ty == Some(Double) {
            self.push("mod(");
            widen(self, left);
            self.push(", ");
            widen(self, right);
            self.push(")::double precision");
            return;
        }
        self.push("(");
        widen(self, left);
        self.push(match op {
            Arith::Add => " + ",
            Arith::Sub => " - ",
            Arith::Mul => " * ",
            Arith::Div | Arith::DivBy => " / ",
            Arith::Mod => " % ",
        });
        widen(self, right);
        self.push(")");
    }

    /// A DateTimeOffset as wall-clock time: the tenant's zone for local-time properties, UTC otherwise.
    fn wall_clock(&mut self, e: &Typed, negated: bool) {
        self.push("(");
        self.expr(e, negated);
        self.push(" AT TIME ZONE ");
        if self.is_local(e) {
            self.time_zone();
        } else {
            self.push("'UTC'");
        }
        self.push(")");
    }

    fn is_local(&self, e: &Typed) -> bool {
        match &e.node {
            Node::Property(i) => self.set.properties[*i].is_local_time(),
            Node::Navigated { column, .. } | Node::Variable { column, .. } => column.local_time,
            _ => false,
        }
    }

    /// A date/time argument ready for `extract`: DateTimeOffset values as wall-clock time.
    fn temporal(&mut self, e: &Typed, negated: bool) {
        if e.ty == Some(ScalarType::DateTimeOffset) {
            self.wall_clock(e, negated);
        } else {
            self.expr(e, negated);
        }
    }

    fn call(&mut self, func: Func, args: &[Typed], negated: bool) {
        let extract = |w: &mut Writer, field: &str| {
            w.push("extract(");
            w.push(field);
            w.push(" from ");
            w.temporal(&args[0], negated);
            w.push(")::integer");
        };
        match func {
            Func::Contains => {
                self.push("(strpos(");
                self.expr(&args[0], negated);
                self.push(", ");
                self.expr(&args[1], negated);
                self.push(") > 0)");
            }
            Func::StartsWith => {
                self.push("starts_with(");
                self.expr(&args[0], negated);
                self.push(", ");
                self.expr(&args[1], negated);
                self.push(")");
            }
            Func::EndsWith => {
                self.push("(right(");
                self.expr(&args[0], negated);
                self.push(", length(");
                self.expr(&args[1], negated);
                self.push(")) = ");
                self.expr(&args[1], negated);
                self.push(")");
            }
            Func::Length => self.wrap("char_length(", &args[0], ")", negated),
            Func::IndexOf => {
                self.push("(strpos(");
                self.expr(&args[0], negated);
                self.push(", ");
                self.expr(&args[1], negated);
                self.push(") - 1)");
            }
            Func::Substring => {
                self.push("substr(");
                self.expr(&args[0], negated);
                self.push(", greatest(");
                self.expr(&args[1], negated);
                self.push(", 0)::integer + 1");
                if let Some(length) = args.get(2) {
                    self.push(", greatest(");
                    self.expr(length, negated);
                    self.push(", 0)::integer");
                }
                self.push(")");
            }
            Func::ToLower => self.wrap("lower(", &args[0], ")", negated),
            Func::ToUpper => self.wrap("upper(", &args[0], ")", negated),
            Func::Trim => self.wrap("btrim(", &args[0], ", E' \\t\\n\\r')", negated),
            Func::Concat => {
                self.push("(");
                self.expr(&args[0], negated);
                self.push(" || ");
                self.expr(&args[1], negated);
                self.push(")");
            }
            Func::Year => extract(self, "year"),
            Func::Month => extract(self, "month"),
            Func::Day => extract(self, "day"),
            Func::Hour => extract(self, "hour"),
            Func::Minute => extract(self, "minute"),
            Func::Second => {
                self.push("floor(extract(second from ");
                self.temporal(&args[0], negated);
                self.push("))::integer");
            }
            Func::FractionalSeconds => {
                self.push("((extract(microseconds from ");
                self.temporal(&args[0], negated);
                self.push(")::bigint % 1000000) / 1000000.0)");
            }
            Func::Date => {
                self.wall_clock(&args[0], negated);
                self.push("::date");
            }
            Func::Time => {
                self.wall_clock(&args[0], negated);
                self.push("::time");
            }
            Func::TotalOffsetMinutes => {
                if self.is_local(&args[0]) {
                    self.push("(extract(epoch from (");
                    self.wall_clock(&args[0], negated);
                    self.push(" - (");
                    self.expr(&args[0], negated);
                    self.push(" AT TIME ZONE 'UTC'))) / 60)::integer");
                } else {
                    self.push("(CASE WHEN ");
                    self.expr(&args[0], negated);
                    self.push(" IS NULL THEN NULL ELSE 0 END)");
                }
            }
            Func::Now => self.push("now()"),
            Func::MinDateTime => self.push("'0001-01-01 00:00:00+00'::timestamptz"),
            Func::MaxDateTime => self.push("'9999-12-31 23:59:59.999999+00'::timestamptz"),
            Func::Round | Func::Floor | Func::Ceiling => {
                let ty = args[0].ty.unwrap_or(ScalarType::Decimal);
                match (func, ty) {
                    (_, ScalarType::Int32 | ScalarType::Int64) => self.expr(&args[0], negated),
                    (Func::Round, ScalarType::Double) => {
                        // OData rounds half away from zero; float8 round() rounds half to even.
                        self.push("(sign(");
                        self.expr(&args[0], negated);
                        self.push(") * floor(abs(");
                        self.expr(&args[0], negated);
                        self.push(") + 0.5))");
                    }
                    (Func::Round, _) => self.wrap("round(", &args[0], ")", negated),
                    (Func::Floor, _) => self.wrap("floor(", &args[0], ")", negated),
                    _ => self.wrap("ceil(", &args[0], ")", negated),
                }
            }
        }
    }

    fn wrap(&mut self, open: &str, e: &Typed, close: &str, negated: bool) {
        self.push(open);
        self.expr(e, negated);
        self.push(close);
    }

    fn cast(&mut self, e: &Typed, to: ScalarType, negated: bool) {
        use ScalarType::*;
        match (e.ty, to) {
            (Some(DateTimeOffset), String) => {
                self.push("to_char(");
                self.expr(e, negated);
                self.push(" AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
            }
            (Some(DateTimeOffset), Date | TimeOfDay) => {
                self.wall_clock(e, negated);
                self.push(if to == Date { "::date" } else { "::time" });
            }
            _ => {
                self.push("CAST(");
                self.expr(e, negated);
                self.push(" AS ");
                self.push(to.sql_name());
                self.push(")");
            }
        }
    }
}
