//! The six Datto RMM [`Platform`]s an account can live on, and their names.

use std::fmt;
use std::str::FromStr;

/// A Datto RMM platform: where an account lives. Keys from one platform are
/// unknown on every other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Pinotage,
    Merlot,
    Concord,
    Vidal,
    Zinfandel,
    Syrah,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown Datto RMM platform {0:?}: expected one of pinotage, merlot, concord, vidal, zinfandel, syrah")]
pub struct PlatformError(pub String);

impl Platform {
    pub const ALL: [Platform; 6] = [
        Platform::Pinotage,
        Platform::Merlot,
        Platform::Concord,
        Platform::Vidal,
        Platform::Zinfandel,
        Platform::Syrah,
    ];

    /// Lower-case name, as used in host names (`merlot-api.centrastage.net`).
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Pinotage => "pinotage",
            Platform::Merlot => "merlot",
            Platform::Concord => "concord",
            Platform::Vidal => "vidal",
            Platform::Zinfandel => "zinfandel",
            Platform::Syrah => "syrah",
        }
    }

    /// Name as Datto writes it in its portal.
    pub fn display_name(self) -> &'static str {
        match self {
            Platform::Pinotage => "Pinotage",
            Platform::Merlot => "Merlot",
            Platform::Concord => "Concord",
            Platform::Vidal => "Vidal",
            Platform::Zinfandel => "Zinfandel",
            Platform::Syrah => "Syrah",
        }
    }
}

impl FromStr for Platform {
    type Err = PlatformError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| PlatformError(s.to_owned()))
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_any_case_and_refuses_the_rest() {
        assert_eq!("Merlot".parse(), Ok(Platform::Merlot));
        assert_eq!(" syrah ".parse(), Ok(Platform::Syrah));
        assert!("malbec".parse::<Platform>().is_err());
        assert_eq!(Platform::ALL.len(), 6);
    }
}
