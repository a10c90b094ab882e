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
