//! Runs quick match over two CSV files, the way the Lambda does.
//!
//! ```text
//! cargo run --release --bin match-csv -- COMPANIES.csv SITES.csv [--devices DEVICES.csv] [--explain] > predictions.csv
//! ```
//!
//! `COMPANIES.csv` has columns `id,name`, `SITES.csv` has `uid,name` (a header
//! row is required; other columns are ignored). Writes
//! `site_uid,company_id,confidence` for every site, with an empty company id
//! when nothing matched. Matching goes through
//! [`shared::site_mapping::QuickMatcher`], the code path the quick-match Lambda uses.
//!
//! `--devices` adds device evidence from a CSV with columns
//! `site_uid,company_id,matching_devices,site_devices` (one row per site and
//! company whose PSA configurations hold some of the site's devices), and
//! `--explain` adds the columns `evidence,matched_words,set_aside`. Either
//! asks [`CompanyIndex::match_site`] directly, which gives the same result as
//! the quick-match path when there are no devices.

use std::fmt;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use std::collections::HashMap;

use shared::matching::{AUTO_MAP_THRESHOLD, CompanyIndex, DeviceOverlap, Evidence, SiteEvidence};
use shared::site_mapping::QuickMatcher;

const USAGE: &str = "usage: match-csv COMPANIES.csv SITES.csv [--devices DEVICES.csv] [--explain] > predictions.csv";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let mut files: Vec<&str> = Vec::new();
    let mut devices = None;
    let mut explain = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--explain" => explain = true,
            "--devices" => match it.next() {
                Some(f) => devices = Some(f.as_str()),
                None => {
                    eprintln!("{USAGE}");
                    return ExitCode::from(2);
                }
            },
            _ => files.push(a),
        }
    }
    let [companies, sites] = files.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = if devices.is_some() || explain {
        run_explained(companies, sites, devices, explain)
    } else {
        run(companies, sites)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("match-csv: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(companies_path: &str, sites_path: &str) -> Result<(), Error> {
    let companies = read_pairs(companies_path, &["id", "company_id"], &["name", "company_name"])?;
    let sites = read_pairs(sites_path, &["uid", "site_uid", "id"], &["name", "site_name"])?;
    let company_count = companies.len();
    // Quick match's own matcher; a CSV carries no PSA ids, so only names decide.
    let matcher = QuickMatcher::from_names(companies.into_iter().map(|r| (r.key, r.name)));

    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let write_err = |e: io::Error| Error::Write(e.to_string());
    write_record(&mut out, &["site_uid", "company_id", "confidence"]).map_err(write_err)?;
    let mut auto = 0usize;
    for site in &sites {
        let (company, confidence) = match matcher.suggest(&site.name, None) {
            Some(m) => {
                auto += usize::from(m.confidence >= AUTO_MAP_THRESHOLD);
                (m.company_id, m.confidence.to_string())
            }
            None => (String::new(), "0".to_owned()),
        };
        write_record(&mut out, &[&site.key, &company, &confidence]).map_err(write_err)?;
    }
    out.flush().map_err(write_err)?;
    eprintln!(
        "match-csv: {} sites against {} companies, {auto} at confidence >= {AUTO_MAP_THRESHOLD}",
        sites.len(),
        company_count
    );
    Ok(())
}

/// Matches with device evidence and/or explanations, through the matcher's
/// own API.
fn run_explained(companies_path: &str, sites_path: &str, devices: Option<&str>, explain: bool) -> Result<(), Error> {
    let companies = read_pairs(companies_path, &["id", "company_id"], &["name", "company_name"])?;
    let sites = read_pairs(sites_path, &["uid", "site_uid", "id"], &["name", "site_name"])?;
    let overlap = match devices {
        Some(path) => read_devices(path)?,
        None => HashMap::new(),
    };
    let index = CompanyIndex::new(companies.iter().map(|r| (r.key.clone(), r.name.as_str())));
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let write_err = |e: io::Error| Error::Write(e.to_string());
    let mut header = vec!["site_uid", "company_id", "confidence"];
    if explain {
        header.extend(["evidence", "matched_words", "set_aside"]);
    }
    write_record(&mut out, &header).map_err(write_err)?;
    let mut auto = 0usize;
    for site in &sites {
        let evidence = SiteEvidence {
            psa_company_id: None,
            device_overlap: overlap.get(&site.key).map_or(&[], Vec::as_slice),
        };
        let m = index.match_site(&site.name, &evidence);
        auto += usize::from(m.as_ref().is_some_and(|m| m.auto_maps()));
        let (company, confidence) = m.as_ref().map_or((String::new(), "0".to_owned()), |m| {
            (m.company_id.clone(), m.confidence.to_string())
        });
        let mut fields = vec![site.key.clone(), company, confidence];
        if explain {
            let e = m.as_ref().map(|m| &m.explanation);
            fields.push(match e.map(|e| &e.evidence) {
                Some(Evidence::PsaId) => "psa-id".to_owned(),
                Some(Evidence::DeviceOverlap {
                    matching_devices,
                    site_devices,
                }) => format!("devices {matching_devices}/{site_devices}"),
                Some(Evidence::Name) => "name".to_owned(),
                None => String::new(),
            });
            fields.push(e.map(|e| e.matched_words.join(" ")).unwrap_or_default());
            fields.push(e.map(|e| e.set_aside.join(" ")).unwrap_or_default());
        }
        let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
        write_record(&mut out, &refs).map_err(write_err)?;
    }
    out.flush().map_err(write_err)?;
    eprintln!(
        "match-csv: {} sites against {} companies, {auto} at confidence >= {AUTO_MAP_THRESHOLD}",
        sites.len(),
        companies.len()
    );
    Ok(())
}

/// Reads `site_uid,company_id,matching_devices,site_devices` rows.
fn read_devices(path: &str) -> Result<HashMap<String, Vec<DeviceOverlap>>, Error> {
    let err = |line: Option<usize>, msg: String| Error::Input {
        path: path.to_owned(),
        line,
        msg,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(None, format!("cannot read: {e}")))?;
    let records = parse_csv(&text).map_err(|e| err(Some(e.line), e.msg))?;
    let mut out: HashMap<String, Vec<DeviceOverlap>> = HashMap::new();
    for (line, rec) in records.iter().skip(1) {
        if rec.len() == 1 && rec[0].is_empty() {
            continue;
        }
        let [site, company, matching, total] = rec.as_slice() else {
            return Err(err(
                Some(*line),
                "expected site_uid,company_id,matching_devices,site_devices".to_owned(),
            ));
        };
        let number = |s: &str| {
            s.trim()
                .parse::<u32>()
                .map_err(|_| err(Some(*line), format!("not a count: {s:?}")))
        };
        out.entry(site.trim().to_owned()).or_default().push(DeviceOverlap {
            company_id: company.trim().to_owned(),
            matching_devices: number(matching)?,
            site_devices: number(total)?,
        });
    }
    Ok(out)
}

#[derive(Debug)]
enum Error {
    /// A problem with an input file, at a line (1-based) when known.
    Input {
        path: String,
        line: Option<usize>,
        msg: String,
    },
    Write(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input {
                path,
                line: Some(l),
                msg,
            } => write!(f, "{path}:{l}: {msg}"),
            Error::Input { path, line: None, msg } => write!(f, "{path}: {msg}"),
            Error::Write(msg) => write!(f, "writing the predictions: {msg}"),
        }
    }
}

