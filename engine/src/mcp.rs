//! The MCP servers an agent names (`mcp_servers`), reached from the engine's host, never from
//! the sandbox: the agent's code never holds a connection or a credential.
//!
//! - **Transport**: streamable HTTP, through the official Rust SDK (`rmcp`) over a `reqwest`
//!   client of the engine's own: no redirects followed, no proxy from the environment, and every
//!   address a name resolves to judged before connecting ([`Reach`]). A server that refuses it
//!   (only the older HTTP+SSE transport of protocol 2024-11-05) is reached that way instead, as
//!   the MCP specification's backwards compatibility says ([`legacy`]): `rmcp` has no client for
//!   it, so the engine's is a sink and a stream the SDK's session runs over.
//! - **Where it may go**: never a cloud metadata service; never a loopback, private, link-local
//!   or otherwise internal address ([`crate::net::unreachable_because`]) unless the operator
//!   listed the host in `SWITCHBOARD_ENGINE_MCP_PRIVATE_HOSTS`; under `limited` networking only
//!   when the environment sets `allow_mcp_servers` (checked by the caller, which knows the
//!   environment).
//! - **Credentials**: the caller hands over a bearer token (from the session's vaults, matched by
//!   the server's URL); it goes in the `Authorization` header of each request and nowhere else.
//! - **Failures** are [`Failure`]s the runtime words as the API's session errors:
//!   `mcp_authentication_failed_error` for a 401 or 403, `mcp_connection_failed_error` for
//!   anything else, and never a hang ([`CONNECT_TIMEOUT`], [`CALL_TIMEOUT`]).

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use rmcp::{
    RoleClient, ServiceExt,
    model::{CallToolRequestParams, ContentBlock},
    service::RunningService,
    transport::{StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig},
};
use serde_json::{Map, Value};

use crate::net::{names_cloud_metadata, own_addresses, reachable};

/// How long connecting and listing a server's tools may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long one tool call may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(120);
/// The most text of one call's result kept (the rest is cut, and the cut said).
pub const MAX_RESULT_CHARS: usize = 100_000;

/// Why a server could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// It refused the credential (or asked for one): a 401 or 403.
    Authentication(String),
    /// The credential's access token could not be refreshed: its token endpoint refused (and
    /// `vault_credential.refresh_failed` was sent). Trying again would only be refused again.
    RefreshRefused(String),
    /// It could not be reached, or broke off, or the engine would not connect to it.
    Connection(String),
}

impl Failure {
    /// The API's session error type.
    pub fn error_type(&self) -> &'static str {
        match self {
            Failure::Authentication(_) | Failure::RefreshRefused(_) => "mcp_authentication_failed_error",
            Failure::Connection(_) => "mcp_connection_failed_error",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Failure::Authentication(message) | Failure::RefreshRefused(message) | Failure::Connection(message) => {
                message
            }
        }
    }
}

/// A tool a server offers.
#[derive(Debug, Clone, PartialEq)]
pub struct McpTool {
    pub name: String,
    pub description: String,
    pub input_schema: Value,
}

/// What a call answered: its text, and whether the server says it failed.
#[derive(Debug, Clone, PartialEq)]
pub struct CallResult {
    pub text: String,
    pub is_error: bool,
}

/// An open connection to one server, with the tools it listed when it opened.
pub struct Connection {
    server: String,
    service: RunningService<RoleClient, ()>,
    pub tools: Vec<McpTool>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").field("server", &self.server).field("tools", &self.tools.len()).finish()
    }
}

/// The hosts the operator lets MCP connections reach on internal addresses.
#[derive(Debug, Clone, Default)]
pub struct Reach {
    private_hosts: Vec<String>,
}

