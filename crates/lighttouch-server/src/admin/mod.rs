//! Admin actions, shared by the `admin` commands and the HTTP admin endpoints.
//! Every action is written to the audit log with who did it.

pub use lighttouch_protocol::content::{parse_content, ContentFileError, ContentItem};
pub use lighttouch_protocol::scripts::{parse_scripts, ScriptRecord};

use crate::auth::{hash_password, PasswordError};
use crate::storage::{
    AuditEntry, Compacted, NewUser, ServerChange, Storage, StorageError, StoreRow, UserRow,
    HQ_STREAM,
};
use crate::sync::{server_stamp, Clock};
use lighttouch_protocol::{DeviceInfo, Role};
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Forbidden(String),
}

impl From<ContentFileError> for AdminError {
    fn from(e: ContentFileError) -> Self {
        AdminError::Invalid(e.0)
    }
}

pub struct Admin {
    pub storage: Arc<dyn Storage>,
    pub clock: Arc<dyn Clock>,
    /// This process's node for the clock stamps of server-written changes.
    pub node: Uuid,
}

fn check_name(what: &str, name: &str) -> Result<String, AdminError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AdminError::Invalid(format!(
            "{what} must be 1 to 100 printable characters"
        )));
    }
    Ok(name.to_string())
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reassigned {
    pub from: String,
    pub to: String,
    pub store: String,
    pub customers: Vec<String>,
}

