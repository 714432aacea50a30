//! The `quote!` of the `PulseBinding` and `FromRoutingKey` impls.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, WherePredicate, parse_quote};

use crate::ast::Input;
use crate::attr::WordKind;
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

    // One statement list per way of writing the key, over the key fields.
    let write = |checked: bool| -> TokenStream {
        keys.iter()
            .enumerate()
            .map(|(i, (field, _))| {
                let member = field.ident;
                let ty = field.ty;
                let dot = (i > 0).then(|| quote!(#private::String::push(&mut __pb_key, '.');));
                let word = quote_spanned! {ty.span()=>
                    <#ty as #private::RoutingWord>::word(&self.#member, &mut __pb_buf)
                };
                let put = if checked {
                    quote!(#private::put_word(&mut __pb_key, #word, &__PB_WORDS[#i], __PB_EXCHANGE, &mut __pb_hashes)?;)
                } else {
                    quote!(#private::push_word(&mut __pb_key, #word, &__PB_WORDS[#i]);)
                };
                quote!(#dot #put)
            })
            .collect()
    };
    let write_unchecked = write(false);
    let write_checked = write(true);
    // `matches` gives the matcher each field's text in place, every field
    // with a buffer of its own for the integer it may write.
    let segments = keys.iter().enumerate().map(|(i, (field, _))| {
        let member = field.ident;
        let ty = field.ty;
        let buf = format_ident!("__pb_buf{}", i);
        quote_spanned! {ty.span()=>
            #private::core::option::Option::unwrap_or(
                <#ty as #private::RoutingWord>::word(&self.#member, &mut #buf),
                __PB_WORDS[#i].fallback(),
            )
        }
    });
    let segment_bufs = (0..keys.len()).map(|i| {
        let buf = format_ident!("__pb_buf{}", i);
        quote!(let mut #buf = #private::WordBuf::new();)
    });
    let dots = keys.len().saturating_sub(1);
    let capacity = keys.iter().map(|(field, mwords)| {
        let member = field.ident;
        let ty = field.ty;
        let fallback_len = match &mwords.kind {
            WordKind::Constant(word) => word.value().len(),
            _ => 1,
        };
        quote_spanned!(ty.span()=> + <#ty as #private::RoutingWord>::len_hint(&self.#member) + #fallback_len)
    });
    let capacity: TokenStream = quote!(#dots #(#capacity)*);
    let buf = (!keys.is_empty()).then(|| quote!(let mut __pb_buf = #private::WordBuf::new();));

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
    let n = keys.len();
    let inits = input.fields.iter().map(|field| {
        let member = field.ident;
        match keys.iter().position(|(key, _)| key.ident == member) {
            Some(i) => quote!(#member: #private::parse_field(__PB_EXCHANGE, &__PB_WORDS[#i], __pb_slot[#i])?),
            None => quote!(#member: #private::core::default::Default::default()),
        }
    });

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
                    let mut __pb_key = #private::String::with_capacity(#capacity);
                    #buf
                    #write_unchecked
                    __pb_key
                }

                fn try_routing_key(&self) -> #private::core::result::Result<#private::String, #private::RoutingKeyError> {
                    let mut __pb_key = #private::String::with_capacity(#capacity);
                    #buf
                    let mut __pb_hashes = 0usize;
                    #write_checked
                    #private::check_limits(__PB_EXCHANGE, &__pb_key, __pb_hashes)?;
                    #private::core::result::Result::Ok(__pb_key)
                }

                fn matches(&self, routing_key: &str) -> bool {
                    #(#segment_bufs)*
                    let __pb_segments: [&str; #n] = [#(#segments),*];
                    #private::matches_segments(&__pb_segments, routing_key)
                }

                #[inline]
                fn key_words(&self) -> #private::core::option::Option<&'static [#private::KeyWord]> {
                    #private::core::option::Option::Some(__PB_WORDS)
                }
            }

            #[automatically_derived]
            impl #impl_generics #pb::FromRoutingKey for #ident #ty_generics #parse_where {
                fn from_routing_key(routing_key: &str) -> #private::core::result::Result<Self, #private::FromRoutingKeyError> {
                    let mut __pb_slot: [#private::core::option::Option<&str>; #n] = [#private::core::option::Option::None; #n];
                    #private::split_routing_key(__PB_EXCHANGE, __PB_WORDS, routing_key, &mut __pb_slot)?;
                    #private::core::result::Result::Ok(Self { #(#inits,)* })
                }
            }
        };
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
