//! Pieces every part of the wire format uses: open unions, metadata, pages, delete markers.

use serde::{Deserialize, Serialize, Serializer, ser::Error as _};
use serde_json::{Map, Value};

/// Declares an *open union*: an enum discriminated by the JSON `type` field, with one tuple variant
/// per known type and an `Unknown(serde_json::Value)` arm that keeps any other object whole, so a
/// type added to the API later is shown, not lost.
///
/// The variant's inner struct does not carry the `type` field itself; the union adds it when
/// serializing.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// pub struct Text { pub text: String }
/// protocol::open_union! {
///     /// A content block.
///     pub enum Block { Text(Text) = "text" }
/// }
/// let b: Block = serde_json::from_str(r#"{"type":"text","text":"hi"}"#).unwrap();
/// assert_eq!(b, Block::Text(Text { text: "hi".into() }));
/// let u: Block = serde_json::from_str(r#"{"type":"video","url":"x"}"#).unwrap();
/// assert_eq!(u.type_name(), "video");
/// assert_eq!(serde_json::to_string(&u).unwrap(), r#"{"type":"video","url":"x"}"#);
/// ```
#[macro_export]
macro_rules! open_union {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident($ty:ty) = $tag:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant($ty), )+
            /// A `type` this version of Switchboard does not know, kept exactly as received.
            Unknown(::serde_json::Value),
        }

        impl $name {
            /// Every `type` value this union knows.
            pub const KNOWN_TYPES: &'static [&'static str] = &[$($tag),+];

            /// The JSON `type` of this value (for `Unknown`, whatever it carried, or "").
            pub fn type_name(&self) -> &str {
                match self {
                    $( Self::$variant(_) => $tag, )+
                    Self::Unknown(value) => value.get("type").and_then(|t| t.as_str()).unwrap_or(""),
                }
            }

            /// Whether this is a type this version of Switchboard does not know.
            pub fn is_unknown(&self) -> bool {
                matches!(self, Self::Unknown(_))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $( Self::$variant(inner) => $crate::common::serialize_tagged(inner, $tag, serializer), )+
                    Self::Unknown(value) => ::serde::Serialize::serialize(value, serializer),
                }
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <::serde_json::Value as ::serde::Deserialize>::deserialize(deserializer)?;
                match value.get("type").and_then(|t| t.as_str()) {
                    $( Some($tag) => ::serde_json::from_value(value)
                        .map(Self::$variant)
                        .map_err(|e| <D::Error as ::serde::de::Error>::custom(format_args!("{}: {e}", $tag))), )+
                    _ => Ok(Self::Unknown(value)),
                }
            }
        }
    };
}

/// Serializes `inner` (a struct) with `"type": tag` as its first key. Used by [`open_union!`].
#[doc(hidden)]
pub fn serialize_tagged<T: Serialize, S: Serializer>(inner: &T, tag: &str, serializer: S) -> Result<S::Ok, S::Error> {
    let Value::Object(fields) = serde_json::to_value(inner).map_err(S::Error::custom)? else {
        return Err(S::Error::custom(format_args!("{tag}: a union variant must be a struct")));
    };
    let mut tagged = Map::with_capacity(fields.len() + 1);
    tagged.insert("type".to_owned(), Value::String(tag.to_owned()));
    tagged.extend(fields);
    tagged.serialize(serializer)
}

/// An RFC 3339 timestamp exactly as the API sent it (kept as text so it round-trips unchanged).
pub type Timestamp = String;

/// `metadata` on objects and create bodies: at most 16 pairs, keys ≤ 64 chars, values ≤ 512.
pub type Metadata = std::collections::BTreeMap<String, String>;

/// `metadata` on update bodies: a string upserts the key, `null` deletes it, absent keys are kept.
pub type MetadataPatch = std::collections::BTreeMap<String, Option<String>>;

/// One page of a list endpoint. `prev_page` is only sent by `GET /v1/sessions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub next_page: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_page: Option<String>,
}

impl<T> Page<T> {
    /// The same page, cursors kept, with each item mapped (for example to the row a list shows).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { data: self.data.into_iter().map(f).collect(), next_page: self.next_page, prev_page: self.prev_page }
    }
}

/// Declares a zero-sized type that (de)serializes as exactly one string: the `type` literal of a
/// non-union object (e.g. `"agent"` on an Agent). Deserializing any other string fails, so a value
/// of the wrong kind is not silently accepted.
///
/// ```
/// protocol::literal_type! {
///     /// `"agent"`.
///     pub AgentTag = "agent"
/// }
/// assert_eq!(serde_json::to_string(&AgentTag).unwrap(), r#""agent""#);
/// assert!(serde_json::from_str::<AgentTag>(r#""session""#).is_err());
/// ```
#[macro_export]
macro_rules! literal_type {
    ($(#[$meta:meta])* $vis:vis $name:ident = $lit:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
        $vis struct $name;

        impl $name {
            /// The literal this type stands for.
            pub const VALUE: &'static str = $lit;
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str($lit)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(deserializer)?;
                if text == $lit {
                    Ok($name)
                } else {
                    Err(<D::Error as ::serde::de::Error>::invalid_value(
                        ::serde::de::Unexpected::Str(&text),
                        &$lit,
                    ))
                }
            }
        }
    };
}

/// The body of a union variant that carries nothing but its `type` (e.g. `{"type":"always_allow"}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// The answer of a `DELETE`: `{id, type:"<thing>_deleted"}`. `T` is the `type` literal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted<T> {
    pub id: String,
    pub r#type: T,
}
