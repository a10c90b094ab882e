//! What the simulator binaries (`src/bin/*`) share: long options that can also be set through
//! `{PREFIX}_{NAME}` environment variables (options win), their help text, the bind host and
//! logging to stderr.

use std::collections::HashMap;
use std::net::IpAddr;

/// One `--name [VALUE]` option.
pub struct Opt {
    pub name: &'static str,
    /// The value's placeholder in the help; `None` = a flag without value.
    pub value: Option<&'static str>,
    pub help: &'static str,
}

/// An option's value and where it came from (`--name` or the environment variable), for errors.
pub struct Value {
    pub text: String,
    pub source: String,
}

/// Values by option name; `help` is present when `-h` or `--help` was given.
pub type Values = HashMap<&'static str, Value>;

/// A binary's options and the prefix of their environment variables.
pub struct Options {
    pub opts: &'static [Opt],
    /// E.g. `DATTO_SIM`: `--page-max` is also `DATTO_SIM_PAGE_MAX`.
    pub env_prefix: &'static str,
}

impl Options {
    pub fn env_name(&self, opt: &str) -> String {
        format!("{}_{}", self.env_prefix, opt.replace('-', "_").to_uppercase())
    }

    /// `intro`, then each option with its environment variable, the flag column `width` wide.
    pub fn usage(&self, intro: &str, width: usize) -> String {
        let mut s = String::from(intro);
        for o in self.opts {
            let flag = match o.value {
                Some(v) => format!("--{} {v}", o.name),
                None => format!("--{}", o.name),
            };
            s.push_str(&format!(
                "  {flag:<width$} {}\n  {:<width$} [{}]\n",
                o.help,
                "",
                self.env_name(o.name)
            ));
        }
        s.push_str(&format!(
            "  {:<width$} print this help\n\nLogging: RUST_LOG (default info; debug logs every request).\n",
            "-h, --help"
        ));
        s
    }

    /// Option values from the environment, then the command line. A flag given without a value
    /// is `true`; `--name=value` and `--name value` both work.
    pub fn collect(&self, args: &[String]) -> Result<Values, String> {
        let mut values = Values::new();
        for o in self.opts {
            if let Ok(text) = std::env::var(self.env_name(o.name)) {
                values.insert(
                    o.name,
                    Value {
                        text,
                        source: self.env_name(o.name),
                    },
                );
            }
        }
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            if arg == "-h" || arg == "--help" {
                values.insert(
                    "help",
                    Value {
                        text: String::new(),
                        source: arg.clone(),
                    },
                );
                i += 1;
                continue;
            }
            let Some(body) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument {arg:?} (options start with --)"));
            };
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let Some(opt) = self.opts.iter().find(|o| o.name == name) else {
                return Err(format!("unknown option --{name}"));
            };
            let value = match (opt.value, inline) {
                (_, Some(v)) => v,
                (None, None) => "true".to_string(),
                (Some(meta), None) => {
                    i += 1;
                    args.get(i)
                        .cloned()
                        .ok_or_else(|| format!("--{name} needs a value ({meta})"))?
                }
            };
            values.insert(
                opt.name,
                Value {
                    text: value,
                    source: format!("--{name}"),
                },
            );
            i += 1;
        }
        Ok(values)
    }
}

pub fn text<'v>(values: &'v Values, name: &str) -> Option<&'v String> {
    values.get(name).map(|v| &v.text)
}

/// `--host`, loopback when not given.
pub fn host(values: &Values) -> Result<IpAddr, String> {
    match text(values, "host") {
        None => Ok(IpAddr::from([127, 0, 0, 1])),
        Some(h) => h
            .trim()
            .parse()
            .map_err(|_| format!("--host expects an IP address, got {h:?}")),
    }
}

/// Logs to stderr (stdout carries the URLs scripts read), filtered by `RUST_LOG`, default info.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