impl Reach {
    /// From `SWITCHBOARD_ENGINE_MCP_PRIVATE_HOSTS`: host names or IP addresses, comma-separated.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Self {
        let private_hosts = var("SWITCHBOARD_ENGINE_MCP_PRIVATE_HOSTS")
            .unwrap_or_default()
            .split(',')
            .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        Self { private_hosts }
    }

    /// A reach that also lets these hosts be internal.
    pub fn with_private_hosts(hosts: &[&str]) -> Self {
        Self { private_hosts: hosts.iter().map(|h| h.to_ascii_lowercase()).collect() }
    }

    /// Whether the operator lets `host` (as a URL names it: an IPv6 address in brackets, a
    /// final dot or not, any case) be internal.
    fn trusts(&self, host: &str) -> bool {
        self.private_hosts.contains(&bare(host).trim_end_matches('.').to_ascii_lowercase())
    }

    /// The HTTP client for `url`: refuses it in words when the engine may not go there.
    pub fn client_for(&self, url: &str) -> Result<reqwest::Client, Failure> {
        let parsed = reqwest::Url::parse(url).map_err(|_| refused(url, "it is not a URL"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(refused(url, "only http and https servers can be reached"));
        }
        let host = parsed.host_str().ok_or_else(|| refused(url, "it names no host"))?.to_owned();
        if names_cloud_metadata(&host) {
            return Err(refused(url, "it names a cloud metadata service"));
        }
        let trusted = self.trusts(&host);
        if let Ok(ip) = bare(&host).parse::<IpAddr>() {
            judge([SocketAddr::new(ip, 0)], trusted).map_err(|why| refused(url, &why))?;
        }
        crate::http_client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .dns_resolver(Arc::new(Guard { trusted }))
            .build()
            .map_err(|error| Failure::Connection(format!("The engine could not make an HTTP client: {error}")))
    }
}

/// A host as a URL names it, without an IPv6 address's brackets.
fn bare(host: &str) -> &str {
    host.trim_start_matches('[').trim_end_matches(']')
}

/// The addresses a connection may go to ([`reachable`]: a metadata service never, an internal
/// address only when the operator trusts the host), or why none, in words.
fn judge(candidates: impl IntoIterator<Item = SocketAddr>, trusted: bool) -> Result<Vec<SocketAddr>, String> {
    let (allowed, refused) = reachable(candidates, trusted, &own_addresses());
    match refused.first() {
        Some((ip, why)) if allowed.is_empty() => Err(if crate::net::cloud_metadata(*ip) {
            format!("{ip} is {why}")
        } else {
            format!("{ip} is {why}; an operator can allow the host with SWITCHBOARD_ENGINE_MCP_PRIVATE_HOSTS")
        }),
        _ => Ok(allowed),
    }
}

fn refused(url: &str, why: &str) -> Failure {
    Failure::Connection(format!("The engine will not connect to the MCP server at {url}: {why}."))
}

/// Resolves names and keeps only the addresses [`judge`] lets through.
struct Guard {
    trusted: bool,
}

impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let trusted = self.trusted;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if found.is_empty() {
                return Err(format!("refused: {host} has no address").into());
            }
            let allowed = judge(found, trusted).map_err(|why| format!("refused: {why}"))?;
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl Connection {
    /// Connects to the server `name` at `url` (`bearer`: the credential), and lists its tools.
    pub async fn open(reach: &Reach, name: &str, url: &str, bearer: Option<&str>) -> Result<Self, Failure> {
        let client = reach.client_for(url)?;
        let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_owned());
        if let Some(token) = bearer {
            config = config.auth_header(token.to_owned());
        }
        let transport = StreamableHttpClientTransport::with_client(client.clone(), config);
        let timed_out = || {
            Failure::Connection(format!(
                "The MCP server {name} ({url}) did not answer within {} seconds.",
                CONNECT_TIMEOUT.as_secs()
            ))
        };
        let streamable = listed_over(transport, name, url);
        let opened = match tokio::time::timeout(CONNECT_TIMEOUT, streamable).await.map_err(|_| timed_out())? {
            // A server of the older transport refuses the POST: its stream is asked for instead.
            Err(Failure::Connection(refused)) => {
                let older = async { listed_over(legacy::open(&client, url, bearer).await?, name, url).await };
                match tokio::time::timeout(CONNECT_TIMEOUT, older).await {
                    Ok(Ok(opened)) => Ok(opened),
                    Ok(Err(Failure::Authentication(why))) => Err(Failure::Authentication(why)),
                    // Not an older server either: what the streamable transport met says more.
                    _ => Err(Failure::Connection(refused)),
                }
            }
            other => other,
        };
        let (service, listed) = opened?;
        let tools = listed
            .into_iter()
            .map(|tool| McpTool {
                name: tool.name.to_string(),
                description: tool.description.map(|d| d.to_string()).unwrap_or_default(),
                input_schema: Value::Object((*tool.input_schema).clone()),
            })
            .collect();
        Ok(Self { server: name.to_owned(), service, tools })
    }

    /// Calls `tool` with `input`.
    pub async fn call(&self, tool: &str, input: &Value) -> Result<CallResult, Failure> {
        let mut params = CallToolRequestParams::new(tool.to_owned());
        params.arguments = Some(input.as_object().cloned().unwrap_or_else(Map::new));
        let server = &self.server;
        let answered = tokio::time::timeout(CALL_TIMEOUT, self.service.call_tool(params)).await.map_err(|_| {
            Failure::Connection(format!(
                "The MCP server {server} did not answer the call of {tool} within {} seconds.",
                CALL_TIMEOUT.as_secs()
            ))
        })?;
        let result = answered.map_err(|e| classify(server, "", &e))?;
        let mut text: Vec<String> = result.content.iter().map(describe).collect();
        if text.is_empty()
            && let Some(structured) = &result.structured_content
        {
            text.push(structured.to_string());
        }
        let mut text = text.join("\n");
        if text.chars().count() > MAX_RESULT_CHARS {
            text = text.chars().take(MAX_RESULT_CHARS).collect::<String>()
                + &format!("\n[cut: the result was longer than {MAX_RESULT_CHARS} characters]");
        }
        Ok(CallResult { text, is_error: result.is_error.unwrap_or(false) })
    }

    /// Closes the connection (the server may then end its own session).
    pub async fn close(self) {
        let _ = self.service.cancel().await;
    }
}

