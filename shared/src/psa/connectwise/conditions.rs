//! Building ConnectWise `conditions` strings safely.
//!
//! User values only ever enter a condition through [`quote`] (strings: wrapped in double quotes,
//! `\` and `"` escaped with a backslash) or as integers, so a company name such as
//! `Smith "The Plumber" & Sons` cannot change the meaning of the query. How the API escapes a
//! quote inside a string is unconfirmed (backslash is what the simulator and
//! the public clients use); [`quote`] is the one place to change if it differs.

use std::fmt::Write;

/// A string literal for a condition: `"..."` with `\` and `"` escaped.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            // Control characters have no business in a condition; drop them.
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Conditions joined with `AND`. Field names are code constants, values go through
/// [`quote`] or are typed numbers/booleans.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions(Vec<String>);

impl Conditions {
    pub fn new() -> Self {
        Self::default()
    }

    /// `field = "value"`
    pub fn eq_str(mut self, field: &'static str, value: &str) -> Self {
        self.0.push(format!("{field} = {}", quote(value)));
        self
    }

    /// `field = 123`
    pub fn eq_int(mut self, field: &'static str, value: i64) -> Self {
        self.0.push(format!("{field} = {value}"));
        self
    }

    /// `field = True|False`
    pub fn eq_bool(mut self, field: &'static str, value: bool) -> Self {
        self.0
            .push(format!("{field} = {}", if value { "True" } else { "False" }));
        self
    }

    /// `field in (1, 2, 3)`; an empty list is a condition nothing matches.
    pub fn in_ints(mut self, field: &'static str, values: &[i64]) -> Self {
        if values.is_empty() {
            self.0.push("id < 0".to_owned());
        } else {
            let mut list = String::new();
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    list.push_str(", ");
                }
                let _ = write!(list, "{v}");
            }
            self.0.push(format!("{field} in ({list})"));
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The condition string (empty when there is none).
    pub fn build(&self) -> String {
        self.0.join(" AND ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(quote("plain"), "\"plain\"");
        assert_eq!(
            quote(r#"Smith "The Plumber" \ Sons"#),
            r#""Smith \"The Plumber\" \\ Sons""#
        );
        assert_eq!(quote("a\nb"), "\"ab\"");
        let c = Conditions::new()
            .eq_str("externalXRef", "x\" OR id > 0 OR name = \"")
            .eq_bool("closedFlag", false)
            .eq_int("board/id", 7);
        assert_eq!(
            c.build(),
            r#"externalXRef = "x\" OR id > 0 OR name = \"" AND closedFlag = False AND board/id = 7"#
        );
        assert_eq!(Conditions::new().in_ints("id", &[1, 2]).build(), "id in (1, 2)");
        assert_eq!(Conditions::new().in_ints("id", &[]).build(), "id < 0");
    }
}
