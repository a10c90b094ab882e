//! Ticket settings configured from lists: what the connected PSA lists
//! (`GET /integrations/{psaId}/ticket-lists`) and the checks of ticket
//! settings against those lists on save.
//!
//! The checks name every field that refers to something the PSA does not
//! list (`autotask.queueId`, `monitors.{key}.connectwise.typeId`, ...);
//! whether such a problem refuses the save or only warns is the caller's
//! choice (settings with ticketing off are saved with warnings, so that
//! turning ticketing off never depends on the PSA). What the PSA lists but
//! that will not work as one expects (an inactive queue, a ConnectWise board
//! without a default team or status) is a warning.

use super::monitors::MonitorOverride;
use super::rules::PriorityMap;
use super::service::{TicketError, Tickets};
use crate::psa::autotask::AutotaskTicketSettings;
use crate::psa::connectwise::ConnectWiseTicketSettings;
use crate::psa::lists::find;
use crate::psa::{
    AutotaskTicketLists, ConnectWiseBoard, ConnectWiseTicketLists, PsaChoice, PsaTicketLists, PsaTicketSettings,
};
use crate::tenant::TenantId;
use std::collections::BTreeMap;

/// Problems (unknown ids) and warnings found by a check.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Checked {
    pub problems: Vec<String>,
    pub warnings: Vec<String>,
}

impl Tickets<'_> {
    /// What the PSA integration's ticket settings can refer to, read from the PSA now
    /// (ConnectWise: every board, or only `board`).
    pub async fn ticket_lists(
        &self,
        tenant: &TenantId,
        psa_id: &str,
        board: Option<i64>,
    ) -> Result<PsaTicketLists, TicketError> {
        let (_, client) = self.psa_integrations().connect(tenant, psa_id).await?;
        Ok(client.ticket_lists(board).await?)
    }
}

