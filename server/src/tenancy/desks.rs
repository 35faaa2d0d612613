//! The workspaces as deciding in Slack reaches them (`crate::slack::Desks`): each workspace's
//! inbox, audit log, decisions and approval service, and a person as they act in it (their
//! account, enabled, with their roles in that workspace).

use std::sync::Arc;

use domain::{
    auth::{Principal, Role, store::AccountStore as _},
    upstream::client::BoxFuture,
};

use super::workspaces::Workspaces;
use crate::{
    access::accounts::Accounts,
    slack::{Desk, Desks},
};

pub struct WorkspaceDesks {
    pub workspaces: Arc<Workspaces>,
    pub accounts: Arc<Accounts>,
}

impl Desks for WorkspaceDesks {
    fn desk(&self, workspace: &str) -> Option<Desk> {
        let workspace = self.workspaces.get(workspace)?;
        Some(Desk {
            name: workspace.name.clone(),
            inbox: workspace.inbox.clone(),
            audit: workspace.audit.clone(),
            decisions: workspace.decision_store.clone(),
            approvals: workspace.approvals(),
            shares: workspace.shares.clone(),
            upstream: domain::upstream::client::UpstreamHandle(Arc::new(workspace.client.clone())),
            policies: workspace.policies.clone(),
        })
    }

    fn person<'a>(&'a self, workspace: &'a str, username: &'a str) -> BoxFuture<'a, Option<Principal>> {
        Box::pin(async move {
            let workspace = self.workspaces.get(workspace)?;
            let accounts = self.accounts.list().await.ok()?;
            let account = accounts.into_iter().find(|a| a.username == username && !a.disabled)?;
            let mut principal = Principal::from(account);
            principal.roles = self.workspaces.roles_in(&principal, &workspace)?;
            principal.can(Role::Approver).then_some(principal)
        })
    }
}