struct Pair {
    key: String,
    name: String,
}

/// Reads a two-column view (key, name) of a CSV file with a header row.
fn read_pairs(path: &str, key_cols: &[&str], name_cols: &[&str]) -> Result<Vec<Pair>, Error> {
    let err = |line: Option<usize>, msg: String| Error::Input {
        path: path.to_owned(),
        line,
        msg,
    };
    let bytes = std::fs::read(path).map_err(|e| err(None, format!("cannot read: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        err(Some(line), "not valid UTF-8".to_owned())
    })?;
    let records = parse_csv(&text).map_err(|e| err(Some(e.line), e.msg))?;
    let Some((header_line, header)) = records.first() else {
        return Err(err(None, "empty file; expected a header row".to_owned()));
    };
    let find = |names: &[&str]| {
        header
            .iter()
            .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
    };
    let (Some(k), Some(n)) = (find(key_cols), find(name_cols)) else {
        return Err(err(
            Some(*header_line),
            format!(
                "expected a header with columns {} and {}, found {:?}",
                key_cols[0],
                name_cols[0],
                header.join(",")
            ),
        ));
    };
    let mut out = Vec::with_capacity(records.len().saturating_sub(1));
    for (line, rec) in records.iter().skip(1) {
        // A blank line is not a record.
        if rec.len() == 1 && rec[0].is_empty() {
            continue;
        }
        let (Some(key), Some(name)) = (rec.get(k), rec.get(n)) else {
            return Err(err(
                Some(*line),
                format!("expected {} fields as in the header, found {}", header.len(), rec.len()),
            ));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(err(Some(*line), format!("empty {}", key_cols[0])));
        }
        out.push(Pair {
            key: key.to_owned(),
            name: name.clone(),
        });
    }
    Ok(out)
}

struct CsvError {
    line: usize,
    msg: String,
}

/// Parses RFC 4180 CSV: quoted fields may hold commas, line breaks and doubled
/// quotes; a BOM and CRLF line ends are accepted. Returns each record with the
/// line it starts on.
fn parse_csv(text: &str) -> Result<Vec<(usize, Vec<String>)>, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = Vec::new();
    let mut record: Vec<String> = Vec::new();
    let mut field = String::new();
    let (mut line, mut record_line) = (1usize, 1usize);
    let mut quoted = false;
    // Whether the current field started with a quote and the quote closed.
    let mut closed = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => {
                    quoted = false;
                    closed = true;
                }
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !closed => quoted = true,
            '"' => {
                return Err(CsvError {
                    line,
                    msg: "stray '\"' in an unquoted field (quote the field and double the quote)".into(),
                });
            }
            ',' => {
                record.push(std::mem::take(&mut field));
                closed = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push((record_line, std::mem::take(&mut record)));
                closed = false;
                line += 1;
                record_line = line;
            }
            _ if closed => {
                return Err(CsvError {
                    line,
                    msg: "text after a closing quote (a quote inside a field must be doubled)".into(),
                });
            }
            _ => field.push(c),
        }
    }
    if quoted {
        return Err(CsvError {
            line: record_line,
            msg: "quoted field is never closed".into(),
        });
    }
    if !field.is_empty() || !record.is_empty() || closed {
        record.push(field);
        records.push((record_line, record));
    }
    Ok(records)
}

