//! The field types a routing-key word can be stored in.

use std::borrow::Cow;

/// A field type that can be written as a routing-key word: the type of a
/// `#[mwords]` field.
///
/// Implemented for strings (`String`, `str`, `Box<str>`, `Cow<str>`, and
/// references to them), the integer types, and `Option` of any of these. A
/// string is *unset* when it is empty and an `Option` when it is `None`; an
/// unset field stands for its wildcard (or its fixed word) in the pattern.
///
/// Implement it (and [`ParseWord`]) for a type of your own to use it as a word:
///
/// ```
/// use pulse_binding::prelude::*;
/// use pulse_binding::{ParseWord, RoutingWord, WordBuf};
///
/// #[derive(Debug, PartialEq)]
/// enum State { Completed, Failed }
///
/// impl RoutingWord for State {
///     fn word<'a>(&'a self, _: &'a mut WordBuf) -> Option<&'a str> {
///         Some(match self { State::Completed => "completed", State::Failed => "failed" })
///     }
///     fn len_hint(&self) -> usize { 9 }
/// }
///
/// impl ParseWord for State {
///     fn parse_word(word: Option<&str>) -> Result<Self, String> {
///         match word {
///             Some("completed") => Ok(State::Completed),
///             Some("failed") => Ok(State::Failed),
///             other => Err(format!("not a state: {other:?}")),
///         }
///     }
/// }
///
/// #[derive(PulseBinding, Debug)]
/// #[exchange = "exchange/example/v1/resolved"]
/// struct Resolved {
///     #[mwords("*")] state: Option<State>,
/// }
///
/// assert_eq!(Resolved { state: Some(State::Failed) }.routing_key(), "failed");
/// assert_eq!(Resolved::from_routing_key("completed")?.state, Some(State::Completed));
/// assert!(Resolved::from_routing_key("running").is_err());
/// # Ok::<(), pulse_binding::FromRoutingKeyError>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a routing-key word",
    label = "unsupported type for a `#[mwords]` field",
    note = "a `#[mwords]` field must be a string (`String`, `&str`, `Box<str>`, `Cow<str>`), \
            an integer, or an `Option` of one of these"
)]
pub trait RoutingWord {
    /// The word's text, or `None` when the field is unset. Integers are
    /// written into `buf`.
    fn word<'a>(&'a self, buf: &'a mut WordBuf) -> Option<&'a str>;

    /// About how many bytes the word takes, to size the key in one allocation.
    fn len_hint(&self) -> usize;
}

/// A field type that can be read back from a routing-key word: what
/// [`FromRoutingKey`](crate::FromRoutingKey) needs of a `#[mwords]` field.
///
/// Implemented for `String`, `Box<str>`, `Cow<'static, str>`, the integer types
/// and `Option` of any of these. Borrowed strings are write-only.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be read back from a routing-key word",
    label = "`from_routing_key` needs an owned word type",
    note = "borrowed words (`&str`, `Option<&str>`) are write-only: use `String` or \
            `Option<String>` for fields that `from_routing_key` should fill"
)]
pub trait ParseWord: Sized {
    /// The value of a word, or of no word at all (`None`: a multi-word field
    /// that got no word). An empty word or no word gives the unset value
    /// where the type has one.
    fn parse_word(word: Option<&str>) -> Result<Self, String>;
}

/// A small stack buffer that integer words are written into.
#[derive(Debug)]
pub struct WordBuf([u8; 40]);

impl WordBuf {
    /// An empty buffer.
    #[inline]
    pub const fn new() -> Self {
        Self([0; 40])
    }
}

impl Default for WordBuf {
    fn default() -> Self {
        Self::new()
    }
}

macro_rules! string_word {
    ($($ty:ty),*) => {$(
        impl RoutingWord for $ty {
            #[inline]
            fn word<'a>(&'a self, _: &'a mut WordBuf) -> Option<&'a str> {
                let s: &str = self;
                if s.is_empty() { None } else { Some(s) }
            }
            #[inline]
            fn len_hint(&self) -> usize {
                self.len()
            }
        }
    )*};
}
string_word!(str, String, Box<str>, Cow<'_, str>);

impl ParseWord for String {
    fn parse_word(word: Option<&str>) -> Result<Self, String> {
        Ok(word.unwrap_or_default().to_owned())
    }
}

impl ParseWord for Box<str> {
    fn parse_word(word: Option<&str>) -> Result<Self, String> {
        Ok(word.unwrap_or_default().into())
    }
}

impl ParseWord for Cow<'static, str> {
    fn parse_word(word: Option<&str>) -> Result<Self, String> {
        Ok(Cow::Owned(word.unwrap_or_default().to_owned()))
    }
}

