//! The nom grammar for filters (RFC 7644 §3.4.2.2), attribute paths (§3.10) and PATCH
//! paths (§3.5.2). Each function documents the rule it parses; the ABNF is in the
//! [module documentation](super).
//!
//! Error handling: a parser returns `Err::Error` while another alternative could still
//! match, and `Err::Failure` (through `cut`) once its branch is committed, so the error
//! the client sees is the one at the place the input went wrong, with a message saying
//! what was expected there and what was found.

use nom::branch::alt;
use nom::bytes::complete::{tag, tag_no_case, take_while, take_while1};
use nom::character::complete::{char, multispace0, multispace1};
use nom::combinator::{cut, map, peek, value};
use nom::error::ErrorKind;
use nom::sequence::{pair, terminated};
use nom::{IResult, Slice};
use nom_locate::LocatedSpan;
use std::borrow::Cow;

use super::ast::{CompValue, CompareOp, Filter, JsonNumber, LogicalOp, ValuePath};
use super::{MAX_DEPTH, MAX_FILTER_LEN};
use crate::scim::error::{column_at, ParseError, ParseErrorKind};
use crate::scim::path::{AttrPath, PatchPath};

/// Input with its byte offset, so errors know where they are.
pub(crate) type Span<'a> = LocatedSpan<&'a str>;

type PResult<'a, T> = IResult<Span<'a>, T, Syntax>;

/// The nom error: an offset into the whole input and a plain-English message.
///
/// Failed alternatives are routine (every `alt` branch that does not match makes one),
/// so building one must be cheap: static messages borrow, and "found …" is only
/// written out by [`run`] for the error the client actually sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Syntax {
    offset: usize,
    message: Cow<'static, str>,
    /// Append ", found <what is at offset>" when rendering.
    append_found: bool,
    /// Where in `message` to insert the column of another offset (an unclosed bracket);
    /// columns need the whole input, which only [`run`] has.
    column_of: Option<(usize, usize)>,
}

impl Syntax {
    fn new(at: Span<'_>, message: impl Into<Cow<'static, str>>) -> Syntax {
        Syntax {
            offset: at.location_offset(),
            message: message.into(),
            append_found: false,
            column_of: None,
        }
    }

    /// The message the client reads.
    fn render(self, input: &str) -> String {
        let mut message = self.message.into_owned();
        if let Some((at, offset)) = self.column_of {
            if message.is_char_boundary(at) {
                message.insert_str(at, &column_at(input, offset).to_string());
            }
        }
        if self.append_found {
            message.push_str(", found ");
            message.push_str(&found_str(input.get(self.offset..).unwrap_or("")));
        }
        message
    }
}

impl<'a> nom::error::ParseError<Span<'a>> for Syntax {
    fn from_error_kind(input: Span<'a>, kind: ErrorKind) -> Self {
        // Only reaches the client where a combinator fails before one of the explicit
        // messages below could be attached; it still reads as English and has the position.
        let what = match kind {
            ErrorKind::Eof => "expected the end of the input",
            ErrorKind::MultiSpace => "expected a space",
            _ => "unexpected input",
        };
        Syntax {
            append_found: true,
            ..Syntax::new(input, what)
        }
    }

    fn append(_: Span<'a>, _: ErrorKind, other: Self) -> Self {
        other
    }

    /// Of two failed alternatives, the one that got further explains more.
    fn or(self, other: Self) -> Self {
        if other.offset >= self.offset {
            other
        } else {
            self
        }
    }
}

/// A recoverable error: another alternative may still match.
fn error<T>(at: Span<'_>, message: impl Into<Cow<'static, str>>) -> PResult<'_, T> {
    Err(nom::Err::Error(Syntax::new(at, message)))
}

/// A committed error: the input is wrong here.
fn failure<T>(at: Span<'_>, message: impl Into<Cow<'static, str>>) -> PResult<'_, T> {
    Err(nom::Err::Failure(Syntax::new(at, message)))
}

/// Describes what comes next in the input, for "found …" in messages.
fn found(input: Span<'_>) -> String {
    found_str(input.fragment())
}

