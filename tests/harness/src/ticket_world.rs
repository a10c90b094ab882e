//! The alert round trip's test world: the Datto RMM simulator synced into
//! moto, a PSA simulator (Autotask or ConnectWise) connected and imported, a
//! site mapped to an imported company, ticket settings and hook tokens, and a
//! loopback stand-in for API Gateway ([`crate::gateway`]) in front of the
//! tickets function's handler, which the simulators call over HTTP. Used by
//! `tests/tickets.rs` and `hook-bench`.

use crate::{Handle, api_request, aws_config, fresh_store, gateway, psa_connector, read_response, secrets_manager};
use serde_json::{Value, json};
use shared::connections::{PsaCredentialsInput, PsaIntegrations};
use shared::psa::PsaKind;
use shared::psa_import::PsaImporter;
use shared::site_mapping::routes::SitesApi;
use shared::sync::{SyncDeps, SyncSettings, run::RunBudget, run::start_run};
use shared::tenant::TenantId;
use shared::tickets::TicketTiming;
use shared::tickets::routes::TicketsApi;
use shared::workers::sync_run;
use simulators::autotask::{AutotaskConfig, AutotaskSim};
use simulators::connectwise::{ConnectWiseConfig, ConnectWiseSim};
use simulators::datto::{AlertWebhook, DattoConfig, DattoSim};
use std::sync::Arc;
use std::time::Duration;

pub const TENANT: &str = "msp-tickets";
pub const WAIT: Duration = Duration::from_secs(10);

pub enum Psa {
    Autotask(AutotaskSim),
    ConnectWise(ConnectWiseSim),
}

pub struct World {
    pub datto_sim: DattoSim,
    /// The mapped site.
    pub site_uid: String,
    pub psa_sim: Psa,
    pub api: Arc<TicketsApi>,
    pub url: String,
    pub datto_id: String,
    pub psa_id: String,
    pub device_uid: String,
    /// Every device of the mapped site (the first is `device_uid`).
    pub site_devices: Vec<String>,
    /// The Autotask configuration item made for the device.
    pub ci_id: Option<i64>,
    pub datto_token: String,
    pub psa_token: String,
}

/// A world with one device in the mapped site and no added latency.
pub async fn world(kind: PsaKind, clock: fn() -> i64) -> World {
    world_with(kind, clock, Duration::ZERO, 1).await
}

/// `latency` is added to every simulator answer; `devices` sit in the mapped site.
pub async fn world_with(kind: PsaKind, clock: fn() -> i64, latency: Duration, devices: usize) -> World {
    world_timed(kind, clock, latency, devices, TicketTiming::default()).await
}

/// [`world_with`] whose ticket flow has the deadline and claim liveness of `timing`.
pub async fn world_timed(
    kind: PsaKind,
    clock: fn() -> i64,
    latency: Duration,
    devices: usize,
    timing: TicketTiming,
) -> World {
    world_opts(
        kind,
        clock,
        WorldOptions {
            latency,
            devices,
            timing,
            datto_rate_limit: None,
            autotask_hourly_limit: None,
            connectwise_rate_limit: None,
        },
    )
    .await
}

/// How a world is built.
#[derive(Debug, Clone)]
pub struct WorldOptions {
    /// Added to every simulator answer.
    pub latency: Duration,
    /// Devices in the mapped site.
    pub devices: usize,
    pub timing: TicketTiming,
    /// Datto RMM's read and write limits per minute (the simulator's defaults if `None`).
    pub datto_rate_limit: Option<u32>,
    /// Autotask's hourly request limit (the simulator's default if `None`).
    pub autotask_hourly_limit: Option<u32>,
    /// ConnectWise's requests per minute (the simulator's default if `None`).
    pub connectwise_rate_limit: Option<u32>,
}

