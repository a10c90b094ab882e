//! What the services above need from a PSA, as traits, so that the import
//! and the ticket round trip are written once for both PSAs (and tested with
//! the simulators through the real clients).

use super::{PsaConnectionInfo, PsaError, PsaKind, PsaRecord, RecordKind};
use crate::secret::Secret;
use std::future::Future;

/// The credentials of one PSA account, as stored in Secrets Manager.
#[derive(Debug, Clone)]
pub enum PsaCredentials {
    Autotask {
        username: String,
        secret: Secret,
        /// The API tracking identifier; `None` uses rmmsync's own.
        integration_code: Option<String>,
    },
    ConnectWise {
        /// Host (`api-na.myconnectwise.net`) or origin (`https://...`).
        site: String,
        company_id: String,
        public_key: Secret,
        private_key: Secret,
    },
}

impl PsaCredentials {
    pub fn kind(&self) -> PsaKind {
        match self {
            PsaCredentials::Autotask { .. } => PsaKind::Autotask,
            PsaCredentials::ConnectWise { .. } => PsaKind::ConnectwiseManage,
        }
    }
}

/// Reads a PSA account: its connection and its records.
pub trait PsaSource: Send + Sync {
    fn test_connection(&self) -> impl Future<Output = Result<PsaConnectionInfo, PsaError>> + Send;
    /// Every record of a kind, inactive ones included, all pages walked.
    fn list_records(&self, kind: RecordKind) -> impl Future<Output = Result<Vec<PsaRecord>, PsaError>> + Send;
}

/// Makes a [`PsaSource`] for stored credentials. Built once per process.
pub trait PsaConnect: Send + Sync {
    type Client: PsaSource;
    /// May call the PSA (Autotask's zone discovery).
    fn connect(&self, credentials: &PsaCredentials) -> impl Future<Output = Result<Self::Client, PsaError>> + Send;
}
