// TEMPORARY STUB — replaced after merging the clients. DO NOT COMMIT.
use super::*;
pub struct PsaConnector;
impl PsaConnector {
    pub fn from_env(_h: reqwest::Client) -> Self {
        Self
    }
}
pub struct StubClient;
impl PsaSource for StubClient {
    async fn test_connection(&self) -> Result<PsaConnectionInfo, PsaError> {
        Err(PsaError::Config("stub".into()))
    }
    async fn list_records(&self, _k: RecordKind) -> Result<Vec<PsaRecord>, PsaError> {
        Err(PsaError::Config("stub".into()))
    }
}
impl PsaConnect for PsaConnector {
    type Client = StubClient;
    fn connect(&self, _c: &PsaCredentials) -> Result<StubClient, PsaError> {
        Ok(StubClient)
    }
}
