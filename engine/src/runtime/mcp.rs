//! The agent's MCP servers in a session: connections opened on first use (one per server of a
//! session, kept until the session stops or is archived or deleted), the tools they offer the
//! model, the credentials they are given, and the calls.
//!
//! - **Offered**: each `mcp_toolset` of the agent's tools names a server; the tools that server
//!   lists, less those the toolset disables, are offered as `mcp__{server}__{tool}`
//!   ([`crate::mcp::offered_name`]). A call is `agent.mcp_tool_use` (the server and the tool's
//!   own name), judged by the toolset's policy (default `always_ask`), answered by
//!   `agent.mcp_tool_result`.
//! - **Credentials**: the first credential of the session's vaults (in `vault_ids` order) whose
//!   `mcp_server_url` is the server's URL: a `static_bearer` token, or an `mcp_oauth` access
//!   token, refreshed first when it has expired (or when the server refuses it) and written
//!   back; a refresh that fails sends `vault_credential.refresh_failed`. The token reaches the
//!   server's `Authorization` header only: no event, log line or result carries it.
//! - **Networking**: under `limited` networking without `allow_mcp_servers` no server is
//!   reached; where a server may be is [`crate::mcp::Reach`]'s to say.
//! - **Failures**: a server that cannot be used becomes a `session.error`
//!   (`mcp_connection_failed_error` or `mcp_authentication_failed_error`, its server named) and,
//!   for a call, an `agent.mcp_tool_result` with `is_error` that the model reads; the turn goes on.
//!   A server that failed while its tools were listed for a model is left out of the next
//!   requests for a minute ([`FAILED_FOR`]), so one that hangs does not hold up each of them.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use protocol::events::ToolEvaluation;
use serde_json::{Value, json};

use super::{Actor, Permission, Thread, evaluated_by};
use crate::{
    EngineState, emitted,
    error::ApiResult,
    ids::{now, parse_datetime},
    mcp::{Connection, Failure, McpTool, offered_name},
};

/// How long before its stated expiry an access token is refreshed.
const REFRESH_EARLY_SECONDS: i64 = 60;
/// How long a server that could not be used is left out of the tools offered to a model (and
/// not reported again), so that a server that hangs does not hold up every request of a turn.
const FAILED_FOR: std::time::Duration = std::time::Duration::from_secs(60);

/// Sessions' open connections, by (session, server name, URL): a child thread's agent may name
/// another server with the same name.
#[derive(Default)]
pub struct Connections {
    open: Mutex<HashMap<(String, String, String), Arc<Connection>>>,
    /// (session, server name) that could not be used lately, and when.
    failed: Mutex<HashMap<(String, String), std::time::Instant>>,
    /// Held while a credential is refreshed, so that two calls refresh it once.
    refreshing: tokio::sync::Mutex<()>,
}

/// The credential a server gets: its token, and what to refresh it with.
struct Credential {
    vault_id: String,
    id: String,
    token: Option<String>,
    oauth: bool,
}

impl EngineState {
    /// The open connection of `session` to `server` (a name in `agent`'s `mcp_servers`), opened
    /// when there is none (`fresh`: opened anew, the old one closed).
    pub(crate) async fn mcp_connection(
        &self,
        session: &Value,
        agent: &Value,
        server: &str,
        fresh: bool,
    ) -> Result<Arc<Connection>, Failure> {
        let url = server_url(agent, server)
            .ok_or_else(|| Failure::Connection(format!("The agent has no MCP server named {server:?}.")))?;
        let key = (session["id"].as_str().unwrap_or_default().to_owned(), server.to_owned(), url.clone());
        if !fresh && let Some(open) = self.mcp.open.lock().expect("mcp lock").get(&key) {
            return Ok(open.clone());
        }
        self.mcp_allowed(session, server).await?;
        let credential = self.mcp_credential(session, &url).await.map_err(internal)?;
        let token = match &credential {
            Some(c) if c.oauth => Some(self.oauth_token(c, false).await?),
            Some(c) => c.token.clone(),
            None => None,
        };
        let opened = Connection::open(&self.config.mcp_reach, server, &url, token.as_deref()).await;
        let connection = match (opened, &credential) {
            // An access token the server refuses is refreshed once, and tried again.
            (Err(Failure::Authentication(_)), Some(c)) if c.oauth => {
                let token = self.oauth_token(c, true).await?;
                Connection::open(&self.config.mcp_reach, server, &url, Some(&token)).await?
            }
            (opened, _) => opened?,
        };
        let connection = Arc::new(connection);
        self.mcp.open.lock().expect("mcp lock").insert(key, connection.clone());
        Ok(connection)
    }

