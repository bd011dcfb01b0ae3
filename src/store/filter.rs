//! SCIM filters (the AST of `scim::filter`) compiled to parameterised SQL.
//!
//! Every literal is a bind parameter; the SQL text holds only names this module writes.
//! The semantics are those of the in-memory evaluator (`scim::filter::evaluate`), and a
//! differential test holds the two to it:
//!
//! - a multi-valued attribute matches when any value does (`EXISTS` over its elements);
//! - `ne` is the negation of `eq`, `eq null` of `pr`; every negation wraps its operand in
//!   `coalesce(…, false)`, so `not (…)` and `ne` never meet SQL's NULL, while positive
//!   comparisons stay bare for the indexes (a NULL under AND/OR acts as false);
//! - strings honour caseExact (`lower()` on both sides otherwise) and order by code point
//!   (`COLLATE "C"`); dateTimes compare as instants; `pr` is "present and not empty".
//!
//! Hot lookups go to indexed columns: `id`, `userName`, `externalId`, `displayName`,
//! `active`, `meta.created` and `meta.lastModified` are columns, and `emails.value eq`
//! uses the GIN index on the `emails` column.

use chrono::Utc;
use uuid::Uuid;

use super::sql::{Bind, Sql};
use crate::scim::filter::{
    AttrExp, CompValue, CompareOp, Filter, FilterError, LogExp, LogicalOp, ValuePath,
};
use crate::scim::path::AttrPath;
use crate::scim::schema::{AttrDef, AttrLocation, AttrType, ResourceTypeDef};

/// What the compiler needs to know about the query it writes into.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub rt: &'static ResourceTypeDef,
    /// The table alias of the resource row (`u` for users, `g` for groups).
    pub alias: &'a str,
    /// The SCIM base URL (for `meta.location` and `$ref`), without a trailing slash.
    pub base_url: &'a str,
}

/// One value's SQL expression.
#[derive(Debug, Clone)]
enum Leaf {
    Json(String),
    Text(String),
    /// The row's uuid id.
    Id(String),
    Bool(String),
    Timestamp(String),
}

/// Where an attribute's values come from.
#[derive(Debug, Clone)]
enum Operand {
    /// One value.
    Single(Leaf),
    /// The elements of a jsonb value (an array, or one value), or their sub-attribute.
    Elements {
        expr: String,
        sub: Option<&'static str>,
    },
    /// A relation's rows (group memberships), or one field of them.
    Rows {
        relation: Relation,
        sub: Option<&'static AttrDef>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    /// A user's `groups`, derived from `group_members`.
    UserGroups,
    /// A group's `members`.
    GroupMembers,
}

/// Names resolve against the resource, or (inside `x[...]`) against one element.
#[derive(Debug, Clone)]
enum Scope {
    Resource,
    JsonElement {
        alias: String,
        parent: &'static AttrDef,
    },
    RelationRow {
        relation: Relation,
        parent: &'static AttrDef,
    },
}

struct Compiler<'a> {
    target: Target<'a>,
    out: &'a mut Sql,
    /// Numbers the aliases of nested element scans.
    scans: usize,
}

/// Appends `filter` as a boolean SQL expression over `target`'s row to `out` (whose
/// placeholders it continues). The filter is checked first, so unknown attributes and
/// forbidden comparisons are `invalidFilter` and nothing is written.
pub fn compile_into(filter: &Filter, target: Target<'_>, out: &mut Sql) -> Result<(), FilterError> {
    crate::scim::filter::check(filter, target.rt)?;
    let mut c = Compiler {
        target,
        out,
        scans: 0,
    };
    c.out.push("(");
    c.filter(filter, &Scope::Resource);
    c.out.push(")");
    Ok(())
}