fn found_str(rest: &str) -> String {
    let Some(first) = rest.chars().next() else {
        return "the end of the input".to_owned();
    };
    if is_delimiter(first) {
        return format!("'{first}'");
    }
    if first.is_control() {
        return format!("the control character U+{:04X}", u32::from(first));
    }
    let token: String = rest
        .chars()
        .take_while(|&c| !is_token_end(c))
        .take(24)
        .collect();
    if token.len() < rest.len() && rest[token.len()..].starts_with(|c: char| !is_token_end(c)) {
        format!("'{token}…'")
    } else {
        format!("'{token}'")
    }
}

fn is_delimiter(c: char) -> bool {
    matches!(c, '(' | ')' | '[' | ']' | '"' | ',')
}

fn is_token_end(c: char) -> bool {
    c.is_whitespace() || c.is_control() || is_delimiter(c)
}

/// How deep the parser is, and whether it is inside a value path's brackets.
#[derive(Debug, Clone, Copy)]
struct Level {
    depth: usize,
    in_value_path: bool,
}

impl Level {
    const TOP: Level = Level {
        depth: 0,
        in_value_path: false,
    };

    /// One level deeper (a `(`, `not (` or `[`), or the depth error: the limit protects
    /// the stack from inputs such as 10 000 `(`.
    fn deeper(self, at: Span<'_>) -> Result<Level, nom::Err<Syntax>> {
        if self.depth >= MAX_DEPTH {
            return Err(nom::Err::Failure(Syntax::new(
                at,
                format!("the filter is nested too deeply (more than {MAX_DEPTH} levels of '(', 'not' and '[')"),
            )));
        }
        Ok(Level {
            depth: self.depth + 1,
            ..self
        })
    }
}

// ---------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------

pub(crate) fn parse_filter(input: &str) -> Result<super::Filter, ParseError> {
    run(input, ParseErrorKind::Filter, |i| {
        let (i, filter) = filter(i, Level::TOP)?;
        end_of_input(i, "'and', 'or' or the end of the filter")?;
        Ok((i, filter))
    })
}

pub(crate) fn parse_attr_path(input: &str) -> Result<AttrPath, ParseError> {
    run(input, ParseErrorKind::Path, |i| {
        let (i, _) = multispace0(i)?;
        let (i, path) = attr_path(i)?;
        let (i, _) = multispace0(i)?;
        end_of_input(i, "the end of the attribute path")?;
        Ok((i, path))
    })
}

pub(crate) fn parse_patch_path(input: &str) -> Result<PatchPath, ParseError> {
    run(input, ParseErrorKind::Path, |i| {
        let (i, _) = multispace0(i)?;
        let (i, path) = patch_path(i)?;
        let (i, _) = multispace0(i)?;
        end_of_input(i, "the end of the path")?;
        Ok((i, path))
    })
}

pub(crate) fn parse_attr_list(input: &str) -> Result<Vec<AttrPath>, ParseError> {
    run(input, ParseErrorKind::Path, attr_list)
}

/// Applies the length limit, runs `parser` and turns its error into a [`ParseError`].
fn run<T>(
    input: &str,
    kind: ParseErrorKind,
    mut parser: impl FnMut(Span<'_>) -> PResult<'_, T>,
) -> Result<T, ParseError> {
    if input.len() > MAX_FILTER_LEN {
        return Err(ParseError::new(
            kind,
            input,
            MAX_FILTER_LEN,
            format!(
                "the input is too long ({} bytes; the limit is {MAX_FILTER_LEN})",
                input.len()
            ),
        ));
    }
    match parser(Span::new(input)) {
        Ok((_, value)) => Ok(value),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
            let offset = e.offset;
            Err(ParseError::new(kind, input, offset, e.render(input)))
        }
        // Only streaming parsers return Incomplete and none is used here.
        Err(nom::Err::Incomplete(_)) => Err(ParseError::new(
            kind,
            input,
            input.len(),
            "unexpected end of the input",
        )),
    }
}

fn end_of_input<'a>(i: Span<'a>, expected: &str) -> PResult<'a, ()> {
    if i.fragment().is_empty() {
        Ok((i, ()))
    } else {
        failure(i, format!("expected {expected}, found {}", found(i)))
    }
}

// ---------------------------------------------------------------------------------------
// FILTER
// ---------------------------------------------------------------------------------------

