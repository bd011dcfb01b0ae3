//! The fixed choices of the domain, as types: where a tenant's people come from, what a
//! delete at the source does, and an admin's decision about a person. Each maps to its
//! database text (and its JSON and command-line spelling, which are the same) here and
//! nowhere else. The event kinds are [`crate::provisioning::events::EventKind`].
//!
//! The command line takes them through [`clap::ValueEnum`] and the admin API documents them
//! through [`utoipa::ToSchema`], both implemented here from the same spellings: the
//! binary could not implement clap's trait for these types (the orphan rule) without a
//! wrapper that lists the values again.

use std::borrow::Cow;
use std::fmt;
use std::io::Write;

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

/// Declares a fieldless enum stored as text: its spellings, `as_str`, `parse`, `ALL`,
/// `Display`, serde, diesel's mapping to `Text` columns, clap's `ValueEnum`, and a string
/// schema listing the spellings, named `$schema` and described by `$about` in the admin
/// API's OpenAPI document.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $name:ident as $schema:literal, $about:literal
        { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, AsExpression, FromSqlRow)]
        #[diesel(sql_type = Text)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }

            /// Every spelling, for error messages: `a`, `b` or `c`.
            pub fn choices() -> String {
                let all: Vec<String> = Self::ALL.iter().map(|v| format!("`{}`", v.as_str())).collect();
                match all.split_last() {
                    Some((last, [])) => last.clone(),
                    Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
                    None => String::new(),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&s).ok_or_else(|| {
                    serde::de::Error::custom(format!("must be {}, not `{s}`", Self::choices()))
                })
            }
        }

        impl ToSql<Text, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                out.write_all(self.as_str().as_bytes())?;
                Ok(IsNull::No)
            }
        }

        impl clap::ValueEnum for $name {
            fn value_variants<'a>() -> &'a [Self] {
                Self::ALL
            }

            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                Some(clap::builder::PossibleValue::new(self.as_str()))
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some($about))
                    .enum_values(Some(Self::ALL.iter().map(|v| v.as_str())))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($schema)
            }
        }

        impl FromSql<Text, Pg> for $name {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
                Self::parse(&text).ok_or_else(|| {
                    format!("unknown {} `{text}` in the database", stringify!($name)).into()
                })
            }
        }
    };
}

text_enum! {
    /// Where a tenant's people come from; people are managed by one source at a time.
    Source as "Source",
        "The identity source a tenant's people come from, or a person came from: `manual` for\n\
         people managed by hand"
    {
        /// Pushed by an identity provider over SCIM.
        Scim = "scim",
        /// Pulled from Microsoft Graph.
        Graph = "graph",
        /// Pulled from the Google Directory API.
        Google = "google",
        /// Kept by hand: the admin API, the console or a CSV import.
        Manual = "manual",
    }
}

impl Source {
    /// The sources a tenant pulls its people from; SCIM writes are refused while it does.
    pub const PULL: [Self; 2] = [Self::Graph, Self::Google];

    pub fn is_pull(self) -> bool {
        Self::PULL.contains(&self)
    }

    /// How people read the directory's name.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Scim => "SCIM",
            Self::Graph => "Microsoft Graph",
            Self::Google => "Google Directory",
            Self::Manual => "manual entry",
        }
    }
}

text_enum! {
    /// What a delete at the source does to a person (a tenant's `on_source_delete`).
    DeletePolicy as "OnSourceDelete",
        "What deleting a person at the source does: `retain` deprovisions them (they can be\n\
         restored), `remove` erases them"
    {
        /// Deprovisioned: invisible to SCIM, userName free, history kept, restorable.
        Retain = "retain",
        /// Erased: only the event remains.
        Remove = "remove",
    }
}

text_enum! {
    /// A platform admin's decision about a person, kept beside the SCIM resource and never
    /// written into it.
    AdminState as "AdminState", "Whether an operator has deactivated the person"
    {
        Active = "active",
        /// Deactivated by an admin: does not participate, and no sync lifts it.
        Deactivated = "deactivated",
    }
}

text_enum! {
    /// The directory a connection pulls from.
    Provider as "Provider", "The directory a connection reads: Microsoft Graph or Google Directory"
    {
        /// Microsoft Graph (Entra ID, Microsoft 365).
        Graph = "graph",
        /// The Google Admin SDK Directory API.
        Google = "google",
    }
}

