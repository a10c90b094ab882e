//! The `conditions` query language of ConnectWise Manage REST 3.0 evaluated
//! against records held as JSON.
//!
//! Grammar (keywords case-insensitive):
//! ```text
//! expr       := and ( OR and )*
//! and        := unary ( AND unary )*
//! unary      := NOT unary | '(' expr ')' | comparison
//! comparison := field op value | field [NOT] IN '(' value (',' value)* ')'
//! op         := = | != | < | <= | > | >= | [NOT] LIKE | [NOT] CONTAINS
//! value      := "string" | 'string' | number | True | False | null | [datetime]
//! field      := name ( '/' name )*          e.g. company/id, _info/lastUpdated
//! ```
//! Strings compare case-insensitively (SQL Server's default collation); `like` takes `%` and
//! `*` as wildcards. Inside a string a backslash escapes the next character (`\"`, `\\`): how
//! the real API escapes quotes is UNCONFIRMED; a doubled quote (`""`) is accepted too.
//! A missing field is `null`. Field names match case-insensitively.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Date(String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ConditionOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    Contains,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cond {
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
    Cmp {
        field: Vec<String>,
        op: ConditionOp,
        value: Lit,
    },
    In {
        field: Vec<String>,
        values: Vec<Lit>,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Date(String),
    ConditionOp(&'static str),
    LParen,
    RParen,
    Comma,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '"' | '\'' => {
                let quote = c;
                let mut val = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated string".into()),
                        Some('\\') => {
                            let next = chars.get(i + 1).ok_or("unterminated string")?;
                            val.push(*next);
                            i += 2;
                        }
                        Some(&q) if q == quote => {
                            if chars.get(i + 1) == Some(&quote) {
                                val.push(quote);
                                i += 2;
                            } else {
                                i += 1;
                                break;
                            }
                        }
                        Some(&ch) => {
                            val.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(val));
            }
            '[' => {
                let end = chars[i..]
                    .iter()
                    .position(|&c| c == ']')
                    .ok_or("unterminated [datetime]")?;
                out.push(Tok::Date(
                    chars[i + 1..i + end].iter().collect::<String>().trim().to_string(),
                ));
                i += end + 1;
            }
            '=' => {
                out.push(Tok::ConditionOp("="));
                i += 1;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                out.push(Tok::ConditionOp("!="));
                i += 2;
            }
            '<' | '>' => {
                let eq = chars.get(i + 1) == Some(&'=');
                out.push(Tok::ConditionOp(match (c, eq) {
                    ('<', true) => "<=",
                    ('<', false) => "<",
                    ('>', true) => ">=",
                    _ => ">",
                }));
                i += if eq { 2 } else { 1 };
            }
            c if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) => {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                out.push(Tok::Num(text.parse().map_err(|_| format!("bad number {text}"))?));
            }
            c if c.is_alphanumeric() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '/' | '.')) {
                    i += 1;
                }
                out.push(Tok::Ident(chars[start..i].iter().collect()));
            }
            other => return Err(format!("unexpected character {other:?}")),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn expr(&mut self) -> Result<Cond, String> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Cond::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Cond, String> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Cond::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Cond, String> {
        if self.keyword("not") {
            self.pos += 1;
            return Ok(Cond::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let e = self.expr()?;
            if self.next() != Some(Tok::RParen) {
                return Err("missing )".into());
            }
            return Ok(e);
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Cond, String> {
        let field = match self.next() {
            Some(Tok::Ident(f)) => f.split('/').map(str::to_string).collect::<Vec<_>>(),
            other => return Err(format!("expected a field name, found {other:?}")),
        };
        let negated = if self.keyword("not") {
            self.pos += 1;
            true
        } else {
            false
        };
        let op = match self.next() {
            Some(Tok::ConditionOp(o)) if !negated => match o {
                "=" => ConditionOp::Eq,
                "!=" => ConditionOp::Ne,
                "<" => ConditionOp::Lt,
                "<=" => ConditionOp::Le,
                ">" => ConditionOp::Gt,
                _ => ConditionOp::Ge,
            },
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("like") => ConditionOp::Like,
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("contains") => ConditionOp::Contains,
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("in") => {
                if self.next() != Some(Tok::LParen) {
                    return Err("expected ( after in".into());
                }
                let mut values = vec![self.value()?];
                loop {
                    match self.next() {
                        Some(Tok::Comma) => values.push(self.value()?),
                        Some(Tok::RParen) => break,
                        _ => return Err("expected , or ) in list".into()),
                    }
                }
                let c = Cond::In { field, values };
                return Ok(if negated { Cond::Not(Box::new(c)) } else { c });
            }
            other => return Err(format!("expected an operator, found {other:?}")),
        };
        let value = self.value()?;
        let c = Cond::Cmp { field, op, value };
        Ok(if negated { Cond::Not(Box::new(c)) } else { c })
    }

    fn value(&mut self) -> Result<Lit, String> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Lit::Str(s)),
            Some(Tok::Num(n)) => Ok(Lit::Num(n)),
            Some(Tok::Date(d)) => Ok(Lit::Date(d)),
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("true") => Ok(Lit::Bool(true)),
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("false") => Ok(Lit::Bool(false)),
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("null") => Ok(Lit::Null),
            other => Err(format!("expected a value, found {other:?}")),
        }
    }
}

