//! A Google user as scimd keeps a person ("Directory API: Users" resource).

use serde_json::{Map, Value};

use crate::sync::{trimmed, Person};

/// The user properties a listing asks for (`fields=users(…)`): what is mapped, no more.
pub const USER_FIELDS: &str =
    "id,primaryEmail,name(givenName,familyName,fullName),suspended,archived,isMailboxSetup,relations";

/// Maps a Google user to a person.
///
/// - `primaryEmail` is the userName and the work address; `isMailboxSetup: false` means
///   the user has no mailbox yet, so no deliverable address (`email` is `None`).
/// - `suspended` or `archived` make the person inactive.
/// - The `relations` entry of type `manager` names the manager by address.
pub fn person(fields: &Map<String, Value>) -> Person {
    let text = |v: Option<&Value>| trimmed(v.and_then(Value::as_str));
    let name = fields.get("name");
    let flag = |key: &str| fields.get(key).and_then(Value::as_bool);
    let primary = text(fields.get("primaryEmail"));
    let manager = fields
        .get("relations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|r| r.get("type").and_then(Value::as_str) == Some("manager"))
        .and_then(|r| text(r.get("value")))
        .map(|m| m.to_lowercase());
    Person {
        email: primary
            .clone()
            .filter(|_| flag("isMailboxSetup") != Some(false)),
        user_name: primary,
        display_name: text(name.and_then(|n| n.get("fullName"))),
        given_name: text(name.and_then(|n| n.get("givenName"))),
        family_name: text(name.and_then(|n| n.get("familyName"))),
        active: flag("suspended") != Some(true) && flag("archived") != Some(true),
        guest: false,
        department: None,
        title: None,
        employee_id: None,
        manager,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::fields_of;
    use serde_json::json;

    #[test]
    fn a_full_user_maps_every_field() {
        let p = person(&fields_of(json!({
            "primaryEmail": "ada@example.com",
            "name": {"givenName": "Ada", "familyName": "Lovelace", "fullName": "Ada Lovelace"},
            "suspended": false,
            "archived": false,
            "isMailboxSetup": true,
            "relations": [
                {"type": "assistant", "value": "bob@example.com"},
                {"type": "manager", "value": "Grace@Example.com"}
            ]
        })));
        assert_eq!(
            p,
            Person {
                user_name: Some("ada@example.com".into()),
                email: Some("ada@example.com".into()),
                display_name: Some("Ada Lovelace".into()),
                given_name: Some("Ada".into()),
                family_name: Some("Lovelace".into()),
                active: true,
                manager: Some("grace@example.com".into()),
                ..Person::default()
            }
        );
    }

    #[test]
    fn suspended_or_archived_is_inactive() {
        assert!(!person(&fields_of(json!({"suspended": true}))).active);
        assert!(!person(&fields_of(json!({"archived": true}))).active);
        assert!(person(&fields_of(json!({"suspended": false}))).active);
        assert!(person(&Map::new()).active);
    }

    #[test]
    fn no_mailbox_means_no_deliverable_email() {
        let p = person(&fields_of(
            json!({"primaryEmail": "new@example.com", "isMailboxSetup": false}),
        ));
        assert_eq!(p.user_name.as_deref(), Some("new@example.com"));
        assert_eq!(p.email, None);
        assert_eq!(person(&fields_of(json!({"relations": []}))).manager, None);
    }
}
