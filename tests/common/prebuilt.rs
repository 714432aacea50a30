//! Shared by the prebuilt-binding tests: Taskcluster's references as the
//! project ships them (generator/data/references.json, read at test time),
//! sample messages built from their schemas, and every prebuilt binding as a
//! list of type-erased cases.

use std::fmt::Debug;

use pulse_binding::{DecodeError, DynBinding, FromRoutingKey, FromRoutingKeyError, PulseBinding};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// A string enum value that no schema lists: a value Taskcluster adds later.
pub const UNKNOWN_ENUM_VALUE: &str = "value-added-later";
/// A property that no schema names: a property Taskcluster adds later.
pub const UNKNOWN_PROPERTY: &str = "propertyAddedLater";

/// `references.json`: every file by name.
pub struct Reference {
    files: Map<String, Value>,
}

/// One exchange of the reference.
pub struct Exchange {
    /// `worker-manager`.
    pub service: String,
    /// `taskDefined`.
    pub name: String,
    /// `exchange/taskcluster-queue/v1/task-defined`.
    pub exchange: String,
    pub words: Vec<Word>,
    /// `schemas/queue/v1/task-defined-message.json`.
    pub schema_file: String,
}

/// One routing-key word of the reference.
pub struct Word {
    /// `taskId`.
    pub name: String,
    pub multiple: bool,
    pub constant: Option<String>,
}