/// An `ORDER BY` expression for `sortBy` (RFC 7644 §3.4.2.3): strings by code point,
/// case-folded unless caseExact; a multi-valued attribute by its primary (else first) value.
pub fn sort_expr(path: &AttrPath, target: Target<'_>) -> Result<String, FilterError> {
    let resolved = target.rt.resolve(path)?;
    let mut scratch = Sql::new();
    let mut c = Compiler {
        target,
        out: &mut scratch,
        scans: 0,
    };
    let top = resolved.top();
    let sub = match resolved.parent {
        Some(_) => Some(resolved.attr),
        None if top.is_complex() => top.sub_attribute("value"),
        None => None,
    };
    let leaf = sub.unwrap_or(top);
    let fold = |text: String| {
        if leaf.case_exact || !matches!(leaf.ty, AttrType::String | AttrType::Reference) {
            format!("({text}) COLLATE \"C\"")
        } else {
            format!("lower({text}) COLLATE \"C\"")
        }
    };
    let a = target.alias;
    let column = c.column(resolved.location, top, sub);
    // Expressions with a bound base URL (meta.location) order as the id does.
    let bound = !scratch.binds().is_empty();
    Ok(match column {
        Some(_) if bound => format!("{a}.id::text"),
        Some(Operand::Single(Leaf::Text(x))) => fold(x),
        Some(Operand::Single(Leaf::Id(x))) => format!("{x}::text"),
        Some(Operand::Single(Leaf::Bool(x) | Leaf::Timestamp(x))) => x,
        Some(_) => format!("{a}.id::text"),
        None => {
            let container = match resolved.location {
                AttrLocation::Extension(schema) => {
                    format!("{a}.resource->{}", quote_key(schema.id))
                }
                _ => format!("{a}.resource"),
            };
            let expr = format!("{container}->{}", quote_key(top.name));
            match (top.multi_valued, sub) {
                (true, sub) => {
                    let pick = match sub {
                        Some(s) => format!("e.v->>{}", quote_key(s.name)),
                        None => "e.v #>> '{}'".to_owned(),
                    };
                    fold(format!(
                        "(SELECT {pick} FROM jsonb_array_elements(CASE jsonb_typeof({expr}) WHEN 'array' THEN {expr} ELSE '[]'::jsonb END) AS e(v) \
                         ORDER BY (e.v->'primary') = 'true'::jsonb DESC LIMIT 1)"
                    ))
                }
                (false, Some(s)) => fold(format!("{expr}->>{}", quote_key(s.name))),
                (false, None) => fold(format!("{expr} #>> '{{}}'")),
            }
        }
    })
}

/// `'name'` as a SQL string literal, for jsonb keys (names come from the schema tables).
fn quote_key(name: &str) -> String {
    format!("'{}'", name.replace('\'', "''"))
}

fn comp_text(value: &CompValue) -> Option<&str> {
    match value {
        CompValue::String(s) => Some(s),
        CompValue::Number(n) => Some(n.as_str()),
        CompValue::Null | CompValue::Bool(_) => None,
    }
}

fn sql_op(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "<>",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => "=",
    }
}

type LeafCond<'c> = &'c mut dyn FnMut(&mut Compiler<'_>, &Leaf, &'static AttrDef);

