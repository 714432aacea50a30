//! Collects every error of one derive, so that all are reported in one build.

use std::fmt::Display;

use quote::ToTokens;

#[derive(Default)]
pub struct Ctxt {
    errors: Option<syn::Error>,
}

impl Ctxt {
    /// Records an error pointing at `tokens`.
    pub fn error(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records an error pointing at `tokens`, with a note at `first`, the
    /// earlier place the same thing was said.
    pub fn duplicate(&mut self, tokens: impl ToTokens, first: impl ToTokens, what: &str) {
        self.error(tokens, format!("duplicate {what}"));
        self.error(first, format!("first {what}, repeated below"));
    }

    pub fn push(&mut self, error: syn::Error) {
        match &mut self.errors {
            Some(errors) => errors.combine(error),
            None => self.errors = Some(error),
        }
    }

    /// Every error recorded, combined; `Ok` if there were none.
    pub fn check(self) -> syn::Result<()> {
        match self.errors {
            Some(errors) => Err(errors),
            None => Ok(()),
        }
    }
}