impl Word {
    /// The field name the bindings must use: snake case of the word's name.
    pub fn field(&self) -> String {
        let mut out = String::new();
        for c in self.name.chars() {
            if c.is_ascii_uppercase() {
                out.push('_');
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    }

    /// The word in a pattern when the field is unset.
    pub fn fallback(&self) -> &str {
        match (&self.constant, self.multiple) {
            (Some(c), _) => c,
            (None, true) => "#",
            (None, false) => "*",
        }
    }
}

/// How much of a schema a sample fills.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Sample {
    /// Required properties only, listed enum values.
    Minimal,
    /// Every property, an unknown property in every object, and unknown
    /// values for string enums.
    Full,
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

impl Reference {
    pub fn load() -> Self {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../generator/data/references.json"
        );
        let text = std::fs::read_to_string(path).expect("the shipped references are readable");
        let list: Vec<Value> = serde_json::from_str(&text).expect("the references are JSON");
        let files = list
            .into_iter()
            .map(|f| (text_owned(&f, "filename"), f["content"].clone()))
            .collect();
        Self { files }
    }

    /// Every exchange, service by service, in each reference's order.
    pub fn exchanges(&self) -> Vec<Exchange> {
        let mut out = Vec::new();
        for (file, content) in &self.files {
            if !(file.starts_with("references/") && file.ends_with("/exchanges.json")) {
                continue;
            }
            let service = text(content, "serviceName");
            for entry in content["entries"].as_array().expect("entries") {
                let schema = text(entry, "schema").trim_end_matches('#');
                out.push(Exchange {
                    service: service.to_owned(),
                    name: text_owned(entry, "name"),
                    exchange: format!(
                        "{}{}",
                        text(content, "exchangePrefix"),
                        text(entry, "exchange")
                    ),
                    words: entry["routingKey"]
                        .as_array()
                        .expect("routingKey")
                        .iter()
                        .map(|w| Word {
                            name: text_owned(w, "name"),
                            multiple: w["multipleWords"].as_bool().expect("multipleWords"),
                            constant: w.get("constant").and_then(Value::as_str).map(str::to_owned),
                        })
                        .collect(),
                    schema_file: format!("schemas/{service}/{schema}"),
                });
            }
        }
        assert!(!out.is_empty(), "the references list no exchange");
        out
    }

    /// Every exchange with a prebuilt binding: the references' (as
    /// [`exchanges`](Self::exchanges)) and, after each service's, those of
    /// `generator/data/schemaless.json` (no schema: `schema_file` is empty).
    pub fn all_exchanges(&self) -> Vec<Exchange> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../generator/data/schemaless.json"
        );
        let json = std::fs::read_to_string(path).expect("schemaless.json is readable");
        let extra: Value = serde_json::from_str(&json).expect("schemaless.json is JSON");
        let mut out = self.exchanges();
        for entry in extra["entries"].as_array().expect("entries") {
            let service = text_owned(entry, "serviceName");
            let last = out
                .iter()
                .rposition(|e| e.service == service)
                .expect("a schema-less entry of a known service");
            let prefix = out[last]
                .exchange
                .rsplit_once('/')
                .map(|(p, _)| format!("{p}/"))
                .expect("an exchange name with a prefix");
            let exchange = Exchange {
                service,
                name: text_owned(entry, "name"),
                exchange: format!("{prefix}{}", text(entry, "exchange")),
                words: entry["routingKey"]
                    .as_array()
                    .expect("routingKey")
                    .iter()
                    .map(|w| Word {
                        name: text_owned(w, "name"),
                        multiple: w["multipleWords"].as_bool().expect("multipleWords"),
                        constant: w.get("constant").and_then(Value::as_str).map(str::to_owned),
                    })
                    .collect(),
                schema_file: String::new(),
            };
            out.insert(last + 1, exchange);
        }
        out
    }

    /// A schema file's content.
    pub fn file(&self, name: &str) -> &Value {
        self.files
            .get(name)
            .unwrap_or_else(|| panic!("no file {name} in the references"))
    }

    /// The schema a `$ref` leads to (through any chain of them), with its file.
    pub fn resolve<'a>(&'a self, file: &str, schema: &'a Value) -> (String, &'a Value) {
        let Some(target) = schema.get("$ref").and_then(Value::as_str) else {
            return (file.to_owned(), schema);
        };
        let (target_file, pointer) = target.split_once('#').unwrap_or((target, ""));
        let target_file = if target_file.is_empty() {
            file.to_owned()
        } else {
            let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
            format!("{dir}/{target_file}")
        };
        let content = self.file(&target_file);
        let next = content
            .pointer(pointer)
            .unwrap_or_else(|| panic!("$ref {target} in {file} leads nowhere"));
        self.resolve(&target_file, next)
    }

    /// A realistic message for `schema` (in `file`), with `name` the property
    /// it is the value of.
    pub fn sample(&self, file: &str, schema: &Value, name: &str, mode: Sample) -> Value {
        let (file, schema) = self.resolve(file, schema);
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            return match (&values[0], mode) {
                (Value::String(_), Sample::Full) => json!(UNKNOWN_ENUM_VALUE),
                (first, _) => first.clone(),
            };
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("string") => string_sample(schema, name),
            Some("integer") => {
                let min = schema.get("minimum").and_then(Value::as_i64).unwrap_or(0);
                let max = schema
                    .get("maximum")
                    .and_then(Value::as_i64)
                    .unwrap_or(i64::MAX);
                json!(3.clamp(min, max))
            }
            Some("number") => match mode {
                Sample::Full => json!(4_213_297_811_u64),
                Sample::Minimal => json!(12.5),
            },
            Some("boolean") => json!(true),
            Some("array") => {
                let item = self.sample(&file, &schema["items"], name, mode);
                json!([item])
            }
            Some("object") => self.object_sample(&file, schema, mode),
            _ => json!({"any": ["thing", 1]}),
        }
    }

    fn object_sample(&self, file: &str, schema: &Value, mode: Sample) -> Value {
        let mut out = Map::new();
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            let required = required(schema);
            for (name, property) in properties {
                if mode == Sample::Full || required.contains(&name.as_str()) {
                    out.insert(name.clone(), self.sample(file, property, name, mode));
                }
            }
            if mode == Sample::Full {
                out.insert(
                    UNKNOWN_PROPERTY.to_owned(),
                    json!({"nested": [1, "two", null], "flag": false}),
                );
            }
        } else if let Some(values) = schema.get("additionalProperties").filter(|v| v.is_object()) {
            out.insert("purpose".into(), self.sample(file, values, "purpose", mode));
            out.insert("kind".into(), self.sample(file, values, "kind", mode));
        } else {
            out.insert("action".into(), json!("opened"));
            out.insert("sender".into(), json!({"login": "octocat", "id": 583231}));
        }
        Value::Object(out)
    }

    /// Whether a schema reaches a string enum (through properties, items and refs).
    pub fn has_string_enum(&self, file: &str, schema: &Value) -> bool {
        let (file, schema) = self.resolve(file, schema);
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            return values.iter().all(Value::is_string);
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        properties.is_some_and(|p| p.values().any(|s| self.has_string_enum(&file, s)))
            || schema
                .get("items")
                .is_some_and(|items| self.has_string_enum(&file, items))
    }
}