/// Parses a `conditions` string; an empty string matches everything (`None`).
pub(crate) fn parse(s: &str) -> Result<Option<Cond>, String> {
    let toks = tokenize(s)?;
    if toks.is_empty() {
        return Ok(None);
    }
    let mut p = Parser { toks, pos: 0 };
    let c = p.expr()?;
    if p.pos < p.toks.len() {
        return Err(format!("unexpected {:?}", p.toks[p.pos]));
    }
    Ok(Some(c))
}

/// The value at a `/` path, field names matched case-insensitively.
pub(crate) fn lookup<'a>(record: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = record;
    for seg in path {
        let obj = cur.as_object()?;
        cur = obj
            .get(seg.as_str())
            .or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(seg)).map(|(_, v)| v))?;
    }
    Some(cur)
}

fn like(hay: &str, pattern: &str) -> bool {
    // Iterative glob match, `%`/`*` = any run, `_` = one character.
    let h: Vec<char> = hay.to_lowercase().chars().collect();
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let (mut hi, mut pi) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while hi < h.len() {
        if pi < p.len() && (p[pi] == '_' || (p[pi] == h[hi] && p[pi] != '%' && p[pi] != '*')) {
            hi += 1;
            pi += 1;
        } else if pi < p.len() && (p[pi] == '%' || p[pi] == '*') {
            star = Some(pi);
            mark = hi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            hi = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && (p[pi] == '%' || p[pi] == '*') {
        pi += 1;
    }
    pi == p.len()
}

fn ordering(v: &Value, lit: &Lit) -> Option<std::cmp::Ordering> {
    match (v, lit) {
        (Value::Number(n), Lit::Num(x)) => n.as_f64()?.partial_cmp(x),
        (Value::String(s), Lit::Num(x)) => s.parse::<f64>().ok()?.partial_cmp(x),
        (Value::String(s), Lit::Str(x)) => Some(s.to_lowercase().cmp(&x.to_lowercase())),
        (Value::String(s), Lit::Date(x)) => Some(normalize_date(s).cmp(&normalize_date(x))),
        (Value::Bool(b), Lit::Bool(x)) => Some(b.cmp(x)),
        (Value::Number(n), Lit::Str(x)) => Some(n.to_string().cmp(x)),
        _ => None,
    }
}

/// `2016-08-20T18:04:26Z` and `2016-08-20T18:04:26.000Z` compare equal.
fn normalize_date(s: &str) -> String {
    let s = s.trim().trim_end_matches('Z');
    let s = s.split('.').next().unwrap_or(s);
    s.to_string()
}

pub(crate) fn matches(c: &Cond, record: &Value) -> bool {
    match c {
        Cond::And(a, b) => matches(a, record) && matches(b, record),
        Cond::Or(a, b) => matches(a, record) || matches(b, record),
        Cond::Not(a) => !matches(a, record),
        Cond::In { field, values } => {
            let v = lookup(record, field).unwrap_or(&Value::Null);
            values
                .iter()
                .any(|lit| ordering(v, lit) == Some(std::cmp::Ordering::Equal))
        }
        Cond::Cmp { field, op, value } => {
            let v = lookup(record, field).unwrap_or(&Value::Null);
            use std::cmp::Ordering::*;
            match op {
                ConditionOp::Eq | ConditionOp::Ne if *value == Lit::Null => v.is_null() == (*op == ConditionOp::Eq),
                ConditionOp::Eq => ordering(v, value) == Some(Equal),
                ConditionOp::Ne => ordering(v, value) != Some(Equal),
                ConditionOp::Lt => ordering(v, value) == Some(Less),
                ConditionOp::Le => matches!(ordering(v, value), Some(Less | Equal)),
                ConditionOp::Gt => ordering(v, value) == Some(Greater),
                ConditionOp::Ge => matches!(ordering(v, value), Some(Greater | Equal)),
                ConditionOp::Like => match (v, value) {
                    (Value::String(s), Lit::Str(p)) => like(s, p),
                    _ => false,
                },
                ConditionOp::Contains => match (v, value) {
                    (Value::String(s), Lit::Str(p)) => s.to_lowercase().contains(&p.to_lowercase()),
                    _ => false,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(cond: &str, rec: &Value) -> bool {
        matches(&parse(cond).unwrap().unwrap(), rec)
    }

    #[test]
    fn operators_and_logic() {
        let r = json!({"id": 7, "name": "Acme \"Dental\"", "deletedFlag": false,
            "company": {"id": 3}, "_info": {"lastUpdated": "2026-01-02T03:04:05Z"}});
        assert!(m("id = 7", &r));
        assert!(m("id>=7 and id<8", &r));
        assert!(m("company/id in (1, 2, 3)", &r));
        assert!(m("company/id not in (1, 2)", &r));
        assert!(m(r#"name like "acme%""#, &r));
        assert!(m(r#"name contains "DENTAL""#, &r));
        assert!(m(r#"name = "Acme \"Dental\"""#, &r));
        assert!(m("deletedFlag = False", &r));
        assert!(m("_info/lastUpdated > [2026-01-01T00:00:00Z]", &r));
        assert!(m("(id = 1 OR id = 7) AND NOT company/id = 4", &r));
        assert!(!m("id = 1 or (id = 7 and company/id = 4)", &r));
        assert!(m("missing = null", &r));
        assert!(m(r#"name not like "%plumbing%""#, &r));
        assert!(parse("id = ").is_err());
        assert!(parse("name = \"open").is_err());
        assert!(parse("").unwrap().is_none());
    }
}
