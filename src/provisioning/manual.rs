//! People kept by hand: one created in the admin API or a row of a CSV import. Their SCIM
//! resource is built from a few fields, through the same normalisation a SCIM POST takes,
//! so the stored form is the one an IdP would leave and adoption compares like with like.

use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::scim::resource::normalize_user;
use crate::scim::schema::{ENTERPRISE_USER_SCHEMA_URN, USER_SCHEMA_URN};

/// The longest name, display name or department a manual person may have.
pub const MAX_FIELD: usize = 256;
/// RFC 5321's limit on a forward path.
pub const MAX_EMAIL: usize = 254;

/// A manual person's fields, checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ManualPerson {
    /// As given, trimmed; also the userName.
    pub email: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    pub department: Option<String>,
}

/// The fields as they arrive (admin API body or CSV columns), unchecked.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPerson {
    pub email: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    pub department: Option<String>,
}

/// An address with text on both sides of one `@`, no spaces or control characters, at
/// most [`MAX_EMAIL`] bytes. Returns the trimmed address.
pub fn check_email(raw: &str, what: &str) -> Result<String, String> {
    let email = raw.trim();
    if email.is_empty() {
        return Err(format!("{what} is required"));
    }
    if email.len() > MAX_EMAIL {
        return Err(format!("{what} is longer than {MAX_EMAIL} bytes"));
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{what} `{}` contains spaces or control characters",
            shown(email)
        ));
    }
    match email.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
        {
            Ok(email.to_owned())
        }
        _ => Err(format!("{what} `{}` is not an email address", shown(email))),
    }
}

