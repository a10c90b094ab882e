//! The tenant's portal device types: the defaults (in code, ids are slugs)
//! plus custom ones (`DEVICETYPE#{uuid}`). A custom type is written in one
//! transaction with a guard item for its case-folded name, so two requests
//! racing with the same name cannot both win.

use super::{DevicesError, PortalDeviceType};

use crate::store::DynamoStore;
use crate::tenant::TenantId;
use crate::time::now_millis;
use serde::Deserialize;

/// The defaults every tenant has: (id, name).
pub const DEFAULT_TYPES: &[(&str, &str)] = &[
    ("desktop", "Desktop"),
    ("laptop", "Laptop"),
    ("server", "Server"),
    ("virtual-machine", "Virtual Machine"),
    ("network-device", "Network Device"),
    ("printer", "Printer"),
    ("mobile", "Mobile"),
    ("other", "Other"),
];

pub const MAX_NAME_CHARS: usize = 100;

pub fn defaults() -> Vec<PortalDeviceType> {
    DEFAULT_TYPES
        .iter()
        .map(|(id, name)| PortalDeviceType {
            id: (*id).to_owned(),
            name: (*name).to_owned(),
            builtin: true,
            created_at: None,
        })
        .collect()
}

/// A valid, unique name (whitespace collapsed), or why not.
pub fn checked_name(raw: &str, existing: &[PortalDeviceType]) -> Result<String, DevicesError> {
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        return Err(DevicesError::Invalid("`name` must not be empty".into()));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(DevicesError::Invalid(format!(
            "`name` is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    let folded = name.to_lowercase();
    if let Some(taken) = existing.iter().find(|t| t.name.to_lowercase() == folded) {
        return Err(DevicesError::Conflict {
            code: "device_type_exists",
            message: format!("a device type named {:?} exists already (id {})", taken.name, taken.id),
        });
    }
    Ok(name)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeviceType {
    pub name: String,
}

pub struct DeviceTypes<'a> {
    pub store: &'a DynamoStore,
}

impl DeviceTypes<'_> {
    /// Defaults first, then custom types by name.
    pub async fn list(&self, tenant: &TenantId) -> Result<Vec<PortalDeviceType>, DevicesError> {
        let mut custom = self.store.custom_types(tenant).await?;
        custom.sort_by_key(|t| t.name.to_lowercase());
        let mut all = defaults();
        all.extend(custom);
        Ok(all)
    }

    pub async fn create(&self, tenant: &TenantId, input: NewDeviceType) -> Result<PortalDeviceType, DevicesError> {
        let existing = self.list(tenant).await?;
        let name = checked_name(&input.name, &existing)?;
        let created = PortalDeviceType {
            id: uuid::Uuid::new_v4().to_string(),
            name,
            builtin: false,
            created_at: Some(now_millis()),
        };
        match self.store.insert_custom_type(tenant, &created).await {
            Ok(()) => Ok(created),
            // Another request took the name between the check and the write.
            Err(crate::store::StoreError::ConditionFailed) => Err(DevicesError::Conflict {
                code: "device_type_exists",
                message: format!("a device type named {:?} exists already", created.name),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes a custom type no mapping of any integration uses.
    pub async fn delete(&self, tenant: &TenantId, id: &str) -> Result<(), DevicesError> {
        if DEFAULT_TYPES.iter().any(|(d, _)| *d == id) {
            return Err(DevicesError::Conflict {
                code: "device_type_builtin",
                message: format!("{id} is a default device type and cannot be deleted"),
            });
        }
        let Some(existing) = self.store.custom_types(tenant).await?.into_iter().find(|t| t.id == id) else {
            return Err(DevicesError::NotFound(format!("no device type {id}")));
        };
        let mut users = Vec::new();
        for integration in self.store.list(tenant).await? {
            for m in self.store.type_mappings(tenant, &integration.id).await? {
                if m.maps_to.as_deref() == Some(id) {
                    users.push(format!(
                        "{}/{} of integration {}",
                        m.category, m.device_type, integration.id
                    ));
                }
            }
        }
        if !users.is_empty() {
            return Err(DevicesError::Conflict {
                code: "device_type_in_use",
                message: format!(
                    "device type {id} is mapped from {}; unmap those first",
                    users.join(", ")
                ),
            });
        }
        if !self.store.delete_custom_type(tenant, &existing).await? {
            return Err(DevicesError::NotFound(format!("no device type {id}")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_defaults() {
        let names: Vec<_> = defaults().into_iter().map(|t| t.name).collect();
        assert_eq!(
            names,
            [
                "Desktop",
                "Laptop",
                "Server",
                "Virtual Machine",
                "Network Device",
                "Printer",
                "Mobile",
                "Other"
            ]
        );
    }

    #[test]
    fn names_are_checked() {
        let existing = defaults();
        assert!(matches!(checked_name("  ", &existing), Err(DevicesError::Invalid(_))));
        assert!(matches!(
            checked_name(&"x".repeat(101), &existing),
            Err(DevicesError::Invalid(_))
        ));
        assert_eq!(checked_name(&"x".repeat(100), &existing).unwrap().len(), 100);
        assert!(matches!(
            checked_name("virtual   MACHINE", &existing),
            Err(DevicesError::Conflict {
                code: "device_type_exists",
                ..
            })
        ));
        assert_eq!(checked_name("  Smart   TV ", &existing).unwrap(), "Smart TV");
    }
}
