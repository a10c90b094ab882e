//! ConnectWise tickets for the alert round trip: the integration's ticket settings, opening a
//! ticket (with its configuration attached), notes, reading, completing (resolution note,
//! closed status, `skipCallback`), finding the open ticket of an alert (`externalXRef`), and
//! the board statuses that say whether a status is a closed one.

use super::client::{BoardStatus, ConnectWiseClient};
use super::conditions::Conditions;
use super::transport::PSA;
use crate::psa::{
    ConnectWiseBoard, ConnectWiseTicketLists, PsaChoice, PsaError, TicketDraft, TicketState, truncate_chars,
};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Ticket summary limit.
const SUMMARY_MAX: usize = 100;
/// `externalXRef` limit.
const XREF_MAX: usize = 100;

/// Ticket attributes that come from the integration's settings, not from the alert.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConnectWiseTicketSettings {
    pub board_id: i64,
    pub type_id: Option<i64>,
    pub subtype_id: Option<i64>,
    pub item_id: Option<i64>,
    /// Status for new tickets (`None` = the board's default status).
    pub open_status_id: Option<i64>,
    /// Status that completes a ticket (`None` = the board's first active `closedStatus`).
    pub closed_status_id: Option<i64>,
    pub source_id: Option<i64>,
}

/// Which part of a ticket's notes a note goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NoteKind {
    /// The discussion (`detailDescriptionFlag`).
    Discussion,
    /// The resolution (`resolutionFlag`).
    Resolution,
}

impl ConnectWiseClient {
    /// Opens a ticket for an alert and attaches the configuration when one is given (a
    /// failed attachment is logged, not fatal: the ticket exists).
    pub async fn create_ticket(
        &self,
        draft: &TicketDraft,
        settings: &ConnectWiseTicketSettings,
    ) -> Result<TicketState, PsaError> {
        let company = parse_id(&draft.company_id, "company id")?;
        if settings.board_id <= 0 {
            return Err(PsaError::Config(
                "no ConnectWise board is configured for tickets".into(),
            ));
        }
        let mut summary = truncate_chars(draft.title.trim(), SUMMARY_MAX);
        if summary.is_empty() {
            summary = truncate_chars(&format!("Datto RMM alert {}", draft.alert_uid), SUMMARY_MAX);
        }
        let mut body = json!({
            "summary": summary,
            "initialDescription": draft.description,
            "externalXRef": truncate_chars(&draft.alert_uid, XREF_MAX),
            "company": {"id": company},
            "board": {"id": settings.board_id},
        });
        let refs = [
            ("status", settings.open_status_id),
            ("type", settings.type_id),
            ("subType", settings.subtype_id),
            ("item", settings.item_id),
            ("source", settings.source_id),
        ];
        for (field, id) in refs {
            if let Some(id) = id {
                body[field] = json!({"id": id});
            }
        }
        if let Some(p) = draft.priority.as_deref() {
            body["priority"] = json!({"id": parse_id(p, "priority id")?});
        }
        let url = self.transport().url("service/tickets").await?;
        let ticket = self.transport().call(Method::POST, url, Some(&body)).await?;
        let id = ticket["id"].as_i64().ok_or_else(|| PsaError::InvalidResponse {
            psa: PSA,
            path: "/service/tickets".into(),
            detail: "the created ticket has no id".into(),
        })?;
        if let Some(config) = draft.configuration_id.as_deref() {
            let attach = async {
                let config = parse_id(config, "configuration id")?;
                let transport = self.transport();
                let url = transport.url(&format!("service/tickets/{id}/configurations")).await?;
                transport.call(Method::POST, url, Some(&json!({"id": config}))).await
            };
            if let Err(e) = attach.await {
                tracing::warn!(ticket = id, error = %e, code = e.code(), "could not attach the configuration to the ticket");
            }
        }
        self.ticket_state(&ticket, settings).await
    }

    /// Adds a note to a ticket's discussion (ConnectWise notes have no title: it becomes the
    /// first line).
    pub async fn add_ticket_note(&self, ticket_id: &str, title: &str, text: &str) -> Result<(), PsaError> {
        let id = parse_id(ticket_id, "ticket id")?;
        let text = if title.trim().is_empty() {
            text.to_owned()
        } else {
            format!("{}\n\n{text}", title.trim())
        };
        self.post_note(id, &text, NoteKind::Discussion).await
    }

    /// Whether the ticket has a note whose text contains `marker` (its notes, all pages): how
    /// a note whose POST lost its answer is found.
    pub async fn ticket_has_note(&self, ticket_id: &str, marker: &str) -> Result<bool, PsaError> {
        let id = parse_id(ticket_id, "ticket id")?;
        let notes = self
            .transport()
            .list_all(&format!("service/tickets/{id}/notes"), &Conditions::new())
            .await?;
        Ok(notes.iter().any(|n| {
            n.get("text")
                .and_then(Value::as_str)
                .is_some_and(|t| t.contains(marker))
        }))
    }