fn shown(s: &str) -> String {
    let mut out: String = s.chars().take(80).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// An optional text field: trimmed, empty is absent, no control characters, at most
/// [`MAX_FIELD`] characters.
fn check_field(raw: Option<&str>, what: &str) -> Result<Option<String>, String> {
    let Some(v) = raw.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.chars().any(char::is_control) {
        return Err(format!("{what} contains control characters"));
    }
    if v.chars().count() > MAX_FIELD {
        return Err(format!("{what} is longer than {MAX_FIELD} characters"));
    }
    Ok(Some(v.to_owned()))
}

impl ManualPerson {
    pub fn check(raw: &RawPerson) -> Result<Self, String> {
        Ok(Self {
            email: check_email(raw.email.as_deref().unwrap_or(""), "email")?,
            given_name: check_field(raw.given_name.as_deref(), "given_name")?,
            family_name: check_field(raw.family_name.as_deref(), "family_name")?,
            display_name: check_field(raw.display_name.as_deref(), "display_name")?,
            department: check_field(raw.department.as_deref(), "department")?,
        })
    }

    /// The lower-cased email: how people are matched.
    pub fn key(&self) -> String {
        self.email.to_lowercase()
    }

    /// The stored SCIM resource, with the manager's id when there is one. `current` is the
    /// stored resource of the person being updated: attributes a manual person has no
    /// column for (an IdP's phone numbers, say) are kept.
    pub fn resource(&self, manager: Option<Uuid>, current: Option<&Value>) -> Value {
        let mut body: Map<String, Value> = current
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        body.insert(
            "schemas".into(),
            json!([USER_SCHEMA_URN, ENTERPRISE_USER_SCHEMA_URN]),
        );
        body.insert("userName".into(), json!(self.email));
        let mut name = body
            .get("name")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        set_or_remove(&mut name, "givenName", self.given_name.as_deref());
        set_or_remove(&mut name, "familyName", self.family_name.as_deref());
        if name.is_empty() {
            body.remove("name");
        } else {
            body.insert("name".into(), Value::Object(name));
        }
        set_or_remove(&mut body, "displayName", self.display_name.as_deref());
        body.insert(
            "emails".into(),
            json!([{"value": self.email, "type": "work", "primary": true}]),
        );
        body.entry("active").or_insert(Value::Bool(true));
        let mut ext = body
            .get(ENTERPRISE_USER_SCHEMA_URN)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        set_or_remove(&mut ext, "department", self.department.as_deref());
        match manager {
            Some(id) => ext.insert("manager".into(), json!({"value": id.to_string()})),
            None => ext.remove("manager"),
        };
        if ext.is_empty() {
            body.remove(ENTERPRISE_USER_SCHEMA_URN);
        } else {
            body.insert(ENTERPRISE_USER_SCHEMA_URN.into(), Value::Object(ext));
        }
        let body = Value::Object(body);
        // The fields were checked above, so normalisation accepts them; should it ever
        // refuse, the body as built is still a valid stored form.
        normalize_user(&body).map_or(body, |input| input.resource)
    }
}

fn set_or_remove(map: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    match value {
        Some(v) => map.insert(key.to_owned(), json!(v)),
        None => map.remove(key),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::resource::user_columns;

    fn raw(email: &str) -> RawPerson {
        RawPerson {
            email: Some(email.into()),
            ..RawPerson::default()
        }
    }

    #[test]
    fn emails_are_checked() {
        assert_eq!(
            ManualPerson::check(&raw("  Ann@Example.com ")).map(|p| p.email),
            Ok("Ann@Example.com".to_owned())
        );
        for bad in ["", "  ", "ann", "@x", "ann@", "a b@x", "a@b@c", "a\u{7}@x"] {
            assert!(ManualPerson::check(&raw(bad)).is_err(), "{bad:?}");
        }
        assert!(ManualPerson::check(&raw(&format!("{}@x.io", "a".repeat(260)))).is_err());
    }

    #[test]
    fn fields_are_trimmed_and_bounded() {
        let p = ManualPerson::check(&RawPerson {
            email: Some("a@x.io".into()),
            given_name: Some("  Ann ".into()),
            family_name: Some("".into()),
            department: Some("x".repeat(MAX_FIELD + 1)),
            ..RawPerson::default()
        });
        assert!(p.is_err());
        let p = ManualPerson::check(&RawPerson {
            email: Some("a@x.io".into()),
            given_name: Some("  Ann ".into()),
            family_name: Some("".into()),
            ..RawPerson::default()
        })
        .unwrap_or_default();
        assert_eq!(p.given_name.as_deref(), Some("Ann"));
        assert_eq!(p.family_name, None);
    }

    #[test]
    fn the_resource_derives_the_same_columns_as_a_scim_write() {
        let p = ManualPerson {
            email: "Ann@Example.com".into(),
            given_name: Some("Ann".into()),
            family_name: Some("Lee".into()),
            display_name: Some("Ann Lee".into()),
            department: Some("Sales".into()),
        };
        let manager = Uuid::nil();
        let r = p.resource(Some(manager), None);
        let c = user_columns(&r);
        assert_eq!(c.user_name, "Ann@Example.com");
        assert_eq!(c.email.as_deref(), Some("ann@example.com"));
        assert_eq!(c.department.as_deref(), Some("Sales"));
        assert_eq!(c.display_name.as_deref(), Some("Ann Lee"));
        assert!(c.active);
        assert_eq!(
            r[ENTERPRISE_USER_SCHEMA_URN]["manager"]["value"],
            json!(manager.to_string())
        );
        // Building again from the stored form changes nothing: re-imports are no-ops.
        assert_eq!(p.resource(Some(manager), Some(&r)), r);
        // Clearing a field removes it, keeping what the person had besides.
        let mut with_phone = r.clone();
        with_phone["phoneNumbers"] = json!([{"value": "+1 555 0100"}]);
        let cleared = ManualPerson {
            department: None,
            ..p.clone()
        }
        .resource(None, Some(&with_phone));
        assert!(cleared.get(ENTERPRISE_USER_SCHEMA_URN).is_none());
        assert_eq!(cleared["phoneNumbers"], with_phone["phoneNumbers"]);
    }
}
