//! A Graph user as scimd keeps a person.

use serde_json::{Map, Value};

use crate::sync::{trimmed, Person};

/// The user properties a round asks for (`$select`), `id` first. Asking for these and no
/// more keeps pages small, and a delta round then reports only changes to them ("user:
/// delta": with `$select`, a change to a property not selected does not bring the user
/// back).
pub const USER_FIELDS: &[&str] = &[
    "id",
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "proxyAddresses",
    "accountEnabled",
    "userType",
    "department",
    "jobTitle",
    "employeeId",
];

/// [`USER_FIELDS`], as a round asks for them.
pub fn person_fields() -> &'static [&'static str] {
    USER_FIELDS
}

/// The `$select` value for users.
pub fn user_select() -> String {
    USER_FIELDS.join(",")
}

/// Maps a Graph user (its properties merged over what was stored, since a delta entry may
/// carry only what changed) to a person.
///
/// The address is `mail`, else the primary SMTP proxy address: Exchange marks the primary
/// one with an upper-case `SMTP:` prefix and secondary ones with `smtp:` ("user resource
/// type", proxyAddresses). Neither means the user has no mailbox: `email` is `None`.
/// `accountEnabled` absent counts as enabled (a partial entry or a property never set);
/// only an explicit `false` deactivates.
pub fn person(fields: &Map<String, Value>) -> Person {
    let text = |key: &str| trimmed(fields.get(key).and_then(Value::as_str));
    let primary_smtp = || {
        trimmed(
            fields
                .get("proxyAddresses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .find_map(|a| a.strip_prefix("SMTP:")),
        )
    };
    Person {
        user_name: text("userPrincipalName"),
        email: text("mail").or_else(primary_smtp),
        display_name: text("displayName"),
        given_name: text("givenName"),
        family_name: text("surname"),
        active: fields.get("accountEnabled").and_then(Value::as_bool) != Some(false),
        guest: text("userType").is_some_and(|t| t.eq_ignore_ascii_case("Guest")),
        department: text("department"),
        title: text("jobTitle"),
        employee_id: text("employeeId"),
        manager: None,
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
            "userPrincipalName": "ada@contoso.com",
            "mail": "ada.lovelace@contoso.com",
            "displayName": "Ada Lovelace",
            "givenName": "Ada",
            "surname": "Lovelace",
            "accountEnabled": true,
            "userType": "Member",
            "department": "Research",
            "jobTitle": "Analyst",
            "employeeId": "E-1"
        })));
        assert_eq!(
            p,
            Person {
                user_name: Some("ada@contoso.com".into()),
                email: Some("ada.lovelace@contoso.com".into()),
                display_name: Some("Ada Lovelace".into()),
                given_name: Some("Ada".into()),
                family_name: Some("Lovelace".into()),
                active: true,
                guest: false,
                department: Some("Research".into()),
                title: Some("Analyst".into()),
                employee_id: Some("E-1".into()),
                manager: None,
            }
        );
    }

    #[test]
    fn mail_wins_over_proxy_addresses() {
        let p = person(&fields_of(json!({
            "mail": "a@contoso.com",
            "proxyAddresses": ["SMTP:b@contoso.com"]
        })));
        assert_eq!(p.email.as_deref(), Some("a@contoso.com"));
    }

    #[test]
    fn without_mail_the_primary_smtp_proxy_address_is_the_email() {
        let p = person(&fields_of(json!({
            "mail": null,
            "proxyAddresses": ["smtp:alias@contoso.com", "SMTP:primary@contoso.com", "x500:/o=x"]
        })));
        assert_eq!(p.email.as_deref(), Some("primary@contoso.com"));
    }

    #[test]
    fn only_secondary_proxy_addresses_mean_no_mailbox() {
        let p = person(&fields_of(
            json!({ "proxyAddresses": ["smtp:alias@contoso.com"] }),
        ));
        assert_eq!(p.email, None);
        assert_eq!(person(&Map::new()).email, None);
    }

    #[test]
    fn disabled_accounts_are_inactive_and_absent_means_enabled() {
        assert!(!person(&fields_of(json!({ "accountEnabled": false }))).active);
        assert!(person(&fields_of(json!({ "accountEnabled": null }))).active);
        assert!(person(&Map::new()).active);
    }

    #[test]
    fn guests_are_marked() {
        assert!(person(&fields_of(json!({ "userType": "Guest" }))).guest);
        assert!(!person(&fields_of(json!({ "userType": "Member" }))).guest);
    }

    #[test]
    fn a_partial_entry_merged_over_stored_values_maps_the_merge() {
        let mut stored = fields_of(json!({
            "userPrincipalName": "ada@contoso.com",
            "mail": "ada@contoso.com",
            "department": "Research"
        }));
        let change = fields_of(json!({ "department": "Sales", "accountEnabled": false }));
        stored.extend(change);
        let p = person(&stored);
        assert_eq!(p.department.as_deref(), Some("Sales"));
        assert_eq!(p.email.as_deref(), Some("ada@contoso.com"));
        assert!(!p.active);
    }

    #[test]
    fn the_select_list_starts_with_id_and_names_the_mapped_fields() {
        let select = user_select();
        assert!(select.starts_with("id,userPrincipalName,"));
        for f in ["proxyAddresses", "accountEnabled", "userType", "employeeId"] {
            assert!(person_fields().contains(&f), "{f}");
        }
    }
}