    async fn post_note(&self, id: i64, text: &str, kind: NoteKind) -> Result<(), PsaError> {
        let url = self.transport().url(&format!("service/tickets/{id}/notes")).await?;
        let body = json!({
            "text": text,
            "detailDescriptionFlag": kind == NoteKind::Discussion,
            "internalAnalysisFlag": false,
            "resolutionFlag": kind == NoteKind::Resolution,
        });
        self.transport().call(Method::POST, url, Some(&body)).await.map(|_| ())
    }

    pub async fn get_ticket(
        &self,
        ticket_id: &str,
        settings: &ConnectWiseTicketSettings,
    ) -> Result<TicketState, PsaError> {
        let ticket = self.fetch_ticket(ticket_id).await?;
        self.ticket_state(&ticket, settings).await
    }

    async fn fetch_ticket(&self, ticket_id: &str) -> Result<Value, PsaError> {
        let id = parse_id(ticket_id, "ticket id")?;
        self.transport().get_value(&format!("service/tickets/{id}")).await
    }

    /// Completes a ticket: a resolution note, then the status set to `closed_status_id` (or
    /// the board's first active closed status) with `skipCallback` so that our own change is
    /// not echoed back. A ticket that is already completed is left alone.
    pub async fn complete_ticket(
        &self,
        ticket_id: &str,
        resolution: &str,
        settings: &ConnectWiseTicketSettings,
    ) -> Result<(), PsaError> {
        let ticket = self.fetch_ticket(ticket_id).await?;
        if self.ticket_state(&ticket, settings).await?.completed {
            return Ok(());
        }
        let id = ticket["id"].as_i64().unwrap_or_default();
        let board = ticket["board"]["id"].as_i64().unwrap_or(settings.board_id);
        // A status belongs to one board: the configured one only for tickets on the configured
        // board (a per-monitor override may have put the ticket on another).
        let status = match settings.closed_status_id.filter(|_| board == settings.board_id) {
            Some(s) => s,
            None => self
                .statuses(board)
                .await?
                .iter()
                .find(|s| s.closed && !s.inactive)
                .map(|s| s.id)
                .ok_or_else(|| PsaError::Config(format!("board {board} has no active closed status")))?,
        };
        if !resolution.trim().is_empty() {
            self.post_note(id, resolution, NoteKind::Resolution).await?;
        }
        let url = self.transport().url(&format!("service/tickets/{id}")).await?;
        let ops = json!([
            {"op": "replace", "path": "status", "value": {"id": status}},
            {"op": "replace", "path": "skipCallback", "value": true},
        ]);
        self.transport().call(Method::PATCH, url, Some(&ops)).await.map(|_| ())
    }

    /// The newest open ticket carrying this alert uid in `externalXRef`.
    pub async fn find_open_ticket_for_alert(
        &self,
        alert_uid: &str,
        settings: &ConnectWiseTicketSettings,
    ) -> Result<Option<TicketState>, PsaError> {
        let cond = Conditions::new()
            .eq_str("externalXRef", &truncate_chars(alert_uid, XREF_MAX))
            .eq_bool("closedFlag", false);
        let mut url = self.transport().url("service/tickets").await?;
        url.query_pairs_mut()
            .append_pair("conditions", &cond.build())
            .append_pair("orderBy", "id desc")
            .append_pair("pageSize", "25");
        let found = self.transport().call(Method::GET, url, None).await?;
        for t in found.as_array().into_iter().flatten() {
            let state = self.ticket_state(t, settings).await?;
            if !state.completed {
                return Ok(Some(state));
            }
        }
        Ok(None)
    }

    /// The newest ticket carrying this alert uid in `externalXRef`, open or closed: what a
    /// delivery that died after the create left behind, to adopt instead of opening a second.
    pub async fn find_ticket_for_alert(
        &self,
        alert_uid: &str,
        settings: &ConnectWiseTicketSettings,
    ) -> Result<Option<TicketState>, PsaError> {
        let cond = Conditions::new().eq_str("externalXRef", &truncate_chars(alert_uid, XREF_MAX));
        let mut url = self.transport().url("service/tickets").await?;
        url.query_pairs_mut()
            .append_pair("conditions", &cond.build())
            .append_pair("orderBy", "id desc")
            .append_pair("pageSize", "1");
        let found = self.transport().call(Method::GET, url, None).await?;
        match found.as_array().and_then(|a| a.first()) {
            Some(t) => Ok(Some(self.ticket_state(t, settings).await?)),
            None => Ok(None),
        }
    }