impl<T: RoutingWord + ?Sized> RoutingWord for &T {
    #[inline]
    fn word<'a>(&'a self, buf: &'a mut WordBuf) -> Option<&'a str> {
        (**self).word(buf)
    }
    #[inline]
    fn len_hint(&self) -> usize {
        (**self).len_hint()
    }
}

impl<T: RoutingWord> RoutingWord for Option<T> {
    #[inline]
    fn word<'a>(&'a self, buf: &'a mut WordBuf) -> Option<&'a str> {
        self.as_ref()?.word(buf)
    }
    #[inline]
    fn len_hint(&self) -> usize {
        self.as_ref().map_or(0, T::len_hint)
    }
}

impl<T: ParseWord> ParseWord for Option<T> {
    fn parse_word(word: Option<&str>) -> Result<Self, String> {
        match word {
            None | Some("") => Ok(None),
            Some(w) => T::parse_word(Some(w)).map(Some),
        }
    }
}

macro_rules! integer_word {
    ($($ty:ty => |$v:ident| $magnitude:expr),*) => {$(
        impl RoutingWord for $ty {
            #[inline]
            fn word<'a>(&'a self, buf: &'a mut WordBuf) -> Option<&'a str> {
                let $v = *self;
                #[allow(clippy::cast_lossless, trivial_numeric_casts)]
                Some(write_integer(&mut buf.0, $magnitude as u128, $v < (0 as $ty)))
            }
            #[inline]
            fn len_hint(&self) -> usize {
                // digits of the type's largest value, plus a sign
                (<$ty>::MAX.ilog10() + 2) as usize
            }
        }

        impl ParseWord for $ty {
            fn parse_word(word: Option<&str>) -> Result<Self, String> {
                let word = word.unwrap_or_default();
                let value: $ty = word.parse().map_err(|e| {
                    format!("not a valid {}: {e}", stringify!($ty))
                })?;
                // Only the form the key is written in reads back, so that a
                // parsed binding writes the same key again.
                let mut buf = WordBuf::new();
                if value.word(&mut buf) != Some(word) {
                    return Err(format!("not the canonical form of the {} {value}", stringify!($ty)));
                }
                Ok(value)
            }
        }
    )*};
}
integer_word!(
    u8 => |v| v, u16 => |v| v, u32 => |v| v, u64 => |v| v, u128 => |v| v, usize => |v| v,
    i8 => |v| v.unsigned_abs(), i16 => |v| v.unsigned_abs(), i32 => |v| v.unsigned_abs(),
    i64 => |v| v.unsigned_abs(), i128 => |v| v.unsigned_abs(), isize => |v| v.unsigned_abs()
);

/// Writes `magnitude` (negated when `negative`) in decimal at the end of `buf`.
fn write_integer(buf: &mut [u8; 40], mut magnitude: u128, negative: bool) -> &str {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    if negative {
        at -= 1;
        buf[at] = b'-';
    }
    // Only ASCII digits and `-` were written.
    std::str::from_utf8(&buf[at..]).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text<T: RoutingWord>(v: T) -> Option<String> {
        v.word(&mut WordBuf::new()).map(str::to_owned)
    }

    #[test]
    fn integers_are_written_in_decimal_with_their_sign() {
        assert_eq!(text(0u8).as_deref(), Some("0"));
        assert_eq!(text(i128::MIN).as_deref(), Some(&*i128::MIN.to_string()));
        assert_eq!(text(u128::MAX).as_deref(), Some(&*u128::MAX.to_string()));
        assert_eq!(text(-42i32).as_deref(), Some("-42"));
    }

    #[test]
    fn integer_words_that_would_not_write_back_the_same_are_refused() {
        assert_eq!(u32::parse_word(Some("42")), Ok(42));
        assert!(u32::parse_word(Some("+42")).is_err());
        assert!(u32::parse_word(Some("042")).is_err());
        assert!(u32::parse_word(Some("")).is_err());
        assert!(u8::parse_word(Some("256")).is_err());
        assert_eq!(Option::<u32>::parse_word(None), Ok(None));
    }
}