fn text_owned(v: &Value, key: &str) -> String {
    text(v, key).to_owned()
}

/// The names a schema requires.
pub fn required(schema: &Value) -> Vec<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn string_sample(schema: &Value, name: &str) -> Value {
    let pattern = text(schema, "pattern");
    if text(schema, "format") == "date-time" {
        json!("2024-05-01T12:00:00.000Z")
    } else if pattern.contains("[Q-T]") {
        // A slugid, as task ids and task group ids are.
        json!("fN1ndDrZSHuMqOMmHfpb8A")
    } else if pattern.contains('/') {
        json!("proj-ci/ci-linux")
    } else {
        json!(format!("{name}-1"))
    }
}

/// What a binding parsed from a routing key gives back.
pub struct Parsed {
    pub routing_key: String,
    pub checked: Result<String, String>,
    pub debug: String,
}

/// What a payload decoded from a body gives back.
pub struct Decoded {
    /// The payload encoded again.
    pub json: Value,
    pub debug: String,
}

/// One prebuilt binding type, erased so that all of them fit in one list.
pub struct Case {
    pub service: &'static str,
    pub name: &'static str,
    pub type_name: &'static str,
    pub default: fn() -> Box<dyn DynBinding>,
    pub parse: fn(&str) -> Result<Parsed, FromRoutingKeyError>,
    pub decode: fn(&[u8]) -> Result<Decoded, DecodeError>,
}

impl Case {
    fn of<B>(service: &'static str, name: &'static str) -> Self
    where
        B: PulseBinding + FromRoutingKey + Default + Debug + 'static,
        B::Payload: Serialize + Debug + Send + 'static,
    {
        Self {
            service,
            name,
            type_name: std::any::type_name::<B>(),
            default: || Box::new(B::default()),
            parse: parse::<B>,
            decode: decode::<B>,
        }
    }
}

fn parse<B: PulseBinding + FromRoutingKey + Debug>(
    key: &str,
) -> Result<Parsed, FromRoutingKeyError> {
    let binding = B::from_routing_key(key)?;
    Ok(Parsed {
        routing_key: binding.routing_key(),
        checked: binding.try_routing_key().map_err(|e| e.to_string()),
        debug: format!("{binding:?}"),
    })
}

fn decode<B>(body: &[u8]) -> Result<Decoded, DecodeError>
where
    B: PulseBinding + Default,
    B::Payload: Serialize + Debug,
{
    let payload = B::default().decode(body)?;
    Ok(Decoded {
        json: serde_json::to_value(&payload)
            .unwrap_or_else(|e| json!({"encode error": e.to_string()})),
        debug: format!("{payload:?}"),
    })
}

macro_rules! cases {
    ($(($service:literal, $name:literal, $ty:path)),* $(,)?) => {
        vec![$(Case::of::<$ty>($service, $name)),*]
    };
}

/// Every prebuilt binding, as the runtime lists them.
pub fn cases() -> Vec<Case> {
    pulse_binding::__for_each_prebuilt_binding!(cases)
}

/// The prebuilt binding of a reference exchange.
pub fn case_of<'a>(cases: &'a [Case], exchange: &Exchange) -> &'a Case {
    cases
        .iter()
        .find(|c| c.service == exchange.service && c.name == exchange.name)
        .unwrap_or_else(|| panic!("no prebuilt binding for {}", exchange.exchange))
}
