//! What the derive's generated code calls. Not a public API: it changes
//! without notice.
//!
//! The generated methods are written out field by field (one statement per
//! field, the field's wildcard or fixed word as a literal); these helpers are
//! the per-field steps, small enough to inline, and the error paths, kept out
//! of line.

pub use crate::word::{ParseWord, RoutingWord, WordBuf};
pub use crate::{FromRoutingKeyError, KeyWord, RoutingKeyError, WordKind};
pub use core;
pub use serde::de::DeserializeOwned;
pub use serde_json::Value;
pub use std::string::String;

use crate::key::{hash_words, split_first, split_last};

/// Whether the pattern that `segments` joined with `.` would make matches
/// `routing_key`, without joining them.
#[inline]
pub fn matches_segments(segments: &[&str], routing_key: &str) -> bool {
    crate::topic::topic_matches_segments(segments, routing_key.as_bytes())
}

/// The words joined with `.`, in one allocation of the exact length.
#[inline]
pub fn join_words<const N: usize>(words: &[&str; N]) -> String {
    let mut key = String::with_capacity(joined_len(words));
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            key.push('.');
        }
        key.push_str(word);
    }
    key
}

/// The length of the words joined with `.`.
#[inline]
fn joined_len<const N: usize>(words: &[&str; N]) -> usize {
    words.iter().map(|w| w.len()).sum::<usize>() + N.saturating_sub(1)
}

/// A single word's value, or `*` when it is unset; a value with a `.` is an
/// error. Counts a `#` value into `hashes`.
#[inline]
pub fn single_word<'a>(
    word: Option<&'a str>,
    spec: &KeyWord,
    exchange: &str,
    hashes: &mut usize,
) -> Result<&'a str, RoutingKeyError> {
    let Some(word) = word else {
        return Ok("*");
    };
    if word.as_bytes().contains(&b'.') {
        return Err(dot_in_word_error(exchange, spec, word));
    }
    *hashes += usize::from(word == "#");
    Ok(word)
}

/// A multi-word value, or `#` when it is unset, its `#` words counted into
/// `hashes`.
#[inline]
pub fn multi_word<'a>(word: Option<&'a str>, hashes: &mut usize) -> &'a str {
    let Some(word) = word else {
        *hashes += 1;
        return "#";
    };
    *hashes += hash_words(word);
    word
}

/// A fixed word's value, or the fixed word `expected` when it is unset; any
/// other value is an error.
#[inline]
pub fn constant_word<'a>(
    word: Option<&'a str>,
    expected: &'a str,
    spec: &KeyWord,
    exchange: &str,
) -> Result<&'a str, RoutingKeyError> {
    match word {
        Some(word) if word != expected => Err(not_constant_error(exchange, spec, word)),
        _ => Ok(expected),
    }
}

#[cold]
#[inline(never)]
fn dot_in_word_error(exchange: &str, spec: &KeyWord, value: &str) -> RoutingKeyError {
    RoutingKeyError::DotInWord {
        exchange: exchange.to_owned(),
        field: spec.name,
        value: value.to_owned(),
    }
}

#[cold]
#[inline(never)]
fn not_constant_error(exchange: &str, spec: &KeyWord, value: &str) -> RoutingKeyError {
    RoutingKeyError::NotConstant {
        exchange: exchange.to_owned(),
        field: spec.name,
        expected: spec.fallback(),
        value: value.to_owned(),
    }
}

/// The checks of [`check_pattern`](crate::check_pattern) on the pattern that
/// `words` joined with `.` would make, with `hashes` `#` words.
#[inline]
pub fn check_words<const N: usize>(
    exchange: &str,
    words: &[&str; N],
    hashes: usize,
) -> Result<(), RoutingKeyError> {
    crate::key::check_limits(exchange, joined_len(words), hashes)
}

/// The words of a routing key still to be split: `None` for the empty key,
/// which has none.
#[inline]
pub fn key_words(routing_key: &str) -> Option<&str> {
    (!routing_key.is_empty()).then_some(routing_key)
}

/// Takes the first of the words in `rest`; `None` when there are none left.
#[inline]
pub fn take_first<'k>(rest: &mut Option<&'k str>) -> Option<&'k str> {
    let (word, after) = split_first((*rest)?);
    *rest = after;
    Some(word)
}

/// Takes the last of the words in `rest`; `None` when there are none left.
#[inline]
pub fn take_last<'k>(rest: &mut Option<&'k str>) -> Option<&'k str> {
    let (before, word) = split_last((*rest)?);
    *rest = before;
    Some(word)
}

/// The error for a routing key whose word count `words` cannot take.
#[inline]
pub fn word_count_error(
    exchange: &str,
    words: &[KeyWord],
    routing_key: &str,
) -> FromRoutingKeyError {
    crate::key::word_count_error(exchange, words, routing_key)
}

/// Checks that a fixed word's slot holds the fixed word.
#[inline]
pub fn check_constant(
    exchange: &str,
    spec: &KeyWord,
    expected: &str,
    word: Option<&str>,
) -> Result<(), FromRoutingKeyError> {
    match word {
        Some(word) if word != expected => Err(crate::key::not_constant_error(exchange, spec, word)),
        _ => Ok(()),
    }
}

/// One field's value from its word (`None`: a multi-word field that got no
/// word).
#[inline]
pub fn parse_field<T: ParseWord>(
    exchange: &str,
    spec: &KeyWord,
    word: Option<&str>,
) -> Result<T, FromRoutingKeyError> {
    T::parse_word(word).map_err(|reason| invalid_word_error(exchange, spec, word, reason))
}

#[cold]
#[inline(never)]
fn invalid_word_error(
    exchange: &str,
    spec: &KeyWord,
    word: Option<&str>,
    reason: String,
) -> FromRoutingKeyError {
    FromRoutingKeyError::InvalidWord {
        exchange: exchange.to_owned(),
        field: spec.name,
        word: word.unwrap_or_default().to_owned(),
        reason,
    }
}
