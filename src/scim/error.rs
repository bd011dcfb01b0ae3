//! The syntax error of filters (RFC 7644 §3.4.2.2) and attribute paths (§3.5.2, §3.10).

/// Which grammar was being parsed, and so which `scimType` the error carries
/// (RFC 7644 §3.12, Table 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParseErrorKind {
    /// A `filter` parameter or a `.search` body's filter: `invalidFilter`.
    Filter,
    /// A PATCH `path`, an `attributes` / `excludedAttributes` list or `sortBy`:
    /// `invalidPath`.
    Path,
}

/// A syntax error: where it is and what is wrong, in plain English.
///
/// The HTTP layer answers it with `400`, `scimType` from [`ParseError::scim_type`] and
/// `detail` from [`ParseError::detail`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at column {column}")]
pub struct ParseError {
    pub kind: ParseErrorKind,
    /// Byte offset into the input, always on a character boundary and at most its length.
    pub offset: usize,
    /// 1-based column, counted in characters (not bytes) from the start of the input.
    pub column: usize,
    /// What is wrong, without the position, e.g. `expected ']' to close '[' at column 7`.
    pub message: String,
}

impl ParseError {
    /// Builds an error at byte `offset` of `input`, computing the column. An offset past the
    /// end or inside a character is moved back to the nearest boundary, so positions are
    /// always in range.
    pub fn new(
        kind: ParseErrorKind,
        input: &str,
        offset: usize,
        message: impl Into<String>,
    ) -> ParseError {
        let mut offset = offset.min(input.len());
        while !input.is_char_boundary(offset) {
            offset -= 1;
        }
        ParseError {
            kind,
            offset,
            column: column_at(input, offset),
            message: message.into(),
        }
    }

    /// The RFC 7644 §3.12 `scimType`: `invalidFilter` or `invalidPath`.
    pub fn scim_type(&self) -> &'static str {
        match self.kind {
            ParseErrorKind::Filter => "invalidFilter",
            ParseErrorKind::Path => "invalidPath",
        }
    }

    /// The `detail` text: `"<message> at column N"`.
    pub fn detail(&self) -> String {
        self.to_string()
    }
}

/// 1-based column of byte `offset` in `input`, in characters.
pub(crate) fn column_at(input: &str, offset: usize) -> usize {
    input.get(..offset).map_or(0, |s| s.chars().count()) + 1
}
