//! NDJSON viewer lines: one object per line, as Cloudflare Logpush writes
//! `http_requests` (`ClientIP`, `ClientCountry`, …) or as scripts write
//! `{"ip": ..., "country": ...}`.
//!
//! Only top-level keys are read, in any order; values of other keys
//! (nested objects and arrays included) are checked as JSON and skipped
//! without being built. Records of a JSON array (Logpush's `batch_prefix`
//! `[`, `record_delimiter` `,`, `batch_suffix` `]`) are read one per line.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer as _, IgnoredAny, MapAccess, Visitor};

use super::plain::{line_country, parse_ip, shown};
use super::{names, LineCountry, Record};

/// Which keys hold the viewer's address and country.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keys {
    /// The address key (`--ip-field`); `None`: any of [`names::IP`].
    pub ip: Option<String>,
    /// The country key.
    pub country: CountryKey,
}

/// Where a line's country comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CountryKey {
    /// Any of [`names::COUNTRY`]; another key that looks like a country
    /// (`cc`, or containing `country` in any case) makes the line bad.
    #[default]
    Known,
    /// This key only (`--country-field NAME`); other keys are ignored.
    Named(String),
    /// No country key: GeoIP decides (`--country-field -`).
    Ignored,
}

impl Keys {
    fn is_ip(&self, k: &str) -> bool {
        match &self.ip {
            Some(name) => k == name,
            None => names::IP.contains(&k),
        }
    }

    fn is_country(&self, k: &str) -> bool {
        match &self.country {
            CountryKey::Known => names::COUNTRY.contains(&k),
            CountryKey::Named(name) => k == name,
            CountryKey::Ignored => false,
        }
    }
}

/// Whether a key or column name looks like a viewer country that
/// accessrules does not read (`cc`, `Country`, `country_iso_code`, …).
pub(crate) fn looks_like_country(name: &str) -> bool {
    name.eq_ignore_ascii_case("cc") || name.to_ascii_lowercase().contains("country")
}

/// A key, borrowed from the line when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// A value read: a string, `null`, or the kind of anything else.
enum Value<'de> {
    Str(Cow<'de, str>),
    Null,
    Other(&'static str),
}

impl<'de> de::Deserialize<'de> for Value<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Value<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Value<'de>, E> {
                Ok(Value::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Value<'de>, E> {
                Ok(Value::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Value<'de>, E> {
                Ok(Value::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Value<'de>, E> {
                Ok(Value::Null)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Value<'de>, E> {
                Ok(Value::Other("a boolean"))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Value<'de>, E> {
                Ok(Value::Other("a number"))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Value<'de>, E> {
                Ok(Value::Other("a number"))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Value<'de>, E> {
                Ok(Value::Other("a number"))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut s: A) -> Result<Value<'de>, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Value::Other("an array"))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Value<'de>, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Value::Other("an object"))
            }
        }
        d.deserialize_any(V)
    }
}

/// The keys of one object that matter.
#[derive(Default)]
struct Found<'de> {
    ip: Option<(Cow<'de, str>, Value<'de>)>,
    country: Option<(Cow<'de, str>, Value<'de>)>,
    source: Option<Value<'de>>,
    /// A second address or country key, or a key that looks like a country.
    problem: Option<String>,
}

struct Object<'k>(&'k Keys);