/// `FILTER = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"`
///
/// `logExp = FILTER SP ("and" / "or") SP FILTER` is left-recursive and says nothing about
/// precedence, so it is parsed in two levels, "or" over "and" over terms (RFC 7644
/// §3.4.2.2: "not" > "and" > "or"). Surrounding whitespace is skipped.
fn filter(i: Span<'_>, level: Level) -> PResult<'_, Filter> {
    let (i, _) = multispace0(i)?;
    let (i, filter) = or_exp(i, level)?;
    let (i, _) = multispace0(i)?;
    Ok((i, filter))
}

/// `orExp = andExp *(SP "or" SP andExp)`, left-associative.
fn or_exp(i: Span<'_>, level: Level) -> PResult<'_, Filter> {
    let (mut i, mut left) = and_exp(i, level)?;
    loop {
        match logical_op(LogicalOp::Or)(i) {
            Ok((rest, op)) => {
                let (rest, right) = cut(|i| and_exp(i, level))(rest)?;
                left = Filter::log_exp(op, left, right);
                i = rest;
            }
            Err(nom::Err::Error(_)) => return Ok((i, left)),
            Err(e) => return Err(e),
        }
    }
}

/// `andExp = term *(SP "and" SP term)`, left-associative.
fn and_exp(i: Span<'_>, level: Level) -> PResult<'_, Filter> {
    let (mut i, mut left) = term(i, level)?;
    loop {
        match logical_op(LogicalOp::And)(i) {
            Ok((rest, op)) => {
                let (rest, right) = cut(|i| term(i, level))(rest)?;
                left = Filter::log_exp(op, left, right);
                i = rest;
            }
            Err(nom::Err::Error(_)) => return Ok((i, left)),
            Err(e) => return Err(e),
        }
    }
}

/// `SP ("and" / "or") SP`: the keyword, case-insensitive, as a whole word, with any
/// whitespace around it (leniency 2).
fn logical_op<'a>(op: LogicalOp) -> impl FnMut(Span<'a>) -> PResult<'a, LogicalOp> {
    move |i| {
        let (i, _) = multispace0(i)?;
        let (i, op) = value(op, tag_no_case(op.as_str()))(i)?;
        let (i, _) = peek(keyword_end)(i)?;
        let (i, _) = multispace0(i)?;
        Ok((i, op))
    }
}

/// The end of `and` / `or`: anything but a name character, so `andrew` is no keyword.
/// A keyword followed by `)` or the end of the input is still a keyword, which then fails
/// with "expected an attribute name" rather than "unexpected 'and'".
fn keyword_end(i: Span<'_>) -> PResult<'_, ()> {
    match i.fragment().chars().next() {
        Some(c) if is_path_char(c) => error(i, "expected the end of a word"),
        _ => Ok((i, ())),
    }
}

/// `term = "not" "(" FILTER ")" / "(" FILTER ")" / valuePath / attrExp`
fn term(i: Span<'_>, level: Level) -> PResult<'_, Filter> {
    alt((
        |i| not_group(i, level),
        |i| group(i, level),
        |i| attr_term(i, level),
    ))(i)
}

/// `"not" "(" FILTER ")"`. The RFC's examples write a space before the parenthesis
/// (`not (emails co "example.com")`), so any whitespace is allowed there. Without the
/// parenthesis, `not` is an attribute name.
fn not_group(i: Span<'_>, level: Level) -> PResult<'_, Filter> {
    let (i, _) = pair(tag_no_case("not"), multispace0)(i)?;
    let (_, _) = peek(tag("("))(i)?;
    // `not (` is one level: `group` counts its parenthesis.
    let (i, inner) = group(i, level)?;
    Ok((i, Filter::not(inner)))
}

/// `"(" FILTER ")"`: grouping. Committed after the `(`.
fn group(i: Span<'_>, level: Level) -> PResult<'_, Filter> {
    let (i, open) = tag("(")(i)?;
    let level = level.deeper(open)?;
    let (i, inner) = cut(|i| filter(i, level))(i)?;
    let (i, _) = closing(i, ')', open, "'and', 'or' or ')'")?;
    Ok((i, inner))
}

/// The `)` or `]` that closes `open`, or an error saying which bracket is unclosed.
fn closing<'a>(i: Span<'a>, close: char, open: Span<'_>, expected: &str) -> PResult<'a, char> {
    match char::<_, Syntax>(close)(i) {
        Ok(ok) => Ok(ok),
        Err(_) => {
            let bracket = open.fragment().chars().next().unwrap_or(' ');
            let prefix = format!("expected {expected} to close the '{bracket}' at column ");
            Err(nom::Err::Failure(Syntax {
                column_of: Some((prefix.len(), open.location_offset())),
                ..Syntax::new(i, format!("{prefix}, found {}", found(i)))
            }))
        }
    }
}

/// `valuePath / attrExp`: both start with an attrPath; a `[` after it makes a valuePath.
fn attr_term(i: Span<'_>, level: Level) -> PResult<'_, Filter> {
    let (rest, path) = match attr_path(i) {
        Ok(ok) => ok,
        Err(nom::Err::Error(_)) => {
            return error(
                i,
                format!(
                    "expected an attribute name, '(' or 'not', found {}",
                    found(i)
                ),
            )
        }
        Err(e) => return Err(e),
    };
    if rest.fragment().starts_with('[') {
        if level.in_value_path {
            return failure(
                rest,
                "a value filter cannot contain another value filter ('[' inside '[…]')",
            );
        }
        let (rest, value_path) = value_path(rest, path, level)?;
        return match rest.fragment().strip_prefix('.') {
            Some(_) => value_path_comparison(rest, value_path),
            None => Ok((rest, Filter::ValuePath(value_path))),
        };
    }
    let mut committed = cut(move |i| attr_exp(i, path.clone()));
    committed(rest)
}

/// `valuePath = attrPath "[" valFilter "]"`, from the `[`, with
/// `valFilter = attrExp / logExp / *1"not" "(" valFilter ")"` (errata 7322): a FILTER
/// without value paths.
fn value_path(i: Span<'_>, attr: AttrPath, level: Level) -> PResult<'_, ValuePath> {
    let (i, open) = tag("[")(i)?;
    let level = Level {
        in_value_path: true,
        ..level.deeper(open)?
    };
    let (i, inner) = cut(|i| filter(i, level))(i)?;
    let (i, _) = closing(i, ']', open, "'and', 'or' or ']'")?;
    Ok((
        i,
        ValuePath {
            attr,
            filter: Box::new(inner),
        },
    ))
}

/// Leniency: `valuePath subAttr SP compareOp SP compValue` (and `… SP "pr"`), e.g.
/// `emails[type eq "work"].value eq "a@b.c"`, which clients write when a PATCH-style path
/// is their matching attribute. It is read as
/// `emails[type eq "work" and value eq "a@b.c"]`: some element matches both.
fn value_path_comparison(i: Span<'_>, value_path: ValuePath) -> PResult<'_, Filter> {
    let (i, sub_attr) = cut(sub_attr)(i)?;
    let (i, exp) = cut(|i| attr_exp(i, AttrPath::new(sub_attr.clone())))(i)?;
    let ValuePath { attr, filter } = value_path;
    Ok((i, Filter::value_path(attr, Filter::and(*filter, exp))))
}

/// `attrExp = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)`, from after the
/// attrPath.
fn attr_exp(i: Span<'_>, path: AttrPath) -> PResult<'_, Filter> {
    let (i, _) = match multispace1::<_, Syntax>(i) {
        Ok(ok) => ok,
        Err(_) => {
            return failure(
                i,
                format!("expected an operator after '{path}', found {}", found(i)),
            )
        }
    };
    if let Ok((rest, _)) = keyword("pr")(i) {
        return Ok((rest, Filter::present(path)));
    }
    let (i, op) = match compare_op(i) {
        Err(nom::Err::Failure(_))
            if path.uri.is_none()
                && path.sub_attr.is_none()
                && path.name.eq_ignore_ascii_case("not") =>
        {
            // `not userName eq "x"`: the RFC's "not" always takes parentheses.
            return failure(i, format!("expected '(' after 'not', found {}", found(i)));
        }
        other => other?,
    };
    let (i, _) = match multispace1::<_, Syntax>(i) {
        Ok(ok) => ok,
        Err(_) => {
            return failure(
                i,
                format!("expected a value after '{op}', found {}", found(i)),
            )
        }
    };
    let (i, value) = comp_value(i, op)?;
    Ok((i, Filter::compare(path, op, value)))
}

/// A keyword, case-insensitive, as a whole word.
fn keyword<'a>(word: &'static str) -> impl FnMut(Span<'a>) -> PResult<'a, Span<'a>> {
    terminated(tag_no_case(word), peek(word_end))
}

/// The end of a word: the end of the input, whitespace or a bracket.
fn word_end(i: Span<'_>) -> PResult<'_, ()> {
    match i.fragment().chars().next() {
        None => Ok((i, ())),
        Some(c) if c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']') => Ok((i, ())),
        Some(_) => error(i, "expected the end of a word"),
    }
}

/// `compareOp = "eq" / "ne" / "co" / "sw" / "ew" / "gt" / "lt" / "ge" / "le"`,
/// case-insensitive (RFC 7644 §3.4.2.2: "attribute operators … are case insensitive").
fn compare_op(i: Span<'_>) -> PResult<'_, CompareOp> {
    let op = alt((
        value(CompareOp::Eq, keyword("eq")),
        value(CompareOp::Ne, keyword("ne")),
        value(CompareOp::Co, keyword("co")),
        value(CompareOp::Sw, keyword("sw")),
        value(CompareOp::Ew, keyword("ew")),
        value(CompareOp::Gt, keyword("gt")),
        value(CompareOp::Lt, keyword("lt")),
        value(CompareOp::Ge, keyword("ge")),
        value(CompareOp::Le, keyword("le")),
    ))(i);
    match op {
        Ok(ok) => Ok(ok),
        Err(_) => {
            // RFC 7644 §3.4.2.2: "The operator 'regex' is not supported."
            let word: String = i
                .fragment()
                .chars()
                .take_while(|c| !is_token_end(*c))
                .collect();
            if word.is_empty() {
                failure(
                    i,
                    format!(
                        "expected an operator (eq, ne, co, sw, ew, gt, lt, ge, le or pr), found {}",
                        found(i)
                    ),
                )
            } else {
                failure(
                    i,
                    format!(
                        "unknown operator {}; expected eq, ne, co, sw, ew, gt, lt, ge, le or pr",
                        found(i)
                    ),
                )
            }
        }
    }
}

/// `compValue = false / null / true / number / string` (RFC 7159 rules).
///
/// Leniency: a bare word (a run of characters up to whitespace, a control character or one
/// of `()[]"`) that is
/// not `true`, `false`, `null` or a JSON number is a string: Microsoft's reference
/// collection sends `userName sw O` and
/// `meta.Created gt 2015-10-10T14:38:21.8617979-07:00`.
fn comp_value(i: Span<'_>, op: CompareOp) -> PResult<'_, CompValue> {
    if i.fragment().starts_with('"') {
        return map(json_string, CompValue::String)(i);
    }
    let (rest, word) = match take_while1::<_, _, Syntax>(|c| !is_token_end(c))(i) {
        Ok(ok) => ok,
        Err(_) => {
            return failure(
                i,
                format!("expected a value after '{op}', found {}", found(i)),
            )
        }
    };
    let value = match *word.fragment() {
        "true" => CompValue::Bool(true),
        "false" => CompValue::Bool(false),
        "null" => CompValue::Null,
        text => match JsonNumber::parse(text) {
            Some(number) => CompValue::Number(number),
            None => CompValue::String(text.to_owned()),
        },
    };
    Ok((rest, value))
}

/// `string = quotation-mark *char quotation-mark` (RFC 7159 §7), with every escape:
/// `\" \\ \/ \b \f \n \r \t \uXXXX`, surrogate pairs included. Committed after the `"`.
fn json_string(i: Span<'_>) -> PResult<'_, String> {
    let (body, open) = tag("\"")(i)?;
    let text = *body.fragment();
    let mut out = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Ok((body.slice(at + 1..), out)),
            '\\' => {
                let escape = body.slice(at..);
                let Some((_, e)) = chars.next() else { break };
                let decoded = match e {
                    '"' => '"',
                    '\\' => '\\',
                    '/' => '/',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'u' => {
                        let high = hex4(&mut chars, escape)?;
                        unicode_escape(high, &mut chars, escape)?
                    }
                    other => {
                        return failure(
                            escape,
                            format!("invalid escape '\\{other}' in string; JSON allows \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX"),
                        )
                    }
                };
                out.push(decoded);
            }
            c if u32::from(c) < 0x20 => {
                return failure(
                    body.slice(at..),
                    format!(
                        "control character U+{:04X} must be escaped in a string",
                        u32::from(c)
                    ),
                )
            }
            c => out.push(c),
        }
    }
    failure(open, "unterminated string: no closing '\"'")
}

/// The four hex digits of a `\u` escape.
fn hex4<'a>(
    chars: &mut std::str::CharIndices<'_>,
    escape: Span<'a>,
) -> Result<u32, nom::Err<Syntax>> {
    let mut code = 0;
    for _ in 0..4 {
        match chars.next().and_then(|(_, c)| c.to_digit(16)) {
            Some(d) => code = code * 16 + d,
            None => {
                return Err(nom::Err::Failure(Syntax::new(
                    escape,
                    "'\\u' must be followed by four hex digits",
                )))
            }
        }
    }
    Ok(code)
}

/// A `\uXXXX` escape, reading the low half of a surrogate pair (`\uD83D\uDE00`) when
/// `high` is a high surrogate.
fn unicode_escape<'a>(
    high: u32,
    chars: &mut std::str::CharIndices<'_>,
    escape: Span<'a>,
) -> Result<char, nom::Err<Syntax>> {
    let unpaired = || {
        nom::Err::Failure(Syntax::new(
            escape,
            format!("unpaired surrogate '\\u{high:04X}' in string"),
        ))
    };
    let code = match high {
        0xD800..=0xDBFF => {
            let backslash = chars.next().map(|(_, c)| c);
            let u = chars.next().map(|(_, c)| c);
            if backslash != Some('\\') || u != Some('u') {
                return Err(unpaired());
            }
            let low = hex4(chars, escape)?;
            if !(0xDC00..=0xDFFF).contains(&low) {
                return Err(unpaired());
            }
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        }
        0xDC00..=0xDFFF => return Err(unpaired()),
        code => code,
    };
    char::from_u32(code).ok_or_else(unpaired)
}

// ---------------------------------------------------------------------------------------
// attrPath
// ---------------------------------------------------------------------------------------

/// `attrPath = [URI ":"] ATTRNAME *1subAttr`
///
/// The path is read as one run of URI and name characters, then split at the last `:`:
/// URNs contain `:` and `.` (`…:core:2.0:User:name.givenName`), and the attribute name is
/// whatever follows the last `:`.
fn attr_path(i: Span<'_>) -> PResult<'_, AttrPath> {
    let (rest, token) = match take_while1::<_, _, Syntax>(is_path_char)(i) {
        Ok(ok) => ok,
        Err(_) => return error(i, format!("expected an attribute name, found {}", found(i))),
    };
    let text = *token.fragment();
    let (uri, name_at) = match text.rfind(':') {
        Some(0) => {
            return failure(token, "expected a schema URI before ':'");
        }
        Some(colon) => (Some(text[..colon].to_owned()), colon + 1),
        None => (None, 0),
    };
    let names = token.slice(name_at..);
    if uri.is_some() && names.fragment().is_empty() {
        return failure(
            names,
            "expected an attribute name after the schema URI's ':'",
        );
    }
    let (after_name, name) = cut(attr_name)(names)?;
    let (after_sub, sub_attr) = match after_name.fragment().strip_prefix('.') {
        Some(_) => {
            let (after_sub, sub) = cut(sub_attr)(after_name)?;
            (after_sub, Some(sub))
        }
        None => (after_name, None),
    };
    if let Some(extra) = after_sub.fragment().chars().next() {
        let message = if extra == '.' {
            "an attribute path has at most one sub-attribute (RFC 7644 §3.10)".to_owned()
        } else {
            format!("'{extra}' is not allowed in an attribute name")
        };
        return failure(after_sub, message);
    }
    Ok((
        rest,
        AttrPath {
            uri,
            name,
            sub_attr,
        },
    ))
}

/// `subAttr = "." ATTRNAME`
fn sub_attr(i: Span<'_>) -> PResult<'_, String> {
    let (i, _) = tag(".")(i)?;
    match attr_name(i) {
        Err(nom::Err::Error(e)) if e.offset == i.location_offset() && i.fragment().is_empty() => {
            failure(i, "expected a sub-attribute name after '.'")
        }
        Err(nom::Err::Error(e)) => Err(nom::Err::Failure(e)),
        other => other,
    }
}

/// `ATTRNAME = ALPHA *(nameChar)`, `nameChar = "-" / "_" / DIGIT / ALPHA`.
///
/// Leniency: a leading `$` is allowed, for `$ref` (RFC 7643 §2.4).
fn attr_name(i: Span<'_>) -> PResult<'_, String> {
    let first = i.fragment().chars().next();
    match first {
        Some(c) if c.is_ascii_alphabetic() || c == '$' => {}
        Some(c) if is_path_char(c) && !matches!(c, ':' | '.') => {
            return error(
                i,
                format!("an attribute name must start with a letter, found '{c}'"),
            )
        }
        _ => {
            return error(
                i,
                format!("expected an attribute name, found {}", found_in_path(i)),
            )
        }
    }
    let (rest, name) =
        take_while(|c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))(i.slice(1..))?;
    let mut out = String::with_capacity(name.len() + 1);
    out.push(first.unwrap_or('$'));
    out.push_str(name.fragment());
    Ok((rest, out))
}

/// "found" for a position inside a path token, where the next character is the news.
fn found_in_path(i: Span<'_>) -> String {
    match i.fragment().chars().next() {
        None => "the end of the attribute path".to_owned(),
        Some(c) => format!("'{c}'"),
    }
}

/// The characters of a URI (as SCIM schema URNs use them) and of attribute names.
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '-' | '_' | '$')
}

// ---------------------------------------------------------------------------------------
// PATCH path and attribute lists
// ---------------------------------------------------------------------------------------

/// `PATH = attrPath / valuePath [subAttr]` (RFC 7644 §3.5.2).
fn patch_path(i: Span<'_>) -> PResult<'_, PatchPath> {
    let (i, attr) = match attr_path(i) {
        Ok(ok) => ok,
        Err(nom::Err::Error(e)) => return Err(nom::Err::Failure(e)),
        Err(e) => return Err(e),
    };
    if !i.fragment().starts_with('[') {
        return Ok((i, PatchPath::Attr(attr)));
    }
    let (i, value_path) = value_path(i, attr, Level::TOP)?;
    let (i, sub_attr) = if i.fragment().starts_with('.') {
        let (i, sub) = cut(sub_attr)(i)?;
        (i, Some(sub))
    } else {
        (i, None)
    };
    Ok((
        i,
        PatchPath::ValuePath {
            value_path,
            sub_attr,
        },
    ))
}

/// `attrList = attrPath *("," attrPath)` (RFC 7644 §3.4.2.5), with the leniencies listed
/// in [`crate::scim::path`]: spaces and empty items are skipped, and a value filter after
/// an attribute is checked and dropped.
fn attr_list(mut i: Span<'_>) -> PResult<'_, Vec<AttrPath>> {
    let mut paths = Vec::new();
    loop {
        let (rest, _) = take_while(|c: char| c.is_whitespace() || c == ',')(i)?;
        if rest.fragment().is_empty() {
            return Ok((rest, paths));
        }
        let (rest, path) = match attr_path(rest) {
            Ok(ok) => ok,
            Err(nom::Err::Error(e)) => return Err(nom::Err::Failure(e)),
            Err(e) => return Err(e),
        };
        let rest = if rest.fragment().starts_with('[') {
            value_path(rest, path.clone(), Level::TOP)?.0
        } else {
            rest
        };
        paths.push(path);
        let (rest, _) = multispace0(rest)?;
        if !rest.fragment().is_empty() && !rest.fragment().starts_with(',') {
            return failure(
                rest,
                format!("expected ',' or the end of the list, found {}", found(rest)),
            );
        }
        i = rest;
    }
}