impl Compiler<'_> {
    fn filter(&mut self, filter: &Filter, scope: &Scope) {
        match filter {
            Filter::LogExp(LogExp { op, left, right }) => {
                self.out.push("(");
                self.filter(left, scope);
                self.out.push(match op {
                    LogicalOp::And => " AND ",
                    LogicalOp::Or => " OR ",
                });
                self.filter(right, scope);
                self.out.push(")");
            }
            Filter::Not(inner) => {
                self.out.push("NOT coalesce((");
                self.filter(inner, scope);
                self.out.push("), false)");
            }
            Filter::ValuePath(ValuePath { attr, filter }) => self.value_path(attr, filter, scope),
            Filter::AttrExp(AttrExp::Present(path)) => match self.resolve(path, scope, None) {
                Some((operand, leaf)) => self.any(&operand, leaf, &mut |c, v, a| c.present(v, a)),
                None => {
                    self.out.push("FALSE");
                }
            },
            Filter::AttrExp(AttrExp::Compare { path, op, value }) => {
                let Some((operand, leaf)) = self.resolve(path, scope, Some(*op)) else {
                    self.out.push("FALSE");
                    return;
                };
                match (op, value) {
                    (CompareOp::Eq, CompValue::Null) => {
                        self.out.push("NOT coalesce(");
                        self.any(&operand, leaf, &mut |c, v, a| c.present(v, a));
                        self.out.push(", false)");
                    }
                    (CompareOp::Ne, CompValue::Null) => {
                        self.any(&operand, leaf, &mut |c, v, a| c.present(v, a));
                    }
                    (CompareOp::Ne, value) => {
                        self.out.push("NOT coalesce(");
                        self.compare_any(&operand, leaf, CompareOp::Eq, value);
                        self.out.push(", false)");
                    }
                    (op, value) => self.compare_any(&operand, leaf, *op, value),
                }
            }
        }
    }

    fn compare_any(
        &mut self,
        operand: &Operand,
        leaf: &'static AttrDef,
        op: CompareOp,
        value: &CompValue,
    ) {
        // `emails.value eq "…"`: answered by the GIN index on the `emails` column, which
        // holds every value lower-cased as the evaluator folds them for caseExact=false.
        if let (
            Operand::Elements {
                expr,
                sub: Some("value"),
            },
            CompareOp::Eq,
            Some(text),
        ) = (operand, op, comp_text(value))
        {
            if self.target.rt.name == "User"
                && *expr == format!("{}.resource->'emails'", self.target.alias)
            {
                self.out
                    .push("(")
                    .push(self.target.alias)
                    .push(".emails @> ");
                self.out
                    .bind(Bind::Json(serde_json::json!([text.to_lowercase()])))
                    .push(")");
                return;
            }
        }
        self.any(operand, leaf, &mut |c, v, a| c.compare(v, a, op, value));
    }

    /// "Some value of `operand` satisfies `cond`", always true or false (never NULL).
    fn any(&mut self, operand: &Operand, leaf: &'static AttrDef, cond: LeafCond<'_>) {
        match operand {
            // Left bare so an index on the column can answer it; a NULL here only ever
            // meets AND/OR (where it acts as false) or a negation (which coalesces).
            Operand::Single(value) => cond(self, value, leaf),
            Operand::Elements { expr, sub } => {
                let alias = self.scan_start(expr);
                let element = match sub {
                    Some(sub) => Leaf::Json(format!("{alias}.v->{}", quote_key(sub))),
                    None => Leaf::Json(format!("{alias}.v")),
                };
                self.out.push("coalesce(");
                cond(self, &element, leaf);
                self.out.push(", false))");
            }
            Operand::Rows { relation, sub } => {
                self.rows_start(*relation);
                match sub {
                    Some(sub) => match self.relation_field(*relation, sub) {
                        Some(field) => {
                            self.out.push("coalesce(");
                            cond(self, &field, leaf);
                            self.out.push(", false)");
                        }
                        None => {
                            self.out.push("FALSE");
                        }
                    },
                    // A membership row is a present value.
                    None => {
                        self.out.push("TRUE");
                    }
                }
                self.out.push(")");
            }
        }
    }

    /// Opens `EXISTS (SELECT 1 FROM <elements of expr> AS eN(v) WHERE ` and returns `eN`.
    fn scan_start(&mut self, expr: &str) -> String {
        self.scans += 1;
        let alias = format!("e{}", self.scans);
        // An absent attribute has no values; an array has its elements; anything else is one value.
        self.out
            .push("EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN ");
        self.out
            .push(expr)
            .push(" IS NULL THEN '[]'::jsonb WHEN jsonb_typeof(")
            .push(expr);
        self.out.push(") = 'array' THEN ").push(expr);
        self.out
            .push(" ELSE jsonb_build_array(")
            .push(expr)
            .push(") END) AS ");
        self.out.push(&alias).push("(v) WHERE ");
        alias
    }

    /// Opens `EXISTS (SELECT 1 FROM <membership rows> WHERE <correlated> AND `.
    fn rows_start(&mut self, relation: Relation) {
        let a = self.target.alias;
        match relation {
            Relation::UserGroups => self.out.push(
                "EXISTS (SELECT 1 FROM group_members rm \
                 JOIN groups rg ON rg.tenant_id = rm.tenant_id AND rg.id = rm.group_id \
                 WHERE rm.tenant_id = ",
            ),
            Relation::GroupMembers => self
                .out
                .push("EXISTS (SELECT 1 FROM group_members rm WHERE rm.tenant_id = "),
        };
        self.out.push(a).push(".tenant_id AND ");
        self.out.push(match relation {
            Relation::UserGroups => "rm.member_id = ",
            Relation::GroupMembers => "rm.group_id = ",
        });
        self.out.push(a).push(".id AND ");
    }

    fn value_path(&mut self, attr: &AttrPath, filter: &Filter, scope: &Scope) {
        let Some((operand, parent)) = self.resolve(attr, scope, None) else {
            self.out.push("FALSE");
            return;
        };
        match operand {
            Operand::Elements { expr, sub: None } | Operand::Single(Leaf::Json(expr)) => {
                let alias = self.scan_start(&expr);
                self.out.push("coalesce(");
                self.filter(filter, &Scope::JsonElement { alias, parent });
                self.out.push(", false))");
            }
            Operand::Rows {
                relation,
                sub: None,
            } => {
                self.rows_start(relation);
                self.out.push("coalesce(");
                self.filter(filter, &Scope::RelationRow { relation, parent });
                self.out.push(", false))");
            }
            _ => {
                self.out.push("FALSE");
            }
        }
    }

    /// A placeholder bound to the base URL, for expressions that build `$ref` or
    /// `meta.location`; the URL comes from the request, so it is never inlined.
    fn base(&mut self) -> String {
        let base = self.out.param(Bind::Text(self.target.base_url.to_owned()));
        format!("{base}::text")
    }

    /// A membership row's sub-attribute, as the rendered resource shows it.
    fn relation_field(&mut self, relation: Relation, sub: &AttrDef) -> Option<Leaf> {
        if sub.name == "$ref" {
            let base = self.base();
            return Some(Leaf::Text(match relation {
                Relation::UserGroups => format!("({base} || '/Groups/' || rm.group_id::text)"),
                Relation::GroupMembers => format!(
                    "({base} || '/' || CASE rm.member_type WHEN 'User' THEN 'Users' ELSE 'Groups' END || '/' || rm.member_id::text)"
                ),
            }));
        }
        Some(Leaf::Text(match (relation, sub.name) {
            (Relation::UserGroups, "value") => "rm.group_id::text".to_owned(),
            (Relation::UserGroups, "display") => "rg.display_name".to_owned(),
            (Relation::UserGroups, "type") => "'direct'".to_owned(),
            (Relation::GroupMembers, "value") => "rm.member_id::text".to_owned(),
            (Relation::GroupMembers, "display") => "rm.display".to_owned(),
            (Relation::GroupMembers, "type") => "rm.member_type".to_owned(),
            _ => return None,
        }))
    }

    /// Resolves a path to its operand and the attribute whose values are compared. For a
    /// comparison (`op` given), a complex attribute without a sub-attribute compares
    /// through its `value` (as `scim::filter::check` rules).
    fn resolve(
        &mut self,
        path: &AttrPath,
        scope: &Scope,
        op: Option<CompareOp>,
    ) -> Option<(Operand, &'static AttrDef)> {
        match scope {
            Scope::JsonElement { alias, parent } => {
                let sub = parent.sub_attribute(&path.name)?;
                let expr = format!("{alias}.v->{}", quote_key(sub.name));
                Some(if sub.multi_valued {
                    (Operand::Elements { expr, sub: None }, sub)
                } else {
                    (Operand::Single(Leaf::Json(expr)), sub)
                })
            }
            Scope::RelationRow { relation, parent } => {
                let sub = parent.sub_attribute(&path.name)?;
                Some((Operand::Single(self.relation_field(*relation, sub)?), sub))
            }
            Scope::Resource => {
                let resolved = self.target.rt.resolve(path).ok()?;
                let top = resolved.top();
                let sub = match (resolved.parent, op) {
                    (Some(_), _) => Some(resolved.attr),
                    (None, Some(op)) if top.is_complex() && !op.is_ordering() => {
                        top.sub_attribute("value")
                    }
                    _ => None,
                };
                let leaf = sub.unwrap_or(top);
                if let Some(operand) = self.column(resolved.location, top, sub) {
                    return Some((operand, leaf));
                }
                let container = match resolved.location {
                    AttrLocation::Extension(schema) => {
                        format!("{}.resource->{}", self.target.alias, quote_key(schema.id))
                    }
                    _ => format!("{}.resource", self.target.alias),
                };
                let expr = format!("{container}->{}", quote_key(top.name));
                Some(match (top.multi_valued, sub) {
                    (true, sub) => (
                        Operand::Elements {
                            expr,
                            sub: sub.map(|s| s.name),
                        },
                        leaf,
                    ),
                    (false, None) => (Operand::Single(Leaf::Json(expr)), leaf),
                    (false, Some(sub)) => (
                        Operand::Single(Leaf::Json(format!("{expr}->{}", quote_key(sub.name)))),
                        leaf,
                    ),
                })
            }
        }
    }

    /// Attributes kept in columns, or derived from other tables.
    fn column(
        &mut self,
        location: AttrLocation,
        top: &'static AttrDef,
        sub: Option<&'static AttrDef>,
    ) -> Option<Operand> {
        let a = self.target.alias;
        let rt = self.target.rt;
        let single = |leaf| Some(Operand::Single(leaf));
        match (location, top.name, sub.map(|s| s.name)) {
            (AttrLocation::Common, "id", _) => single(Leaf::Id(format!("{a}.id"))),
            (AttrLocation::Common, "externalId", _) => {
                single(Leaf::Text(format!("{a}.external_id")))
            }
            (AttrLocation::Common, "schemas", _) => {
                let mut expr = format!("jsonb_build_array({})", quote_key(rt.schema.id));
                for ext in rt.extensions {
                    expr = format!(
                        "({expr} || CASE WHEN {a}.resource ? {id} THEN jsonb_build_array({id}) ELSE '[]'::jsonb END)",
                        id = quote_key(ext.schema.id)
                    );
                }
                Some(Operand::Elements { expr, sub: None })
            }
            (AttrLocation::Common, "meta", Some("created")) => {
                single(Leaf::Timestamp(format!("{a}.created_at")))
            }
            (AttrLocation::Common, "meta", Some("lastModified")) => {
                single(Leaf::Timestamp(format!("{a}.updated_at")))
            }
            (AttrLocation::Common, "meta", Some("resourceType")) => {
                single(Leaf::Text(quote_key(rt.name)))
            }
            (AttrLocation::Common, "meta", Some("version")) => {
                single(Leaf::Text(format!("'W/\"' || {a}.version::text || '\"'")))
            }
            (AttrLocation::Common, "meta", Some("location")) => {
                let base = self.base();
                single(Leaf::Text(format!(
                    "({base} || {} || {a}.id::text)",
                    quote_key(&format!("{}/", rt.endpoint))
                )))
            }
            (AttrLocation::Common, "meta", _) => single(Leaf::Bool("TRUE".into())),
            (AttrLocation::Core, "userName", None) if rt.name == "User" => {
                single(Leaf::Text(format!("{a}.user_name")))
            }
            (AttrLocation::Core, "displayName", None) => {
                single(Leaf::Text(format!("{a}.display_name")))
            }
            (AttrLocation::Core, "active", None) if rt.name == "User" => {
                single(Leaf::Bool(format!("{a}.active")))
            }
            (AttrLocation::Core, "groups", sub) if rt.name == "User" => Some(Operand::Rows {
                relation: Relation::UserGroups,
                sub: sub.and_then(|s| top.sub_attribute(s)),
            }),
            (AttrLocation::Core, "members", sub) if rt.name == "Group" => Some(Operand::Rows {
                relation: Relation::GroupMembers,
                sub: sub.and_then(|s| top.sub_attribute(s)),
            }),
            _ => None,
        }
    }

    fn present(&mut self, value: &Leaf, _attr: &'static AttrDef) {
        match value {
            Leaf::Json(x) => self.out.push("scimd_present(").push(x).push(")"),
            Leaf::Text(x) => self.out.push("(").push(x).push(" <> '')"),
            Leaf::Id(x) | Leaf::Bool(x) | Leaf::Timestamp(x) => {
                self.out.push("(").push(x).push(" IS NOT NULL)")
            }
        };
    }

    fn compare(
        &mut self,
        value: &Leaf,
        attr: &'static AttrDef,
        op: CompareOp,
        expected: &CompValue,
    ) {
        match (value, attr.ty) {
            (Leaf::Json(x), AttrType::String | AttrType::Reference) => {
                let text = format!(
                    "(CASE WHEN jsonb_typeof({x}) IN ('string', 'number') THEN {x} #>> '{{}}' END)"
                );
                self.compare_text(&text, attr.case_exact, op, expected);
            }
            (Leaf::Json(x), AttrType::Boolean) => match (op, expected) {
                (CompareOp::Eq, CompValue::Bool(b)) => {
                    self.out.push("(").push(x).push(if *b {
                        " = 'true'::jsonb)"
                    } else {
                        " = 'false'::jsonb)"
                    });
                }
                _ => {
                    self.out.push("FALSE");
                }
            },
            (Leaf::Json(x), AttrType::Binary) => match (op, expected) {
                (CompareOp::Eq, CompValue::String(s)) => {
                    self.out.push("(").push(x).push(" = to_jsonb(");
                    self.out.bind(Bind::Text(s.clone())).push("::text))");
                }
                _ => {
                    self.out.push("FALSE");
                }
            },
            (Leaf::Json(x), AttrType::Integer | AttrType::Decimal) => match expected {
                CompValue::Number(n) if !op.is_substring() => {
                    self.out
                        .push("(jsonb_typeof(")
                        .push(x)
                        .push(") = 'number' AND (")
                        .push(x);
                    self.out
                        .push(" #>> '{}')::numeric ")
                        .push(sql_op(op))
                        .push(" ");
                    self.out
                        .bind(Bind::Text(n.as_str().to_owned()))
                        .push("::numeric)");
                }
                _ => {
                    self.out.push("FALSE");
                }
            },
            (Leaf::Json(x), AttrType::DateTime) => {
                let expr = format!("scimd_timestamptz(CASE WHEN jsonb_typeof({x}) = 'string' THEN {x} #>> '{{}}' END)");
                self.compare_instant(&expr, op, expected);
            }
            (Leaf::Json(_), AttrType::Complex) => {
                self.out.push("FALSE");
            }
            (Leaf::Text(x), _) => self.compare_text(x, attr.case_exact, op, expected),
            (Leaf::Id(x), _) => {
                let canonical = comp_text(expected)
                    .and_then(|s| Uuid::parse_str(s).ok().filter(|u| u.to_string() == s));
                match (op, canonical) {
                    // The primary key, for `id eq "<uuid>"`.
                    (CompareOp::Eq, Some(id)) => {
                        self.out.push("(").push(x).push(" = ");
                        self.out.bind(Bind::Uuid(id)).push(")");
                    }
                    _ => self.compare_text(&format!("{x}::text"), true, op, expected),
                }
            }
            (Leaf::Bool(x), _) => match (op, expected) {
                (CompareOp::Eq, CompValue::Bool(b)) => {
                    self.out.push("(").push(x).push(" = ");
                    self.out.bind(Bind::Bool(*b)).push(")");
                }
                _ => {
                    self.out.push("FALSE");
                }
            },
            (Leaf::Timestamp(x), _) => self.compare_instant(x, op, expected),
        }
    }

    fn compare_instant(&mut self, expr: &str, op: CompareOp, expected: &CompValue) {
        let instant = match expected {
            CompValue::String(s) => crate::scim::filter::parse_date_time(s),
            _ => None,
        };
        match instant {
            Some(at) if !op.is_substring() => {
                self.out
                    .push("(")
                    .push(expr)
                    .push(" ")
                    .push(sql_op(op))
                    .push(" ");
                self.out
                    .bind(Bind::Timestamp(at.with_timezone(&Utc)))
                    .push(")");
            }
            _ => {
                self.out.push("FALSE");
            }
        }
    }

    fn compare_text(&mut self, expr: &str, case_exact: bool, op: CompareOp, expected: &CompValue) {
        let Some(text) = comp_text(expected) else {
            self.out.push("FALSE");
            return;
        };
        let (lhs, open, close) = if case_exact {
            (expr.to_owned(), "", "")
        } else {
            (format!("lower({expr})"), "lower(", ")")
        };
        let bind = Bind::Text(text.to_owned());
        match op {
            CompareOp::Eq | CompareOp::Ne => {
                self.out
                    .push("(")
                    .push(&lhs)
                    .push(" ")
                    .push(sql_op(op))
                    .push(" ")
                    .push(open);
                self.out.bind(bind).push(close).push(")");
            }
            CompareOp::Co => {
                self.out.push("(strpos(").push(&lhs).push(", ").push(open);
                self.out.bind(bind).push(close).push(") > 0)");
            }
            CompareOp::Sw => {
                self.out
                    .push("starts_with(")
                    .push(&lhs)
                    .push(", ")
                    .push(open);
                self.out.bind(bind).push(close).push(")");
            }
            CompareOp::Ew => {
                self.out
                    .push("(right(")
                    .push(&lhs)
                    .push(", char_length(")
                    .push(open);
                self.out
                    .bind(bind.clone())
                    .push(close)
                    .push(")) = ")
                    .push(open);
                self.out.bind(bind).push(close).push(")");
            }
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
                // Code point order, as the evaluator compares Rust strings.
                self.out
                    .push("((")
                    .push(&lhs)
                    .push(") COLLATE \"C\" ")
                    .push(sql_op(op))
                    .push(" (")
                    .push(open);
                self.out.bind(bind).push(close).push(") COLLATE \"C\")");
            }
        }
    }
}
