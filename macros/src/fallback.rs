//! When the derive fails, a minimal impl of each trait, so that the user sees
//! only the real errors and not a cascade of "trait not implemented".

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput};

use crate::attr;
use crate::ctxt::Ctxt;

pub fn impls(node: &DeriveInput) -> TokenStream {
    if !matches!(node.data, Data::Struct(_)) {
        // An enum or union gets no impl; the error says why.
        return TokenStream::new();
    }
    let ident = &node.ident;
    let (impl_generics, ty_generics, where_clause) = node.generics.split_for_impl();
    // Read with the same parser as a successful derive; its errors were
    // reported already.
    let pb = attr::get_struct(&node.attrs, &mut Ctxt::default()).crate_path();
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
