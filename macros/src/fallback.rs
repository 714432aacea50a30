//! When the derive fails, a minimal impl of each trait, so that the user sees
//! only the real errors and not a cascade of "trait not implemented".

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput};

pub fn impls(node: &DeriveInput) -> TokenStream {
    if !matches!(node.data, Data::Struct(_)) {
        // An enum or union gets no impl; the error says why.
        return TokenStream::new();
    }
    let ident = &node.ident;
    let (impl_generics, ty_generics, where_clause) = node.generics.split_for_impl();
    let pb = crate_path(node);
    quote! {
        #[automatically_derived]
        impl #impl_generics #pb::PulseBinding for #ident #ty_generics #where_clause {
            type Payload = #pb::__private::Value;
            fn exchange_name(&self) -> &str {
                ::core::unreachable!()
            }
            fn routing_key(&self) -> #pb::__private::String {
                ::core::unreachable!()
            }
        }

        #[automatically_derived]
        impl #impl_generics #pb::FromRoutingKey for #ident #ty_generics #where_clause {
            fn from_routing_key(_: &str) -> ::core::result::Result<Self, #pb::__private::FromRoutingKeyError> {
                ::core::unreachable!()
            }
        }
    }
}

/// The crate path from `#[pulse_binding(crate = "..")]` if it reads, else the default.
fn crate_path(node: &DeriveInput) -> TokenStream {
    let mut found = None;
    for attr in node
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("pulse_binding"))
    {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                let lit: syn::LitStr = meta.value()?.parse()?;
                found = Some(lit.parse::<syn::Path>()?);
            }
            Ok(())
        });
    }
    match found {
        Some(path) => quote!(#path),
        None => quote!(::pulse_binding),
    }
}