impl Provider {
    /// The tenant's source while this provider's connection feeds it.
    pub const fn source(self) -> Source {
        match self {
            Self::Graph => Source::Graph,
            Self::Google => Source::Google,
        }
    }
}

text_enum! {
    /// The Microsoft cloud a Graph directory lives in: each has its own sign-in and Graph
    /// hosts.
    #[derive(Default)]
    Cloud as "Cloud",
        "The Microsoft cloud of the directory: `global` (commercial), `usgov` (GCC High),\n\
         `usgov-dod` (DoD) or `china` (operated by 21Vianet)"
    {
        #[default]
        Global = "global",
        UsGov = "usgov",
        UsGovDod = "usgov-dod",
        China = "china",
    }
}

/// The most groups a connection's scope may name.
pub const MAX_SCOPE_GROUPS: usize = 100;

/// Whom a connection reads: everyone in the directory, or the members of some groups.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConnectionScope {
    /// Every user of the directory.
    All {},
    /// The members of these groups (by their directory object ids), each read once.
    Groups {
        #[schema(min_items = 1, max_items = 100)]
        group_ids: Vec<uuid::Uuid>,
    },
}

impl ConnectionScope {
    /// The scope with each group once, in the order given; `None` when it names no group or
    /// more than [`MAX_SCOPE_GROUPS`].
    pub fn deduped(self) -> Option<Self> {
        match self {
            Self::All {} => Some(self),
            Self::Groups { group_ids } => {
                let mut seen = std::collections::HashSet::new();
                let group_ids: Vec<uuid::Uuid> =
                    group_ids.into_iter().filter(|g| seen.insert(*g)).collect();
                (1..=MAX_SCOPE_GROUPS)
                    .contains(&group_ids.len())
                    .then_some(Self::Groups { group_ids })
            }
        }
    }
}

/// Whom a Google connection reads: everyone of the customer, the people of some
/// organisational units (each with its sub-units), or the members of some groups (nested
/// membership included), by the groups' email addresses.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum GoogleScope {
    /// Every user of the customer.
    All {},
    /// The users of these organisational units and their sub-units (`/Sales`).
    OrgUnits {
        #[schema(min_items = 1, max_items = 100)]
        paths: Vec<String>,
    },
    /// The members of these groups, nested membership included.
    Groups {
        #[schema(min_items = 1, max_items = 100)]
        group_emails: Vec<String>,
    },
}

impl GoogleScope {
    /// The scope checked, each unit or group once in the order given (units without a
    /// trailing `/`, group addresses lower-cased); an error in plain words otherwise.
    pub fn checked(self) -> Result<Self, String> {
        fn unique(items: Vec<String>, what: &str) -> Result<Vec<String>, String> {
            let mut seen = std::collections::HashSet::new();
            let items: Vec<String> = items
                .into_iter()
                .filter(|i| seen.insert(i.clone()))
                .collect();
            if (1..=MAX_SCOPE_GROUPS).contains(&items.len()) {
                Ok(items)
            } else {
                Err(format!(
                    "{what} must name between 1 and {MAX_SCOPE_GROUPS} entries"
                ))
            }
        }
        match self {
            Self::All {} => Ok(self),
            Self::OrgUnits { paths } => {
                let mut clean = Vec::with_capacity(paths.len());
                for p in paths {
                    let t = p.trim();
                    let t = if t.len() > 1 {
                        t.trim_end_matches('/')
                    } else {
                        t
                    };
                    if !t.starts_with('/')
                        || t.len() > 1024
                        || t.chars().any(|c| c.is_control() || c == '\'' || c == '\\')
                    {
                        return Err(format!(
                            "scope.paths: `{}` is not an organisational unit path such as /Sales",
                            p.chars().take(80).collect::<String>()
                        ));
                    }
                    clean.push(t.to_owned());
                }
                Ok(Self::OrgUnits {
                    paths: unique(clean, "scope.paths")?,
                })
            }
            Self::Groups { group_emails } => {
                let mut clean = Vec::with_capacity(group_emails.len());
                for e in group_emails {
                    let t = e.trim().to_ascii_lowercase();
                    if !is_email(&t) {
                        return Err(format!(
                            "scope.group_emails: `{}` is not a group's email address",
                            e.chars().take(80).collect::<String>()
                        ));
                    }
                    clean.push(t);
                }
                Ok(Self::Groups {
                    group_emails: unique(clean, "scope.group_emails")?,
                })
            }
        }
    }
}

