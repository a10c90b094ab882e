//! ConnectWise records as the import needs them: which collection holds each [`RecordKind`]
//! (locations are company sites, walked per company), and the mapping of each collection's
//! JSON to a [`PsaRecord`].

use super::client::ConnectWiseClient;
use super::conditions::Conditions;
use crate::psa::{PsaError, PsaRecord, RecordKind};
use serde_json::Value;

impl ConnectWiseClient {
    /// The records of one kind, inactive ones included with `active == false`.
    pub async fn list_records(&self, kind: RecordKind) -> Result<Vec<PsaRecord>, PsaError> {
        let none = Conditions::new();
        Ok(match kind {
            RecordKind::Company => self
                .list_all("company/companies", &none)
                .await?
                .iter()
                .filter_map(company_record)
                .collect(),
            RecordKind::Contact => self
                .list_all("company/contacts", &none)
                .await?
                .iter()
                .filter_map(contact_record)
                .collect(),
            RecordKind::Configuration => self
                .list_all("company/configurations", &none)
                .await?
                .iter()
                .filter_map(configuration_record)
                .collect(),
            RecordKind::User => self
                .list_all("system/members", &none)
                .await?
                .iter()
                .filter_map(member_record)
                .collect(),
            RecordKind::Location => self.list_locations().await?,
        })
    }

    /// Company sites. Only the per-company route (`/company/companies/{id}/sites`) is
    /// known, so this lists the companies (ids only, not deleted ones) and walks their sites
    /// `site_concurrency` at a time.
    async fn list_locations(&self) -> Result<Vec<PsaRecord>, PsaError> {
        let companies = self
            .list_all("company/companies", &Conditions::new().eq_bool("deletedFlag", false))
            .await?;
        let ids: Vec<i64> = companies.iter().filter_map(|c| c["id"].as_i64()).collect();
        let mut out = Vec::new();
        for chunk in ids.chunks(self.inner.site_concurrency) {
            let mut set = tokio::task::JoinSet::new();
            for (i, id) in chunk.iter().enumerate() {
                let client = self.clone();
                let id = *id;
                set.spawn(async move {
                    let r = client
                        .list_all(&format!("company/companies/{id}/sites"), &Conditions::new())
                        .await;
                    (i, id, r)
                });
            }
            let mut results = Vec::new();
            while let Some(joined) = set.join_next().await {
                let (i, id, r) = joined.map_err(|e| PsaError::Config(format!("a site listing task failed: {e}")))?;
                results.push((i, id, r?));
            }
            results.sort_by_key(|(i, _, _)| *i);
            for (_, id, sites) in results {
                out.extend(sites.iter().filter_map(|s| site_record(s, id)));
            }
        }
        Ok(out)
    }
}

fn id_of(v: &Value) -> Option<String> {
    v["id"].as_i64().map(|i| i.to_string())
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

fn updated_at(v: &Value) -> Option<i64> {
    v["_info"]["lastUpdated"]
        .as_str()
        .and_then(crate::time::parse_rfc3339_millis)
}

fn record(kind: RecordKind, id: String, name: String) -> PsaRecord {
    PsaRecord {
        kind,
        id,
        name,
        company_id: None,
        active: true,
        email: None,
        serial_number: None,
        configuration_type: None,
        rmm_device_uid: None,
        company_type: None,
        updated_at: None,
    }
}

fn full_name(v: &Value) -> String {
    [text(&v["firstName"]), text(&v["lastName"])]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Deleted companies (`deletedFlag`) and those whose status is named "Inactive" are
/// `active: false`.
fn company_record(v: &Value) -> Option<PsaRecord> {
    let mut r = record(RecordKind::Company, id_of(v)?, text(&v["name"]).unwrap_or_default());
    let inactive_status = v["status"]["name"]
        .as_str()
        .is_some_and(|s| s.trim().eq_ignore_ascii_case("inactive"));
    r.active = v["deletedFlag"].as_bool() != Some(true) && !inactive_status;
    r.updated_at = updated_at(v);
    // `types` (a list of references) on current versions, `type` on older ones;
    // a company of several types is shown by its first.
    r.company_type = v["types"]
        .as_array()
        .and_then(|types| types.iter().find_map(|t| text(&t["name"])))
        .or_else(|| text(&v["type"]["name"]));
    Some(r)
}

/// Email: the default `Email` communication item, else the first one.
fn contact_record(v: &Value) -> Option<PsaRecord> {
    let mut r = record(RecordKind::Contact, id_of(v)?, full_name(v));
    r.company_id = id_of(&v["company"]);
    r.active = v["inactiveFlag"].as_bool() != Some(true);
    let items = v["communicationItems"].as_array().cloned().unwrap_or_default();
    let emails: Vec<&Value> = items
        .iter()
        .filter(|i| {
            i["communicationType"].as_str() == Some("Email")
                || i["type"]["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case("email"))
        })
        .collect();
    r.email = emails
        .iter()
        .find(|i| i["defaultFlag"].as_bool() == Some(true))
        .or(emails.first())
        .and_then(|i| text(&i["value"]));
    r.updated_at = updated_at(v);
    Some(r)
}

fn site_record(v: &Value, company: i64) -> Option<PsaRecord> {
    let mut r = record(RecordKind::Location, id_of(v)?, text(&v["name"]).unwrap_or_default());
    r.company_id = Some(id_of(&v["company"]).unwrap_or_else(|| company.to_string()));
    r.active = v["inactiveFlag"].as_bool() != Some(true);
    r.updated_at = updated_at(v);
    Some(r)
}

/// `rmm_device_uid` is taken from `deviceIdentifier` only when it has the shape of a Datto
/// RMM device uid (a GUID, 8-4-4-4-12 hex digits); other agents write their own identifiers
/// there.
fn configuration_record(v: &Value) -> Option<PsaRecord> {
    let mut r = record(
        RecordKind::Configuration,
        id_of(v)?,
        text(&v["name"]).unwrap_or_default(),
    );
    r.company_id = id_of(&v["company"]);
    r.active = match v["activeFlag"].as_bool() {
        Some(a) => a,
        None => !v["status"]["name"]
            .as_str()
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("inactive")),
    };
    r.serial_number = text(&v["serialNumber"]);
    r.configuration_type = text(&v["type"]["name"]);
    r.rmm_device_uid = text(&v["deviceIdentifier"])
        .filter(|d| looks_like_guid(d))
        .map(|d| d.to_ascii_lowercase());
    r.updated_at = updated_at(v);
    Some(r)
}

fn member_record(v: &Value) -> Option<PsaRecord> {
    let mut name = full_name(v);
    if name.is_empty() {
        name = text(&v["identifier"]).unwrap_or_default();
    }
    let mut r = record(RecordKind::User, id_of(v)?, name);
    r.active = v["inactiveFlag"].as_bool() != Some(true);
    r.email = text(&v["officeEmail"]);
    r.updated_at = updated_at(v);
    Some(r)
}

fn looks_like_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod unit {
    use super::*;
    use crate::psa::truncate_chars;

    #[test]
    fn helpers() {
        assert_eq!(truncate_chars("ééé", 2), "éé");
        assert!(looks_like_guid("0a1b2c3d-0000-4000-8000-00000000abcd"));
        assert!(!looks_like_guid("LT-12345"));
        let updated = |s: &str| updated_at(&serde_json::json!({"_info": {"lastUpdated": s}}));
        assert_eq!(updated("1970-01-02T00:00:01Z"), Some(86_401_000));
        assert_eq!(updated("2026-11-22T01:02:03.5Z"), Some(1_795_309_323_500));
        assert_eq!(updated("nonsense"), None);
    }
}
