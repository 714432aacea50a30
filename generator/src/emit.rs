//! One service -> the tokens of its module, as chunks of items (main.rs
//! prints each chunk with prettyplease and puts a blank line between them).

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use crate::Result;
use crate::docs::{lines, markdown, paragraphs};
use crate::names::{serde_camel, upper_camel};
use crate::reference::{Entry, References, Service, Word};
use crate::schema::{Def, DefKind, Enum, Field, Struct, Ty, TypeSpace};

/// What the references do not say but users need, by service (from the
/// upstream code; see generator/data/README.md).
fn service_notes(service: &str) -> &'static str {
    match service {
        "hooks" => {
            "The hooks service publishes every message on these exchanges with the \
             routing key `_`, so the default pattern `#` is the one to bind with."
        }
        "queue" => QUEUE_NOTES,
        _ => "",
    }
}

const QUEUE_NOTES: &str = r##"Besides its primary routing key, the queue sends each task message to the
task's custom routes (`task.routes`) as the extra routing keys
`route.<the route>`, in RabbitMQ's CC header. The bindings here always write
`primary` as the first word, so they match primary keys only; to receive
messages by route, bind a [`Binding`](crate::Binding) with a pattern such as
`route.index.#`.

Every task-completed message of one task group:

```
use pulse_binding::prelude::*;
use pulse_binding::queue::{TaskCompleted, TaskState};

let binding = TaskCompleted {
    task_group_id: Some("fN1ndDrZSHuMqOMmHfpb8A".into()),
    ..Default::default()
};
assert_eq!(binding.exchange_name(), "exchange/taskcluster-queue/v1/task-completed");
assert_eq!(binding.routing_key(), "primary.*.*.*.*.*.*.*.fN1ndDrZSHuMqOMmHfpb8A.#");

// A delivery: its routing key and body.
let key = "primary.Zd2cLqR5Sk2bD5YbSpzS0Q.0.us-east-1.i-0123.proj-ci.ci-linux.tc-ci.fN1ndDrZSHuMqOMmHfpb8A._";
let body = br#"{
    "version": 1, "runId": 0, "workerGroup": "us-east-1", "workerId": "i-0123",
    "status": {
        "taskId": "Zd2cLqR5Sk2bD5YbSpzS0Q", "taskGroupId": "fN1ndDrZSHuMqOMmHfpb8A",
        "provisionerId": "proj-ci", "workerType": "ci-linux", "taskQueueId": "proj-ci/ci-linux",
        "schedulerId": "tc-ci", "projectId": "none", "retriesLeft": 5, "state": "completed",
        "deadline": "2024-05-01T13:00:00.000Z", "expires": "2025-05-01T12:00:00.000Z",
        "runs": [{"runId": 0, "state": "completed", "reasonCreated": "scheduled",
                  "reasonResolved": "completed", "scheduled": "2024-05-01T12:00:00.000Z"}]
    }
}"#;
assert!(binding.matches(key));
let fields = TaskCompleted::from_routing_key(key)?;
let message = binding.decode(body)?;
assert_eq!(fields.task_id.as_deref(), Some(message.status.task_id.as_str()));
assert_eq!(message.status.state, TaskState::Completed);
# Ok::<(), Box<dyn std::error::Error>>(())
```"##;

