//! The `quote!` of the `PulseBinding` and `FromRoutingKey` impls.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, Ident, WherePredicate, parse_quote};

use crate::ast::{Field, Input};
use crate::attr::{Mwords, WordKind};
use crate::bound::TypeParams;
use crate::ctxt::Ctxt;
use crate::{fallback, valid};

pub fn derive(node: &DeriveInput) -> TokenStream {
    let mut cx = Ctxt::default();
    let input = ast_or_none(node, &mut cx);
    match (cx.check(), input) {
        (Ok(()), Some(input)) => impls(&input),
        (Err(errors), _) => {
            let mut out = errors.to_compile_error();
            out.extend(fallback::impls(node));
            out
        }
        (Ok(()), None) => fallback::impls(node),
    }
}

fn ast_or_none<'a>(node: &'a DeriveInput, cx: &mut Ctxt) -> Option<Input<'a>> {
    let input = Input::from_syn(node, cx)?;
    valid::check(&input, cx);
    Some(input)
}

fn impls(input: &Input) -> TokenStream {
    let pb = input.attrs.crate_path();
    let private = quote!(#pb::__private);
    let ident = input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let params = TypeParams::of(input.generics);
    let Some(exchange) = input.attrs.exchange.as_ref().map(|e| &e.value) else {
        // Unreachable: a missing or broken #[exchange] is an error, and errors
        // take the fallback path.
        return TokenStream::new();
    };
    let payload = match &input.attrs.payload {
        Some(payload) => {
            let ty = &payload.ty;
            quote!(#ty)
        }
        None => quote!(#private::Value),
    };

    let keys: Vec<_> = input.key_fields().collect();
    let words = keys.iter().map(|(field, mwords)| {
        let name = field.ident.to_string();
        let kind = match &mwords.kind {
            WordKind::Single => quote!(#private::WordKind::Single),
            WordKind::Multi => quote!(#private::WordKind::Multi),
            WordKind::Constant(word) => quote!(#private::WordKind::Constant(#word)),
        };
        quote!(#private::KeyWord { name: #name, kind: #kind })
    });

    // Every method is written out field by field, one call per field, with
    // no `?` (each `?` expands to a branch, a conversion and copies of the
    // error, per field and per struct): `__pb_buf{i}` is the buffer field i
    // may write an integer into, `__pb_w{i}` its word.
    let n = keys.len();
    let bufs: Vec<_> = (0..n).map(|i| format_ident!("__pb_buf{}", i)).collect();
    let ws: Vec<_> = (0..n).map(|i| format_ident!("__pb_w{}", i)).collect();
    let new_bufs = quote! {
        let mut __pb_bufs = [const { #private::WordBuf::new() }; #n];
        let [#(#bufs),*] = &mut __pb_bufs;
    };
    let field_words: Vec<_> = keys
        .iter()
        .zip(&bufs)
        .map(|((field, _), buf)| {
            let member = field.ident;
            let ty = field.ty;
            quote_spanned! {ty.span()=>
                <#ty as #private::RoutingWord>::word(&self.#member, #buf)
            }
        })
        .collect();
    // Each word, or its fallback (`*`, `#` or the fixed word) when the field
    // is unset.
    let words_or_fallbacks = keys.iter().zip(&field_words).map(|((_, mwords), word)| {
        let fallback = match &mwords.kind {
            WordKind::Single => quote!("*"),
            WordKind::Multi => quote!("#"),
            WordKind::Constant(word) => quote!(#word),
        };
        quote!(#private::core::option::Option::unwrap_or(#word, #fallback))
    });
    let words_or_fallbacks = quote!([#(#words_or_fallbacks),*]);
    // Each word checked by what its field is: `.` in a single word, another
    // value for a fixed word; the `#` words counted.
    let checked = keys.iter().enumerate().map(|(i, (_, mwords))| {
        let word = &field_words[i];
        match &mwords.kind {
            WordKind::Single => quote!(#private::KeyCheck::single(&mut __pb_check, #i, #word)),
            WordKind::Multi => quote!(#private::KeyCheck::multi(&mut __pb_check, #word)),
            WordKind::Constant(expected) => {
                quote!(#private::KeyCheck::constant(&mut __pb_check, #i, #word, #expected))
            }
        }
    });
    let checked_words = quote!([#(#checked),*]);
    let split = split_words(&private, &keys, &ws);
    let constants = keys.iter().enumerate().filter_map(|(i, (_, mwords))| {
        let WordKind::Constant(word) = &mwords.kind else {
            return None;
        };
        let w = &ws[i];
        let check = quote!(#private::check_constant(__PB_EXCHANGE, &__PB_WORDS[#i], #word, #w));
        Some(return_err(&private, &check))
    });
    let constants: Vec<_> = constants.collect();

    let mut binding_bounds: Vec<WherePredicate> = Vec::new();
    for (field, _) in &keys {
        let ty = field.ty;
        if params.mentioned_in(ty) {
            binding_bounds.push(parse_quote!(#ty: #private::RoutingWord));
        }
    }
    if let Some(payload) = &input.attrs.payload
        && params.mentioned_in(&payload.ty)
    {
        let ty = &payload.ty;
        binding_bounds.push(parse_quote!(#ty: #private::DeserializeOwned));
    }
    let binding_where = with_bounds(where_clause, &binding_bounds);

    // `for<'__pb>` keeps a bound on a concrete type from being checked where
    // the impl is written: a struct with a borrowed word still compiles, and
    // only a use of `from_routing_key` reports the missing `ParseWord`.
    let parse_bounds: Vec<WherePredicate> = input
        .fields
        .iter()
        .map(|field| {
            let ty = field.ty;
            if field.mwords.is_some() {
                parse_quote!(for<'__pb> #ty: #private::ParseWord)
            } else {
                parse_quote!(for<'__pb> #ty: #private::core::default::Default)
            }
        })
        .collect();
    let parse_where = with_bounds(where_clause, &parse_bounds);
    let inits = input.fields.iter().map(|field| {
        let member = field.ident;
        match keys.iter().position(|(key, _)| key.ident == member) {
            Some(i) => {
                let w = &ws[i];
                let parse = quote!(#private::parse_field(__PB_EXCHANGE, &__PB_WORDS[#i], #w));
                let value = return_err(&private, &parse);
                quote!(#member: #value)
            }
            None => quote!(#member: #private::core::default::Default::default()),
        }
    });
    let inits: Vec<_> = inits.collect();

    quote! {
        const _: () = {
            const __PB_EXCHANGE: &str = #exchange;
            const __PB_WORDS: &[#private::KeyWord] = &[#(#words),*];

            #[automatically_derived]
            impl #impl_generics #pb::PulseBinding for #ident #ty_generics #binding_where {
                type Payload = #payload;

                #[inline]
                fn exchange_name(&self) -> &str {
                    __PB_EXCHANGE
                }

                fn routing_key(&self) -> #private::String {
                    #new_bufs
                    #private::join_words(&#words_or_fallbacks)
                }

                fn try_routing_key(&self) -> #private::core::result::Result<#private::String, #private::RoutingKeyError> {
                    #new_bufs
                    let mut __pb_check = #private::KeyCheck::new();
                    let __pb_words = #checked_words;
                    #private::KeyCheck::finish(__pb_check, __PB_EXCHANGE, __PB_WORDS, &__pb_words)
                }

                fn matches(&self, routing_key: &str) -> bool {
                    #new_bufs
                    #private::matches_segments(&#words_or_fallbacks, routing_key)
                }

                #[inline]
                fn key_words(&self) -> #private::core::option::Option<&'static [#private::KeyWord]> {
                    #private::core::option::Option::Some(__PB_WORDS)
                }
            }

            #[automatically_derived]
            impl #impl_generics #pb::FromRoutingKey for #ident #ty_generics #parse_where {
                fn from_routing_key(routing_key: &str) -> #private::core::result::Result<Self, #private::FromRoutingKeyError> {
                    #split
                    <Self as #pb::FromRoutingKey>::__from_words(routing_key, &[#(#ws),*])
                }

                fn __from_words(
                    routing_key: &str,
                    words: &[#private::core::option::Option<&str>],
                ) -> #private::core::result::Result<Self, #private::FromRoutingKeyError> {
                    let &[#(#ws),*] = words else {
                        return <Self as #pb::FromRoutingKey>::from_routing_key(routing_key);
                    };
                    #(#constants)*
                    #private::core::result::Result::Ok(Self { #(#inits,)* })
                }
            }
        };
    }
}

/// The statements that split `routing_key` into `ws`, one `Option<&str>` per
/// key field, as the runtime's `split_routing_key` does, written out for these
/// fields with the runtime's `Split`: single words from the left up to the
/// first multi-word field, from the right after it; the multi-word field takes
/// the words between (`None`: none), a later one none. Returns the word-count
/// error when the words do not fit.
fn split_words(private: &TokenStream, keys: &[(&Field, &Mwords)], ws: &[Ident]) -> TokenStream {
    let multi = keys
        .iter()
        .position(|(_, m)| matches!(m.kind, WordKind::Multi));
    let left = multi.unwrap_or(keys.len());
    let mut takes = Vec::new();
    for w in &ws[..left] {
        takes.push(quote!(let #w = #private::Split::first(&mut __pb_split);));
    }
    if let Some(m) = multi {
        for (i, (_, mwords)) in keys.iter().enumerate().skip(m + 1).rev() {
            let w = &ws[i];
            if matches!(mwords.kind, WordKind::Multi) {
                takes.push(quote!(let #w: #private::core::option::Option<&str> = #private::core::option::Option::None;));
            } else {
                takes.push(quote!(let #w = #private::Split::last(&mut __pb_split);));
            }
        }
        let w = &ws[m];
        takes.push(quote!(let #w = #private::Split::rest(&mut __pb_split);));
    }
    // A binding without key fields takes no word.
    let mutable = (!takes.is_empty()).then(|| quote!(mut));
    quote! {
        let #mutable __pb_split = #private::Split::new(routing_key);
        #(#takes)*
        if !#private::Split::complete(&__pb_split) {
            return #private::core::result::Result::Err(
                #private::word_count_error(__PB_EXCHANGE, __PB_WORDS, routing_key),
            );
        }
    }
}

/// `call`'s value, or a return of its error: `?` without the conversion.
fn return_err(private: &TokenStream, call: &TokenStream) -> TokenStream {
    quote! {
        match #call {
            #private::core::result::Result::Ok(__pb_value) => __pb_value,
            #private::core::result::Result::Err(__pb_error) => {
                return #private::core::result::Result::Err(__pb_error);
            }
        }
    }
}

fn with_bounds(where_clause: Option<&syn::WhereClause>, bounds: &[WherePredicate]) -> TokenStream {
    let existing = where_clause
        .map(|w| w.predicates.iter().collect::<Vec<_>>())
        .unwrap_or_default();
    if existing.is_empty() && bounds.is_empty() {
        return TokenStream::new();
    }
    quote!(where #(#existing,)* #(#bounds,)*)
}
