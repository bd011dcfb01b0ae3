//! The `/Schemas` (RFC 7643 §7, example §8.7.1) and `/ResourceTypes` (§6, example §8.6)
//! representations.
//!
//! Every attribute carries every characteristic that applies to its type: `name`, `type`,
//! `multiValued`, `description`, `required`, `caseExact`, `mutability`, `returned`,
//! `uniqueness`; `canonicalValues` when there are some, `referenceTypes` on references,
//! `subAttributes` on complex attributes. §8.7.1 omits `caseExact` and `uniqueness` on some
//! boolean and complex attributes; §2.2 gives every characteristic a default, so writing
//! them out describes the same schema and lets clients read one shape.

use serde_json::{Map, Value};

use super::{AttrDef, AttrType, ResourceTypeDef, SchemaDef};

/// RFC 7643 §7: the schema of schema representations.
pub const SCHEMA_SCHEMA_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
/// RFC 7643 §6: the schema of resource type representations.
pub const RESOURCE_TYPE_SCHEMA_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";

impl AttrDef {
    /// The attribute definition as it appears in a schema's `attributes` (RFC 7643 §7).
    pub fn to_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("name".into(), self.name.into());
        obj.insert("type".into(), self.ty.as_str().into());
        obj.insert("multiValued".into(), self.multi_valued.into());
        obj.insert("description".into(), self.description.into());
        obj.insert("required".into(), self.required.into());
        obj.insert("caseExact".into(), self.case_exact.into());
        if !self.canonical_values.is_empty() {
            obj.insert("canonicalValues".into(), strings(self.canonical_values));
        }
        obj.insert("mutability".into(), self.mutability.as_str().into());
        obj.insert("returned".into(), self.returned.as_str().into());
        obj.insert("uniqueness".into(), self.uniqueness.as_str().into());
        if self.ty == AttrType::Reference {
            obj.insert("referenceTypes".into(), strings(self.reference_types));
        }
        if self.ty == AttrType::Complex {
            obj.insert(
                "subAttributes".into(),
                Value::Array(self.sub_attributes.iter().map(AttrDef::to_json).collect()),
            );
        }
        Value::Object(obj)
    }
}

impl SchemaDef {
    /// The schema's `/Schemas/{id}` body (RFC 7643 §7). `base_url` is the SCIM base, e.g.
    /// `https://host/scim/v2`; `meta.location` is `{base_url}/Schemas/{id}`.
    pub fn to_json(&self, base_url: &str) -> Value {
        let mut obj = Map::new();
        obj.insert("schemas".into(), strings(&[SCHEMA_SCHEMA_URN]));
        obj.insert("id".into(), self.id.into());
        obj.insert("name".into(), self.name.into());
        obj.insert("description".into(), self.description.into());
        obj.insert(
            "attributes".into(),
            Value::Array(self.attributes.iter().map(AttrDef::to_json).collect()),
        );
        obj.insert(
            "meta".into(),
            meta("Schema", format!("{}/Schemas/{}", trim(base_url), self.id)),
        );
        Value::Object(obj)
    }
}

impl ResourceTypeDef {
    /// The resource type's `/ResourceTypes/{name}` body (RFC 7643 §6). `schemaExtensions`
    /// is left out when there are none, as in the Group example of §8.6.
    pub fn to_json(&self, base_url: &str) -> Value {
        let mut obj = Map::new();
        obj.insert("schemas".into(), strings(&[RESOURCE_TYPE_SCHEMA_URN]));
        obj.insert("id".into(), self.name.into());
        obj.insert("name".into(), self.name.into());
        obj.insert("endpoint".into(), self.endpoint.into());
        obj.insert("description".into(), self.description.into());
        obj.insert("schema".into(), self.schema.id.into());
        if !self.extensions.is_empty() {
            let extensions = self
                .extensions
                .iter()
                .map(|ext| {
                    let mut e = Map::new();
                    e.insert("schema".into(), ext.schema.id.into());
                    e.insert("required".into(), ext.required.into());
                    Value::Object(e)
                })
                .collect();
            obj.insert("schemaExtensions".into(), Value::Array(extensions));
        }
        obj.insert(
            "meta".into(),
            meta(
                "ResourceType",
                format!("{}/ResourceTypes/{}", trim(base_url), self.name),
            ),
        );
        Value::Object(obj)
    }
}

fn meta(resource_type: &str, location: String) -> Value {
    let mut obj = Map::new();
    obj.insert("resourceType".into(), resource_type.into());
    obj.insert("location".into(), location.into());
    Value::Object(obj)
}

fn strings(values: &[&str]) -> Value {
    Value::Array(values.iter().map(|v| Value::from(*v)).collect())
}

fn trim(base_url: &str) -> &str {
    base_url.trim_end_matches('/')
}
