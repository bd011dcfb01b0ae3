//! The filter AST, named after the rules of RFC 7644 §3.4.2.2, and its canonical
//! [`Display`](fmt::Display) form.
//!
//! The canonical form writes operators and keywords in lower case, strings as JSON strings,
//! numbers as the client wrote them, single spaces between tokens, `not (…)` always with
//! its parentheses (the grammar requires them) and other parentheses only where precedence
//! needs them, so that `parse(display(ast)) == ast` (as long as the canonical form fits in
//! [`MAX_FILTER_LEN`](super::MAX_FILTER_LEN): escaping can make it longer than the input,
//! e.g. a raw U+0000 in a string becomes `\u0000`).

use std::fmt;

use crate::scim::path::AttrPath;

/// `FILTER = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"`.
///
/// Grouping parentheses leave no node: `(a pr)` parses to the same tree as `a pr`.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    AttrExp(AttrExp),
    LogExp(LogExp),
    ValuePath(ValuePath),
    /// `"not" "(" FILTER ")"`.
    Not(Box<Filter>),
}

/// `attrExp = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)`.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrExp {
    Present(AttrPath),
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: CompValue,
    },
}

/// `logExp = FILTER SP ("and" / "or") SP FILTER`. Chains are left-associative:
/// `a and b and c` is `(a and b) and c`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogExp {
    pub op: LogicalOp,
    pub left: Box<Filter>,
    pub right: Box<Filter>,
}

/// `valuePath = attrPath "[" valFilter "]"`: inside the brackets, attribute names are
/// sub-attributes of `attr`, and no further value path may appear (RFC 7644 errata 4690
/// and 7322).
#[derive(Debug, Clone, PartialEq)]
pub struct ValuePath {
    pub attr: AttrPath,
    pub filter: Box<Filter>,
}

/// `compareOp = "eq" / "ne" / "co" / "sw" / "ew" / "gt" / "lt" / "ge" / "le"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Lt,
    Ge,
    Le,
}

impl CompareOp {
    pub const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Lt,
        CompareOp::Ge,
        CompareOp::Le,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Lt => "lt",
            CompareOp::Ge => "ge",
            CompareOp::Le => "le",
        }
    }

    /// `gt`, `ge`, `lt`, `le`.
    pub fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
        )
    }

    /// `co`, `sw`, `ew`.
    pub fn is_substring(self) -> bool {
        matches!(self, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `"and" / "or"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogicalOp {
    And,
    Or,
}

impl LogicalOp {
    pub fn as_str(self) -> &'static str {
        match self {
            LogicalOp::And => "and",
            LogicalOp::Or => "or",
        }
    }
}

/// `compValue = false / null / true / number / string` (JSON, RFC 7159), kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CompValue {
    Null,
    Bool(bool),
    Number(JsonNumber),
    String(String),
}

/// A JSON number (RFC 7159 §6) exactly as the client wrote it, e.g. `-1.50e+3`. It can
/// only hold text that matches the JSON number grammar.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JsonNumber(String);

impl JsonNumber {
    /// `number = [ minus ] int [ frac ] [ exp ]` (RFC 7159 §6); `None` for anything else.
    pub fn parse(text: &str) -> Option<JsonNumber> {
        let b = text.as_bytes();
        let mut i = 0;
        let digits = |i: &mut usize| {
            let start = *i;
            while b.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i > start
        };
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        // int = zero / ( digit1-9 *DIGIT )
        if b.get(i) == Some(&b'0') {
            i += 1;
        } else if !digits(&mut i) {
            return None;
        }
        // frac = decimal-point 1*DIGIT
        if b.get(i) == Some(&b'.') {
            i += 1;
            if !digits(&mut i) {
                return None;
            }
        }
        // exp = e [ minus / plus ] 1*DIGIT
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'-' | b'+')) {
                i += 1;
            }
            if !digits(&mut i) {
                return None;
            }
        }
        (i == b.len()).then(|| JsonNumber(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value as an `i64` when it is written as an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        self.0.parse().ok()
    }

    /// The value as the nearest `f64` (always some for valid JSON numbers; huge exponents
    /// give infinity).
    pub fn as_f64(&self) -> f64 {
        self.0.parse().unwrap_or(f64::NAN)
    }
}

impl fmt::Display for JsonNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Filter {
    pub fn present(path: AttrPath) -> Filter {
        Filter::AttrExp(AttrExp::Present(path))
    }

    pub fn compare(path: AttrPath, op: CompareOp, value: CompValue) -> Filter {
        Filter::AttrExp(AttrExp::Compare { path, op, value })
    }

    pub fn and(left: Filter, right: Filter) -> Filter {
        Filter::log_exp(LogicalOp::And, left, right)
    }

    pub fn or(left: Filter, right: Filter) -> Filter {
        Filter::log_exp(LogicalOp::Or, left, right)
    }

    pub fn log_exp(op: LogicalOp, left: Filter, right: Filter) -> Filter {
        Filter::LogExp(LogExp {
            op,
            left: Box::new(left),
            right: Box::new(right),
        })
    }

    #[expect(
        clippy::should_implement_trait,
        reason = "builds a node, not std::ops::Not"
    )]
    pub fn not(inner: Filter) -> Filter {
        Filter::Not(Box::new(inner))
    }

    pub fn value_path(attr: AttrPath, filter: Filter) -> Filter {
        Filter::ValuePath(ValuePath {
            attr,
            filter: Box::new(filter),
        })
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::AttrExp(exp) => exp.fmt(f),
            Filter::ValuePath(vp) => vp.fmt(f),
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::LogExp(LogExp { op, left, right }) => {
                // "not" > "and" > "or" (RFC 7644 §3.4.2.2); chains associate to the left,
                // so a right operand of the same operator keeps its parentheses.
                let left_parens = *op == LogicalOp::And && is_log(left, LogicalOp::Or);
                let right_parens = match op {
                    LogicalOp::And => matches!(**right, Filter::LogExp(_)),
                    LogicalOp::Or => is_log(right, LogicalOp::Or),
                };
                write_operand(f, left, left_parens)?;
                write!(f, " {} ", op.as_str())?;
                write_operand(f, right, right_parens)
            }
        }
    }
}

fn is_log(filter: &Filter, op: LogicalOp) -> bool {
    matches!(filter, Filter::LogExp(exp) if exp.op == op)
}

fn write_operand(f: &mut fmt::Formatter<'_>, filter: &Filter, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({filter})")
    } else {
        fmt::Display::fmt(filter, f)
    }
}

impl fmt::Display for AttrExp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrExp::Present(path) => write!(f, "{path} pr"),
            AttrExp::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
        }
    }
}

impl fmt::Display for ValuePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.attr, self.filter)
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => n.fmt(f),
            CompValue::String(s) => write_json_string(f, s),
        }
    }
}

/// A JSON string (RFC 7159 §7): quotes, backslashes and control characters escaped,
/// everything else as is.
fn write_json_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            '\u{8}' => f.write_str("\\b")?,
            '\u{c}' => f.write_str("\\f")?,
            c if u32::from(c) < 0x20 => write!(f, "\\u{:04x}", u32::from(c))?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}
