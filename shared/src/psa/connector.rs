//! One connector for both PSAs: picks the client the stored credentials call for.

use super::autotask::{AutotaskClient, AutotaskConnector, AutotaskCredentials};
use super::connectwise::{ConnectWiseClient, ConnectWiseConnector, ConnectWiseCredentials};
use super::{PsaConnect, PsaConnectionInfo, PsaCredentials, PsaError, PsaRecord, PsaSource, RecordKind};

/// Holds both PSA connectors (HTTP pool, settings, Autotask's thread limits).
/// Build one per process, in `main`.
#[derive(Clone)]
pub struct PsaConnector {
    pub autotask: AutotaskConnector,
    pub connectwise: ConnectWiseConnector,
}

impl PsaConnector {
    /// The settings of [`AutotaskConnector::from_env`] and [`ConnectWiseConnector::from_env`].
    pub fn from_env(http: reqwest::Client) -> Self {
        Self {
            autotask: AutotaskConnector::from_env(http.clone()),
            connectwise: ConnectWiseConnector::from_env(http),
        }
    }
}

/// A client for one PSA account, either PSA.
pub enum PsaClient {
    /// Boxed: it carries its zone and thread-limit state, the other is a handle.
    Autotask(Box<AutotaskClient>),
    ConnectWise(ConnectWiseClient),
}

impl PsaSource for PsaClient {
    async fn test_connection(&self) -> Result<PsaConnectionInfo, PsaError> {
        match self {
            PsaClient::Autotask(c) => c.test_connection().await,
            PsaClient::ConnectWise(c) => c.test_connection().await,
        }
    }

    async fn list_records(&self, kind: RecordKind) -> Result<Vec<PsaRecord>, PsaError> {
        match self {
            PsaClient::Autotask(c) => c.list_records(kind).await,
            PsaClient::ConnectWise(c) => c.list_records(kind).await,
        }
    }
}

impl PsaConnect for PsaConnector {
    type Client = PsaClient;

    async fn connect(&self, credentials: &PsaCredentials) -> Result<PsaClient, PsaError> {
        Ok(match credentials.clone() {
            PsaCredentials::Autotask {
                username,
                secret,
                integration_code,
            } => PsaClient::Autotask(Box::new(
                self.autotask
                    .client(AutotaskCredentials {
                        username,
                        secret,
                        integration_code,
                    })
                    .await?,
            )),
            PsaCredentials::ConnectWise {
                site,
                company_id,
                public_key,
                private_key,
            } => PsaClient::ConnectWise(self.connectwise.client(ConnectWiseCredentials {
                site,
                company_id,
                public_key,
                private_key,
            })?),
        })
    }
}

/// How tickets are opened and closed, per PSA (ids from its picklists/boards).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PsaTicketSettings {
    Autotask(super::autotask::AutotaskTicketSettings),
    ConnectWise(super::connectwise::ConnectWiseTicketSettings),
}

impl PsaClient {
    fn mismatch() -> PsaError {
        PsaError::Config("the ticket settings are for the other PSA".into())
    }

    pub async fn create_ticket(
        &self,
        draft: &super::TicketDraft,
        settings: &PsaTicketSettings,
    ) -> Result<super::TicketState, PsaError> {
        match (self, settings) {
            (PsaClient::Autotask(c), PsaTicketSettings::Autotask(s)) => c.create_ticket(draft, s).await,
            (PsaClient::ConnectWise(c), PsaTicketSettings::ConnectWise(s)) => c.create_ticket(draft, s).await,
            _ => Err(Self::mismatch()),
        }
    }

    /// What ticket settings refer to (ConnectWise: all boards, or only `board`).
    pub async fn ticket_lists(&self, board: Option<i64>) -> Result<super::PsaTicketLists, PsaError> {
        Ok(match self {
            PsaClient::Autotask(c) => super::PsaTicketLists::Autotask(c.ticket_lists().await?),
            PsaClient::ConnectWise(c) => super::PsaTicketLists::ConnectWise(c.ticket_lists(board).await?),
        })
    }

