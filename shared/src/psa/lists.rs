//! What ticket settings refer to, as listed by the connected PSA: the
//! choices an admin picks ticket attributes from, and what settings are
//! checked against on save.
//!
//! Autotask: the picklists of the Tickets entity's field info (queues, issue
//! and sub-issue types, statuses, priorities, sources) and the work types
//! (BillingCodes of the work-type use). ConnectWise Manage:
//! the boards with their types, subtypes, items, statuses and teams, and the
//! priorities and sources. Each choice keeps only what a form needs: id,
//! name, whether it is active, whether it is the default, and (sub-issue
//! types) its parent.

use serde::Serialize;

/// One choice of a PSA list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PsaChoice {
    pub id: i64,
    pub name: String,
    pub active: bool,
    /// The PSA's default among its list.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub is_default: bool,
    /// Autotask sub-issue types: the issue type they belong to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<i64>,
    /// ConnectWise board statuses: whether the status closes a ticket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed: Option<bool>,
}

impl PsaChoice {
    pub fn new(id: i64, name: impl Into<String>) -> Self {
        Self {
            id,
            name: name.into(),
            active: true,
            is_default: false,
            parent_id: None,
            closed: None,
        }
    }
}

/// The picklists of Autotask's Tickets entity that ticket settings use.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutotaskTicketLists {
    pub queues: Vec<PsaChoice>,
    pub issue_types: Vec<PsaChoice>,
    /// With `parentId`: the issue type each belongs to.
    pub sub_issue_types: Vec<PsaChoice>,
    pub statuses: Vec<PsaChoice>,
    pub priorities: Vec<PsaChoice>,
    pub sources: Vec<PsaChoice>,
    /// Work types (billing codes of the work-type use), what `workType` is sent as
    /// `billingCodeID`.
    pub work_types: Vec<PsaChoice>,
}

/// A ConnectWise service board and what tickets on it can carry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectWiseBoard {
    pub id: i64,
    pub name: String,
    pub active: bool,
    pub types: Vec<PsaChoice>,
    pub subtypes: Vec<PsaChoice>,
    pub items: Vec<PsaChoice>,
    /// With `closed`, and `isDefault` on the status new tickets get.
    pub statuses: Vec<PsaChoice>,
    /// With `isDefault` on the team new tickets go to.
    pub teams: Vec<PsaChoice>,
}

/// ConnectWise's boards (each with its lists), priorities and sources.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectWiseTicketLists {
    pub boards: Vec<ConnectWiseBoard>,
    pub priorities: Vec<PsaChoice>,
    pub sources: Vec<PsaChoice>,
}

/// Either PSA's lists, tagged with `psa` (`autotask` or `connectwise-manage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "psa")]
pub enum PsaTicketLists {
    #[serde(rename = "autotask")]
    Autotask(AutotaskTicketLists),
    #[serde(rename = "connectwise-manage")]
    ConnectWise(ConnectWiseTicketLists),
}

/// The choice with this id, if listed.
pub fn find(list: &[PsaChoice], id: i64) -> Option<&PsaChoice> {
    list.iter().find(|c| c.id == id)
}
