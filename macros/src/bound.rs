//! Which field types need a `where` bound because they mention a type
//! parameter of the struct.

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::{Generics, Ident, Type};

pub struct TypeParams(Vec<Ident>);

impl TypeParams {
    pub fn of(generics: &Generics) -> Self {
        Self(generics.type_params().map(|p| p.ident.clone()).collect())
    }

    /// Whether `ty` names one of the struct's type parameters.
    pub fn mentioned_in(&self, ty: &Type) -> bool {
        !self.0.is_empty() && self.in_tokens(ty.to_token_stream())
    }

    fn in_tokens(&self, tokens: TokenStream) -> bool {
        tokens.into_iter().any(|tt| match tt {
            TokenTree::Ident(ident) => self.0.contains(&ident),
            TokenTree::Group(group) => self.in_tokens(group.stream()),
            _ => false,
        })
    }
}
