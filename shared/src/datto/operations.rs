//! The Datto RMM calls behind the RMM operations (`crate::operations`): one page of a list
//! (sites, devices, alerts, the software audit), one object (site, device, audits, job,
//! job results and output), the account's components, and the quick job.
//!
//! Everything goes through the client's transport: the account's rate limiter and the retry
//! loop. Reads are retried; the quick job (`PUT /v2/device/{uid}/quickjob`) creates a job on a
//! client's machine and is sent as a [`Replay::Create`]: again only after a 429 or a refused
//! connection, never after a fault or a timeout (Datto has no lookup of a device's jobs by
//! name to check first, so a doubtful attempt ends in an error rather than a second job).
//!
//! Objects are kept as JSON (`serde_json::Value`): the operations hand Datto's full details
//! on, and every unknown field survives. UDFs are the exception: [`strip_udfs`] removes
//! them from every answer before it leaves this module.

use super::DattoError;
use super::client::DattoClient;
use super::error::decode;
use super::models::Page;
use crate::retry::Replay;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Datto's largest page (`GET /v2/system/pagination` answers 250).
pub const MAX_PAGE: u32 = 250;

/// One page of a Datto list, as the operations return it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListPage {
    /// 0-based, as Datto counts.
    pub page: u32,
    /// The page to ask for next; absent after the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page: Option<u32>,
    /// Datto's count of all items, when it sends one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_count: Option<i64>,
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
}

/// Whose devices to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceScope {
    /// `GET /v2/account/devices` with Datto's filters (`hostname`, `deviceType`,
    /// `operatingSystem`, `siteName`; substring matches on Datto's side).
    Account { filters: Vec<(String, String)> },
    /// `GET /v2/site/{uid}/devices`.
    Site(String),
}

/// Whose alerts to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertScope {
    Account,
    Site(String),
    Device(String),
}

/// A component of the account (`GET /v2/account/components`), what a quick job runs.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    pub uid: Option<String>,
    pub id: Option<i64>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub category_code: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub variables: Vec<ComponentVariable>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentVariable {
    pub name: Option<String>,
    pub default_val: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub description: Option<String>,
}

fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// The body of `PUT /v2/device/{uid}/quickjob`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuickJobRequest {
    pub job_name: String,
    pub component_uid: String,
    /// `(name, value)`; names must be the component's variables.
    pub variables: Vec<(String, String)>,
}

impl QuickJobRequest {
    fn body(&self) -> Value {
        let variables: Vec<Value> = self
            .variables
            .iter()
            .map(|(name, value)| serde_json::json!({ "name": name, "value": value }))
            .collect();
        serde_json::json!({
            "jobName": self.job_name,
            "jobComponent": { "componentUid": self.component_uid, "variables": variables },
        })
    }
}

/// Datto uids are GUID-like; anything else could reshape the request path.
fn uid<'u>(value: &'u str, what: &str) -> Result<&'u str, DattoError> {
    if !value.is_empty() && value.len() <= 64 && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Ok(value)
    } else {
        Err(DattoError::NotFound {
            what: format!("{what} {value:?}"),
        })
    }
}

/// Removes every `udf`/`udfs` member, at any depth: UDF values never leave the client.
pub fn strip_udfs(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|k, _| !k.eq_ignore_ascii_case("udf") && !k.eq_ignore_ascii_case("udfs"));
            map.values_mut().for_each(strip_udfs);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_udfs),
        _ => {}
    }
}

impl DattoClient {
    /// One page of a list under `path` (`api/v2/...`), with its filters and `page`/`max`.
    async fn list_page(
        &self,
        path: &str,
        query: &[(String, String)],
        page: u32,
        max: u32,
    ) -> Result<ListPage, DattoError> {
        let mut url = self.url(path)?;
        {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
            pairs.append_pair("page", &page.to_string());
            pairs.append_pair("max", &max.clamp(1, MAX_PAGE).to_string());
        }
        let mut answer: Page<Value> = self.transport.get_url(url).await?;
        answer.items.iter_mut().for_each(strip_udfs);
        let details = answer.page_details.unwrap_or_default();
        let has_next = details.next_page_url.as_deref().is_some_and(|u| !u.trim().is_empty());
        Ok(ListPage {
            page,
            next_page: has_next.then(|| page.saturating_add(1)),
            total_count: details.total_count,
            items: answer.items,
        })
    }

    async fn object(&self, path: &str) -> Result<Value, DattoError> {
        let mut value: Value = self.get(path).await?;
        strip_udfs(&mut value);
        Ok(value)
    }

    /// `GET /v2/account/sites`, one page, optionally filtered by `siteName`.
    pub async fn sites_page(&self, site_name: Option<&str>, page: u32, max: u32) -> Result<ListPage, DattoError> {
        let query: Vec<(String, String)> = site_name
            .map(|n| ("siteName".to_owned(), n.to_owned()))
            .into_iter()
            .collect();
        self.list_page("api/v2/account/sites", &query, page, max).await
    }

    /// `GET /v2/site/{uid}`.
    pub async fn site_details(&self, site_uid: &str) -> Result<Value, DattoError> {
        self.object(&format!("api/v2/site/{}", uid(site_uid, "a site with uid")?))
            .await
    }

    /// `GET /v2/account/devices` (filtered) or `GET /v2/site/{uid}/devices`, one page.
    pub async fn devices_page(&self, scope: &DeviceScope, page: u32, max: u32) -> Result<ListPage, DattoError> {
        match scope {
            DeviceScope::Account { filters } => self.list_page("api/v2/account/devices", filters, page, max).await,
            DeviceScope::Site(site) => {
                let path = format!("api/v2/site/{}/devices", uid(site, "a site with uid")?);
                self.list_page(&path, &[], page, max).await
            }
        }
    }