/// The SDK's client session over `transport`, initialized, and the tools the server lists.
async fn listed_over<T, E, A>(
    transport: T,
    name: &str,
    url: &str,
) -> Result<(RunningService<RoleClient, ()>, Vec<rmcp::model::Tool>), Failure>
where
    T: rmcp::transport::IntoTransport<RoleClient, E, A>,
    E: std::error::Error + Send + Sync + 'static,
{
    let service = ().serve(transport).await.map_err(|e| classify(name, url, &e))?;
    let listed = service.list_all_tools().await.map_err(|e| classify(name, url, &e))?;
    Ok((service, listed))
}

/// A content block of a result, as text for the model.
fn describe(block: &ContentBlock) -> String {
    match block {
        ContentBlock::Text(text) => text.text.clone(),
        ContentBlock::Image(image) => format!("[an image, {}]", image.mime_type),
        ContentBlock::Audio(audio) => format!("[audio, {}]", audio.mime_type),
        ContentBlock::Resource(_) => "[an embedded resource]".to_owned(),
        ContentBlock::ResourceLink(link) => format!("[a resource: {}]", link.uri),
        _ => "[a block of a kind the engine does not know]".to_owned(),
    }
}

/// An SDK error as a [`Failure`]: a 401 or 403 anywhere in its chain is the credential's. Judged
/// by the SDK's typed errors and by status words, never by a bare number, which a URL's port in
/// the same text may hold (`127.0.0.1:40137`).
fn classify(name: &str, url: &str, error: &(dyn std::error::Error + 'static)) -> Failure {
    use rmcp::transport::streamable_http_client::{AuthRequiredError, HttpStatusError, InsufficientScopeError};
    let mut chain = Vec::new();
    let mut auth = false;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        let text = current.to_string();
        auth |= current.is::<AuthRequiredError>()
            || current.is::<InsufficientScopeError>()
            || current.downcast_ref::<HttpStatusError>().is_some_and(|e| matches!(e.status, 401 | 403))
            || ["HTTP 401", "HTTP 403", "401 Unauthorized", "403 Forbidden"].iter().any(|w| text.contains(w));
        chain.push(text);
        source = current.source();
    }
    let said = chain.join(": ");
    let at = if url.is_empty() { name.to_owned() } else { format!("{name} ({url})") };
    if auth {
        Failure::Authentication(format!(
            "The MCP server {at} refused the credential: {said}. Check the session's vaults hold a valid credential for its URL."
        ))
    } else {
        Failure::Connection(format!("The MCP server {at} could not be reached: {said}."))
    }
}

/// The name a model is offered for `tool` of `server`: `mcp__{server}__{tool}`, each part kept
/// to the characters a Messages API tool name takes, the whole at most 128.
pub fn offered_name(server: &str, tool: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
    };
    let mut name = format!("mcp__{}__{}", clean(server), clean(tool));
    name.truncate(128);
    name
}

