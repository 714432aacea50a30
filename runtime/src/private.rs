//! What the derive's generated code calls. Not a public API: it changes
//! without notice.
//!
//! The generated methods are written out field by field (one call per field,
//! the field's wildcard or fixed word as a literal); these helpers are the
//! per-field steps, small enough to inline, and the error paths, kept out of
//! line. They are shaped so that the code generated for each struct is short
//! and cheap to compile: no `?` in it (a failed step is recorded, as in
//! [`KeyCheck`] and [`Split`], or returned through one `match`), and every
//! loop or check that does not depend on the struct lives here.

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
fn check_words<const N: usize>(
    exchange: &str,
    words: &[&str; N],
    hashes: usize,
) -> Result<(), RoutingKeyError> {
    crate::key::check_limits(exchange, joined_len(words), hashes)
}

/// What `try_routing_key` checks, one word at a time (the call for each word
/// chosen by its kind when the macro expands): the `#` words are counted, and
/// the first word refused (a `.` in a single word, another value for a fixed
/// word) is remembered, so that the generated code has one place that returns
/// ([`finish`](Self::finish)) and an unset word is not searched.
pub struct KeyCheck {
    hashes: usize,
    /// The index of the first word refused; `usize::MAX`: none.
    refused: usize,
}

impl KeyCheck {
    /// Nothing counted or refused yet.
    #[inline]
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self {
            hashes: 0,
            refused: usize::MAX,
        }
    }

    #[inline]
    fn refuse(&mut self, i: usize) {
        if self.refused == usize::MAX {
            self.refused = i;
        }
    }

    /// Word `i`, a single word: its value, or `*` when it is unset; a value
    /// with a `.` is refused, a `#` counted.
    #[inline]
    pub fn single<'a>(&mut self, i: usize, word: Option<&'a str>) -> &'a str {
        let Some(word) = word else {
            return "*";
        };
        if word.as_bytes().contains(&b'.') {
            self.refuse(i);
        }
        self.hashes += usize::from(word == "#");
        word
    }

    /// A multi-word value, or `#` when it is unset, its `#` words counted.
    #[inline]
    pub fn multi<'a>(&mut self, word: Option<&'a str>) -> &'a str {
        multi_word(word, &mut self.hashes)
    }

    /// Word `i`, a fixed word: `expected` when it is unset or holds
    /// `expected`; any other value is refused (and returned, for the error).
    #[inline]
    pub fn constant<'a>(&mut self, i: usize, word: Option<&'a str>, expected: &'a str) -> &'a str {
        match word {
            Some(word) if word != expected => {
                self.refuse(i);
                word
            }
            _ => expected,
        }
    }

    /// The key `values` make, or the error for the first word refused, else
    /// for the limits of [`check_pattern`](crate::check_pattern). `words`
    /// describes the binding's words, `values` what the calls above returned.
    #[inline]
    pub fn finish<const N: usize>(
        self,
        exchange: &str,
        words: &[KeyWord],
        values: &[&str; N],
    ) -> Result<String, RoutingKeyError> {
        if self.refused != usize::MAX {
            return Err(refused_error(exchange, words, values, self.refused));
        }
        check_words(exchange, values, self.hashes)?;
        Ok(join_words(values))
    }
}

/// The error for `values[i]`, the word [`KeyCheck`] refused.
#[cold]
#[inline(never)]
fn refused_error(exchange: &str, words: &[KeyWord], values: &[&str], i: usize) -> RoutingKeyError {
    let (spec, value) = (&words[i], values[i]);
    match spec.kind {
        WordKind::Constant(_) => not_constant_error(exchange, spec, value),
        WordKind::Single | WordKind::Multi => dot_in_word_error(exchange, spec, value),
    }
}

/// A routing key being split into its words, one call per word in the order
/// the generated code takes them (single words from the left, then from the
/// right after the multi-word field, then the multi-word field's rest);
/// [`complete`](Self::complete) says whether the key had the right number of
/// words.
pub struct Split<'k> {
    rest: Option<&'k str>,
    missing: bool,
}

impl<'k> Split<'k> {
    /// The words of `routing_key`; the empty key has none.
    #[inline]
    pub fn new(routing_key: &'k str) -> Self {
        Self {
            rest: key_words(routing_key),
            missing: false,
        }
    }

    /// The first word left (`None`, and the key is short, when none is).
    #[inline]
    pub fn first(&mut self) -> Option<&'k str> {
        let word = take_first(&mut self.rest);
        self.missing |= word.is_none();
        word
    }

    /// The last word left (`None`, and the key is short, when none is).
    #[inline]
    pub fn last(&mut self) -> Option<&'k str> {
        let word = take_last(&mut self.rest);
        self.missing |= word.is_none();
        word
    }

    /// Every word left, joined with `.`, for the multi-word field (`None`:
    /// none left).
    #[inline]
    pub fn rest(&mut self) -> Option<&'k str> {
        self.rest.take()
    }

    /// Whether every word asked for was there and none is left over.
    #[inline]
    pub fn complete(&self) -> bool {
        !self.missing && self.rest.is_none()
    }
}

/// The words of a routing key still to be split: `None` for the empty key,
/// which has none.
#[inline]
fn key_words(routing_key: &str) -> Option<&str> {
    (!routing_key.is_empty()).then_some(routing_key)
}

/// Takes the first of the words in `rest`; `None` when there are none left.
#[inline]
fn take_first<'k>(rest: &mut Option<&'k str>) -> Option<&'k str> {
    let (word, after) = split_first((*rest)?);
    *rest = after;
    Some(word)
}

/// Takes the last of the words in `rest`; `None` when there are none left.
#[inline]
fn take_last<'k>(rest: &mut Option<&'k str>) -> Option<&'k str> {
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
