//! RMM operations for people and AI agents, behind approval gates: reading Datto RMM live
//! (sites, devices, audits, alerts, job results) and acting on it (resolving alerts, running
//! quick jobs), under per-tenant policies (`auto`, `approval`, `disabled`), with approval
//! requests, an audit trail, and an MCP endpoint exposing the same operations as tools.
//!
//! Files: `catalog` (the operations, their arguments in canonical form and hash, the marking
//! of Datto's text as data; pure), `items` (policies, approvals and audit records in
//! DynamoDB), `service` (asking, approving, rejecting, running), `routes` (HTTP) and `mcp`
//! (`POST /mcp`, JSON-RPC 2.0).

pub mod catalog;
pub mod items;
pub mod mcp;
pub mod routes;
pub mod service;

pub use catalog::{Call, Mode, Operation, UNTRUSTED_NOTICE, canonical_json, mark_untrusted, sha256_hex};
pub use items::{Approval, ApprovalStatus, AuditRecord, Policy};
pub use service::{DattoClients, OperationError, OperationSettings, Operations, OperationsApi, Outcome};