    /// Closes the MCP connections of a session.
    pub(crate) fn close_mcp(&self, session_id: &str) {
        let closing: Vec<Arc<Connection>> = {
            let mut open = self.mcp.open.lock().expect("mcp lock");
            self.mcp.failed.lock().expect("mcp lock").retain(|(s, _), _| s != session_id);
            let keys: Vec<_> = open.keys().filter(|(s, _, _)| s == session_id).cloned().collect();
            keys.into_iter().filter_map(|k| open.remove(&k)).collect()
        };
        for connection in closing {
            if let Ok(connection) = Arc::try_unwrap(connection) {
                tokio::spawn(connection.close());
            }
        }
    }

    /// Refuses MCP under `limited` networking without `allow_mcp_servers`.
    async fn mcp_allowed(&self, session: &Value, server: &str) -> Result<(), Failure> {
        let environment = session["environment_id"].as_str().unwrap_or_default();
        let (_, body) = self.environment(environment).await.map_err(internal)?;
        let networking = &body["config"]["networking"];
        if networking["type"] == "limited" && networking["allow_mcp_servers"] != true {
            return Err(Failure::Connection(format!(
                "The MCP server {server} cannot be reached: the session's environment has limited networking without allow_mcp_servers. Set allow_mcp_servers in the environment's networking to let its agents reach their MCP servers."
            )));
        }
        Ok(())
    }

