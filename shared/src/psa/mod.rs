//! PSA clients (Autotask REST v1.0, ConnectWise Manage REST 3.0) and the
//! vocabulary they share with the rest of rmmsync.
//!
//! Each client turns its PSA's records into [`PsaRecord`]s for the import and
//! its tickets into [`TicketState`]s for the alert round trip, so that the
//! services above never see a PSA's wire format. Points of an API's behaviour
//! that are not confirmed are settings rather than assumptions.
//!
//! Files: `autotask/` and `connectwise/` (one client each), `connector`
//! (the client either PSA's credentials call for), `port` (the traits the
//! services above use), `error` ([`PsaError`]), `lists` (what ticket settings refer to); this file holds the shared
//! vocabulary (records, tickets, connection info).

pub mod autotask;
pub mod configuration;
mod connector;
pub mod connectwise;
mod error;
pub mod lists;
mod port;

pub use connector::{PsaClient, PsaConnector, PsaTicketSettings};
pub use error::PsaError;
pub use lists::{AutotaskTicketLists, ConnectWiseBoard, ConnectWiseTicketLists, PsaChoice, PsaTicketLists};
pub use port::{PsaConnect, PsaCredentials, PsaSource};

use serde::{Deserialize, Serialize};

/// At most `max` characters, cut on a character boundary (the PSAs limit fields in characters).
pub(crate) fn truncate_chars(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Which PSA an integration talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PsaKind {
    Autotask,
    ConnectwiseManage,
}

impl PsaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PsaKind::Autotask => "autotask",
            PsaKind::ConnectwiseManage => "connectwise-manage",
        }
    }

    /// Reads a stored or hand-typed link's kind. Besides the two canonical
    /// strings it accepts `connectwise`, which hand links used to be stored
    /// with, so that old items and old clients land on the one kind.
    pub fn from_link(s: &str) -> Option<PsaKind> {
        match s {
            "autotask" => Some(PsaKind::Autotask),
            "connectwise-manage" | "connectwise" => Some(PsaKind::ConnectwiseManage),
            _ => None,
        }
    }

    /// The name people know it by, for messages.
    pub fn display_name(self) -> &'static str {
        match self {
            PsaKind::Autotask => "Autotask",
            PsaKind::ConnectwiseManage => "ConnectWise Manage",
        }
    }
}

impl std::fmt::Display for PsaKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.display_name())
    }
}

impl std::str::FromStr for PsaKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "autotask" => Ok(PsaKind::Autotask),
            "connectwise-manage" => Ok(PsaKind::ConnectwiseManage),
            other => Err(format!("unknown PSA `{other}` (autotask or connectwise-manage)")),
        }
    }
}

/// The kinds of PSA record the import brings into the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RecordKind {
    Company,
    Contact,
    Location,
    Configuration,
    User,
}

impl RecordKind {
    pub const ALL: [RecordKind; 5] = [
        RecordKind::Company,
        RecordKind::Contact,
        RecordKind::Location,
        RecordKind::Configuration,
        RecordKind::User,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Company => "company",
            RecordKind::Contact => "contact",
            RecordKind::Location => "location",
            RecordKind::Configuration => "configuration",
            RecordKind::User => "user",
        }
    }
}

/// One PSA record reduced to what the import needs. Everything but `id` and
/// `name` is optional because PSAs leave fields empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PsaRecord {
    pub kind: RecordKind,
    /// The PSA's id, as text (Autotask and ConnectWise ids are integers).
    pub id: String,
    /// Company name; contact's or user's full name; location or configuration name.
    pub name: String,
    /// The PSA id of the company the record belongs to (contacts, locations, configurations).
    pub company_id: Option<String>,
    pub active: bool,
    /// Contacts and users.
    pub email: Option<String>,
    /// Configurations.
    pub serial_number: Option<String>,
    /// Configurations: the PSA's configuration type, by name.
    pub configuration_type: Option<String>,
    /// Configurations: the Datto RMM device uid the PSA holds for it, if any.
    pub rmm_device_uid: Option<String>,
    /// Companies: the PSA's company type by name (Autotask `companyType`,
    /// ConnectWise `types`), e.g. "Customer", "Prospect", "Vendor".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_type: Option<String>,
    /// Last change, epoch milliseconds, when the PSA says.
    pub updated_at: Option<i64>,
}

/// What a connection test learned.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PsaConnectionInfo {
    /// Autotask zone name, or ConnectWise company id.
    pub account: Option<String>,
    /// The REST root the client will use (no credentials in it).
    pub api_url: String,
    /// What identifies the PSA database behind the account, when known
    /// (Autotask: `autotask:{REST root host}#ci={ci}` from zoneInformation).
    pub database: Option<String>,
    /// Autotask: requests used in the current hour, of the threshold.
    pub requests_used: Option<i64>,
    pub request_limit: Option<i64>,
}

/// A ticket to open for a Datto RMM alert. PSA-specific attributes (queue,
/// board, ...) come from the client's own ticket settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketDraft {
    /// The PSA id of the company.
    pub company_id: String,
    pub title: String,
    pub description: String,
    /// The PSA's own priority id, already mapped from the Datto priority.
    pub priority: Option<String>,
    /// The PSA id of the device's configuration item, when known.
    pub configuration_id: Option<String>,
    /// The Datto RMM alert uid (Autotask `rmmAlertID`, ConnectWise `externalXRef`).
    pub alert_uid: String,
}

/// A ticket as rmmsync needs to know it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketState {
    pub id: String,
    pub number: Option<String>,
    /// Complete (Autotask status 5 by default) or closed (ConnectWise closedFlag / closed status).
    pub completed: bool,
    pub alert_uid: Option<String>,
}
