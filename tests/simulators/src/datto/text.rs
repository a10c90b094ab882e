//! [`Text`]: an interned string for fields with a small vocabulary (device categories, OS
//! names, vendors, models, statuses). Four bytes and `Copy` instead of a 24-byte string per
//! field and device, which is most of what keeps 100,000 generated devices small.

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroU32;
use std::ops::Deref;
use std::sync::{OnceLock, RwLock};

/// An interned string. Make one with `"...".into()` or `String::into()`, read it as a `str`
/// (`&*t`, `t.as_ref()`, `option.as_deref()`), compare it with `==` against `&str`.
///
/// Every distinct value is stored once per process and never freed: meant for
/// low-cardinality values, not for hostnames or serial numbers.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Text(NonZeroU32);

#[derive(Default)]
struct Interner {
    /// Index `i` holds the string of `Text(i + 1)`.
    strings: Vec<&'static str>,
    index: HashMap<&'static str, NonZeroU32>,
}

fn interner() -> &'static RwLock<Interner> {
    static INTERNER: OnceLock<RwLock<Interner>> = OnceLock::new();
    INTERNER.get_or_init(Default::default)
}

impl Text {
    /// Interns a static string (never allocates a copy).
    pub fn from_static(s: &'static str) -> Text {
        Text::intern(s, || s)
    }

    fn intern(s: &str, make_static: impl FnOnce() -> &'static str) -> Text {
        if let Some(&id) = interner().read().unwrap_or_else(|e| e.into_inner()).index.get(s) {
            return Text(id);
        }
        let mut table = interner().write().unwrap_or_else(|e| e.into_inner());
        if let Some(&id) = table.index.get(s) {
            return Text(id);
        }
        let stored = make_static();
        table.strings.push(stored);
        let id = NonZeroU32::new(u32::try_from(table.strings.len()).expect("fewer than 2^32 distinct texts"))
            .expect("len is at least 1");
        table.index.insert(stored, id);
        Text(id)
    }

    pub fn as_str(&self) -> &'static str {
        let table = interner().read().unwrap_or_else(|e| e.into_inner());
        table.strings[self.0.get() as usize - 1]
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text::intern(s, || Box::leak(s.to_owned().into_boxed_str()))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text::from(s.as_str())
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Text {
        Text::from(s.as_str())
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == other.as_str()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning() {
        let a = Text::from_static("Desktop");
        let b: Text = String::from("Desktop").into();
        let c: Text = "Laptop".into();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, "Desktop");
        let owned = String::from("Desktop");
        assert!("Desktop" == a);
        assert!(owned == a);
        assert_eq!(a, owned);
        assert_eq!(&*c, "Laptop");
        assert_eq!(Some(c).as_deref(), Some("Laptop"));
        assert_eq!(format!("{a} {a:?}"), "Desktop \"Desktop\"");
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"Laptop\"");
        assert_eq!(std::mem::size_of::<Option<Text>>(), 4);
    }
}