/// The older HTTP+SSE transport (protocol 2024-11-05): a `GET` of the server's URL opens an event
/// stream whose first `endpoint` event names where messages are `POST`ed; the answers come on the
/// stream as `message` events. The endpoint must be on the server's own origin: the credential
/// goes nowhere else.
pub mod legacy {
    use std::io;

    use eventsource_stream::Eventsource as _;
    use futures::{Sink, Stream, StreamExt};
    use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};

    use super::Failure;

    /// Ends the task that reads the event stream when the connection is dropped.
    struct Reading(tokio::task::JoinHandle<()>);

    impl Drop for Reading {
        fn drop(&mut self) {
            self.0.abort();
        }
    }

    type Messages = std::pin::Pin<Box<dyn Stream<Item = ServerJsonRpcMessage> + Send>>;
    type Posts = std::pin::Pin<Box<dyn Sink<ClientJsonRpcMessage, Error = io::Error> + Send>>;

    /// Opens the event stream of the server at `url` and learns its endpoint: what the SDK's
    /// session sends into (POSTs) and reads from (the stream's messages).
    pub async fn open(client: &reqwest::Client, url: &str, bearer: Option<&str>) -> Result<(Posts, Messages), Failure> {
        let failed = |why: String| Failure::Connection(format!("The MCP server at {url} {why}."));
        let mut request = client.get(url).header("accept", "text/event-stream");
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response =
            request.send().await.map_err(|e| failed(format!("could not be reached ({})", e.without_url())))?;
        let status = response.status();
        if matches!(status.as_u16(), 401 | 403) {
            return Err(Failure::Authentication(format!(
                "The MCP server at {url} refused the credential ({status}). Check the session's vaults hold a valid credential for its URL."
            )));
        }
        let is_stream = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if !status.is_success() || !is_stream {
            return Err(failed(format!("answered {status} without an event stream")));
        }
        let base = reqwest::Url::parse(url).map_err(|_| failed("is not a URL".to_owned()))?;
        let mut events = response.bytes_stream().eventsource();
        let endpoint = loop {
            match events.next().await {
                Some(Ok(event)) if event.event == "endpoint" => break event.data,
                Some(Ok(_)) => continue,
                Some(Err(error)) => return Err(failed(format!("broke off its event stream ({error})"))),
                None => return Err(failed("closed its event stream before naming its endpoint".to_owned())),
            }
        };
        let endpoint =
            base.join(endpoint.trim()).map_err(|_| failed("named an endpoint that is not a URL".to_owned()))?;
        if endpoint.origin() != base.origin() {
            return Err(failed("named an endpoint on another origin, where its credential would go".to_owned()));
        }
        let (sender, receiver) = tokio::sync::mpsc::channel(64);
        let reading = tokio::spawn(async move {
            while let Some(Ok(event)) = events.next().await {
                if event.event != "message" && !event.event.is_empty() {
                    continue;
                }
                match serde_json::from_str::<ServerJsonRpcMessage>(&event.data) {
                    Ok(message) => {
                        if sender.send(message).await.is_err() {
                            return;
                        }
                    }
                    Err(error) => tracing::debug!("an MCP server sent a message that does not parse: {error}"),
                }
            }
        });
        let messages = futures::stream::unfold((receiver, Reading(reading)), |(mut receiver, reading)| async move {
            receiver.recv().await.map(|message| (message, (receiver, reading)))
        });
        let state = (client.clone(), endpoint, bearer.map(str::to_owned));
        let posts =
            futures::sink::unfold(state, |(client, endpoint, bearer), message: ClientJsonRpcMessage| async move {
                let mut request = client.post(endpoint.clone()).json(&message);
                if let Some(token) = &bearer {
                    request = request.bearer_auth(token);
                }
                let response = request.send().await.map_err(|e| io::Error::other(e.without_url()))?;
                if !response.status().is_success() {
                    return Err(io::Error::other(format!("the server answered {}", response.status())));
                }
                Ok((client, endpoint, bearer))
            });
        Ok((Box::pin(posts), Box::pin(messages)))
    }
}

/// Refreshing an `mcp_oauth` credential's access token at its token endpoint (RFC 6749 §6).
pub mod oauth {
    use serde_json::Value;

    use super::Reach;

    /// What a token endpoint answered.
    pub struct Refreshed {
        pub access_token: String,
        /// A new refresh token, when the endpoint rotates them.
        pub refresh_token: Option<String>,
        pub expires_in: Option<u64>,
    }

