//! The references file: the services' exchanges and the schemas, as read.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::Result;
use crate::names::{snake, upper_camel};

/// Every file of `references.json`, by file name (`schemas/queue/v1/task.json`).
pub struct References {
    files: BTreeMap<String, Value>,
}

/// One service's exchanges reference.
pub struct Service {
    /// The module name: `worker_manager`.
    pub module: String,
    /// `serviceName`: `worker-manager`.
    pub name: String,
    pub description: String,
    /// `exchange/taskcluster-queue/v1/`.
    pub exchange_prefix: String,
    pub entries: Vec<Entry>,
}

/// One exchange.
pub struct Entry {
    /// `taskDefined`.
    pub name: String,
    /// The binding struct's name: `TaskDefined`.
    pub type_name: String,
    /// `task-defined`.
    pub exchange: String,
    pub title: String,
    pub description: String,
    /// The schema file, as in the references: `schemas/queue/v1/task-defined-message.json`;
    /// `None` for an entry of `schemaless.json`, whose payload is untyped.
    pub schema_file: Option<String>,
    pub words: Vec<Word>,
}

/// One routing-key word.
pub struct Word {
    /// `taskId`.
    pub name: String,
    /// The field's name: `task_id`.
    pub field: String,
    pub summary: String,
    pub multiple: bool,
    pub constant: Option<String>,
    pub required: bool,
}

fn str_of<'a>(v: &'a Value, key: &str, at: &str) -> Result<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{at}: `{key}` is missing or not a string"))
}

impl References {
    pub fn parse(text: &str) -> Result<Self> {
        let list: Value =
            serde_json::from_str(text).map_err(|e| format!("references.json: {e}"))?;
        let list = list
            .as_array()
            .ok_or("references.json: not a list of files")?;
        let mut files = BTreeMap::new();
        for file in list {
            let name = str_of(file, "filename", "references.json")?;
            let content = file
                .get("content")
                .ok_or_else(|| format!("references.json: {name} has no content"))?;
            files.insert(name.to_owned(), content.clone());
        }
        Ok(Self { files })
    }

    /// A file's content.
    pub fn file(&self, name: &str) -> Result<&Value> {
        self.files
            .get(name)
            .ok_or_else(|| format!("references.json has no file {name}"))
    }

    /// Every service's exchanges, ordered by module name.
    pub fn services(&self) -> Result<Vec<Service>> {
        let mut services = Vec::new();
        for (file, content) in &self.files {
            if file.starts_with("references/") && file.ends_with("/exchanges.json") {
                services.push(Service::parse(file, content)?);
            }
        }
        services.sort_by(|a, b| a.module.cmp(&b.module));
        Ok(services)
    }
}

impl Service {
    fn parse(file: &str, v: &Value) -> Result<Self> {
        let name = str_of(v, "serviceName", file)?.to_owned();
        let entries = v
            .get("entries")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{file}: no entries"))?;
        let entries = entries
            .iter()
            .map(|e| Entry::parse(&name, file, e))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            module: snake(&name),
            description: str_of(v, "description", file)?.to_owned(),
            exchange_prefix: str_of(v, "exchangePrefix", file)?.to_owned(),
            name,
            entries,
        })
    }
}

impl Service {
    /// Adds the schema-less entries of `extra` (from `schemaless.json`) to
    /// the services they name: an unknown service, or an entry named like
    /// one the references have, is an error.
    pub fn add_schemaless(services: &mut [Service], extra: &Value, file: &str) -> Result<()> {
        let entries = extra
            .get("entries")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{file}: no entries"))?;
        for v in entries {
            let service_name = str_of(v, "serviceName", file)?;
            let service = services
                .iter_mut()
                .find(|s| s.name == service_name)
                .ok_or_else(|| format!("{file}: no service `{service_name}` in the references"))?;
            let mut entry = Entry::parse(service_name, file, v)?;
            if service.entries.iter().any(|e| e.name == entry.name) {
                return Err(format!(
                    "{file}: `{}` is in the references already; drop it from {file}",
                    entry.name
                ));
            }
            entry.schema_file = None;
            service.entries.push(entry);
        }
        Ok(())
    }
}

impl Entry {
    fn parse(service: &str, file: &str, v: &Value) -> Result<Self> {
        let name = str_of(v, "name", file)?.to_owned();
        let at = format!("{file} entry {name}");
        if str_of(v, "type", &at)? != "topic-exchange" {
            return Err(format!("{at}: not a topic exchange"));
        }
        let schema = str_of(v, "schema", &at)?;
        let schema = schema.strip_suffix('#').unwrap_or(schema);
        let words = v
            .get("routingKey")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{at}: no routingKey"))?
            .iter()
            .map(|w| Word::parse(w, &at))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            type_name: upper_camel(&name),
            exchange: str_of(v, "exchange", &at)?.to_owned(),
            title: str_of(v, "title", &at)?.to_owned(),
            description: str_of(v, "description", &at)?.to_owned(),
            schema_file: Some(format!("schemas/{service}/{schema}")),
            words,
            name,
        })
    }
}

impl Word {
    fn parse(v: &Value, at: &str) -> Result<Self> {
        let name = str_of(v, "name", at)?.to_owned();
        let at = format!("{at} word {name}");
        Ok(Self {
            field: snake(&name),
            summary: str_of(v, "summary", &at)?.to_owned(),
            multiple: v
                .get("multipleWords")
                .and_then(Value::as_bool)
                .ok_or_else(|| format!("{at}: no multipleWords"))?,
            constant: v.get("constant").and_then(Value::as_str).map(str::to_owned),
            required: v.get("required").and_then(Value::as_bool).unwrap_or(false),
            name,
        })
    }

    /// The `#[mwords]` argument and the wildcard (or fixed word) when unset.
    pub fn fallback(&self) -> &str {
        match (&self.constant, self.multiple) {
            (Some(c), _) => c,
            (None, true) => "#",
            (None, false) => "*",
        }
    }
}
