//! JSON schema -> the payload types of one service module.
//!
//! Handles what Taskcluster's message schemas use: objects with properties,
//! string enums, strings, integers, numbers, booleans, arrays, free-form
//! objects and string maps, and `$ref`s to other files of the service (whole
//! files or `#/properties/..` pointers). Anything else is an error, so a new
//! construct upstream is noticed instead of silently mistranslated.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::Result;
use crate::names::{field_ident, snake, upper_camel};
use crate::reference::References;

/// Names that neither the title nor the file name gives well, by schema
/// location. The generator fails on a name collision; add an entry here then.
const NAME_OVERRIDES: &[(&str, &str)] = &[
    // Titled just "State"; the run's state is "Run State".
    (
        "schemas/queue/v1/task-status.json#/properties/state",
        "TaskState",
    ),
];

/// A Rust type of a field.
#[derive(Clone, PartialEq)]
pub enum Ty {
    String,
    U64,
    I64,
    /// `serde_json::Number`: a JSON-schema `number`, kept exactly as written.
    Number,
    Bool,
    /// Anything: `serde_json::Value`.
    Any,
    /// A free-form object: `serde_json::Map<String, Value>`.
    JsonObject,
    /// An object of one value type: `BTreeMap<String, T>`.
    Map(Box<Ty>),
    Vec(Box<Ty>),
    /// A generated struct or enum, by index in [`TypeSpace::defs`].
    Def(usize),
}

/// How good a name is; a better one replaces a worse one when two schemas
/// turn out to be the same type.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    /// Parent type + property name.
    Fallback,
    /// The schema's `title`.
    Title,
    /// The schema's file name.
    File,
    /// [`NAME_OVERRIDES`].
    Override,
}

/// A generated payload type.
pub struct Def {
    pub name: String,
    rank: Rank,
    /// The schema's `title`.
    pub title: Option<String>,
    /// The schema's `description`.
    pub description: Option<String>,
    /// Where it comes from: `v1/task-status.json` or
    /// `v1/task-status.json#/properties/runs/items`.
    pub source: String,
    pub kind: DefKind,
}

pub enum DefKind {
    Struct(Struct),
    Enum(Enum),
}

pub struct Struct {
    pub fields: Vec<Field>,
    /// The name of the flattened field that keeps unknown properties.
    pub extra: String,
    /// Whether the schema allows properties it does not name.
    pub open: bool,
    /// The binding structs this is the payload of.
    pub payload_of: Vec<String>,
}

pub struct Field {
    /// The property's name in JSON: `taskGroupId`.
    pub json: String,
    /// The field's name: `task_group_id`.
    pub rust: String,
    pub ty: Ty,
    pub required: bool,
    pub description: Option<String>,
    pub title: Option<String>,
    pub format: Option<String>,
}

pub struct Enum {
    pub values: Vec<String>,
    /// The value `Default` gives: the schema's `default`, or the first value.
    pub default: String,
}

/// The payload types of one service.
pub struct TypeSpace<'a> {
    refs: &'a References,
    pub defs: Vec<Def>,
    /// Converted schemas by location (`file#pointer`), so each is written once.
    by_location: BTreeMap<String, Ty>,
    /// Nested types by shape, so that an inline copy of a shared type (the
    /// pending message's task subset) is the shared type.
    by_shape: BTreeMap<String, usize>,
}

struct Hint {
    name: String,
    rank: Rank,
    /// Message roots are never merged with another type.
    root: bool,
}

impl<'a> TypeSpace<'a> {
    pub fn new(refs: &'a References) -> Self {
        Self {
            refs,
            defs: Vec::new(),
            by_location: BTreeMap::new(),
            by_shape: BTreeMap::new(),
        }
    }

    /// The payload type of a message schema file, for the binding `binding`.
    pub fn message(&mut self, file: &str, binding: &str) -> Result<usize> {
        let stem = stem(file);
        let base = stem.strip_prefix("pulse-").unwrap_or(stem);
        let mut name = upper_camel(base);
        if !name.ends_with("Message") {
            name.push_str("Message");
        }
        let schema = self.refs.file(file)?;
        let hint = Hint {
            name,
            rank: Rank::File,
            root: true,
        };
        match self.convert(file, "", schema, hint)? {
            Ty::Def(id) => {
                if let DefKind::Struct(s) = &mut self.defs[id].kind {
                    s.payload_of.push(binding.to_owned());
                    return Ok(id);
                }
                Err(format!("{file}: a message schema must be an object"))
            }
            _ => Err(format!("{file}: a message schema must be an object")),
        }
    }