    /// What ticket settings refer to: the boards (all, or only `board`) each with its types,
    /// subtypes, items, statuses and teams, then the priorities and sources. A board's lists
    /// are read together; a board whose items or teams the API does not serve (404) has none.
    pub async fn ticket_lists(&self, board: Option<i64>) -> Result<ConnectWiseTicketLists, PsaError> {
        let mut cond = Conditions::new();
        if let Some(id) = board {
            cond = cond.eq_int("id", id);
        }
        let boards = self.list_all("service/boards", &cond).await?;
        let mut out = ConnectWiseTicketLists::default();
        for b in boards.iter().take(MAX_BOARDS) {
            let Some(id) = b["id"].as_i64() else { continue };
            let sub = |name: &'static str| async move {
                let none = Conditions::new();
                match self.list_all(&format!("service/boards/{id}/{name}"), &none).await {
                    Err(PsaError::NotFound { .. }) if matches!(name, "items" | "teams") => Ok(Vec::new()),
                    other => other.map(|l| l.iter().filter_map(choice).collect::<Vec<_>>()),
                }
            };
            let (statuses, types, subtypes, items, teams) = tokio::try_join!(
                sub("statuses"),
                sub("types"),
                sub("subtypes"),
                sub("items"),
                sub("teams")
            )?;
            out.boards.push(ConnectWiseBoard {
                id,
                name: truncate_chars(b["name"].as_str().unwrap_or_default(), 200),
                active: b["inactiveFlag"].as_bool() != Some(true),
                types,
                subtypes,
                items,
                statuses,
                teams,
            });
        }
        let none = Conditions::new();
        let (priorities, sources) = tokio::try_join!(
            self.list_all("service/priorities", &none),
            self.list_all("service/sources", &none)
        )?;
        out.priorities = priorities.iter().filter_map(choice).collect();
        out.sources = sources.iter().filter_map(choice).collect();
        Ok(out)
    }

    async fn ticket_state(&self, t: &Value, settings: &ConnectWiseTicketSettings) -> Result<TicketState, PsaError> {
        let id = t["id"].as_i64().ok_or_else(|| PsaError::InvalidResponse {
            psa: PSA,
            path: "/service/tickets".into(),
            detail: "a ticket without id".into(),
        })?;
        let status = t["status"]["id"].as_i64();
        let mut completed =
            t["closedFlag"].as_bool() == Some(true) || (status.is_some() && status == settings.closed_status_id);
        if !completed && let (Some(status), Some(board)) = (status, t["board"]["id"].as_i64()) {
            completed = self.statuses(board).await?.iter().any(|s| s.id == status && s.closed);
        }
        Ok(TicketState {
            id: id.to_string(),
            number: Some(id.to_string()),
            completed,
            alert_uid: t["externalXRef"].as_str().filter(|s| !s.is_empty()).map(str::to_owned),
        })
    }

    /// A board's statuses (cached per client).
    async fn statuses(&self, board: i64) -> Result<Vec<BoardStatus>, PsaError> {
        if let Some(s) = self.inner.board_statuses.lock().await.get(&board) {
            return Ok(s.clone());
        }
        let list = self
            .list_all(&format!("service/boards/{board}/statuses"), &Conditions::new())
            .await?;
        let statuses: Vec<BoardStatus> = list
            .iter()
            .filter_map(|s| {
                Some(BoardStatus {
                    id: s["id"].as_i64()?,
                    closed: s["closedStatus"].as_bool().unwrap_or(false),
                    inactive: s["inactive"].as_bool().unwrap_or(false),
                })
            })
            .collect();
        self.inner.board_statuses.lock().await.insert(board, statuses.clone());
        Ok(statuses)
    }
}

/// Boards read for the lists at most (each costs five requests).
const MAX_BOARDS: usize = 200;

/// A list entry: `id`, `name`, `inactiveFlag`/`inactive`, `defaultFlag`, `closedStatus`.
fn choice(v: &Value) -> Option<PsaChoice> {
    let inactive = v["inactiveFlag"].as_bool().or(v["inactive"].as_bool()).unwrap_or(false);
    Some(PsaChoice {
        id: v["id"].as_i64()?,
        name: truncate_chars(v["name"].as_str().unwrap_or_default(), 200),
        active: !inactive,
        is_default: v["defaultFlag"].as_bool().unwrap_or(false),
        parent_id: None,
        closed: v["closedStatus"].as_bool(),
    })
}

fn parse_id(s: &str, what: &str) -> Result<i64, PsaError> {
    s.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| PsaError::Validation {
            psa: PSA,
            detail: format!("the {what} must be a positive integer"),
        })
}
