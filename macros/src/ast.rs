//! The derive input as our own types; rejects what cannot be a binding.

use syn::{Data, DeriveInput, Fields, Generics, Ident, Type};

use crate::attr::{self, Attrs, Mwords};
use crate::ctxt::Ctxt;

pub struct Input<'a> {
    pub ident: &'a Ident,
    pub generics: &'a Generics,
    pub attrs: Attrs<'a>,
    pub fields: Vec<Field<'a>>,
}

pub struct Field<'a> {
    pub ident: &'a Ident,
    pub ty: &'a Type,
    pub mwords: Option<Mwords<'a>>,
}

impl<'a> Input<'a> {
    /// Reads the input, recording every problem in `cx`. `None` when it is not
    /// a struct with named fields (or a unit struct) at all.
    pub fn from_syn(node: &'a DeriveInput, cx: &mut Ctxt) -> Option<Self> {
        let attrs = attr::get_struct(&node.attrs, cx);
        let fields = match &node.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => named
                    .named
                    .iter()
                    .filter_map(|field| {
                        let mwords = attr::get_field(&field.attrs, cx);
                        Some(Field {
                            ident: field.ident.as_ref()?,
                            ty: &field.ty,
                            mwords,
                        })
                    })
                    .collect(),
                Fields::Unit => Vec::new(),
                Fields::Unnamed(unnamed) => {
                    cx.error(
                        unnamed,
                        "#[derive(PulseBinding)] needs named fields: a routing-key word is named after its field",
                    );
                    return None;
                }
            },
            Data::Enum(data) => {
                cx.error(
                    data.enum_token,
                    "#[derive(PulseBinding)] works on structs only, not enums",
                );
                return None;
            }
            Data::Union(data) => {
                cx.error(
                    data.union_token,
                    "#[derive(PulseBinding)] works on structs only, not unions",
                );
                return None;
            }
        };
        Some(Input {
            ident: &node.ident,
            generics: &node.generics,
            attrs,
            fields,
        })
    }

    /// The fields that are routing-key words, with their attribute.
    pub fn key_fields(&self) -> impl Iterator<Item = (&Field<'a>, &Mwords<'a>)> {
        self.fields
            .iter()
            .filter_map(|f| f.mwords.as_ref().map(|m| (f, m)))
    }
}
