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
    }
}
