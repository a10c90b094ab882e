//! Ticket settings configured from lists, against moto and the PSA
//! simulators over HTTP: what each PSA lists for ticket settings, the
//! settings checked against those lists on `PUT` and `PATCH` (unknown ids
//! refused naming the field; a ConnectWise board without a default team or
//! status is a warning), and per-monitor overrides and switches used when
//! tickets are opened.

use rmmsync_tests::ticket_world::world;
use serde_json::{Value, json};
use shared::psa::PsaKind;

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn autotask_lists_and_settings_checked_against_them() {
    let w = world(PsaKind::Autotask, shared::time::now_millis).await;
    let (status, lists) = w
        .call("GET", &format!("/integrations/{}/ticket-lists", w.psa_id), None)
        .await;
    assert_eq!(status, 200, "{lists}");
    assert_eq!(lists["psa"], "autotask");
    assert!(ids(&lists["queues"]).contains(&8), "{lists}");
    assert!(ids(&lists["statuses"]).contains(&5));
    assert!(ids(&lists["priorities"]).contains(&4));
    assert!(ids(&lists["sources"]).contains(&8));
    assert!(ids(&lists["issueTypes"]).contains(&2));
    let disk = lists["subIssueTypes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == 101)
        .unwrap();
    assert_eq!(
        (disk["name"].as_str(), disk["parentId"].as_i64()),
        (Some("Disk"), Some(1))
    );
    // A Datto integration is not a PSA integration.
    let (status, _) = w
        .call("GET", &format!("/integrations/{}/ticket-lists", w.datto_id), None)
        .await;
    assert_eq!(status, 404);

    let path = format!("/integrations/{}/ticket-settings", w.datto_id);
    // Every unknown id named, nothing saved.
    let (status, refused) = w
        .call(
            "PUT",
            &path,
            Some(json!({"psaIntegrationId": w.psa_id,
                "priorities": {"critical": "77"},
                "autotask": {"queueId": 999, "issueType": 2, "subIssueType": 101, "source": 55, "statusComplete": 42}})),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    let message = refused["message"].as_str().unwrap();
    for field in [
        "`autotask.queueId`",
        "`autotask.subIssueType`",
        "`autotask.source`",
        "`autotask.statusComplete`",
        "`priorities.critical`",
    ] {
        assert!(message.contains(field), "{field} in {message}");
    }
    assert!(message.contains("belongs to issue type 1"), "{message}");
    let (_, stored) = w.call("GET", &path, None).await;
    assert_eq!(stored["autotask"]["queueId"], 8, "unchanged: {stored}");

    // PATCH is checked as well.
    let (status, refused) = w
        .call(
            "PATCH",
            &path,
            Some(json!({"autotask": {"queueId": 8, "issueType": 7}})),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("`autotask.issueType`"));
    let (status, saved) = w
        .call(
            "PATCH",
            &path,
            Some(json!({"autotask": {"queueId": 29683481, "issueType": 1, "subIssueType": 101, "source": 8}})),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["warnings"], json!([]), "{saved}");
    assert_eq!(saved["autotask"]["queueId"], 29683481);

    // Ticketing off never depends on the PSA: unknown ids are then warnings.
    let (status, saved) = w
        .call(
            "PATCH",
            &path,
            Some(json!({"enabled": false, "autotask": {"queueId": 999}})),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["enabled"], false);
    assert!(
        saved["warnings"][0].as_str().unwrap().contains("`autotask.queueId`"),
        "{saved}"
    );
    // Back on with that queue: refused.
    let (status, refused) = w.call("PATCH", &path, Some(json!({"enabled": true}))).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("`autotask.queueId`"));
}

/// Autotask work types are billing codes of the work-type use, not a picklist: listed
/// (inactive ones flagged, other billing codes left out), checked on save, and sent as the
/// ticket's `billingCodeID`.
#[tokio::test]
async fn autotask_work_types_are_listed_checked_and_sent() {
    let w = world(PsaKind::Autotask, shared::time::now_millis).await;
    let queries = w.autotask().stats().route("BillingCodes.query");
    let (status, lists) = w
        .call("GET", &format!("/integrations/{}/ticket-lists", w.psa_id), None)
        .await;
    assert_eq!(status, 200, "{lists}");
    let work_types = lists["workTypes"].as_array().unwrap();
    let mut listed = ids(&lists["workTypes"]);
    listed.sort();
    // The simulator's four work types; the material code 29682810 is not one.
    assert_eq!(listed, vec![29_682_801, 29_682_802, 29_682_803, 29_682_804], "{lists}");
    let retired = work_types.iter().find(|c| c["id"] == 29_682_804).unwrap();
    assert_eq!(retired["active"], false, "{retired}");
    assert_eq!(
        w.autotask().stats().route("BillingCodes.query") - queries,
        1,
        "one query of the work-type billing codes"
    );

    let path = format!("/integrations/{}/ticket-settings", w.datto_id);
    for refused_id in [29_682_999, 29_682_810] {
        let (status, refused) = w
            .call(
                "PATCH",
                &path,
                Some(json!({"autotask": {"queueId": 8, "workType": refused_id},
                    "monitors": {"srvc_status_ctx": {"autotask": {"workType": refused_id}}}})),
            )
            .await;
        assert_eq!(status, 400, "{refused}");
        let message = refused["message"].as_str().unwrap();
        assert!(message.contains("`autotask.workType`"), "{message}");
        assert!(
            message.contains("`monitors.srvc_status.autotask.workType`"),
            "{message}"
        );
        assert!(message.contains("Remote Support"), "the choices are named: {message}");
    }
    let (status, saved) = w
        .call(
            "PATCH",
            &path,
            Some(json!({"autotask": {"queueId": 8, "workType": 29_682_804}})),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    assert!(
        saved["warnings"][0].as_str().unwrap().contains("work type 29682804"),
        "an inactive work type is a warning: {saved}"
    );
    let (status, saved) = w
        .call(
            "PATCH",
            &path,
            Some(json!({"autotask": {"queueId": 8, "workType": 29_682_803}})),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["warnings"], json!([]), "{saved}");
    let uid = w.raise("disk_usage_ctx").await;
    let tickets = w.autotask_tickets_for(&uid);
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0].billing_code_id, Some(29_682_803));
}

