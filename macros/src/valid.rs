//! Rules across the whole struct: the required exchange, how many `#` words.

use crate::ast::Input;
use crate::attr::WordKind;
use crate::ctxt::Ctxt;

/// RabbitMQ 3.13 and later refuse a binding key with more `#` words than this.
const MAX_MULTI_WORDS: usize = 2;

pub fn check(input: &Input, cx: &mut Ctxt) {
    if !input.attrs.exchange_written {
        cx.error(
            input.ident,
            r##"missing #[exchange = "exchange/..."] on a #[derive(PulseBinding)] struct"##,
        );
    }
    let multi = input
        .key_fields()
        .filter(|(_, m)| matches!(m.kind, WordKind::Multi));
    for (_, mwords) in multi.skip(MAX_MULTI_WORDS) {
        cx.error(
            mwords.original,
            "a binding can have at most two #[mwords(\"#\")] fields: RabbitMQ refuses binding keys with \
             more than two `#` words, and older brokers slow down badly on them",
        );
    }
}
