//! Reads `#[exchange = ".."]`, `#[payload(T)]`, `#[pulse_binding(crate = "..")]`
//! and `#[mwords(..)]`, keeping each attribute for error spans.

use syn::parse::ParseStream;
use syn::{Attribute, Expr, ExprLit, Lit, LitStr, Meta, Path, Token, Type};

use crate::ctxt::Ctxt;

const MWORDS_FORMS: &str = r##"expected #[mwords("*")] (one word), #[mwords("#")] (any number of words) or #[mwords(constant = "..")] (a fixed word)"##;

const PAYLOAD_FORM: &str = "expected a type, as in #[payload(MyMessage)]";

pub struct Attrs<'a> {
    pub exchange: Option<Exchange<'a>>,
    /// Whether any `#[exchange]` was written, valid or not: a broken one is
    /// reported where it is, not also as missing.
    pub exchange_written: bool,
    pub payload: Option<Payload<'a>>,
    pub krate: Option<Path>,
}

impl Attrs<'_> {
    /// Where generated code finds the runtime crate: `#[pulse_binding(crate = "..")]`,
    /// else `::pulse_binding`.
    pub fn crate_path(&self) -> Path {
        self.krate
            .clone()
            .unwrap_or_else(|| syn::parse_quote!(::pulse_binding))
    }
}

pub struct Exchange<'a> {
    pub original: &'a Attribute,
    pub value: LitStr,
}

pub struct Payload<'a> {
    pub original: &'a Attribute,
    pub ty: Type,
}

pub struct Mwords<'a> {
    pub original: &'a Attribute,
    pub kind: WordKind,
}

pub enum WordKind {
    Single,
    Multi,
    Constant(LitStr),
}

/// The struct's attributes.
pub fn get_struct<'a>(attrs: &'a [Attribute], cx: &mut Ctxt) -> Attrs<'a> {
    let mut out = Attrs {
        exchange: None,
        exchange_written: false,
        payload: None,
        krate: None,
    };
    for attr in attrs {
        if attr.path().is_ident("exchange") {
            out.exchange_written = true;
            let Some(value) = parse_exchange(attr, cx) else {
                continue;
            };
            match &out.exchange {
                Some(first) => cx.duplicate(attr, first.original, "#[exchange] attribute"),
                None => {
                    out.exchange = Some(Exchange {
                        original: attr,
                        value,
                    })
                }
            }
        } else if attr.path().is_ident("payload") {
            let ty = match &attr.meta {
                Meta::List(_) => match attr.parse_args::<Type>() {
                    Ok(ty) => ty,
                    Err(e) => {
                        cx.push(syn::Error::new(e.span(), PAYLOAD_FORM));
                        continue;
                    }
                },
                _ => {
                    cx.error(attr, PAYLOAD_FORM);
                    continue;
                }
            };
            match &out.payload {
                Some(first) => cx.duplicate(attr, first.original, "#[payload] attribute"),
                None => out.payload = Some(Payload { original: attr, ty }),
            }
        } else if attr.path().is_ident("pulse_binding") {
            parse_pulse_binding(attr, &mut out.krate, cx);
        } else if attr.path().is_ident("mwords") {
            cx.error(attr, "#[mwords] goes on a field, not on the struct");
        }
    }
    out
}

fn parse_exchange(attr: &Attribute, cx: &mut Ctxt) -> Option<LitStr> {
    let Meta::NameValue(nv) = &attr.meta else {
        cx.error(attr, r##"expected #[exchange = "exchange/..."]"##);
        return None;
    };
    let Expr::Lit(ExprLit {
        lit: Lit::Str(value),
        ..
    }) = &nv.value
    else {
        cx.error(&nv.value, "the exchange name must be a string literal");
        return None;
    };
    let name = value.value();
    if name.is_empty() {
        cx.error(value, "the exchange name must not be empty");
        return None;
    }
    if name.len() > 255 {
        cx.error(
            value,
            format!(
                "the exchange name is {} bytes long; AMQP allows at most 255",
                name.len()
            ),
        );
        return None;
    }
    Some(value.clone())
}

fn parse_pulse_binding(attr: &Attribute, krate: &mut Option<Path>, cx: &mut Ctxt) {
    let result = attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("crate") {
            let lit: LitStr = meta.value()?.parse()?;
            let path: Path = lit.parse()?;
            if krate.is_some() {
                return Err(meta.error("duplicate #[pulse_binding(crate = ..)]"));
            }
            *krate = Some(path);
            Ok(())
        } else {
            Err(meta.error(
                r##"unknown pulse_binding attribute; expected #[pulse_binding(crate = "path")]"##,
            ))
        }
    });
    if let Err(e) = result {
        cx.push(e);
    }
}

/// A field's `#[mwords]`, if it has one.
pub fn get_field<'a>(attrs: &'a [Attribute], cx: &mut Ctxt) -> Option<Mwords<'a>> {
    let mut out: Option<Mwords<'a>> = None;
    for attr in attrs {
        if attr.path().is_ident("mwords") {
            let Some(kind) = parse_mwords(attr, cx) else {
                continue;
            };
            match &out {
                Some(first) => {
                    cx.duplicate(attr, first.original, "#[mwords] attribute on this field")
                }
                None => {
                    out = Some(Mwords {
                        original: attr,
                        kind,
                    })
                }
            }
        } else if attr.path().is_ident("exchange") {
            cx.error(attr, "#[exchange] goes on the struct, not on a field");
        } else if attr.path().is_ident("payload") {
            cx.error(attr, "#[payload] goes on the struct, not on a field");
        }
    }
    out
}

fn parse_mwords(attr: &Attribute, cx: &mut Ctxt) -> Option<WordKind> {
    let empty = match &attr.meta {
        Meta::List(list) => list.tokens.is_empty(),
        _ => true,
    };
    if empty {
        cx.error(attr, MWORDS_FORMS);
        return None;
    }
    match attr.parse_args_with(|input: ParseStream| parse_mwords_args(input)) {
        Ok(kind) => Some(kind),
        Err(e) => {
            cx.push(e);
            None
        }
    }
}

fn parse_mwords_args(input: ParseStream) -> syn::Result<WordKind> {
    let kind = if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        match lit.value().as_str() {
            "*" => WordKind::Single,
            "#" => WordKind::Multi,
            other => {
                return Err(syn::Error::new(
                    lit.span(),
                    format!("unknown wildcard {other:?}: {MWORDS_FORMS}"),
                ));
            }
        }
    } else {
        let path: Path = input
            .parse()
            .map_err(|e| syn::Error::new(e.span(), MWORDS_FORMS))?;
        if !path.is_ident("constant") {
            return Err(syn::Error::new_spanned(path, MWORDS_FORMS));
        }
        input.parse::<Token![=]>()?;
        let lit: LitStr = input.parse()?;
        check_constant(&lit)?;
        WordKind::Constant(lit)
    };
    if !input.is_empty() {
        return Err(input.error(MWORDS_FORMS));
    }
    Ok(kind)
}

fn check_constant(lit: &LitStr) -> syn::Result<()> {
    let value = lit.value();
    let problem = if value.is_empty() {
        "a fixed word must not be empty"
    } else if value.contains('.') {
        "a fixed word is one routing-key word and must not contain `.`"
    } else if value == "*" || value == "#" {
        r##"a fixed word must not be a wildcard; use #[mwords("*")] or #[mwords("#")]"##
    } else {
        return Ok(());
    };
    Err(syn::Error::new(lit.span(), problem))
}