    fn convert(&mut self, file: &str, pointer: &str, schema: &Value, hint: Hint) -> Result<Ty> {
        let location = format!("{file}#{pointer}");
        if let Some(ty) = self.by_location.get(&location) {
            return Ok(ty.clone());
        }
        let ty = self.convert_new(file, pointer, schema, hint)?;
        self.by_location.insert(location, ty.clone());
        Ok(ty)
    }

    fn convert_new(&mut self, file: &str, pointer: &str, schema: &Value, hint: Hint) -> Result<Ty> {
        let at = format!("{file}#{pointer}");
        let obj = schema
            .as_object()
            .ok_or_else(|| format!("{at}: a schema must be an object"))?;
        if let Some(target) = obj.get("$ref") {
            let target = target
                .as_str()
                .ok_or_else(|| format!("{at}: $ref is not a string"))?;
            return self.convert_ref(file, target);
        }
        let hint = match overridden(&at) {
            Some(name) => Hint {
                name: name.to_owned(),
                rank: Rank::Override,
                root: hint.root,
            },
            None => hint,
        };
        if let Some(values) = obj.get("enum") {
            return self.convert_enum(&at, obj, values, hint);
        }
        for combinator in ["anyOf", "oneOf", "allOf", "not"] {
            // `anyOf` of formats beside a `type` narrows the type; without a
            // type it would need a Rust enum, which no message uses yet.
            if obj.contains_key(combinator) && !obj.contains_key("type") {
                return Err(format!(
                    "{at}: `{combinator}` without `type` is not supported"
                ));
            }
        }
        let Some(ty) = obj.get("type") else {
            return Ok(Ty::Any);
        };
        match ty.as_str() {
            Some("string") => Ok(Ty::String),
            Some("integer") => Ok(integer(obj)),
            Some("number") => Ok(Ty::Number),
            Some("boolean") => Ok(Ty::Bool),
            Some("array") => {
                let items = obj
                    .get("items")
                    .ok_or_else(|| format!("{at}: an array without `items`"))?;
                let hint = Hint {
                    name: format!("{}Item", hint.name),
                    rank: Rank::Fallback,
                    root: false,
                };
                let hint = titled(items, hint);
                let item = self.convert(file, &format!("{pointer}/items"), items, hint)?;
                Ok(Ty::Vec(Box::new(item)))
            }
            Some("object") => self.convert_object(file, pointer, obj, hint),
            _ => Err(format!("{at}: unsupported type {ty}")),
        }
    }

    fn convert_ref(&mut self, file: &str, target: &str) -> Result<Ty> {
        let (target_file, pointer) = target.split_once('#').unwrap_or((target, ""));
        let dir = file.rsplit_once('/').map_or("", |(dir, _)| dir);
        let target_file = if target_file.is_empty() {
            file.to_owned()
        } else if target_file.starts_with('/') {
            return Err(format!("{file}: absolute $ref {target} is not supported"));
        } else {
            format!("{dir}/{target_file}")
        };
        let content = self.refs.file(&target_file)?;
        let schema = if pointer.is_empty() {
            content
        } else {
            content
                .pointer(pointer)
                .ok_or_else(|| format!("{file}: $ref {target} points at nothing"))?
        };
        let hint = if pointer.is_empty() {
            Hint {
                name: upper_camel(stem(&target_file)),
                rank: Rank::File,
                root: false,
            }
        } else {
            let last = pointer.rsplit('/').next().unwrap_or(pointer);
            titled(
                schema,
                Hint {
                    name: upper_camel(last),
                    rank: Rank::Fallback,
                    root: false,
                },
            )
        };
        self.convert(&target_file, pointer, schema, hint)
    }