/// An address of the form `local@domain.tld`, without spaces or path characters: enough to
/// refuse a typo before a directory is asked.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let ok = |c: char| !c.is_whitespace() && !c.is_control() && !"/?#@\\<>\"',;:".contains(c);
    !local.is_empty()
        && s.len() <= 320
        && local.chars().all(ok)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// The directory (tenant) a connection reads, as its admin names it: its GUID, or one of
/// its domain names (`contoso.onmicrosoft.com`). Held lower-case.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DirectoryTenantId(String);

impl DirectoryTenantId {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase();
        if s.len() == 36 {
            if let Ok(id) = uuid::Uuid::try_parse(&s) {
                return Ok(Self(id.hyphenated().to_string()));
            }
        }
        let label = |l: &str| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        let labels: Vec<&str> = s.split('.').collect();
        let domain = s.len() <= 253
            && labels.len() >= 2
            && labels.iter().all(|l| label(l))
            && labels
                .last()
                .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_alphabetic()));
        if domain {
            Ok(Self(s))
        } else {
            Err(format!(
                "directory_tenant_id must be the directory's GUID or one of its domain names \
                 (contoso.onmicrosoft.com), not `{}`",
                s.chars().take(80).collect::<String>()
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DirectoryTenantId {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<DirectoryTenantId> for String {
    fn from(id: DirectoryTenantId) -> Self {
        id.0
    }
}

impl fmt::Display for DirectoryTenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl utoipa::PartialSchema for DirectoryTenantId {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "The directory's tenant id (a GUID) or one of its domain names",
            ))
            .max_length(Some(253))
            .examples([serde_json::json!("contoso.onmicrosoft.com")])
            .into()
    }
}

impl utoipa::ToSchema for DirectoryTenantId {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("DirectoryTenantId")
    }
}

text_enum! {
    /// Where a sync run is in its life (the admin API's `status`).
    RunStatus as "SyncRunStatus",
        "`queued` waits for a node, `running` is being read or applied, `succeeded` was\n\
         applied, `failed` wrote nothing, `planned` is a dry run's plan, `held` stopped at the\n\
         deprovision brake and waits for an approval"
    {
        Queued = "queued",
        Running = "running",
        Succeeded = "succeeded",
        Failed = "failed",
        /// A dry run that computed its plan and wrote nothing else.
        Planned = "planned",
        /// Stopped before writing by the deprovision brake; its plan is kept.
        Held = "held",
    }
}

impl RunStatus {
    /// A run in one of these is the tenant's active run: at most one at a time.
    pub const ACTIVE: [Self; 2] = [Self::Queued, Self::Running];
}

text_enum! {
    /// What started a sync run.
    RunTrigger as "SyncRunTrigger", "`schedule` (the tenant's interval) or `manual` (an operator)"
    {
        Schedule = "schedule",
        Manual = "manual",
    }
}

text_enum! {
    /// What a sync run's plan does to one person, group or membership (the keys of a run's
    /// `counts`).
    PlanAction as "SyncPlanAction", "What a plan item does"
    {
        Create = "create",
        Update = "update",
        Unchanged = "unchanged",
        Deactivate = "deactivate",
        Reactivate = "reactivate",
        Deprovision = "deprovision",
        Restore = "restore",
        Adopt = "adopt",
        Skip = "skip",
        GroupCreate = "group_create",
        GroupUpdate = "group_update",
        GroupDelete = "group_delete",
        MemberAdd = "member_add",
        MemberRemove = "member_remove",
    }
}