pub async fn world_opts(kind: PsaKind, clock: fn() -> i64, options: WorldOptions) -> World {
    let WorldOptions {
        latency,
        devices,
        timing,
        datto_rate_limit,
        autotask_hourly_limit,
        connectwise_rate_limit,
    } = options;
    let defaults = DattoConfig::default();
    let limit = datto_rate_limit.unwrap_or(defaults.read_limit);
    let datto_sim = DattoSim::start(DattoConfig {
        sites: 2,
        devices: 6,
        latency,
        read_limit: limit,
        write_limit: datto_rate_limit.unwrap_or(defaults.write_limit),
        write_op_limit: datto_rate_limit.unwrap_or(defaults.write_op_limit),
        ..defaults
    })
    .await
    .unwrap();
    let site_uid = datto_sim.add_site("Harbor Dental Group");
    let site_devices = datto_sim.add_devices(&site_uid, devices.max(1));
    let device_uid = site_devices[0].clone();

    let (psa_sim, ci_id) = match kind {
        PsaKind::Autotask => {
            let defaults = AutotaskConfig::default();
            let sim = AutotaskSim::start(AutotaskConfig {
                companies: 4,
                latency,
                hourly_limit: autotask_hourly_limit.unwrap_or(defaults.hourly_limit),
                ..defaults
            })
            .await
            .unwrap();
            let company = sim.add_company("Harbor Dental Group", 1, true);
            let ci = sim.add_configuration_item(company, Some("HD-FRONTDESK"), Some(&device_uid), Some("SN-1"));
            (Psa::Autotask(sim), Some(ci))
        }
        _ => {
            let defaults = ConnectWiseConfig::default();
            let sim = ConnectWiseSim::start(ConnectWiseConfig {
                companies: 4,
                latency,
                rate_limit: connectwise_rate_limit.unwrap_or(defaults.rate_limit),
                ..defaults
            })
            .await
            .unwrap();
            // Active and not deleted: add_company draws those flags at random (as the
            // seeded data does), and an inactive company is rightly not imported.
            let company = sim.add_company("Harbor Dental Group");
            sim.change_company(company, |c| {
                c["status"] = json!({"id": 1, "name": "Active"});
                c["deletedFlag"] = json!(false);
            });
            (Psa::ConnectWise(sim), None)
        }
    };
    let zone_url = match &psa_sim {
        Psa::Autotask(s) => s.zone_information_url(),
        Psa::ConnectWise(_) => "http://127.0.0.1:9/unused".into(),
    };

    let aws = aws_config().await;
    let store = fresh_store(&aws).await;
    let secrets = secrets_manager(&aws);
    // As `DattoConnector::from_env` builds it: one token per account for the life of the process.
    let datto = crate::datto_connector(&datto_sim).with_shared_accounts();
    let psa = psa_connector(&zone_url);
    let settings = crate::test_settings();
    let tenant = TenantId::parse(TENANT).unwrap();

    // Datto RMM connected and synced.
    let datto_id = crate::connect_datto(&store, &secrets, &datto, &settings, &tenant, &datto_sim).await;
    let deps = SyncDeps {
        store: store.clone(),
        secrets: secrets.clone(),
        datto: datto.clone(),
        settings: SyncSettings::default(),
    };
    let run = start_run(&deps, &tenant, &datto_id, shared::runs::Trigger::Manual)
        .await
        .unwrap();
    sync_run(&deps, &tenant, &datto_id, &run.run_id, &RunBudget::default())
        .await
        .unwrap();

    // The PSA connected and imported.
    let input: PsaCredentialsInput = serde_json::from_value(match &psa_sim {
        Psa::Autotask(s) => json!({"type": "autotask", "username": s.config().username, "secret": s.config().secret}),
        Psa::ConnectWise(s) => {
            json!({"type": "connectwise-manage", "site": s.base_url(), "companyId": s.config().company_id,
            "publicKey": s.config().public_key, "privateKey": s.config().private_key})
        }
    })
    .unwrap();
    let psa_integrations = PsaIntegrations {
        store: &store,
        secrets: &secrets,
        psa: &psa,
        settings: &settings,
    };
    let psa_id = psa_integrations.create(&tenant, input).await.unwrap().id;
    let importer = PsaImporter {
        store: &store,
        secrets: &secrets,
        psa: &psa,
        settings: &settings,
    };
    let run = importer
        .start(&tenant, &psa_id, shared::runs::Trigger::Manual)
        .await
        .unwrap();
    let run = importer.run(&tenant, &psa_id, &run.run_id).await.unwrap();
    assert!(run.errors.is_empty(), "{run:?}");

    // The site mapped to the imported company.
    let companies = store.all_companies(&tenant).await.unwrap();
    let company = companies.iter().find(|c| c.name == "Harbor Dental Group").unwrap();
    let sites = SitesApi {
        store: store.clone(),
        on_mapped: vec![],
    };
    let (status, mapped) = read_response(
        sites
            .handle(api_request(
                "PUT",
                &format!("/integrations/{datto_id}/sites/{site_uid}/mapping"),
                Some(TENANT),
                Some(&json!({"companyId": company.id})),
            ))
            .await,
    );
    assert_eq!(status, 200, "{mapped}");

    let api = Arc::new(TicketsApi {
        store,
        secrets,
        datto,
        psa,
        settings,
        clock,
        hook_base_url: None,
        timing,
    });
    let handler_api = api.clone();
    let url = gateway(move |req| {
        let api = handler_api.clone();
        async move { api.handle(req).await }
    })
    .await;
    let mut world = World {
        datto_sim,
        site_uid: site_uid.clone(),
        psa_sim,
        api,
        url,
        datto_id,
        psa_id,
        device_uid,
        site_devices,
        ci_id,
        datto_token: String::new(),
        psa_token: String::new(),
    };
    world.datto_token = world.hook_token(&world.datto_id.clone()).await;
    world.psa_token = world.hook_token(&world.psa_id.clone()).await;
    let ticket_settings = match kind {
        PsaKind::Autotask => json!({"psaIntegrationId": world.psa_id, "repeatWindow": "30m",
            "priorities": {"critical": "4", "high": "1", "moderate": "2", "low": "3", "information": "3"},
            "autotask": {"queueId": 8, "issueType": null}}),
        _ => json!({"psaIntegrationId": world.psa_id, "repeatWindow": "30m",
            "connectwise": {"boardId": world.connectwise().boards()[0]["id"]}}),
    };
    let (status, saved) = world
        .call(
            "PUT",
            &format!("/integrations/{}/ticket-settings", world.datto_id),
            Some(ticket_settings),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    world.datto_sim.set_alert_webhook(Some(AlertWebhook {
        url: format!(
            "{}/hooks/datto/{}/alerts?token={}",
            world.url, world.datto_id, world.datto_token
        ),
        headers: vec![],
    }));
    world
}

impl World {
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        read_response(
            self.api
                .handle(api_request(method, path, Some(TENANT), body.as_ref()))
                .await,
        )
    }

    pub async fn hook_token(&self, id: &str) -> String {
        let (status, made) = self.call("POST", &format!("/integrations/{id}/hook-token"), None).await;
        assert_eq!(status, 201, "{made}");
        made["token"].as_str().unwrap().to_owned()
    }

    pub fn autotask(&self) -> &AutotaskSim {
        match &self.psa_sim {
            Psa::Autotask(s) => s,
            Psa::ConnectWise(_) => panic!("not an Autotask world"),
        }
    }

    pub fn connectwise(&self) -> &ConnectWiseSim {
        match &self.psa_sim {
            Psa::ConnectWise(s) => s,
            Psa::Autotask(_) => panic!("not a ConnectWise world"),
        }
    }

    /// Raises an alert and waits for its webhook to be answered.
    pub async fn raise(&self, monitor: &str) -> String {
        let before = self.datto_sim.webhook_deliveries().len();
        let uid = self.datto_sim.raise_alert(&self.device_uid, "Critical", monitor);
        self.settle(before + 1).await;
        uid
    }

    pub async fn settle(&self, deliveries: usize) {
        self.datto_sim.settle_webhooks(WAIT).await;
        let seen = self.datto_sim.webhook_deliveries();
        assert!(seen.len() >= deliveries, "{seen:?}");
        assert!(seen.iter().all(|d| d.status == Some(200)), "{seen:?}");
    }

    pub fn autotask_tickets_for(&self, uid: &str) -> Vec<simulators::autotask::SimTicket> {
        self.autotask()
            .tickets()
            .into_iter()
            .filter(|t| t.rmm_alert_id.as_deref() == Some(uid))
            .collect()
    }

    /// Delivers an alert's webhook straight to the hook (as Datto RMM would), whatever the
    /// simulator's webhook setting: `(status, answer)`.
    pub async fn deliver(&self, uid: &str) -> (u16, Value) {
        let path = format!("/hooks/datto/{}/alerts?token={}", self.datto_id, self.datto_token);
        self.hook(&path, &[], json!({ "alertUid": uid }).to_string().as_bytes())
            .await
    }

    /// Runs a reconciler pass through its route.
    pub async fn reconcile(&self) -> Value {
        let (status, pass) = self
            .call(
                "POST",
                &format!("/integrations/{}/ticket-reconciler", self.datto_id),
                None,
            )
            .await;
        assert_eq!(status, 200, "{pass}");
        pass
    }

    /// The stored state of an alert, through `GET /integrations/{id}/alerts`.
    pub async fn alert_state(&self, uid: &str) -> Value {
        let (status, list) = self
            .call("GET", &format!("/integrations/{}/alerts", self.datto_id), None)
            .await;
        assert_eq!(status, 200, "{list}");
        list["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["alertUid"] == uid)
            .cloned()
            .unwrap_or(Value::Null)
    }

    pub async fn hook(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Value) {
        let response = simulators::http::request("POST", &format!("{}{path}", self.url), headers, Some(body))
            .await
            .unwrap();
        let value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        (response.status, value)
    }
}
