//! What the derive's generated code calls. Not a public API: it changes
//! without notice.

pub use crate::key::split_routing_key;
pub use crate::word::{ParseWord, RoutingWord, WordBuf};
pub use crate::{FromRoutingKeyError, KeyWord, RoutingKeyError, WordKind};
pub use core;
pub use serde::de::DeserializeOwned;
pub use serde_json::Value;
pub use std::string::String;

use crate::key::hash_words;

/// Whether the pattern that `segments` joined with `.` would make matches
/// `routing_key`, without joining them.
#[inline]
pub fn matches_segments(segments: &[&str], routing_key: &str) -> bool {
    crate::topic::topic_matches_segments(segments, routing_key.as_bytes())
}

/// Writes one field's word, or its fallback when unset, unchecked.
#[inline]
pub fn push_word(key: &mut String, word: Option<&str>, spec: &KeyWord) {
    key.push_str(word.unwrap_or(spec.fallback()));
}

/// Writes one field's word, or its fallback when unset, refusing a `.` in a
/// single word and a value other than a fixed word, and counting the `#` words
/// it writes into `hashes`.
#[inline]
pub fn put_word(
    key: &mut String,
    word: Option<&str>,
    spec: &KeyWord,
    exchange: &str,
    hashes: &mut usize,
) -> Result<(), RoutingKeyError> {
    let Some(word) = word else {
        let fallback = spec.fallback();
        *hashes += usize::from(fallback == "#");
        key.push_str(fallback);
        return Ok(());
    };
    match spec.kind {
        WordKind::Single if word.contains('.') => {
            return Err(RoutingKeyError::DotInWord {
                exchange: exchange.to_owned(),
                field: spec.name,
                value: word.to_owned(),
            });
        }
        WordKind::Constant(expected) if word != expected => {
            return Err(RoutingKeyError::NotConstant {
                exchange: exchange.to_owned(),
                field: spec.name,
                expected,
                value: word.to_owned(),
            });
        }
        WordKind::Multi => *hashes += hash_words(word),
        _ => *hashes += usize::from(word == "#"),
    }
    key.push_str(word);
    Ok(())
}

/// The checks of [`check_pattern`](crate::check_pattern) on a pattern whose
/// `#` words [`put_word`] counted.
#[inline]
pub fn check_limits(exchange: &str, pattern: &str, hashes: usize) -> Result<(), RoutingKeyError> {
    crate::key::check_limits(exchange, pattern, hashes)
}

/// One field's value from its slot of [`split_routing_key`].
#[inline]
pub fn parse_field<T: ParseWord>(
    exchange: &str,
    spec: &KeyWord,
    word: Option<&str>,
) -> Result<T, FromRoutingKeyError> {
    T::parse_word(word).map_err(|reason| FromRoutingKeyError::InvalidWord {
        exchange: exchange.to_owned(),
        field: spec.name,
        word: word.unwrap_or_default().to_owned(),
        reason,
    })
}