#[tokio::test]
async fn connectwise_lists_and_board_warnings() {
    let w = world(PsaKind::ConnectwiseManage, shared::time::now_millis).await;
    let cw = w.connectwise();
    let (status, lists) = w
        .call("GET", &format!("/integrations/{}/ticket-lists", w.psa_id), None)
        .await;
    assert_eq!(status, 200, "{lists}");
    assert_eq!(lists["psa"], "connectwise-manage");
    let boards = lists["boards"].as_array().unwrap();
    assert_eq!(boards.len(), cw.boards().len());
    let board = |name: &str| boards.iter().find(|b| b["name"] == name).unwrap().clone();
    let service = board("Service Desk");
    let projects = board("Projects");
    let alerts = board("Alerts");
    let service_id = service["id"].as_i64().unwrap();
    for list in ["types", "subtypes", "items", "teams"] {
        assert_eq!(
            ids(&service[list]),
            ids(&json!(cw.board_list(service_id, list))),
            "{list} of the board"
        );
    }
    let closed: Vec<i64> = service["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["closed"] == true)
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(closed.len(), 3, "{service}");
    assert_eq!(ids(&lists["priorities"]).len(), cw.priorities().len());
    assert_eq!(ids(&lists["sources"]).len(), 4);
    // One board only.
    let (status, one) = w
        .call(
            "GET",
            &format!("/integrations/{}/ticket-lists?boardId={}", w.psa_id, alerts["id"]),
            None,
        )
        .await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["boards"].as_array().unwrap().len(), 1);
    let (status, _) = w
        .call(
            "GET",
            &format!("/integrations/{}/ticket-lists?boardId=x", w.psa_id),
            None,
        )
        .await;
    assert_eq!(status, 400);

    let path = format!("/integrations/{}/ticket-settings", w.datto_id);
    // A type of another board, an open status that closes, a closed status that does not.
    let open_status = service["statuses"][0]["id"].as_i64().unwrap();
    let (status, refused) = w
        .call(
            "PUT",
            &path,
            Some(json!({"psaIntegrationId": w.psa_id, "connectwise": {
                "boardId": service_id, "typeId": projects["types"][0]["id"],
                "openStatusId": closed[0], "closedStatusId": open_status, "itemId": 9999}})),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    let message = refused["message"].as_str().unwrap();
    for field in [
        "`connectwise.typeId`",
        "`connectwise.openStatusId`",
        "`connectwise.closedStatusId`",
        "`connectwise.itemId`",
    ] {
        assert!(message.contains(field), "{field} in {message}");
    }
    let (status, refused) = w
        .call("PATCH", &path, Some(json!({"connectwise": {"boardId": 4242}})))
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("`connectwise.boardId`"));

    // The Projects board has no default team: saved, with a warning.
    let (status, saved) = w
        .call(
            "PATCH",
            &path,
            Some(
                json!({"connectwise": {"boardId": projects["id"], "typeId": projects["types"][1]["id"],
                "itemId": projects["items"][0]["id"]}}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    let warnings = saved["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{saved}");
    assert!(warnings[0].as_str().unwrap().contains("no default team"), "{saved}");
    // No default status either (and none configured): a second warning.
    cw.clear_default_status(projects["id"].as_i64().unwrap());
    let (status, saved) = w.call("PATCH", &path, Some(json!({"repeatWindow": "45m"}))).await;
    assert_eq!(status, 200, "{saved}");
    let warnings: Vec<&str> = saved["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[1].contains("no default status"), "{warnings:?}");
}

#[tokio::test]
async fn per_monitor_overrides_and_switches_open_tickets_accordingly() {
    let w = world(PsaKind::Autotask, shared::time::now_millis).await;
    let path = format!("/integrations/{}/ticket-settings", w.datto_id);
    // Unknown ids in an override are named with their monitor; a bad key is refused.
    let (status, refused) = w
        .call(
            "PATCH",
            &path,
            Some(
                json!({"monitors": {"srvc_status_ctx": {"priority": "99", "autotask": {"queueId": 1234}},
                                     "bad key!": {"createTickets": false}}}),
            ),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    let message = refused["message"].as_str().unwrap();
    assert!(message.contains("`monitors` key `bad key!`"), "{message}");
    let (status, refused) = w
        .call(
            "PATCH",
            &path,
            Some(
                json!({"monitors": {"srvc_status_ctx": {"priority": "99", "autotask": {"queueId": 1234}},
                                     "perf_disk_usage": {"connectwise": {"boardId": 1}}}}),
            ),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    let message = refused["message"].as_str().unwrap();
    assert!(message.contains("`monitors.perf_disk_usage.connectwise`"), "{message}");

    let (status, saved) = w
        .call(
            "PATCH",
            &path,
            Some(json!({"monitors": {
                "DISK_USAGE_CTX": {"createTickets": false},
                "srvc_status": {"priority": "1", "autotask": {"queueId": 5, "issueType": 2, "subIssueType": 202, "source": 8}}}})),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(
        saved["monitors"],
        json!({"disk_usage": {"createTickets": false},
               "srvc_status": {"priority": "1", "autotask": {"queueId": 5, "issueType": 2, "subIssueType": 202, "source": 8}}}),
        "keys normalized"
    );
    let (status, refused) = w
        .call(
            "PATCH",
            &path,
            Some(json!({"monitors": {"srvc_status": {"priority": "99", "autotask": {"queueId": 1234}}}})),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    let message = refused["message"].as_str().unwrap();
    for field in [
        "`monitors.srvc_status.priority`",
        "`monitors.srvc_status.autotask.queueId`",
    ] {
        assert!(message.contains(field), "{field} in {message}");
    }

    // Switched off: no ticket, and the reconciler does not open one either.
    let tickets_before = w.autotask().tickets().len();
    let disk = w.raise("disk_usage_ctx").await;
    let (status, answer) = w.deliver(&disk).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("ignored")), "{answer}");
    assert!(answer["reason"].as_str().unwrap().contains("disk_usage"), "{answer}");
    let pass = w.reconcile().await;
    assert_eq!(pass["opened"], 0, "{pass}");
    assert_eq!(w.autotask().tickets().len(), tickets_before);
    assert!(w.autotask_tickets_for(&disk).is_empty());

    // Overridden: its own queue, issue and sub-issue type, source and priority.
    let service = w.raise("srvc_status_ctx").await;
    let t = w.autotask_tickets_for(&service).remove(0);
    assert_eq!(
        (t.queue_id, t.issue_type, t.sub_issue_type, t.source, t.priority),
        (Some(5), Some(2), Some(202), Some(8), Some(1))
    );
    // Any other monitor: the integration's settings (queue 8, Critical → 4).
    let other = w.raise("perf_resource_usage_ctx").await;
    let t = w.autotask_tickets_for(&other).remove(0);
    assert_eq!((t.queue_id, t.issue_type, t.priority), (Some(8), None, Some(4)));

    // The switch removed (`null`): the monitor opens tickets again.
    let (status, saved) = w
        .call("PATCH", &path, Some(json!({"monitors": {"disk_usage_ctx": null}})))
        .await;
    assert_eq!(status, 200, "{saved}");
    assert!(saved["monitors"].get("disk_usage").is_none(), "{saved}");
    assert!(saved["monitors"].get("srvc_status").is_some(), "{saved}");
    let (status, answer) = w.deliver(&disk).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("opened")), "{answer}");
    assert_eq!(w.autotask_tickets_for(&disk).len(), 1);
}

#[tokio::test]
async fn a_connectwise_monitor_on_another_board_opens_and_completes_there() {
    let w = world(PsaKind::ConnectwiseManage, shared::time::now_millis).await;
    let cw = w.connectwise();
    let alerts = cw.boards().into_iter().find(|b| b["name"] == "Alerts").unwrap();
    let board = alerts["id"].as_i64().unwrap();
    let item = cw.board_list(board, "items")[1]["id"].as_i64().unwrap();
    let ty = cw.board_list(board, "types")[0]["id"].as_i64().unwrap();
    // The integration's closed status is one of its own board's: the override's board keeps its own.
    let base_board = w.connectwise().boards()[0]["id"].as_i64().unwrap();
    let base_closed = cw
        .board_statuses(base_board)
        .into_iter()
        .find(|s| s["name"] == "Closed")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, saved) = w
        .call(
            "PATCH",
            &format!("/integrations/{}/ticket-settings", w.datto_id),
            Some(json!({"connectwise": {"boardId": base_board, "closedStatusId": base_closed},
                        "monitors": {"perf_disk_usage_ctx": {"connectwise": {"boardId": board, "typeId": ty, "itemId": item}}}})),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    let uid = w.raise("perf_disk_usage_ctx").await;
    let ticket = cw
        .tickets()
        .into_iter()
        .find(|t| t["externalXRef"] == uid.as_str())
        .unwrap();
    assert_eq!(
        (
            ticket["board"]["id"].as_i64(),
            ticket["type"]["id"].as_i64(),
            ticket["item"]["id"].as_i64()
        ),
        (Some(board), Some(ty), Some(item)),
        "{ticket}"
    );
    // Resolved in Datto RMM: the ticket closes with a closed status of its own board.
    let deliveries = w.datto_sim.webhook_deliveries().len();
    assert!(w.datto_sim.resolve_alert(&uid));
    w.settle(deliveries + 1).await;
    let ticket = cw.ticket(ticket["id"].as_i64().unwrap()).unwrap();
    assert_eq!(ticket["closedFlag"], true, "{ticket}");
    let status_id = ticket["status"]["id"].as_i64().unwrap();
    assert!(
        cw.board_statuses(board).iter().any(|s| s["id"] == status_id),
        "{ticket}"
    );
}
