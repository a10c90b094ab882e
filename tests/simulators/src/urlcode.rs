//! Percent-encoding for the simulators' routes, on the `percent-encoding` and
//! `form_urlencoded` crates: decoding paths, query strings and forms, and encoding values into
//! the `nextPageUrl`s and `Link`s they hand out.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Every byte but RFC 3986's unreserved characters is escaped.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// As [`UNRESERVED`], and `/` stays readable.
const UNRESERVED_AND_SLASH: &AsciiSet = &UNRESERVED.remove(b'/');

/// Decodes `%XX` escapes (and `+` as a space when `plus_as_space`, i.e. in queries and forms).
/// A malformed escape is kept as it is; invalid UTF-8 becomes U+FFFD.
pub(crate) fn percent_decode(s: &str, plus_as_space: bool) -> String {
    if plus_as_space && s.contains('+') {
        return percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned();
    }
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Escapes every byte but RFC 3986's unreserved characters.
pub(crate) fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

/// Escapes every byte but RFC 3986's unreserved characters and `/`.
pub(crate) fn percent_encode_keeping_slash(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED_AND_SLASH).to_string()
}

/// `application/x-www-form-urlencoded` pairs (query strings and forms), decoded, in order.
pub(crate) fn parse_pairs(s: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(s.as_bytes()).into_owned().collect()
}