/// Up to ten choices, for a message.
fn some_of(list: &[PsaChoice]) -> String {
    let mut names: Vec<String> = list.iter().take(10).map(|c| format!("{} {}", c.id, c.name)).collect();
    if list.len() > 10 {
        names.push(format!("and {} more", list.len() - 10));
    }
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

impl Checked {
    /// `id` (at `field`) must be in `list`; an inactive one is a warning.
    fn one_of(&mut self, field: &str, id: Option<i64>, list: &[PsaChoice], what: &str) -> Option<PsaChoice> {
        let id = id?;
        match find(list, id) {
            None => {
                self.problems.push(format!(
                    "`{field}`: {id} is not a {what} the PSA lists ({})",
                    some_of(list)
                ));
                None
            }
            Some(c) => {
                if !c.active {
                    self.warnings
                        .push(format!("`{field}`: {what} {id} ({}) is inactive", c.name));
                }
                Some(c.clone())
            }
        }
    }

    fn priorities(&mut self, prefix: &str, map: &PriorityMap, list: &[PsaChoice]) {
        for (name, value) in [
            ("critical", &map.critical),
            ("high", &map.high),
            ("moderate", &map.moderate),
            ("low", &map.low),
            ("information", &map.information),
        ] {
            let id = value.as_deref().and_then(|v| v.parse::<i64>().ok());
            self.one_of(&format!("{prefix}priorities.{name}"), id, list, "priority");
        }
    }
}

/// Autotask settings, their priorities and monitors against Autotask's picklists.
pub(super) fn check_autotask(
    settings: &AutotaskTicketSettings,
    priorities: &PriorityMap,
    monitors: &BTreeMap<String, MonitorOverride>,
    lists: &AutotaskTicketLists,
) -> Checked {
    let mut c = Checked::default();
    attributes_autotask(&mut c, "autotask.", settings, lists);
    c.one_of(
        "autotask.statusNew",
        Some(settings.status_new),
        &lists.statuses,
        "status",
    );
    c.one_of(
        "autotask.statusComplete",
        Some(settings.status_complete),
        &lists.statuses,
        "status",
    );
    c.priorities("", priorities, &lists.priorities);
    let base = PsaTicketSettings::Autotask(settings.clone());
    for (key, o) in monitors {
        let prefix = format!("monitors.{key}.");
        let id = o.priority.as_deref().and_then(|v| v.parse::<i64>().ok());
        c.one_of(&format!("{prefix}priority"), id, &lists.priorities, "priority");
        if o.autotask.is_some()
            && let PsaTicketSettings::Autotask(effective) = o.apply(&base)
        {
            attributes_autotask(&mut c, &format!("{prefix}autotask."), &effective, lists);
        }
    }
    c.problems.dedup();
    c.warnings.dedup();
    c
}

fn attributes_autotask(c: &mut Checked, prefix: &str, s: &AutotaskTicketSettings, lists: &AutotaskTicketLists) {
    c.one_of(&format!("{prefix}queueId"), Some(s.queue_id), &lists.queues, "queue");
    c.one_of(
        &format!("{prefix}issueType"),
        s.issue_type,
        &lists.issue_types,
        "issue type",
    );
    if let Some(sub) = c.one_of(
        &format!("{prefix}subIssueType"),
        s.sub_issue_type,
        &lists.sub_issue_types,
        "sub-issue type",
    ) {
        match (s.issue_type, sub.parent_id) {
            (None, _) => c.problems.push(format!(
                "`{prefix}subIssueType` needs `{prefix}issueType` (the issue type it belongs to)"
            )),
            (Some(issue), Some(parent)) if issue != parent => c.problems.push(format!(
                "`{prefix}subIssueType`: {} ({}) belongs to issue type {parent}, not {issue}",
                sub.id, sub.name
            )),
            _ => {}
        }
    }
    c.one_of(&format!("{prefix}source"), s.source, &lists.sources, "source");
    c.one_of(
        &format!("{prefix}workType"),
        s.work_type,
        &lists.work_types,
        "work type",
    );
}

/// ConnectWise settings, their priorities and monitors against the boards, priorities and sources.
pub(super) fn check_connectwise(
    settings: &ConnectWiseTicketSettings,
    priorities: &PriorityMap,
    monitors: &BTreeMap<String, MonitorOverride>,
    lists: &ConnectWiseTicketLists,
) -> Checked {
    let mut c = Checked::default();
    attributes_connectwise(&mut c, "connectwise.", settings, lists);
    c.priorities("", priorities, &lists.priorities);
    let base = PsaTicketSettings::ConnectWise(settings.clone());
    for (key, o) in monitors {
        let prefix = format!("monitors.{key}.");
        let id = o.priority.as_deref().and_then(|v| v.parse::<i64>().ok());
        c.one_of(&format!("{prefix}priority"), id, &lists.priorities, "priority");
        if o.connectwise.is_some()
            && let PsaTicketSettings::ConnectWise(effective) = o.apply(&base)
        {
            attributes_connectwise(&mut c, &format!("{prefix}connectwise."), &effective, lists);
        }
    }
    c.problems.dedup();
    c.warnings.dedup();
    c
}

fn board_choices(boards: &[ConnectWiseBoard]) -> Vec<PsaChoice> {
    boards
        .iter()
        .map(|b| PsaChoice {
            active: b.active,
            ..PsaChoice::new(b.id, b.name.clone())
        })
        .collect()
}

fn attributes_connectwise(
    c: &mut Checked,
    prefix: &str,
    s: &ConnectWiseTicketSettings,
    lists: &ConnectWiseTicketLists,
) {
    c.one_of(&format!("{prefix}sourceId"), s.source_id, &lists.sources, "source");
    if c.one_of(
        &format!("{prefix}boardId"),
        Some(s.board_id),
        &board_choices(&lists.boards),
        "board",
    )
    .is_none()
    {
        return;
    }
    let Some(board) = lists.boards.iter().find(|b| b.id == s.board_id) else {
        return;
    };
    let on = |what: &str| format!("{what} of board {} ({})", board.id, board.name);
    c.one_of(&format!("{prefix}typeId"), s.type_id, &board.types, &on("type"));
    c.one_of(
        &format!("{prefix}subtypeId"),
        s.subtype_id,
        &board.subtypes,
        &on("subtype"),
    );
    c.one_of(&format!("{prefix}itemId"), s.item_id, &board.items, &on("item"));
    if let Some(open) = c.one_of(
        &format!("{prefix}openStatusId"),
        s.open_status_id,
        &board.statuses,
        &on("status"),
    ) && open.closed == Some(true)
    {
        c.problems.push(format!(
            "`{prefix}openStatusId`: {} ({}) is a closed status: new tickets would be closed",
            open.id, open.name
        ));
    }
    if let Some(closed) = c.one_of(
        &format!("{prefix}closedStatusId"),
        s.closed_status_id,
        &board.statuses,
        &on("status"),
    ) && closed.closed != Some(true)
    {
        c.problems.push(format!(
            "`{prefix}closedStatusId`: {} ({}) is not a closed status of the board",
            closed.id, closed.name
        ));
    }
    if !board.teams.iter().any(|t| t.is_default && t.active) {
        c.warnings.push(format!(
            "board {} ({}) has no default team: new tickets get no team",
            board.id, board.name
        ));
    }
    if s.open_status_id.is_none() && !board.statuses.iter().any(|t| t.is_default && t.active) {
        c.warnings.push(format!(
            "board {} ({}) has no default status and `{prefix}openStatusId` is not set: ConnectWise may refuse new tickets",
            board.id, board.name
        ));
    }
    if s.closed_status_id.is_none() && !board.statuses.iter().any(|t| t.closed == Some(true) && t.active) {
        c.warnings.push(format!(
            "board {} ({}) has no active closed status and `{prefix}closedStatusId` is not set: its tickets cannot be completed",
            board.id, board.name
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(id: i64, name: &str) -> PsaChoice {
        PsaChoice::new(id, name)
    }

    #[test]
    fn autotask_problems_name_every_field() {
        let lists = AutotaskTicketLists {
            queues: vec![choice(8, "Monitoring")],
            issue_types: vec![choice(1, "Hardware"), choice(2, "Software")],
            sub_issue_types: vec![PsaChoice {
                parent_id: Some(1),
                ..choice(101, "Disk")
            }],
            statuses: vec![choice(1, "New"), choice(5, "Complete")],
            priorities: vec![choice(1, "High"), choice(2, "Medium")],
            sources: vec![choice(8, "Monitoring")],
            work_types: vec![choice(29_682_801, "Remote Support")],
        };
        let settings = AutotaskTicketSettings {
            queue_id: 9,
            issue_type: Some(2),
            sub_issue_type: Some(101),
            source: Some(3),
            work_type: Some(29_682_999),
            ..AutotaskTicketSettings::default()
        };
        let priorities = PriorityMap {
            critical: Some("7".into()),
            ..PriorityMap::default()
        };
        let monitors = BTreeMap::from([(
            "perf_disk_usage".to_owned(),
            MonitorOverride {
                priority: Some("9".into()),
                ..MonitorOverride::default()
            },
        )]);
        let c = check_autotask(&settings, &priorities, &monitors, &lists);
        let all = c.problems.join("\n");
        for field in [
            "`autotask.queueId`",
            "`autotask.subIssueType`",
            "`autotask.source`",
            "`autotask.workType`",
            "`priorities.critical`",
            "`monitors.perf_disk_usage.priority`",
        ] {
            assert!(all.contains(field), "{field} in {all}");
        }
        assert_eq!(c.problems.len(), 6, "{all}");
    }

    #[test]
    fn a_connectwise_board_without_default_team_or_status_is_a_warning() {
        let board = ConnectWiseBoard {
            id: 3,
            name: "Projects".into(),
            active: true,
            statuses: vec![
                choice(10, "New"),
                PsaChoice {
                    closed: Some(true),
                    ..choice(11, "Closed")
                },
            ],
            teams: vec![choice(1, "Team A")],
            ..ConnectWiseBoard::default()
        };
        let lists = ConnectWiseTicketLists {
            boards: vec![board],
            ..ConnectWiseTicketLists::default()
        };
        let settings = ConnectWiseTicketSettings {
            board_id: 3,
            closed_status_id: Some(10),
            ..ConnectWiseTicketSettings::default()
        };
        let c = check_connectwise(&settings, &PriorityMap::default(), &BTreeMap::new(), &lists);
        assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
        assert!(c.problems[0].contains("`connectwise.closedStatusId`"));
        assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
    }
}