/// Writes one CSV record, quoting fields that need it.
fn write_record(out: &mut impl Write, fields: &[&str]) -> io::Result<()> {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        if f.contains([',', '"', '\n', '\r']) || f.starts_with(' ') || f.ends_with(' ') {
            write!(out, "\"{}\"", f.replace('"', "\"\""))?;
        } else {
            out.write_all(f.as_bytes())?;
        }
    }
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<Vec<String>> {
        parse_csv(text)
            .ok()
            .unwrap_or_default()
            .into_iter()
            .map(|(_, r)| r)
            .collect()
    }

    #[test]
    fn parses_quotes_bom_and_crlf() {
        let recs = fields("\u{feff}id,name\r\n1,\"Smith, Jones & \"\"Co\"\"\"\r\n2,Plain\r\n");
        assert_eq!(
            recs,
            vec![
                vec!["id", "name"],
                vec!["1", "Smith, Jones & \"Co\""],
                vec!["2", "Plain"]
            ]
        );
        let recs = fields("a,\"multi\nline\"\nb,c");
        assert_eq!(recs, vec![vec!["a", "multi\nline"], vec!["b", "c"]]);
        assert_eq!(fields("x,\"\"\n"), vec![vec!["x", ""]]);
    }

    #[test]
    fn reports_the_line_of_bad_input() {
        let e = parse_csv("id,name\n1,ok\n2,\"never closed\n").err().map(|e| e.line);
        assert_eq!(e, Some(3));
        let e = parse_csv("id,name\n1,bad\"quote\n").err().map(|e| e.line);
        assert_eq!(e, Some(2));
    }

    #[test]
    fn writes_quoted_fields() {
        let mut out = Vec::new();
        write_record(&mut out, &["a", "b,c", "say \"hi\""]).ok();
        assert_eq!(String::from_utf8_lossy(&out), "a,\"b,c\",\"say \"\"hi\"\"\"\n");
    }
}