    /// The first credential of the session's vaults for the server at `url`.
    async fn mcp_credential(&self, session: &Value, url: &str) -> ApiResult<Option<Credential>> {
        let vaults: Vec<&str> =
            session["vault_ids"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        for vault_id in vaults {
            let found = self.store.credential_for_mcp_server(vault_id, url).await?;
            if let Some(id) = found {
                let stored = self.store.credential(vault_id, &id).await?;
                let oauth = stored.body["auth"]["type"] == "mcp_oauth";
                let token = if oauth { stored.secrets.access_token } else { stored.secrets.token };
                return Ok(Some(Credential { vault_id: vault_id.to_owned(), id, token, oauth }));
            }
        }
        Ok(None)
    }

    /// An `mcp_oauth` credential's access token: refreshed first when it has expired, or when
    /// `refused` (the server turned it down), and the new one written back.
    async fn oauth_token(&self, credential: &Credential, refused: bool) -> Result<String, Failure> {
        let _one_at_a_time = self.mcp.refreshing.lock().await;
        let stored = self.store.credential(&credential.vault_id, &credential.id).await.map_err(internal)?;
        let expires = stored.body["auth"]["expires_at"].as_str().and_then(parse_datetime);
        let expired = expires.is_some_and(|at| at <= now().micros + REFRESH_EARLY_SECONDS * 1_000_000);
        let token = stored.secrets.access_token.clone();
        // Another call may have refreshed it while this one waited.
        let changed = token != credential.token;
        if !(expired || refused && !changed) {
            return token.ok_or_else(|| no_token(&credential.id));
        }
        if stored.body["auth"]["refresh"].is_null() || stored.secrets.refresh_token.is_none() {
            return match token {
                Some(token) if !expired => Ok(token),
                _ => Err(Failure::Authentication(format!(
                    "The access token of credential {} has expired and it has no refresh token; give the credential a new access token.",
                    credential.id
                ))),
            };
        }
        let mut body = stored.body.clone();
        let mut secrets = stored.secrets.clone();
        let refresh_token = secrets.refresh_token.clone().unwrap_or_default();
        let refreshed = crate::mcp::oauth::refresh(
            &self.config.mcp_reach,
            &body["auth"]["refresh"],
            &refresh_token,
            secrets.client_secret.as_deref(),
        )
        .await;
        match refreshed {
            Ok(fresh) => {
                secrets.access_token = Some(fresh.access_token.clone());
                if let Some(rotated) = fresh.refresh_token {
                    secrets.refresh_token = Some(rotated);
                }
                let at = now();
                body["auth"]["expires_at"] = match fresh.expires_in {
                    Some(seconds) => json!(crate::ids::format_micros(at.micros + seconds as i64 * 1_000_000)),
                    None => Value::Null,
                };
                body["updated_at"] = json!(at.text);
                self.store
                    .write_credential(&credential.vault_id, &credential.id, &body, &secrets)
                    .await
                    .map_err(internal)?;
                tracing::info!(credential = %credential.id, "an MCP access token was refreshed");
                Ok(fresh.access_token)
            }
            Err(why) => {
                tracing::warn!(credential = %credential.id, "an MCP access token could not be refreshed: {why}");
                self.announce_credential("vault_credential.refresh_failed", &credential.vault_id, &credential.id);
                Err(Failure::RefreshRefused(format!(
                    "The access token of credential {} could not be refreshed: {why}. Give the credential a new access token or refresh token.",
                    credential.id
                )))
            }
        }
    }
}

fn no_token(credential: &str) -> Failure {
    Failure::Authentication(format!("Credential {credential} has no token."))
}

fn internal(error: crate::error::ApiError) -> Failure {
    Failure::Connection(format!("The engine could not read what the MCP server needs: {}", error.message))
}

impl Actor {
    /// The MCP tools `thread`'s agent offers its model, as Messages API tools; a server that
    /// cannot be used is reported (`session.error`) and its tools are not offered.
    pub(super) async fn mcp_definitions(&self, session: &Value, thread: &Thread) -> ApiResult<Vec<Value>> {
        let mut offered = Vec::new();
        for (server, tools) in self.mcp_tools(session, thread).await? {
            for tool in tools {
                offered.push(json!({
                    "name": offered_name(&server, &tool.name),
                    "description": tool.description,
                    "input_schema": tool.input_schema,
                }));
            }
        }
        Ok(offered)
    }

    /// Each server of an `mcp_toolset` with its enabled tools (servers that cannot be used are
    /// reported and left out).
    async fn mcp_tools(&self, session: &Value, thread: &Thread) -> ApiResult<Vec<(String, Vec<McpTool>)>> {
        let mut found = Vec::new();
        for toolset in toolsets(&thread.agent["tools"]) {
            let Some(server) = toolset["mcp_server_name"].as_str() else { continue };
            let key = (self.session_id.clone(), server.to_owned());
            let failed_lately =
                self.engine.mcp.failed.lock().expect("mcp lock").get(&key).is_some_and(|at| at.elapsed() < FAILED_FOR);
            if failed_lately {
                continue;
            }
            match self.engine.mcp_connection(session, &thread.agent, server, false).await {
                Ok(connection) => {
                    let enabled = connection.tools.iter().filter(|t| enabled(toolset, &t.name)).cloned().collect();
                    found.push((server.to_owned(), enabled));
                }
                Err(failure) => {
                    self.engine.mcp.failed.lock().expect("mcp lock").insert(key, std::time::Instant::now());
                    self.mcp_failed(thread, server, &failure).await?;
                }
            }
        }
        Ok(found)
    }

    /// The (server, tool) a model's call of `offered` (an [`offered_name`]) is, among the servers
    /// this session has open.
    pub(super) fn mcp_call_of(&self, thread: &Thread, offered: &str) -> Option<(String, String)> {
        if !offered.starts_with("mcp__") {
            return None;
        }
        let open = self.engine.mcp.open.lock().expect("mcp lock");
        toolsets(&thread.agent["tools"]).into_iter().find_map(|toolset| {
            let server = toolset["mcp_server_name"].as_str()?;
            let url = server_url(&thread.agent, server)?;
            let connection = open.get(&(self.session_id.clone(), server.to_owned(), url))?;
            let tool = connection.tools.iter().find(|t| offered_name(server, &t.name) == offered)?;
            Some((server.to_owned(), tool.name.clone()))
        })
    }