impl<'de> Visitor<'de> for Object<'_> {
    type Value = Found<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found<'de>, A::Error> {
        let keys = self.0;
        let mut found = Found::default();
        while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
            if keys.is_ip(&k) {
                let v = map.next_value::<Value<'de>>()?;
                match &found.ip {
                    Some((first, _)) => {
                        found.problem.get_or_insert_with(|| {
                            format!(
                                "two address keys, {first:?} and {k:?}: name one with --ip-field"
                            )
                        });
                    }
                    None => found.ip = Some((k, v)),
                }
            } else if keys.is_country(&k) {
                let v = map.next_value::<Value<'de>>()?;
                match &found.country {
                    Some((first, _)) => {
                        found.problem.get_or_insert_with(|| {
                            format!(
                                "two country keys, {first:?} and {k:?}: name one with --country-field"
                            )
                        });
                    }
                    None => found.country = Some((k, v)),
                }
            } else if k == names::REQUEST_SOURCE {
                found.source = Some(map.next_value::<Value<'de>>()?);
            } else {
                if keys.country == CountryKey::Known && looks_like_country(&k) {
                    found.problem.get_or_insert_with(|| unknown_country_key(&k));
                }
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

fn unknown_country_key(k: &str) -> String {
    format!(
        "key {:?} looks like a country but is not one accessrules reads ({}); \
         name it with --country-field, or --country-field - to use GeoIP",
        shown(k.as_bytes()),
        names::COUNTRY.join(", ")
    )
}

/// Strips what a JSON array around the records leaves on a line: a leading
/// `[` or `,`, a trailing `,` or `]`.
fn unwrap_array(line: &[u8]) -> &[u8] {
    let mut l = line;
    while let Some((&c, rest)) = l.split_first() {
        if c == b'[' || c == b',' || c.is_ascii_whitespace() {
            l = rest;
        } else {
            break;
        }
    }
    while let Some((&c, rest)) = l.split_last() {
        if c == b']' || c == b',' || c.is_ascii_whitespace() {
            l = rest;
        } else {
            break;
        }
    }
    l
}

/// Reads one NDJSON line (already trimmed and not blank).
///
/// # Errors
///
/// A message naming the bad value or key.
pub(crate) fn parse(line: &[u8], keys: &Keys) -> Result<Record, String> {
    let line =
        if line[0] == b'{' && line[line.len() - 1] == b'}' { line } else { unwrap_array(line) };
    if line.is_empty() {
        // `[`, `]` or `,` alone: the array around the records.
        return Ok(Record::Skipped);
    }
    let mut de = serde_json::Deserializer::from_slice(line);
    let found = de
        .deserialize_map(Object(keys))
        .and_then(|f| de.end().map(|()| f))
        .map_err(|e| format!("invalid NDJSON viewer {:?}: {e}", shown(line)))?;
    if let Some(Value::Str(s)) = &found.source {
        if s.as_ref() != names::EYEBALL {
            return Ok(Record::NotViewer);
        }
    }
    if let Some(problem) = found.problem {
        return Err(problem);
    }
    let ip = match &found.ip {
        Some((_, Value::Str(s))) => parse_ip(s.trim().as_bytes())?,
        Some((k, Value::Null)) => return Err(format!("{k}: no address (null)")),
        Some((k, Value::Other(kind))) => {
            return Err(format!("{k}: expected an address string, found {kind}"))
        }
        None => {
            return Err(match &keys.ip {
                Some(name) => format!("no {name:?} key (--ip-field)"),
                None => format!("no address key (one of {})", names::IP.join(", ")),
            })
        }
    };
    let country = match &found.country {
        None | Some((_, Value::Null)) => LineCountry::Absent,
        Some((_, Value::Str(s))) => line_country(s.trim().as_bytes())?,
        Some((k, Value::Other(kind))) => {
            return Err(format!("{k}: expected a country string, found {kind}"))
        }
    };
    Ok(Record::Viewer { ip, country })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CountryCode;

    fn p(s: &str) -> Result<Record, String> {
        parse(s.as_bytes(), &Keys::default())
    }

    #[test]
    fn reads_logpush_records() {
        let gb = LineCountry::Code(CountryCode::new("GB").unwrap());
        let line = r#"{"EdgeServerIP":"1.1.1.1","ClientRequestSource":"eyeball","OriginIP":"2.2.2.2","ClientRegionCode":"ENG","RequestHeaders":{"x":[1,{"y":"z"}]},"ClientCountry":"gb","ClientIP":"81.2.69.142"}"#;
        assert_eq!(
            p(line).unwrap(),
            Record::Viewer { ip: "81.2.69.142".parse().unwrap(), country: gb }
        );
        let health = r#"{"ClientIP":"1.2.3.4","ClientRequestSource":"edgeHealthCheck"}"#;
        assert_eq!(p(health).unwrap(), Record::NotViewer);
        assert!(p(r#"{"ClientIP":"1.2.3.4","cc":"US"}"#).unwrap_err().contains("\"cc\""));
        assert!(p(r#"{"ip":"1.2.3.4","ClientIP":"1.2.3.5"}"#)
            .unwrap_err()
            .contains("two address keys"));
        assert_eq!(p("[").unwrap(), Record::Skipped);
        assert!(matches!(p(r#"[{"ClientIP":"1.2.3.4"},"#).unwrap(), Record::Viewer { .. }));
        assert!(matches!(p(r#",{"ClientIP":"1.2.3.4"}]"#).unwrap(), Record::Viewer { .. }));
    }
}
