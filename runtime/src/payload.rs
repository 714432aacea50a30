//! What the generated payload types' decoders call: each type decodes its
//! properties one by one, those it names into their fields and the others
//! into its map of extra properties, as `#[serde(flatten)]` would without
//! first buffering every property.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

/// A payload type read from a JSON object property by property; the
/// generator writes each type's `from_properties`.
pub(crate) trait Properties: Sized {
    /// What a body that is not an object is said to lack, e.g. "a
    /// HookChangedMessage object".
    const EXPECTING: &'static str;

    /// The type from the object's properties, read one by one.
    fn from_properties<'de, A: MapAccess<'de>>(map: A) -> Result<Self, A::Error>;
}

/// Every generated payload type's `Deserialize::deserialize`.
pub(crate) fn deserialize<'de, D: Deserializer<'de>, T: Properties>(
    deserializer: D,
) -> Result<T, D::Error> {
    struct Object<T>(PhantomData<T>);
    impl<'de, T: Properties> Visitor<'de> for Object<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(T::EXPECTING)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::from_properties(map)
        }
    }
    deserializer.deserialize_map(Object(PhantomData))
}

/// A property name: borrowed from the input when it can be, copied when it
/// has escapes.
pub(crate) struct Key<'de>(Cow<'de, str>);

impl Key<'_> {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Name;
        impl<'de> Visitor<'de> for Name {
            type Value = Key<'de>;
            // Only shown for a name that is not a string, which JSON (text
            // or `serde_json::Value`) cannot have: no test can reach it.
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a property name")
            }
            fn visit_borrowed_str<E: de::Error>(self, name: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(name)))
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(name.to_owned())))
            }
            // A `serde_json::Value`'s names come owned.
            fn visit_string<E: de::Error>(self, name: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(name)))
            }
        }
        deserializer.deserialize_str(Name)
    }
}

/// Decodes the value of the property `name` into `slot`; a second one of the
/// same name is an error, as serde's derive makes it.
#[inline]
pub(crate) fn field<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    map: &mut A,
    slot: &mut Option<T>,
    name: &'static str,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(de::Error::duplicate_field(name));
    }
    *slot = Some(map.next_value()?);
    Ok(())
}

/// A required property's value, or the error naming it.
#[inline]
pub(crate) fn required<T, E: de::Error>(slot: Option<T>, name: &'static str) -> Result<T, E> {
    slot.ok_or_else(|| E::missing_field(name))
}

/// Keeps a property the type does not name, as it came.
#[inline]
pub(crate) fn other<'de, A: MapAccess<'de>>(
    map: &mut A,
    extra: &mut serde_json::Map<String, serde_json::Value>,
    key: Key<'de>,
) -> Result<(), A::Error> {
    let value = map.next_value()?;
    extra.insert(key.0.into_owned(), value);
    Ok(())
}