/// `#[doc = ".."]` attributes, one per line of `text` (prettyplease prints
/// them as `///` comments).
fn doc_attrs(text: &str) -> TokenStream {
    let lines = lines(text);
    quote! { #(#[doc = #lines])* }
}

/// `#![doc = ".."]` attributes: the module's `//!` docs.
fn inner_doc(text: &str) -> TokenStream {
    let lines = lines(text);
    quote! { #(#![doc = #lines])* }
}

/// An identifier, raw (`r#type`) where the name says so.
fn ident(name: &str) -> Result<Ident> {
    syn::parse_str(name).map_err(|e| format!("`{name}` is not a Rust identifier: {e}"))
}

/// The module of one service, as chunks of items.
pub fn service_module(refs: &References, service: &Service) -> Result<Vec<TokenStream>> {
    let mut space = TypeSpace::new(refs);
    let mut payloads = Vec::new();
    for entry in &service.entries {
        payloads.push(match &entry.schema_file {
            Some(file) => Some(space.message(file, &entry.type_name)?),
            None => None,
        });
    }
    let binding_names: Vec<String> = service
        .entries
        .iter()
        .map(|e| e.type_name.clone())
        .collect();
    space.check_names(&binding_names)?;

    let module_doc = inner_doc(&module_doc(service, &space, &payloads));
    let prefix_doc = doc_attrs(&format!(
        "The prefix of every exchange of the {} service.",
        service.name
    ));
    let prefix = &service.exchange_prefix;
    let mut chunks = vec![
        module_doc,
        quote! {
            use pulse_binding_derive::PulseBinding;
            use serde::{Deserialize, Serialize};
        },
        quote! {
            #prefix_doc
            pub const EXCHANGE_PREFIX: &str = #prefix;
        },
    ];
    for (entry, payload) in service.entries.iter().zip(&payloads) {
        let payload = payload.map(|p| space.defs[p].name.as_str());
        chunks.push(binding(service, entry, payload)?);
    }
    for def in &space.defs {
        match &def.kind {
            DefKind::Struct(s) => chunks.extend(payload_struct(def, s, &space)?),
            DefKind::Enum(e) => chunks.extend(string_enum(def, e)?),
        }
    }
    Ok(chunks)
}

fn module_doc(service: &Service, space: &TypeSpace, payloads: &[Option<usize>]) -> String {
    let mut table = String::from("| Binding | Exchange | Payload |\n| --- | --- | --- |");
    for (entry, payload) in service.entries.iter().zip(payloads) {
        let payload = match payload {
            Some(p) => format!("[`{}`]", space.defs[*p].name),
            None => "`serde_json::Value` (no schema yet)".to_owned(),
        };
        table.push_str(&format!(
            "\n| [`{}`] | `{}` | {payload} |",
            entry.type_name, entry.exchange
        ));
    }
    let first = format!(
        "The {} service's exchanges, under `{}`.",
        service.name, service.exchange_prefix
    );
    // The notes are ours, already Markdown for rustdoc.
    let notes = service_notes(&service.name).to_owned();
    paragraphs([first, markdown(&service.description), table, notes])
}

/// A binding struct; `payload` is its payload type's name, `None` for an
/// untyped one (`serde_json::Value`, an entry of `schemaless.json`).
fn binding(service: &Service, entry: &Entry, payload: Option<&str>) -> Result<TokenStream> {
    let exchange = format!("{}{}", service.exchange_prefix, entry.exchange);
    let pattern: Vec<&str> = entry.words.iter().map(Word::fallback).collect();
    let payload_doc = match payload {
        Some(name) => format!(
            "Default pattern: `{}`. Payload: [`{name}`].",
            pattern.join(".")
        ),
        None => format!(
            "Default pattern: `{}`. Payload: untyped, [`serde_json::Value`], until its \
             schema can be had: Taskcluster's client package knows this exchange, but \
             the references these modules are generated from do not have its message \
             schema (see `generator/data/schemaless.json`).",
            pattern.join(".")
        ),
    };
    let doc = doc_attrs(&paragraphs([
        format!("{}: `{exchange}`.", markdown(&entry.title)),
        markdown(&entry.description),
        payload_doc,
    ]));
    let name = ident(&entry.type_name)?;
    let payload = match payload {
        Some(name) => {
            let name = ident(name)?;
            quote!(#name)
        }
        None => quote!(serde_json::Value),
    };
    let fields = entry
        .words
        .iter()
        .map(word_field)
        .collect::<Result<Vec<_>>>()?;
    Ok(quote! {
        #doc
        #[derive(PulseBinding, Debug, Clone, Default, PartialEq, Eq, Hash)]
        #[exchange = #exchange]
        #[payload(#payload)]
        pub struct #name {
            #(#fields)*
        }
    })
}

/// The field of one routing-key word, with its `#[mwords]`.
fn word_field(word: &Word) -> Result<TokenStream> {
    let name = &word.name;
    let (attr, kind) = match (&word.constant, word.multiple) {
        (Some(c), _) => (
            quote!(constant = #c),
            format!("Routing-key word `{name}`: always `{c}`, which is also its word when unset."),
        ),
        (None, true) => (
            quote!("#"),
            format!("Routing-key words `{name}`: any number of words; `#` when unset."),
        ),
        (None, false) => (
            quote!("*"),
            format!("Routing-key word `{name}`: one word; `*` when unset."),
        ),
    };
    let absent = if word.required || word.constant.is_some() {
        ""
    } else {
        " Publishers write `_` when they have no value."
    };
    let doc = doc_attrs(&paragraphs([
        markdown(&word.summary),
        format!("{kind}{absent}"),
    ]));
    let field = ident(&word.field)?;
    Ok(quote! {
        #doc
        #[mwords(#attr)]
        pub #field: Option<String>,
    })
}

/// A definition's title and the schema it comes from, e.g. "Task Status Structure (`v1/task-status.json`)".
fn def_title(def: &Def) -> String {
    def.title
        .as_deref()
        .map(|t| format!("{} (`{}`)", markdown(t), def.source))
        .unwrap_or_else(|| format!("Schema `{}`", def.source))
}

/// A definition's first doc paragraph: its description, else its title, else its name.
fn def_summary(def: &Def) -> String {
    markdown(
        def.description
            .as_deref()
            .or(def.title.as_deref())
            .unwrap_or(&def.name),
    )
}

/// A payload struct, and its `Default` impl where it cannot be derived.
fn payload_struct(def: &Def, s: &Struct, space: &TypeSpace) -> Result<Vec<TokenStream>> {
    let title = def_title(def);
    let of = match s.payload_of.as_slice() {
        [] => String::new(),
        bindings => format!(
            ": the payload of {}",
            bindings
                .iter()
                .map(|b| format!("[`{b}`]"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let doc = doc_attrs(&paragraphs([
        def_summary(def),
        format!(
            "{title}{of}. Properties it does not name are kept in [`{0}`](Self::{0}).",
            s.extra
        ),
    ]));
    let name = ident(&def.name)?;
    let extra = ident(&s.extra)?;
    // serde_json::Number has no Default: a required number starts at 0.
    let needs_manual_default = s.fields.iter().any(|f| f.required && f.ty == Ty::Number);
    let derive_default = (!needs_manual_default).then(|| quote!(Default,));
    let mut fields = Vec::new();
    let mut defaults = Vec::new();
    // The decoder's slots, arms and struct fields, one of each per field.
    let mut slots = Vec::new();
    let mut arms = Vec::new();
    let mut decoded = Vec::new();
    for field in &s.fields {
        let doc = doc_attrs(&field_doc(field));
        let rename = (serde_camel(&field.rust) != field.json).then(|| {
            let json = &field.json;
            quote!(#[serde(rename = #json)])
        });
        let rust = ident(&field.rust)?;
        let ty = rust_type(&field.ty, space)?;
        fields.push(if field.required {
            quote! { #doc #rename pub #rust: #ty, }
        } else {
            quote! {
                #doc
                #rename
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub #rust: Option<#ty>,
            }
        });
        // Slots and locals start with `__`, no field's name does.
        let json = &field.json;
        let slot = format_ident!("__{}", field.rust);
        arms.push(quote! { #json => crate::payload::field(&mut __map, &mut #slot, #json)?, });
        if field.required {
            slots.push(quote! { let mut #slot: Option<#ty> = None; });
            decoded.push(quote! { #rust: crate::payload::required(#slot, #json)?, });
        } else {
            slots.push(quote! { let mut #slot: Option<Option<#ty>> = None; });
            decoded.push(quote! { #rust: #slot.flatten(), });
        }
        defaults.push(if field.required && field.ty == Ty::Number {
            quote!(#rust: serde_json::Number::from(0),)
        } else {
            quote!(#rust: Default::default(),)
        });
    }
    let extra_doc = doc_attrs(if s.open {
        "Properties the schema does not name, as they came."
    } else {
        "Properties this version of the schema does not name (a later Taskcluster\n\
         release may add some), as they came."
    });
    let mut chunks = vec![quote! {
        #doc
        #[derive(Serialize, Debug, Clone, #derive_default PartialEq)]
        #[serde(rename_all = "camelCase")]
        pub struct #name {
            #(#fields)*
            #extra_doc
            #[serde(flatten)]
            pub #extra: serde_json::Map<String, serde_json::Value>,
        }
    }];
    // Decoded field by field, the properties it does not name straight into
    // the map: what `#[serde(flatten)]` would do, without buffering every
    // property first. The visitor around it is `crate::payload`'s.
    let expecting = format!("a {} object", def.name);
    chunks.push(quote! {
        impl<'de> Deserialize<'de> for #name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                crate::payload::deserialize(deserializer)
            }
        }
    });
    chunks.push(quote! {
        impl crate::payload::Properties for #name {
            const EXPECTING: &'static str = #expecting;
            fn from_properties<'de, A: serde::de::MapAccess<'de>>(mut __map: A) -> Result<Self, A::Error> {
                #(#slots)*
                let mut __extra = serde_json::Map::new();
                while let Some(__key) = __map.next_key::<crate::payload::Key<'de>>()? {
                    match __key.as_str() {
                        #(#arms)*
                        _ => crate::payload::other(&mut __map, &mut __extra, __key)?,
                    }
                }
                Ok(Self { #(#decoded)* #extra: __extra })
            }
        }
    });
    if needs_manual_default {
        chunks.push(quote! {
            impl Default for #name {
                fn default() -> Self {
                    Self {
                        #(#defaults)*
                        #extra: Default::default(),
                    }
                }
            }
        });
    }
    Ok(chunks)
}

fn field_doc(field: &Field) -> String {
    let main = field
        .description
        .as_deref()
        .or(field.title.as_deref())
        .map(markdown)
        .unwrap_or_else(|| format!("The message's `{}`.", field.json));
    let format = match field.format.as_deref() {
        Some("date-time") => "A date and time in RFC 3339 format.".to_owned(),
        Some(other) if field.ty == Ty::String => format!("Format: `{other}`."),
        _ => String::new(),
    };
    let number = if field.ty == Ty::Number {
        "Any JSON number, kept as written.".to_owned()
    } else {
        String::new()
    };
    paragraphs([main, format, number])
}

fn rust_type(ty: &Ty, space: &TypeSpace) -> Result<TokenStream> {
    Ok(match ty {
        Ty::String => quote!(String),
        Ty::U64 => quote!(u64),
        Ty::I64 => quote!(i64),
        Ty::Number => quote!(serde_json::Number),
        Ty::Bool => quote!(bool),
        Ty::Any => quote!(serde_json::Value),
        Ty::JsonObject => quote!(serde_json::Map<String, serde_json::Value>),
        Ty::Map(v) => {
            let v = rust_type(v, space)?;
            quote!(std::collections::BTreeMap<String, #v>)
        }
        Ty::Vec(v) => {
            let v = rust_type(v, space)?;
            quote!(Vec<#v>)
        }
        Ty::Def(id) => {
            let name = ident(&space.defs[*id].name)?;
            quote!(#name)
        }
    })
}

/// A string enum with an `Unknown(String)` variant, and its impls.
fn string_enum(def: &Def, e: &Enum) -> Result<Vec<TokenStream>> {
    let variant_names: Vec<String> = e.values.iter().map(|v| variant_name(v)).collect();
    let unknown_name = if variant_names.iter().any(|v| v == "Unknown") {
        "Other"
    } else {
        "Unknown"
    };
    let title = def_title(def);
    let doc = doc_attrs(&paragraphs([
        def_summary(def),
        format!(
            "{title}. A value this version does not know (a later Taskcluster release \
             may add some) decodes as [`{unknown_name}`](Self::{unknown_name}) and encodes \
             back as it came."
        ),
    ]));
    let name = ident(&def.name)?;
    let unknown = ident(unknown_name)?;
    let variants = variant_names
        .iter()
        .map(|v| ident(v))
        .collect::<Result<Vec<_>>>()?;
    let values = &e.values;
    let declared = values.iter().zip(&variants).map(|(value, variant)| {
        let doc = format!(" `{value}`");
        let default = (*value == e.default).then(|| quote!(#[default]));
        quote! {
            #[doc = #doc]
            #default
            #variant,
        }
    });
    Ok(vec![
        quote! {
            #doc
            #[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
            pub enum #name {
                #(#declared)*
                /// A value not listed above, as it came. Build it with `From`, which
                /// gives a listed value its own variant.
                #unknown(String),
            }
        },
        quote! {
            impl #name {
                /// The value as messages write it.
                pub fn as_str(&self) -> &str {
                    match self {
                        #(Self::#variants => #values,)*
                        Self::#unknown(value) => value,
                    }
                }

                fn known(value: &str) -> Option<Self> {
                    match value {
                        #(#values => Some(Self::#variants),)*
                        _ => None,
                    }
                }
            }
        },
        quote! {
            impl From<&str> for #name {
                fn from(value: &str) -> Self {
                    Self::known(value).unwrap_or_else(|| Self::#unknown(value.to_owned()))
                }
            }
        },
        quote! {
            impl From<String> for #name {
                fn from(value: String) -> Self {
                    Self::known(&value).unwrap_or(Self::#unknown(value))
                }
            }
        },
        quote! {
            impl std::fmt::Display for #name {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str(self.as_str())
                }
            }
        },
        quote! {
            impl Serialize for #name {
                fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                    serializer.serialize_str(self.as_str())
                }
            }
        },
        quote! {
            impl<'de> Deserialize<'de> for #name {
                fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    String::deserialize(deserializer).map(Self::from)
                }
            }
        },
    ])
}

fn variant_name(value: &str) -> String {
    let name = upper_camel(value);
    if name.starts_with(|c: char| c.is_ascii_digit()) || name.is_empty() {
        format!("Value{name}")
    } else {
        name
    }
}

/// `services/prebuilt.rs`: `prebuilt_bindings()`, the one public list of
/// every prebuilt binding, and a hidden macro over the same list for the
/// workspace's tests, which need each binding's type.
pub fn prebuilt(services: &[Service]) -> Result<Vec<TokenStream>> {
    let count = services.iter().map(|s| s.entries.len()).sum::<usize>();
    let mut tuples = Vec::new();
    let mut paths = Vec::new();
    for service in services {
        let module = ident(&service.module)?;
        for entry in &service.entries {
            let (service, name) = (&service.name, &entry.name);
            let binding = ident(&entry.type_name)?;
            tuples.push(quote!((#service, #name, $crate::#module::#binding)));
            paths.push(quote!(crate::#module::#binding));
        }
    }
    let doc = doc_attrs(&format!(
        "Every prebuilt binding ({count}), with no word set (each exchange's default
pattern), service by service in the order of Taskcluster's references.

Each gives its exchange, its routing-key words
([`key_words`](crate::PulseBinding::key_words)) and the name of its payload type, so
that a tool can offer every exchange without listing them by hand:

```
use pulse_binding::{{prebuilt_bindings, routing_key_from_words}};

let all = prebuilt_bindings();
assert_eq!(all.len(), {count});
let completed = all
    .iter()
    .find(|b| b.exchange_name() == \"exchange/taskcluster-queue/v1/task-completed\")
    .unwrap();
assert!(completed.payload_type_name().ends_with(\"TaskCompletedMessage\"));
let words = completed.key_words().unwrap();
assert!(words.iter().any(|w| w.name == \"task_group_id\"));
let pattern = routing_key_from_words(completed.exchange_name(), words, |w| {{
    (w.name == \"task_group_id\").then_some(\"fN1ndDrZSHuMqOMmHfpb8A\")
}});
assert_eq!(pattern.unwrap(), \"primary.*.*.*.*.*.*.*.fN1ndDrZSHuMqOMmHfpb8A.#\");
```"
    ));
    let len = proc_macro2::Literal::usize_unsuffixed(count);
    Ok(vec![
        inner_doc("Every prebuilt binding in one list."),
        quote! { use crate::DynBinding; },
        quote! {
            #doc
            pub fn prebuilt_bindings() -> Vec<Box<dyn DynBinding + Send + Sync>> {
                let all: [Box<dyn DynBinding + Send + Sync>; #len] = [
                    #(Box::new(#paths::default()),)*
                ];
                Vec::from(all)
            }
        },
        quote! {
            /// Not public API: calls `$callback!` with one `(service, exchange entry
            /// name, binding type)` tuple per prebuilt binding, in the order of
            /// [`prebuilt_bindings`], for this workspace's tests, which need each
            /// binding's type. It changes without notice.
            #[doc(hidden)]
            #[macro_export]
            macro_rules! __for_each_prebuilt_binding {
                ($callback:ident) => {
                    $callback! {
                        #(#tuples,)*
                    }
                };
            }
        },
    ])
}