impl Admin {
    pub fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>) -> Self {
        Admin {
            storage,
            clock,
            node: Uuid::now_v7(),
        }
    }

    async fn audit(
        &self,
        actor: &str,
        action: &str,
        details: serde_json::Value,
    ) -> Result<(), AdminError> {
        self.storage
            .audit(actor, action, &details, self.clock.now())
            .await?;
        Ok(())
    }

    pub async fn add_store(&self, actor: &str, name: &str) -> Result<StoreRow, AdminError> {
        let name = check_name("a store name", name)?;
        let store = self.storage.create_store(&name, self.clock.now()).await?;
        self.audit(actor, "store.add", json!({"store": store.name}))
            .await?;
        Ok(store)
    }

    pub async fn add_user(
        &self,
        actor: &str,
        username: &str,
        display_name: Option<&str>,
        store: &str,
        role: Role,
        password: &str,
    ) -> Result<UserRow, AdminError> {
        let username = check_name("a username", username)?;
        if username.chars().any(char::is_whitespace) {
            return Err(AdminError::Invalid("a username has no spaces".into()));
        }
        let display_name = check_name("a display name", display_name.unwrap_or(&username))?;
        let hash = hash_password(password)?;
        let user = self
            .storage
            .create_user(
                &NewUser {
                    username,
                    display_name,
                    role,
                    store: store.trim().to_string(),
                    password_hash: hash,
                },
                self.clock.now(),
            )
            .await?;
        self.audit(
            actor,
            "user.add",
            json!({"username": user.username, "store": user.store, "role": role.as_str()}),
        )
        .await?;
        Ok(user)
    }

    pub async fn set_password(
        &self,
        actor: &str,
        username: &str,
        password: &str,
    ) -> Result<(), AdminError> {
        let hash = hash_password(password)?;
        // A reset ends every session of the user: their devices sign in again.
        self.storage.set_password(username, &hash, None).await?;
        self.audit(actor, "user.passwd", json!({"username": username}))
            .await
    }

    pub async fn devices(&self, store: Option<&str>) -> Result<Vec<DeviceInfo>, AdminError> {
        let store_id = match store {
            None => None,
            Some(name) => Some(self.store_id(name).await?),
        };
        Ok(self.storage.devices(store_id).await?)
    }

    pub async fn revoke_device(&self, actor: &str, device: Uuid) -> Result<(), AdminError> {
        if !self.storage.revoke_device(device, self.clock.now()).await? {
            return Err(StorageError::NotFound(format!("no device {device}")).into());
        }
        self.audit(actor, "device.revoke", json!({"device": device}))
            .await
    }

    async fn store_id(&self, name: &str) -> Result<i64, AdminError> {
        self.storage
            .stores()
            .await?
            .into_iter()
            .find(|s| s.name == name)
            .map(|s| s.id)
            .ok_or_else(|| StorageError::NotFound(format!("no store named {name:?}")).into())
    }

    /// Hands customers over from one associate to another of the same store:
    /// an ownership change every device receives on its next sync.
    pub async fn reassign(
        &self,
        actor: &str,
        from: &str,
        to: &str,
        only: &[String],
    ) -> Result<Reassigned, AdminError> {
        let (Some(from_user), Some(to_user)) =
            (self.storage.user(from).await?, self.storage.user(to).await?)
        else {
            return Err(StorageError::NotFound(format!("no user {from:?} or {to:?}")).into());
        };
        if from_user.store_id != to_user.store_id {
            return Err(AdminError::Invalid(format!(
                "{from} and {to} work in different stores; a handover stays within one store"
            )));
        }
        let owned = self
            .storage
            .customers_owned_by(from_user.store_id, &from_user.display_name, only)
            .await?;
        if !only.is_empty() && owned.len() != only.len() {
            let missing: Vec<&String> = only
                .iter()
                .filter(|id| !owned.iter().any(|(o, _)| o == *id))
                .collect();
            return Err(AdminError::Invalid(format!(
                "not owned by {from}: {}",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let now = self.clock.now();
        let value = serde_json::Value::String(to_user.display_name.clone()).to_string();
        let changes: Vec<ServerChange> = owned
            .iter()
            .enumerate()
            .map(|(i, (id, base))| ServerChange {
                hlc: server_stamp(now, Some(base), i as u32, self.node),
                entity: "customer".into(),
                row_id: id.clone(),
                op: "set".into(),
                field: Some("owner".into()),
                value: Some(value.clone()),
                base: Some(base.clone()),
            })
            .collect();
        self.storage
            .append_server_changes(from_user.store_id, changes, now)
            .await?;
        let customers: Vec<String> = owned.into_iter().map(|(id, _)| id).collect();
        self.audit(
            actor,
            "customers.reassign",
            json!({"from": from, "to": to, "store": from_user.store, "customers": customers}),
        )
        .await?;
        Ok(Reassigned {
            from: from.to_string(),
            to: to.to_string(),
            store: from_user.store,
            customers,
        })
    }

    /// Publishes HQ content to every store.
    pub async fn publish_content(
        &self,
        actor: &str,
        items: Vec<ContentItem>,
        source: &str,
    ) -> Result<usize, AdminError> {
        self.publish_rows(actor, "content_item", "content.import", source, |created| {
            items
                .iter()
                .map(|i| (i.id.clone(), i.fields(created)))
                .collect()
        })
        .await
    }

    /// Publishes HQ's talk scripts to every store. Each replaces HQ's earlier
    /// script for its purpose and language; an associate's own still wins on
    /// their laptop.
    pub async fn publish_scripts(
        &self,
        actor: &str,
        scripts: Vec<ScriptRecord>,
        source: &str,
    ) -> Result<usize, AdminError> {
        self.publish_rows(actor, "talk_script", "scripts.import", source, |created| {
            scripts
                .iter()
                .map(|s| (s.row_id(), s.fields(created)))
                .collect()
        })
        .await
    }

    /// Appends HQ rows (ID and fields, given the creation time) to the stream
    /// every store pulls, in one transaction, and audits it.
    async fn publish_rows(
        &self,
        actor: &str,
        entity: &str,
        action: &str,
        source: &str,
        rows: impl FnOnce(&str) -> Vec<(String, serde_json::Value)>,
    ) -> Result<usize, AdminError> {
        let now = self.clock.now();
        let created = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let rows = rows(&created);
        let ids: Vec<&str> = rows.iter().map(|(id, _)| id.as_str()).collect();
        let audit = json!({"file": source, "rows": ids});
        let changes: Vec<ServerChange> = rows
            .iter()
            .enumerate()
            .map(|(i, (id, fields))| ServerChange {
                hlc: server_stamp(now, None, i as u32, self.node),
                entity: entity.into(),
                row_id: id.clone(),
                op: "insert".into(),
                field: None,
                value: Some(fields.to_string()),
                base: None,
            })
            .collect();
        let n = self
            .storage
            .append_server_changes(HQ_STREAM, changes, now)
            .await?;
        self.audit(actor, action, audit).await?;
        Ok(n)
    }

    /// Clears what every active device has synced past, in one store or all.
    pub async fn compact(
        &self,
        actor: &str,
        store: Option<&str>,
    ) -> Result<Vec<Compacted>, AdminError> {
        let stores = self.storage.stores().await?;
        let chosen: Vec<_> = match store {
            Some(name) => {
                let s = stores
                    .into_iter()
                    .find(|s| s.name == name)
                    .ok_or_else(|| StorageError::NotFound(format!("no store named {name:?}")))?;
                vec![s]
            }
            None => stores,
        };
        let mut done = Vec::new();
        for s in chosen {
            let c = self.storage.compact(s.id).await?;
            self.audit(
                actor,
                "log.compact",
                json!({"store": c.store, "horizon": c.horizon, "removed": c.removed}),
            )
            .await?;
            done.push(c);
        }
        Ok(done)
    }

    pub async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, AdminError> {
        Ok(self.storage.audit_log(limit).await?)
    }
}