    pub async fn add_ticket_note(&self, ticket_id: &str, title: &str, text: &str) -> Result<(), PsaError> {
        match self {
            PsaClient::Autotask(c) => c.add_ticket_note(ticket_id, title, text).await,
            PsaClient::ConnectWise(c) => c.add_ticket_note(ticket_id, title, text).await,
        }
    }

    /// Whether the ticket has a note whose text contains `marker`.
    pub async fn ticket_has_note(&self, ticket_id: &str, marker: &str) -> Result<bool, PsaError> {
        match self {
            PsaClient::Autotask(c) => c.ticket_has_note(ticket_id, marker).await,
            PsaClient::ConnectWise(c) => c.ticket_has_note(ticket_id, marker).await,
        }
    }

    /// Adds a note whose text carries `marker` (e.g. the alert uid) at most once, as far as
    /// rmmsync can tell: a POST is never sent again by the clients after it may have reached
    /// the PSA (a 5xx, a timeout); then the ticket's notes are looked up for the marker, and
    /// a note found there is the one that was added. When the lookup does not find it (or
    /// fails), the POST's error stands: whoever tries next looks it up again before posting
    /// ([`Self::ticket_has_note`]).
    pub async fn add_ticket_note_once(
        &self,
        ticket_id: &str,
        title: &str,
        text: &str,
        marker: &str,
    ) -> Result<(), PsaError> {
        debug_assert!(text.contains(marker) || title.contains(marker));
        match self.add_ticket_note(ticket_id, title, text).await {
            Err(e) if e.is_transient() => match self.ticket_has_note(ticket_id, marker).await {
                Ok(true) => {
                    tracing::info!(ticket = %ticket_id, "a note whose answer was lost was found on the ticket");
                    Ok(())
                }
                Ok(false) | Err(_) => Err(e),
            },
            other => other,
        }
    }

    pub async fn get_ticket(
        &self,
        ticket_id: &str,
        settings: &PsaTicketSettings,
    ) -> Result<super::TicketState, PsaError> {
        match (self, settings) {
            (PsaClient::Autotask(c), PsaTicketSettings::Autotask(s)) => c.get_ticket(ticket_id, s).await,
            (PsaClient::ConnectWise(c), PsaTicketSettings::ConnectWise(s)) => c.get_ticket(ticket_id, s).await,
            _ => Err(Self::mismatch()),
        }
    }

    pub async fn complete_ticket(
        &self,
        ticket_id: &str,
        resolution: &str,
        settings: &PsaTicketSettings,
    ) -> Result<(), PsaError> {
        match (self, settings) {
            (PsaClient::Autotask(c), PsaTicketSettings::Autotask(s)) => {
                c.complete_ticket(ticket_id, resolution, s).await
            }
            (PsaClient::ConnectWise(c), PsaTicketSettings::ConnectWise(s)) => {
                c.complete_ticket(ticket_id, resolution, s).await
            }
            _ => Err(Self::mismatch()),
        }
    }

    pub async fn find_open_ticket_for_alert(
        &self,
        alert_uid: &str,
        settings: &PsaTicketSettings,
    ) -> Result<Option<super::TicketState>, PsaError> {
        match (self, settings) {
            (PsaClient::Autotask(c), PsaTicketSettings::Autotask(s)) => {
                c.find_open_ticket_for_alert(alert_uid, s).await
            }
            (PsaClient::ConnectWise(c), PsaTicketSettings::ConnectWise(s)) => {
                c.find_open_ticket_for_alert(alert_uid, s).await
            }
            _ => Err(Self::mismatch()),
        }
    }

    /// The newest ticket carrying the alert uid, in any state (see the clients).
    pub async fn find_ticket_for_alert(
        &self,
        alert_uid: &str,
        settings: &PsaTicketSettings,
    ) -> Result<Option<super::TicketState>, PsaError> {
        match (self, settings) {
            (PsaClient::Autotask(c), PsaTicketSettings::Autotask(s)) => c.find_ticket_for_alert(alert_uid, s).await,
            (PsaClient::ConnectWise(c), PsaTicketSettings::ConnectWise(s)) => {
                c.find_ticket_for_alert(alert_uid, s).await
            }
            _ => Err(Self::mismatch()),
        }
    }
}