    /// `GET /v2/device/{uid}`, UDFs removed.
    pub async fn device_details(&self, device_uid: &str) -> Result<Value, DattoError> {
        self.object(&format!("api/v2/device/{}", uid(device_uid, "a device with uid")?))
            .await
    }

    /// `GET /v2/audit/device/{uid}`: hardware and network (`nics`) of a generic device.
    pub async fn device_audit(&self, device_uid: &str) -> Result<Value, DattoError> {
        self.object(&format!(
            "api/v2/audit/device/{}",
            uid(device_uid, "a device with uid")?
        ))
        .await
    }

    /// `GET /v2/audit/esxihost/{uid}`.
    pub async fn esxi_audit(&self, device_uid: &str) -> Result<Value, DattoError> {
        self.object(&format!(
            "api/v2/audit/esxihost/{}",
            uid(device_uid, "an ESXi host with uid")?
        ))
        .await
    }

    /// `GET /v2/audit/printer/{uid}`.
    pub async fn printer_audit(&self, device_uid: &str) -> Result<Value, DattoError> {
        self.object(&format!(
            "api/v2/audit/printer/{}",
            uid(device_uid, "a printer with uid")?
        ))
        .await
    }

    /// `GET /v2/audit/device/{uid}/software`, one page.
    pub async fn software_page(&self, device_uid: &str, page: u32, max: u32) -> Result<ListPage, DattoError> {
        let path = format!("api/v2/audit/device/{}/software", uid(device_uid, "a device with uid")?);
        self.list_page(&path, &[], page, max).await
    }

    /// `GET /v2/{account|site/{uid}|device/{uid}}/alerts/{open|resolved}`, one page.
    pub async fn alerts_page(
        &self,
        scope: &AlertScope,
        resolved: bool,
        page: u32,
        max: u32,
    ) -> Result<ListPage, DattoError> {
        let state = if resolved { "resolved" } else { "open" };
        let path = match scope {
            AlertScope::Account => format!("api/v2/account/alerts/{state}"),
            AlertScope::Site(s) => format!("api/v2/site/{}/alerts/{state}", uid(s, "a site with uid")?),
            AlertScope::Device(d) => format!("api/v2/device/{}/alerts/{state}", uid(d, "a device with uid")?),
        };
        self.list_page(&path, &[], page, max).await
    }

    /// `GET /v2/alert/{uid}` as JSON.
    pub async fn alert_details(&self, alert_uid: &str) -> Result<Value, DattoError> {
        self.object(&format!("api/v2/alert/{}", uid(alert_uid, "an alert with uid")?))
            .await
    }

    /// Every component of the account (`GET /v2/account/components`, all pages).
    pub async fn components(&self) -> Result<Vec<Component>, DattoError> {
        self.pages::<Component>("api/v2/account/components", &[("max", "250")])?
            .collect_all()
            .await
    }

    /// `PUT /v2/device/{uid}/quickjob`: creates a job on the device; a [`Replay::Create`].
    /// The answer is `{job, jobComponents}`.
    pub async fn create_quick_job(&self, device_uid: &str, request: &QuickJobRequest) -> Result<Value, DattoError> {
        let path = format!("api/v2/device/{}/quickjob", uid(device_uid, "a device with uid")?);
        let url = self.url(&path)?;
        let bytes = self
            .transport
            .call_as(Method::PUT, url, Some(&request.body()), Replay::Create)
            .await?;
        decode(&path, &bytes)
    }

    /// `GET /v2/job/{uid}`: the job's status (`active`, `completed`).
    pub async fn job(&self, job_uid: &str) -> Result<Value, DattoError> {
        self.object(&format!("api/v2/job/{}", uid(job_uid, "a job with uid")?))
            .await
    }

    /// `GET /v2/job/{uid}/results/{deviceUid}`.
    pub async fn job_results(&self, job_uid: &str, device_uid: &str) -> Result<Value, DattoError> {
        self.object(&format!(
            "api/v2/job/{}/results/{}",
            uid(job_uid, "a job with uid")?,
            uid(device_uid, "a device with uid")?
        ))
        .await
    }

    /// `GET /v2/job/{uid}/results/{deviceUid}/stdout` (or `stderr`): `[{componentUid, componentName, stdData}]`.
    pub async fn job_output(&self, job_uid: &str, device_uid: &str, stderr: bool) -> Result<Value, DattoError> {
        self.object(&format!(
            "api/v2/job/{}/results/{}/{}",
            uid(job_uid, "a job with uid")?,
            uid(device_uid, "a device with uid")?,
            if stderr { "stderr" } else { "stdout" }
        ))
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udfs_are_removed_at_any_depth() {
        let mut v = serde_json::json!({"uid": "d", "udf": {"udf1": "secret"}, "nested": [{"UDFs": 1, "x": 2}]});
        strip_udfs(&mut v);
        assert_eq!(v, serde_json::json!({"uid": "d", "nested": [{"x": 2}]}));
    }

    #[test]
    fn a_uid_that_could_reshape_the_path_is_refused() {
        assert!(uid("abc-123", "a device").is_ok());
        for bad in ["", "../x", "a/b", "a?b", &"x".repeat(65)] {
            assert!(uid(bad, "a device").is_err(), "{bad}");
        }
    }
}