    /// Runs an allowed call of `tool` of `server`, and records its `agent.mcp_tool_result`.
    pub(super) async fn run_mcp(
        &self,
        session: &Value,
        thread: &Thread,
        event_id: &str,
        server: &str,
        tool: &str,
        input: &Value,
    ) -> ApiResult<()> {
        let mut answered = self.call_mcp(session, thread, server, tool, input, false).await;
        let again = |failure: &Failure| {
            !matches!(failure, Failure::RefreshRefused(_)) && !failure.message().contains("did not answer")
        };
        if answered.as_ref().is_err_and(again) {
            // A connection that broke (or a token that ran out) since it opened: once more, anew.
            // Not a refresh its token endpoint refused: that one was tried, and announced, once.
            answered = self.call_mcp(session, thread, server, tool, input, true).await;
        }
        crate::meters::mcp_call(if answered.is_ok() { "ok" } else { "failed" });
        let (text, is_error) = match answered {
            Ok(result) => (result.text, result.is_error),
            Err(failure) => {
                self.mcp_failed(thread, server, &failure).await?;
                (failure.message().to_owned(), true)
            }
        };
        self.emit_in(thread, emitted::mcp_tool_result(event_id, text, is_error)).await?;
        Ok(())
    }

    async fn call_mcp(
        &self,
        session: &Value,
        thread: &Thread,
        server: &str,
        tool: &str,
        input: &Value,
        fresh: bool,
    ) -> Result<crate::mcp::CallResult, Failure> {
        let connection = self.engine.mcp_connection(session, &thread.agent, server, fresh).await?;
        connection.call(tool, input).await
    }

    /// A server that could not be used, as the session's error.
    async fn mcp_failed(&self, thread: &Thread, server: &str, failure: &Failure) -> ApiResult<()> {
        tracing::warn!(session = %self.session_id, %server, "an MCP server could not be used: {}", failure.message());
        let error = emitted::mcp_error(failure.error_type(), server, failure.message());
        self.emit_in(thread, emitted::session_error(error)).await?;
        Ok(())
    }
}

/// The URL of `agent`'s MCP server `server`.
fn server_url(agent: &Value, server: &str) -> Option<String> {
    let servers = agent["mcp_servers"].as_array()?;
    servers.iter().find(|s| s["name"] == server).and_then(|s| s["url"].as_str()).map(str::to_owned)
}

/// The agent's `mcp_toolset`s.
fn toolsets(tools: &Value) -> Vec<&Value> {
    tools.as_array().into_iter().flatten().filter(|t| t["type"] == "mcp_toolset").collect()
}

/// Whether `toolset` enables its server's tool `name`.
fn enabled(toolset: &Value, name: &str) -> bool {
    let config = toolset["configs"].as_array().into_iter().flatten().find(|c| c["name"] == name);
    config.map_or(&toolset["default_config"], |c| c)["enabled"].as_bool().unwrap_or(true)
}

/// The permission a call of `name` of `server` gets from the agent's toolset for that server
/// (default `always_ask`), with the `evaluation` its event carries.
pub(super) fn evaluate_mcp(tools: &Value, server: &str, name: &str) -> (Permission, Option<ToolEvaluation>) {
    let Some(toolset) = toolsets(tools).into_iter().find(|t| t["mcp_server_name"] == server) else {
        return (Permission::Deny(format!("The agent has no mcp_toolset for the MCP server {server}.")), None);
    };
    if !enabled(toolset, name) {
        return (Permission::Deny(format!("The {name} tool of {server} is disabled for this agent.")), None);
    }
    let config = toolset["configs"].as_array().into_iter().flatten().find(|c| c["name"] == name);
    let policy = &config.map_or(&toolset["default_config"], |c| c)["permission_policy"];
    evaluated_by(policy["type"].as_str().unwrap_or("always_ask"))
}