text_enum! {
    /// Where a console CSV import is (`console_imports.state`). A running import whose node
    /// stopped stays `running`; its readers tell it by its heartbeat.
    ImportState as "ImportState",
        "`running` is being read, `done` was applied (or checked, for a dry run), `refused`\n\
         had a row error and applied nothing, `failed` could not run"
    {
        Running = "running",
        Done = "done",
        Refused = "refused",
        Failed = "failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_reads_back_from_its_text_and_json() {
        for s in Source::ALL {
            assert_eq!(Source::parse(s.as_str()), Some(*s));
            let json = serde_json::to_value(s).unwrap_or_default();
            assert_eq!(json, serde_json::json!(s.as_str()));
            assert_eq!(serde_json::from_value::<Source>(json).ok(), Some(*s));
        }
        for p in DeletePolicy::ALL {
            assert_eq!(DeletePolicy::parse(&p.to_string()), Some(*p));
        }
        for a in AdminState::ALL {
            assert_eq!(AdminState::parse(a.as_str()), Some(*a));
        }
        assert_eq!(Source::parse("Scim"), None, "spellings are exact");
        assert!(Source::Graph.is_pull() && Source::Google.is_pull());
        assert!(!Source::Scim.is_pull() && !Source::Manual.is_pull());
    }

    #[test]
    fn an_unknown_value_is_refused_naming_the_choices() {
        let err = serde_json::from_value::<DeletePolicy>(serde_json::json!("keep"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("must be `retain` or `remove`, not `keep`"),
            "{err}"
        );
        assert_eq!(Source::choices(), "`scim`, `graph`, `google` or `manual`");
    }

    /// The command line and the OpenAPI document offer exactly the database's spellings.
    #[test]
    fn the_command_line_and_the_schema_list_the_same_spellings() {
        use clap::ValueEnum;
        use utoipa::PartialSchema;

        fn spellings<T: ValueEnum + PartialSchema>(all: &[T], as_str: fn(&T) -> &str) {
            let texts: Vec<String> = all.iter().map(|v| as_str(v).to_owned()).collect();
            let cli: Vec<String> = T::value_variants()
                .iter()
                .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_owned()))
                .collect();
            assert_eq!(cli, texts);
            let schema = serde_json::to_value(T::schema()).unwrap_or_default();
            assert_eq!(schema["type"], "string", "{schema}");
            assert_eq!(schema["enum"], serde_json::json!(texts), "{schema}");
        }
        spellings(Source::ALL, |v| v.as_str());
        spellings(DeletePolicy::ALL, |v| v.as_str());
        spellings(AdminState::ALL, |v| v.as_str());
        spellings(Provider::ALL, |v| v.as_str());
        spellings(Cloud::ALL, |v| v.as_str());
    }

    #[test]
    fn directory_tenants_are_guids_or_domain_names() {
        let guid = "72F988BF-86F1-41AF-91AB-2D7CD011DB47";
        assert_eq!(
            DirectoryTenantId::parse(guid).map(String::from),
            Ok(guid.to_ascii_lowercase())
        );
        for good in ["contoso.onmicrosoft.com", "Example.CO.uk", "a-b.example"] {
            assert!(DirectoryTenantId::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "contoso",
            "-a.com",
            "a..com",
            "a.b_c.com",
            "a.com.",
            "x.123",
            "72f988bf",
        ] {
            assert!(DirectoryTenantId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scopes_read_and_write_their_documented_spellings() {
        let all: Result<ConnectionScope, _> =
            serde_json::from_value(serde_json::json!({"type": "all"}));
        assert_eq!(all.ok(), Some(ConnectionScope::All {}));
        let g = uuid::Uuid::from_u128(7);
        let groups: Option<ConnectionScope> =
            serde_json::from_value(serde_json::json!({"type": "groups", "group_ids": [g, g]})).ok();
        assert_eq!(
            groups.and_then(ConnectionScope::deduped),
            Some(ConnectionScope::Groups { group_ids: vec![g] })
        );
        assert_eq!(
            serde_json::to_value(ConnectionScope::All {}).ok(),
            Some(serde_json::json!({"type": "all"}))
        );
        for bad in [
            serde_json::json!({"type": "all", "group_ids": []}),
            serde_json::json!({"type": "groups"}),
            serde_json::json!({"type": "groups", "group_ids": ["nope"]}),
            serde_json::json!({"type": "ou"}),
        ] {
            assert!(
                serde_json::from_value::<ConnectionScope>(bad.clone()).is_err(),
                "{bad}"
            );
        }
        assert_eq!(
            ConnectionScope::Groups { group_ids: vec![] }.deduped(),
            None
        );
        assert_eq!(Cloud::default(), Cloud::Global);
    }
}
