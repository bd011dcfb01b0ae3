//! What PostgreSQL can store and index, checked before a write so that a client's value
//! is a 400, not a database error: text cannot hold U+0000, and a btree index entry must
//! stay well under a page (the indexed SCIM attributes are capped at 1,024 bytes).

use serde_json::Value;

use crate::error::Error;

/// The longest value of an indexed attribute (userName, externalId, displayName, email).
pub const MAX_INDEXED: usize = 1024;

fn nul(what: &str) -> Error {
    Error::InvalidValue(format!(
        "{what} contains a NUL character (U+0000), which cannot be stored"
    ))
}

/// A text value: no NUL.
pub fn text(value: &str, what: &str) -> Result<(), Error> {
    if value.contains('\0') {
        return Err(nul(what));
    }
    Ok(())
}

/// An indexed text value: no NUL, at most [`MAX_INDEXED`] bytes.
pub fn indexed(value: Option<&str>, what: &str) -> Result<(), Error> {
    let Some(value) = value else { return Ok(()) };
    text(value, what)?;
    if value.len() > MAX_INDEXED {
        return Err(Error::InvalidValue(format!(
            "{what} is longer than {MAX_INDEXED} bytes"
        )));
    }
    Ok(())
}

/// Every string and key of a JSON document: no NUL (jsonb cannot hold U+0000).
pub fn json(value: &Value) -> Result<(), Error> {
    match value {
        Value::String(s) => text(s, "a value"),
        Value::Array(items) => items.iter().try_for_each(json),
        Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            text(k, "an attribute name")?;
            json(v)
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_anywhere_and_overlong_indexed_values_are_refused() {
        assert!(json(&json!({"a": ["ok", {"b": "x\u{0}"}]})).is_err());
        assert!(json(&json!({"k\u{0}": 1})).is_err());
        assert!(json(&json!({"a": ["ok", {"b": "fine"}]})).is_ok());
        assert!(indexed(Some(&"x".repeat(MAX_INDEXED)), "userName").is_ok());
        assert!(indexed(Some(&"x".repeat(MAX_INDEXED + 1)), "userName").is_err());
        assert!(indexed(None, "externalId").is_ok());
    }
}