    /// Asks the token endpoint of `refresh` (a credential's `auth.refresh`) for a new access
    /// token; the client authenticates as `token_endpoint_auth` says. The answer says what went
    /// wrong in words, never with a secret in them.
    pub async fn refresh(
        reach: &Reach,
        refresh: &Value,
        refresh_token: &str,
        client_secret: Option<&str>,
    ) -> Result<Refreshed, String> {
        let endpoint = refresh["token_endpoint"].as_str().unwrap_or_default();
        let client_id = refresh["client_id"].as_str().unwrap_or_default();
        let client = reach.client_for(endpoint).map_err(|failure| failure.message().to_owned())?;
        let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
        for field in ["scope", "resource"] {
            if let Some(value) = refresh[field].as_str().filter(|v| !v.is_empty()) {
                form.push((field, value));
            }
        }
        let mut request = client.post(endpoint).header("accept", "application/json").timeout(super::CONNECT_TIMEOUT);
        match (refresh["token_endpoint_auth"]["type"].as_str(), client_secret) {
            (Some("client_secret_basic"), Some(secret)) => request = request.basic_auth(client_id, Some(secret)),
            (Some("client_secret_post"), Some(secret)) => {
                form.push(("client_id", client_id));
                form.push(("client_secret", secret));
            }
            _ => form.push(("client_id", client_id)),
        }
        let response =
            request.form(&form).send().await.map_err(|error| {
                format!("the token endpoint {endpoint} could not be reached ({})", error.without_url())
            })?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let said = body["error"].as_str().map(|e| format!(": {e}")).unwrap_or_default();
            return Err(format!("the token endpoint {endpoint} answered {status}{said}"));
        }
        let access_token = body["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| format!("the token endpoint {endpoint} answered without an access_token"))?;
        Ok(Refreshed {
            access_token: access_token.to_owned(),
            refresh_token: body["refresh_token"].as_str().filter(|t| !t.is_empty()).map(str::to_owned),
            expires_in: body["expires_in"].as_u64(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_and_metadata_addresses_are_refused_unless_the_operator_trusts_the_host() {
        let reach = Reach::default();
        for url in ["http://127.0.0.1:9/mcp", "http://10.1.2.3/mcp", "http://169.254.169.254/latest", "http://[::1]/"] {
            let failure = reach.client_for(url).unwrap_err();
            assert_eq!(failure.error_type(), "mcp_connection_failed_error");
            assert!(failure.message().contains("will not connect"), "{failure:?}");
        }
        assert!(reach.client_for("http://metadata.google.internal/").unwrap_err().message().contains("metadata"));
        assert!(reach.client_for("ftp://example.com/").is_err());
        let trusting = Reach::with_private_hosts(&["127.0.0.1", "169.254.169.254"]);
        assert!(trusting.client_for("http://127.0.0.1:9/mcp").is_ok());
        // A metadata service is never reached, trusted or not.
        assert!(trusting.client_for("http://169.254.169.254/").is_err());
        let from_env = Reach::from_env(|_| Some(" Internal.Example , 127.0.0.1 ".to_owned()));
        assert!(from_env.trusts("internal.example") && from_env.trusts("127.0.0.1") && !from_env.trusts("example"));
    }

    #[test]
    fn a_refused_credential_is_told_by_its_status_not_by_a_port_in_the_url() {
        let unreachable = std::io::Error::other("error sending request for url (http://127.0.0.1:40137/mcp)");
        assert_eq!(
            classify("tools", "http://127.0.0.1:40137/mcp", &unreachable).error_type(),
            "mcp_connection_failed_error"
        );
        let refused = std::io::Error::other("HTTP 401 Unauthorized");
        assert_eq!(classify("tools", "", &refused).error_type(), "mcp_authentication_failed_error");
        let challenged = rmcp::transport::streamable_http_client::AuthRequiredError::new("Bearer".into());
        assert_eq!(classify("tools", "", &challenged).error_type(), "mcp_authentication_failed_error");
    }

    #[test]
    fn offered_names_take_only_what_the_messages_api_allows() {
        assert_eq!(offered_name("github", "create_issue"), "mcp__github__create_issue");
        assert_eq!(offered_name("my server", "a.b"), "mcp__my_server__a_b");
        assert_eq!(offered_name(&"s".repeat(200), "t").len(), 128);
    }
}