    fn convert_enum(
        &mut self,
        at: &str,
        obj: &Map<String, Value>,
        values: &Value,
        hint: Hint,
    ) -> Result<Ty> {
        let values = values
            .as_array()
            .ok_or_else(|| format!("{at}: `enum` is not a list"))?;
        if values.iter().all(Value::is_u64) {
            // `version: {enum: [1]}`: a number, so that version 2 still decodes.
            return Ok(Ty::U64);
        }
        if values.iter().all(Value::is_i64) {
            return Ok(Ty::I64);
        }
        let values: Vec<String> = values
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| format!("{at}: only string or integer enums are supported"))?;
        let default = match obj.get("default").and_then(Value::as_str) {
            Some(d) if values.iter().any(|v| v == d) => d.to_owned(),
            _ => values
                .first()
                .cloned()
                .ok_or_else(|| format!("{at}: an empty enum"))?,
        };
        let shape = format!("enum:{}", values.join("|"));
        let def = Def {
            name: hint.name.clone(),
            rank: hint.rank,
            title: text(obj, "title"),
            description: text(obj, "description"),
            source: source(at),
            kind: DefKind::Enum(Enum { values, default }),
        };
        Ok(Ty::Def(self.add(def, shape, &hint)))
    }

    fn convert_object(
        &mut self,
        file: &str,
        pointer: &str,
        obj: &Map<String, Value>,
        hint: Hint,
    ) -> Result<Ty> {
        let at = format!("{file}#{pointer}");
        let additional = obj.get("additionalProperties");
        let Some(properties) = obj.get("properties") else {
            return match additional {
                Some(Value::Object(schema)) if schema.contains_key("type") => {
                    let hint = Hint {
                        name: format!("{}Value", hint.name),
                        rank: Rank::Fallback,
                        root: false,
                    };
                    let pointer = format!("{pointer}/additionalProperties");
                    let value =
                        self.convert(file, &pointer, &Value::Object(schema.clone()), hint)?;
                    Ok(Ty::Map(Box::new(value)))
                }
                _ => Ok(Ty::JsonObject),
            };
        };
        let properties = properties
            .as_object()
            .ok_or_else(|| format!("{at}: `properties` is not an object"))?;
        let required: Vec<&str> = match obj.get("required") {
            Some(list) => list
                .as_array()
                .and_then(|l| l.iter().map(Value::as_str).collect())
                .ok_or_else(|| format!("{at}: `required` is not a list of names"))?,
            None => Vec::new(),
        };
        if let Some(missing) = required.iter().find(|r| !properties.contains_key(**r)) {
            return Err(format!("{at}: required property {missing} is not declared"));
        }
        let mut fields = Vec::new();
        for (json, schema) in properties {
            let child = Hint {
                name: format!("{}{}", hint.name, upper_camel(json)),
                rank: Rank::Fallback,
                root: false,
            };
            let child = titled(schema, child);
            let pointer = format!("{pointer}/properties/{json}");
            let ty = self.convert(file, &pointer, schema, child)?;
            // A `$ref` property takes its docs from the target unless it has its own.
            let target = self.ref_target(file, schema)?;
            let doc_of =
                |key: &str| text_of(schema, key).or_else(|| target.and_then(|t| text_of(t, key)));
            fields.push(Field {
                json: json.clone(),
                rust: field_ident(snake(json)),
                ty,
                required: required.contains(&json.as_str()),
                description: doc_of("description"),
                title: doc_of("title"),
                format: doc_of("format"),
            });
        }
        let extra = if fields.iter().any(|f| f.rust == "extra") {
            "additional_properties".to_owned()
        } else {
            "extra".to_owned()
        };
        if fields.iter().any(|f| f.rust == extra) {
            return Err(format!("{at}: no name left for the extra-properties field"));
        }
        let shape = format!(
            "struct:{}",
            fields
                .iter()
                .map(|f| format!("{}:{}:{}", f.json, ty_key(&f.ty), f.required))
                .collect::<Vec<_>>()
                .join(",")
        );
        let def = Def {
            name: hint.name.clone(),
            rank: hint.rank,
            title: text(obj, "title"),
            description: text(obj, "description"),
            source: source(&at),
            kind: DefKind::Struct(Struct {
                fields,
                extra,
                open: additional != Some(&Value::Bool(false)),
                payload_of: Vec::new(),
            }),
        };
        Ok(Ty::Def(self.add(def, shape, &hint)))
    }

    /// The schema a `$ref` property points at, for its docs.
    fn ref_target(&self, file: &str, schema: &Value) -> Result<Option<&'a Value>> {
        let Some(target) = schema.get("$ref").and_then(Value::as_str) else {
            return Ok(None);
        };
        let (target_file, pointer) = target.split_once('#').unwrap_or((target, ""));
        let dir = file.rsplit_once('/').map_or("", |(dir, _)| dir);
        let target_file = if target_file.is_empty() {
            file.to_owned()
        } else {
            format!("{dir}/{target_file}")
        };
        let content = self.refs.file(&target_file)?;
        Ok(content.pointer(pointer))
    }

    /// Adds a type, or gives the existing one of the same shape (keeping the
    /// better name).
    fn add(&mut self, def: Def, shape: String, hint: &Hint) -> usize {
        if let Some(&id) = self.by_shape.get(&shape)
            && !hint.root
        {
            let existing = &mut self.defs[id];
            if def.rank > existing.rank {
                existing.name = def.name;
                existing.rank = def.rank;
                existing.title = def.title;
                existing.description = def.description;
                existing.source = def.source;
            }
            return id;
        }
        self.defs.push(def);
        let id = self.defs.len() - 1;
        if !hint.root {
            self.by_shape.insert(shape, id);
        }
        id
    }

    /// Every generated name is used once.
    pub fn check_names(&self, taken: &[String]) -> Result<()> {
        let mut seen: BTreeMap<&str, &str> =
            taken.iter().map(|n| (n.as_str(), "a binding")).collect();
        for def in &self.defs {
            if let Some(other) = seen.insert(&def.name, &def.source) {
                return Err(format!(
                    "the name {} is used by {other} and {}: add an entry to NAME_OVERRIDES in generator/src/schema.rs",
                    def.name, def.source
                ));
            }
        }
        Ok(())
    }
}

fn ty_key(ty: &Ty) -> String {
    match ty {
        Ty::String => "string".into(),
        Ty::U64 => "u64".into(),
        Ty::I64 => "i64".into(),
        Ty::Number => "number".into(),
        Ty::Bool => "bool".into(),
        Ty::Any => "any".into(),
        Ty::JsonObject => "object".into(),
        Ty::Map(v) => format!("map<{}>", ty_key(v)),
        Ty::Vec(v) => format!("vec<{}>", ty_key(v)),
        Ty::Def(id) => format!("def{id}"),
    }
}

/// An integer: unsigned when the schema says it is never negative.
fn integer(obj: &Map<String, Value>) -> Ty {
    match obj.get("minimum").and_then(Value::as_f64) {
        Some(min) if min >= 0.0 => Ty::U64,
        _ => Ty::I64,
    }
}

/// The hint, named after the schema's title when it has one.
fn titled(schema: &Value, hint: Hint) -> Hint {
    match text_of(schema, "title") {
        Some(title) if hint.rank < Rank::Title => Hint {
            name: upper_camel(&title),
            rank: Rank::Title,
            root: hint.root,
        },
        _ => hint,
    }
}

fn overridden(location: &str) -> Option<&'static str> {
    NAME_OVERRIDES
        .iter()
        .find(|(at, _)| *at == location)
        .map(|(_, name)| *name)
}

fn text(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn text_of(schema: &Value, key: &str) -> Option<String> {
    schema.as_object().and_then(|o| text(o, key))
}

/// `schemas/queue/v1/task-status.json` -> `task-status`.
fn stem(file: &str) -> &str {
    let name = file.rsplit('/').next().unwrap_or(file);
    name.strip_suffix(".json").unwrap_or(name)
}

/// `schemas/queue/v1/task-status.json#/properties/runs` -> `v1/task-status.json#/properties/runs`.
fn source(at: &str) -> String {
    let at = at.strip_suffix('#').unwrap_or(at);
    let mut parts = at.splitn(3, '/');
    let (_, _, rest) = (parts.next(), parts.next(), parts.next());
    rest.unwrap_or(at).to_owned()
}
