//! Vaults and credentials: create, list, paginate, update, archive, delete for every auth type;
//! secrets are stored but no answer ever carries one; immutable fields stay immutable.

use crate::support;

use reqwest::Method;
use serde_json::{Value, json};
use support::{TestEngine, config, files_holding, spawn_engine, start, start_with, temp_dir};

/// Every secret the tests send: none of them may appear in any answer.
const ACCESS_TOKEN: &str = "secret-access-token-Qm9vWk4";
const REFRESH_TOKEN: &str = "secret-refresh-token-Xr7TTa2";
const CLIENT_SECRET: &str = "secret-client-secret-Lp30Zz9";
const BEARER_TOKEN: &str = "secret-bearer-token-Vv81Kq0";
const SECRET_VALUE: &str = "secret-env-value-Hh55Ww3";
const NEW_ACCESS_TOKEN: &str = "secret-new-access-token-Bb12";
const NEW_REFRESH_TOKEN: &str = "secret-new-refresh-token-Cc34";
const NEW_CLIENT_SECRET: &str = "secret-new-client-secret-Dd56";
const NEW_BEARER_TOKEN: &str = "secret-new-bearer-token-Ee78";
const NEW_SECRET_VALUE: &str = "secret-new-env-value-Ff90";
const SECRETS: &[&str] = &[
    ACCESS_TOKEN,
    REFRESH_TOKEN,
    CLIENT_SECRET,
    BEARER_TOKEN,
    SECRET_VALUE,
    NEW_ACCESS_TOKEN,
    NEW_REFRESH_TOKEN,
    NEW_CLIENT_SECRET,
    NEW_BEARER_TOKEN,
    NEW_SECRET_VALUE,
];

/// Calls the engine and checks the raw answer text for every secret before parsing it.
async fn call(engine: &TestEngine, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = engine.request(method.clone(), path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    for secret in SECRETS {
        assert!(!text.contains(secret), "{method} {path} answered with a secret ({status}): {text}");
    }
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn ok(engine: &TestEngine, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, answer) = call(engine, method.clone(), path, body).await;
    assert_eq!(status, 200, "{method} {path}: {answer}");
    answer
}

async fn post(engine: &TestEngine, path: &str, body: Value) -> Value {
    ok(engine, Method::POST, path, Some(body)).await
}

async fn get(engine: &TestEngine, path: &str) -> Value {
    ok(engine, Method::GET, path, None).await
}

/// A 400 `invalid_request_error` whose message mentions `needle`; returns the message.
async fn bad(engine: &TestEngine, path: &str, body: Value, needle: &str) -> String {
    let (status, answer) = call(engine, Method::POST, path, Some(body.clone())).await;
    assert_eq!(status, 400, "POST {path} {body}: {answer}");
    assert_eq!(answer["type"], "error", "{answer}");
    assert_eq!(answer["error"]["type"], "invalid_request_error", "{answer}");
    let message = answer["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains(needle), "POST {path} {body}: expected {needle:?} in {message:?}");
    message
}

async fn status_of(engine: &TestEngine, method: Method, path: &str) -> (u16, Value) {
    call(engine, method, path, None).await
}

fn ids(page: &Value) -> Vec<String> {
    page["data"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_owned()).collect()
}

/// Follows `next_page` with `limit`; returns every id in order and the number of pages.
async fn walk(engine: &TestEngine, path: &str, limit: u32) -> (Vec<String>, usize) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut all = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            None => format!("{path}{sep}limit={limit}"),
            Some(c) => format!("{path}{sep}limit={limit}&page={c}"),
        };
        let page = get(engine, &url).await;
        pages += 1;
        let found = ids(&page);
        assert!(found.len() <= limit as usize, "{url}: {page}");
        all.extend(found);
        match page["next_page"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (all, pages),
        }
        assert!(pages < 100, "endless pages");
    }
}

fn oauth_auth() -> Value {
    json!({
        "type": "mcp_oauth",
        "mcp_server_url": "https://mcp.linear.app/mcp",
        "access_token": ACCESS_TOKEN,
        "expires_at": "2999-01-01T00:00:00Z",
        "refresh": {
            "client_id": "switchboard-console",
            "refresh_token": REFRESH_TOKEN,
            "token_endpoint": "https://linear.app/oauth/token",
            "token_endpoint_auth": { "type": "client_secret_basic", "client_secret": CLIENT_SECRET },
            "resource": "https://mcp.linear.app/",
            "scope": "read write"
        }
    })
}

fn bearer_auth() -> Value {
    json!({ "type": "static_bearer", "mcp_server_url": "https://mcp.example.com/mcp", "token": BEARER_TOKEN })
}

fn variable_auth() -> Value {
    json!({
        "type": "environment_variable",
        "secret_name": "GITHUB_TOKEN",
        "secret_value": SECRET_VALUE,
        "networking": { "type": "limited", "allowed_hosts": ["api.github.com", "*.githubusercontent.com", "192.0.2.1"] },
        "injection_location": { "body": false }
    })
}

async fn vault(engine: &TestEngine, name: &str) -> String {
    post(engine, "/v1/vaults", json!({ "display_name": name })).await["id"].as_str().unwrap().to_owned()
}

/// What the store holds for a credential: (archived, body, secrets).
async fn stored_credential(engine: &TestEngine, id: &str) -> Option<(i64, Value, Value)> {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(engine.data_dir.join("engine.db"));
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let row: Option<(i64, String, String)> =
        sqlx::query_as("SELECT archived, body, secrets FROM vault_credentials WHERE id = ?")
            .bind(id)
            .fetch_optional(&pool)
            .await
            .unwrap();
    pool.close().await;
    row.map(|(archived, body, secrets)| {
        (archived, serde_json::from_str(&body).unwrap(), serde_json::from_str(&secrets).unwrap())
    })
}

#[tokio::test]
async fn vaults_are_created_listed_paginated_updated_archived_and_deleted() {
    let engine = spawn_engine(config(temp_dir())).await;

    let first = post(&engine, "/v1/vaults", json!({ "display_name": "Alice", "metadata": { "user": "usr_1" } })).await;
    assert_eq!(first["type"], "vault");
    assert!(first["id"].as_str().unwrap().starts_with("vlt_"), "{first}");
    assert_eq!(first["display_name"], "Alice");
    assert_eq!(first["metadata"], json!({ "user": "usr_1" }));
    assert_eq!(first["archived_at"], Value::Null);
    assert!(first.get("archived_at").is_some(), "archived_at is always present: {first}");
    assert_eq!(first["created_at"], first["updated_at"]);
    let first_id = first["id"].as_str().unwrap().to_owned();
    assert_eq!(get(&engine, &format!("/v1/vaults/{first_id}")).await, first);

    // Seven more; lists run newest first.
    let mut created = vec![first_id.clone()];
    for i in 0..7 {
        created.push(vault(&engine, &format!("vault {i}")).await);
    }
    let newest_first: Vec<String> = created.iter().rev().cloned().collect();
    assert_eq!(ids(&get(&engine, "/v1/vaults").await), newest_first);
    let (walked, pages) = walk(&engine, "/v1/vaults", 3).await;
    assert_eq!((walked, pages), (newest_first.clone(), 3));
    let (walked, pages) = walk(&engine, "/v1/vaults", 100).await;
    assert_eq!((walked, pages), (newest_first.clone(), 1));
    let page = get(&engine, "/v1/vaults?limit=8").await;
    assert_eq!(page["next_page"], Value::Null);
    assert!(page.get("prev_page").is_none(), "{page}");
    for query in ["limit=0", "limit=101", "limit=x", "page=nonsense", "include_archived=maybe"] {
        let (status, answer) = status_of(&engine, Method::GET, &format!("/v1/vaults?{query}")).await;
        assert_eq!(status, 400, "{query}: {answer}");
    }

    // Update: display_name, metadata as a patch (null deletes, absent keys stay).
    let path = format!("/v1/vaults/{first_id}");
    post(&engine, &path, json!({ "metadata": { "team": "support", "tier": "gold" } })).await;
    let updated =
        post(&engine, &path, json!({ "display_name": "Alice B.", "metadata": { "tier": null, "region": "eu" } })).await;
    assert_eq!(updated["display_name"], "Alice B.");
    assert_eq!(updated["metadata"], json!({ "user": "usr_1", "team": "support", "region": "eu" }));
    assert_eq!(updated["created_at"], first["created_at"]);
    assert_ne!(updated["updated_at"], first["updated_at"]);
    assert_eq!(get(&engine, &path).await, updated);
    // Omitted and null fields keep what is stored.
    let same = post(&engine, &path, json!({ "display_name": null, "metadata": null })).await;
    assert_eq!((&same["display_name"], &same["metadata"]), (&updated["display_name"], &updated["metadata"]));

    // Archive: hidden from the list unless asked for, read-only, idempotent.
    let archived = post(&engine, &format!("{path}/archive"), json!({})).await;
    assert!(archived["archived_at"].is_string(), "{archived}");
    assert_eq!(archived["display_name"], "Alice B.");
    assert_eq!(post(&engine, &format!("{path}/archive"), json!({})).await, archived);
    assert_eq!(get(&engine, &path).await, archived);
    assert!(!ids(&get(&engine, "/v1/vaults?limit=100").await).contains(&first_id));
    assert!(ids(&get(&engine, "/v1/vaults?limit=100&include_archived=true").await).contains(&first_id));
    let (walked, _) = walk(&engine, "/v1/vaults?include_archived=false", 2).await;
    assert_eq!(walked.len(), 7);
    bad(&engine, &path, json!({ "display_name": "renamed" }), "archived").await;

    // Delete: gone for good, and a second delete is a 404.
    let (status, deleted) = status_of(&engine, Method::DELETE, &path).await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted, json!({ "id": first_id, "type": "vault_deleted" }));
    for method in [Method::GET, Method::DELETE] {
        let (status, answer) = status_of(&engine, method, &path).await;
        assert_eq!(status, 404, "{answer}");
        assert_eq!(answer["error"]["type"], "not_found_error");
    }
    let (status, _) = call(&engine, Method::POST, &path, Some(json!({ "display_name": "x" }))).await;
    assert_eq!(status, 404);
    let (status, _) = call(&engine, Method::POST, &format!("{path}/archive"), None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn bad_vault_bodies_are_400s() {
    let engine = spawn_engine(config(temp_dir())).await;
    bad(&engine, "/v1/vaults", json!({}), "display_name").await;
    bad(&engine, "/v1/vaults", json!({ "display_name": "" }), "display_name").await;
    bad(&engine, "/v1/vaults", json!({ "display_name": "   " }), "display_name").await;
    bad(&engine, "/v1/vaults", json!({ "display_name": "x".repeat(256) }), "1–255").await;
    bad(&engine, "/v1/vaults", json!({ "display_name": 7 }), "not valid").await;
    let longest = post(&engine, "/v1/vaults", json!({ "display_name": "é".repeat(255) })).await;
    assert_eq!(longest["display_name"].as_str().unwrap().chars().count(), 255);

    // The metadata limits every other resource has.
    let seventeen: serde_json::Map<String, Value> = (0..17).map(|i| (format!("k{i}"), json!("v"))).collect();
    for metadata in
        [json!(seventeen), json!({ "k".repeat(65): "v" }), json!({ "k": "v".repeat(513) }), json!({ "": "v" })]
    {
        let (status, answer) =
            call(&engine, Method::POST, "/v1/vaults", Some(json!({ "display_name": "m", "metadata": metadata }))).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["details"]["error_code"], "invalid_metadata", "{answer}");
    }
    let id = longest["id"].as_str().unwrap();
    let sixteen: serde_json::Map<String, Value> = (0..16).map(|i| (format!("k{i}"), json!("v"))).collect();
    post(&engine, &format!("/v1/vaults/{id}"), json!({ "metadata": sixteen })).await;
    let (status, answer) =
        call(&engine, Method::POST, &format!("/v1/vaults/{id}"), Some(json!({ "metadata": { "one-more": "v" } })))
            .await;
    assert_eq!((status, &answer["error"]["details"]["error_code"]), (400, &json!("invalid_metadata")), "{answer}");
    bad(&engine, &format!("/v1/vaults/{id}"), json!({ "display_name": "" }), "display_name").await;

    // Vaults are a beta endpoint like the rest of Managed Agents.
    let response =
        engine.client.get(format!("{}/v1/vaults", engine.url)).header("x-api-key", support::KEY).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert!(response.text().await.unwrap().contains(protocol::MANAGED_AGENTS_BETA));
    let response = engine
        .client
        .get(format!("{}/v1/vaults", engine.url))
        .header("anthropic-beta", protocol::MANAGED_AGENTS_BETA)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
}

#[tokio::test]
async fn credentials_of_every_type_keep_their_secrets_to_themselves() {
    let engine = spawn_engine(config(temp_dir())).await;
    let vault_id = vault(&engine, "Alice").await;
    let base = format!("/v1/vaults/{vault_id}/credentials");

    let oauth = post(
        &engine,
        &base,
        json!({ "auth": oauth_auth(), "display_name": "Linear (alice)", "metadata": { "owner": "alice" } }),
    )
    .await;
    assert_eq!(oauth["type"], "vault_credential");
    assert!(oauth["id"].as_str().unwrap().starts_with("vcrd_"), "{oauth}");
    assert_eq!(oauth["vault_id"], vault_id.as_str());
    assert_eq!(oauth["display_name"], "Linear (alice)");
    assert_eq!(oauth["metadata"], json!({ "owner": "alice" }));
    assert_eq!(oauth["archived_at"], Value::Null);
    assert_eq!(
        oauth["auth"],
        json!({
            "type": "mcp_oauth",
            "mcp_server_url": "https://mcp.linear.app/mcp",
            "expires_at": "2999-01-01T00:00:00.000000Z",
            "refresh": {
                "client_id": "switchboard-console",
                "token_endpoint": "https://linear.app/oauth/token",
                "token_endpoint_auth": { "type": "client_secret_basic" },
                "resource": "https://mcp.linear.app/",
                "scope": "read write"
            }
        })
    );

    let bearer = post(&engine, &base, json!({ "auth": bearer_auth() })).await;
    assert_eq!(bearer["auth"], json!({ "type": "static_bearer", "mcp_server_url": "https://mcp.example.com/mcp" }));
    assert_eq!(bearer["display_name"], Value::Null);
    assert_eq!(bearer["metadata"], json!({}));

    let variable = post(&engine, &base, json!({ "auth": variable_auth(), "display_name": "GitHub" })).await;
    assert_eq!(
        variable["auth"],
        json!({
            "type": "environment_variable",
            "injection_location": { "body": false, "header": true },
            "networking": { "type": "limited", "allowed_hosts": ["api.github.com", "*.githubusercontent.com", "192.0.2.1"] },
            "secret_name": "GITHUB_TOKEN"
        })
    );
    let unrestricted = post(
        &engine,
        &base,
        json!({ "auth": { "type": "environment_variable", "secret_name": "_X1", "secret_value": SECRET_VALUE,
                          "networking": { "type": "unrestricted" } } }),
    )
    .await;
    assert_eq!(unrestricted["auth"]["injection_location"], json!({ "body": true, "header": true }));
    assert_eq!(unrestricted["auth"]["networking"], json!({ "type": "unrestricted" }));

    // The secrets are stored (apart from the body), only never shown.
    let (_, body, secrets) = stored_credential(&engine, oauth["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(body, oauth);
    assert_eq!(
        secrets,
        json!({ "access_token": ACCESS_TOKEN, "refresh_token": REFRESH_TOKEN, "client_secret": CLIENT_SECRET })
    );
    let (_, _, secrets) = stored_credential(&engine, bearer["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(secrets, json!({ "token": BEARER_TOKEN }));
    let (_, _, secrets) = stored_credential(&engine, variable["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(secrets, json!({ "secret_value": SECRET_VALUE }));

    // Retrieve and list show the same objects (every answer is checked for secrets by `call`).
    for credential in [&oauth, &bearer, &variable, &unrestricted] {
        assert_eq!(&get(&engine, &format!("{base}/{}", credential["id"].as_str().unwrap())).await, credential);
    }
    let all = [&unrestricted, &variable, &bearer, &oauth].map(|c| c["id"].as_str().unwrap().to_owned()).to_vec();
    assert_eq!(ids(&get(&engine, &base).await), all);
    assert_eq!(walk(&engine, &base, 1).await, (all.clone(), 4));
    assert_eq!(walk(&engine, &base, 3).await, (all.clone(), 2));

    // Rotate every secret.
    let oauth_path = format!("{base}/{}", oauth["id"].as_str().unwrap());
    let rotated = post(
        &engine,
        &oauth_path,
        json!({ "auth": { "type": "mcp_oauth", "access_token": NEW_ACCESS_TOKEN, "expires_at": "2998-06-01T12:00:00+02:00",
                          "refresh": { "refresh_token": NEW_REFRESH_TOKEN, "scope": "read",
                                       "token_endpoint_auth": { "type": "client_secret_post", "client_secret": NEW_CLIENT_SECRET } } } }),
    )
    .await;
    assert_eq!(rotated["auth"]["expires_at"], "2998-06-01T10:00:00.000000Z");
    assert_eq!(rotated["auth"]["refresh"]["scope"], "read");
    // The token endpoint method stays what it was, whichever secret method the update names.
    assert_eq!(rotated["auth"]["refresh"]["token_endpoint_auth"], json!({ "type": "client_secret_basic" }));
    assert_eq!(rotated["auth"]["refresh"]["client_id"], "switchboard-console");
    let (_, _, secrets) = stored_credential(&engine, oauth["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(
        secrets,
        json!({ "access_token": NEW_ACCESS_TOKEN, "refresh_token": NEW_REFRESH_TOKEN, "client_secret": NEW_CLIENT_SECRET })
    );
    // scope "" clears it; expires_at null clears the expiry.
    let cleared = post(
        &engine,
        &oauth_path,
        json!({ "auth": { "type": "mcp_oauth", "expires_at": null, "refresh": { "scope": "" } } }),
    )
    .await;
    assert!(cleared["auth"]["refresh"].get("scope").is_none(), "{cleared}");
    assert!(cleared["auth"].get("expires_at").is_none(), "{cleared}");
    assert_eq!(cleared["auth"]["refresh"]["resource"], "https://mcp.linear.app/");

    let bearer_path = format!("{base}/{}", bearer["id"].as_str().unwrap());
    let new_bearer = post(
        &engine,
        &bearer_path,
        json!({ "auth": { "type": "static_bearer", "token": NEW_BEARER_TOKEN }, "display_name": "Example" }),
    )
    .await;
    assert_eq!(new_bearer["auth"], bearer["auth"]);
    assert_eq!(new_bearer["display_name"], "Example");
    let (_, _, secrets) = stored_credential(&engine, bearer["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(secrets, json!({ "token": NEW_BEARER_TOKEN }));

    let variable_path = format!("{base}/{}", variable["id"].as_str().unwrap());
    let new_variable = post(
        &engine,
        &variable_path,
        json!({ "auth": { "type": "environment_variable", "secret_value": NEW_SECRET_VALUE,
                          "networking": { "type": "unrestricted" }, "injection_location": { "body": true } },
                "display_name": null, "metadata": { "rotated": "yes" } }),
    )
    .await;
    assert_eq!(new_variable["auth"]["networking"], json!({ "type": "unrestricted" }));
    assert_eq!(new_variable["auth"]["injection_location"], json!({ "body": true, "header": true }));
    assert_eq!(new_variable["auth"]["secret_name"], "GITHUB_TOKEN");
    assert_eq!(new_variable["display_name"], Value::Null);
    assert_eq!(new_variable["metadata"], json!({ "rotated": "yes" }));
    let (_, _, secrets) = stored_credential(&engine, variable["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(secrets, json!({ "secret_value": NEW_SECRET_VALUE }));
    let only_header = post(
        &engine,
        &variable_path,
        json!({ "auth": { "type": "environment_variable", "injection_location": { "body": false } },
                "metadata": { "rotated": null } }),
    )
    .await;
    assert_eq!(only_header["auth"]["injection_location"], json!({ "body": false, "header": true }));
    assert_eq!(only_header["metadata"], json!({}));

    // An update without auth keeps the secrets.
    post(&engine, &oauth_path, json!({ "display_name": "Linear" })).await;
    let (_, _, secrets) = stored_credential(&engine, oauth["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(secrets["access_token"], NEW_ACCESS_TOKEN);

    // Validation: the engine cannot reach an MCP server, so the verdict is "unknown".
    let validation = post(&engine, &format!("{oauth_path}/mcp_oauth_validate"), json!({})).await;
    assert_eq!(validation["type"], "vault_credential_validation");
    assert_eq!(validation["status"], "unknown");
    assert_eq!(validation["credential_id"], oauth["id"]);
    assert_eq!(validation["vault_id"], vault_id.as_str());
    assert_eq!(validation["has_refresh_token"], true);
    assert_eq!((&validation["mcp_probe"], &validation["refresh"]), (&Value::Null, &Value::Null));
    assert!(validation["validated_at"].is_string());
    bad(&engine, &format!("{bearer_path}/mcp_oauth_validate"), json!({}), "only mcp_oauth").await;

    // Archive: hidden from the list by default, secrets forgotten, read-only.
    let archived = post(&engine, &format!("{bearer_path}/archive"), json!({})).await;
    assert!(archived["archived_at"].is_string(), "{archived}");
    assert_eq!(archived["auth"], bearer["auth"]);
    assert_eq!(post(&engine, &format!("{bearer_path}/archive"), json!({})).await, archived);
    let (flag, _, secrets) = stored_credential(&engine, bearer["id"].as_str().unwrap()).await.unwrap();
    assert_eq!((flag, secrets), (1, json!({})));
    let bearer_id = bearer["id"].as_str().unwrap().to_owned();
    assert!(!ids(&get(&engine, &base).await).contains(&bearer_id));
    assert!(ids(&get(&engine, &format!("{base}?include_archived=true")).await).contains(&bearer_id));
    bad(&engine, &bearer_path, json!({ "display_name": "again" }), "archived").await;

    // Delete one credential; then the vault with the rest.
    let (status, deleted) = status_of(&engine, Method::DELETE, &bearer_path).await;
    assert_eq!((status, deleted), (200, json!({ "id": bearer_id, "type": "vault_credential_deleted" })));
    assert_eq!(status_of(&engine, Method::GET, &bearer_path).await.0, 404);
    assert_eq!(status_of(&engine, Method::DELETE, &bearer_path).await.0, 404);
    let (status, _) = status_of(&engine, Method::DELETE, &format!("/v1/vaults/{vault_id}")).await;
    assert_eq!(status, 200);
    for credential in [&oauth, &variable, &unrestricted] {
        let id = credential["id"].as_str().unwrap();
        assert!(stored_credential(&engine, id).await.is_none(), "credential {id} outlived its vault");
        assert_eq!(status_of(&engine, Method::GET, &format!("{base}/{id}")).await.0, 404);
    }
    assert_eq!(status_of(&engine, Method::GET, &base).await.0, 404);
}

#[tokio::test]
async fn immutable_fields_and_the_auth_type_do_not_change() {
    let engine = spawn_engine(config(temp_dir())).await;
    let vault_id = vault(&engine, "Bob").await;
    let base = format!("/v1/vaults/{vault_id}/credentials");
    let oauth = post(&engine, &base, json!({ "auth": oauth_auth() })).await;
    let bearer = post(&engine, &base, json!({ "auth": bearer_auth() })).await;
    let variable = post(&engine, &base, json!({ "auth": variable_auth() })).await;
    let path = |c: &Value| format!("{base}/{}", c["id"].as_str().unwrap());

    // The auth type is fixed.
    let message = bad(
        &engine,
        &path(&oauth),
        json!({ "auth": { "type": "static_bearer", "token": NEW_BEARER_TOKEN } }),
        "auth.type cannot change",
    )
    .await;
    assert!(message.contains("mcp_oauth") && message.contains("static_bearer"), "{message}");
    bad(&engine, &path(&bearer), json!({ "auth": { "type": "environment_variable" } }), "auth.type cannot change")
        .await;
    bad(&engine, &path(&variable), json!({ "auth": { "type": "mcp_oauth" } }), "auth.type cannot change").await;
    bad(&engine, &path(&variable), json!({ "auth": { "type": "password" } }), "unknown credential type").await;

    // So are the server URL, the OAuth client and the variable's name; sending the same is fine.
    for (credential, auth, needle) in [
        (&oauth, json!({ "type": "mcp_oauth", "mcp_server_url": "https://elsewhere.example/mcp" }), "mcp_server_url"),
        (&oauth, json!({ "type": "mcp_oauth", "refresh": { "client_id": "other" } }), "client_id"),
        (
            &bearer,
            json!({ "type": "static_bearer", "mcp_server_url": "https://elsewhere.example/mcp" }),
            "mcp_server_url",
        ),
        (&variable, json!({ "type": "environment_variable", "secret_name": "OTHER" }), "secret_name"),
        (&variable, json!({ "type": "environment_variable", "secret_name": null }), "secret_name"),
    ] {
        let message = bad(&engine, &path(credential), json!({ "auth": auth }), needle).await;
        assert!(message.contains("cannot change"), "{message}");
    }
    post(
        &engine,
        &path(&oauth),
        json!({ "auth": { "type": "mcp_oauth", "mcp_server_url": "https://mcp.linear.app/mcp",
                                                   "refresh": { "client_id": "switchboard-console" } } }),
    )
    .await;
    post(
        &engine,
        &path(&variable),
        json!({ "auth": { "type": "environment_variable", "secret_name": "GITHUB_TOKEN" } }),
    )
    .await;

    // A rejected update changes nothing, secrets included.
    bad(
        &engine,
        &path(&bearer),
        json!({ "auth": { "type": "static_bearer", "token": NEW_BEARER_TOKEN, "mcp_server_url": "https://x.example/" } }),
        "mcp_server_url",
    )
    .await;
    let (_, body, secrets) = stored_credential(&engine, bearer["id"].as_str().unwrap()).await.unwrap();
    assert_eq!((body, secrets), (bearer.clone(), json!({ "token": BEARER_TOKEN })));

    // Rules of the pieces of auth.
    let unrefreshable = post(
        &engine,
        &base,
        json!({ "auth": { "type": "mcp_oauth", "mcp_server_url": "https://mcp.example.com/a", "access_token": ACCESS_TOKEN } }),
    )
    .await;
    assert_eq!(unrefreshable["auth"], json!({ "type": "mcp_oauth", "mcp_server_url": "https://mcp.example.com/a" }));
    bad(
        &engine,
        &path(&unrefreshable),
        json!({ "auth": { "type": "mcp_oauth", "refresh": { "refresh_token": NEW_REFRESH_TOKEN } } }),
        "without refresh",
    )
    .await;
    let validation = post(&engine, &format!("{}/mcp_oauth_validate", path(&unrefreshable)), json!({})).await;
    assert_eq!(validation["has_refresh_token"], false);
    let public_client = post(
        &engine,
        &base,
        json!({ "auth": { "type": "mcp_oauth", "mcp_server_url": "https://mcp.example.com/b", "access_token": ACCESS_TOKEN,
                          "refresh": { "client_id": "c", "refresh_token": REFRESH_TOKEN, "token_endpoint": "https://auth.example.com/token",
                                       "token_endpoint_auth": { "type": "none" } } } }),
    )
    .await;
    assert_eq!(public_client["auth"]["refresh"]["token_endpoint_auth"], json!({ "type": "none" }));
    bad(
        &engine,
        &path(&public_client),
        json!({ "auth": { "type": "mcp_oauth", "refresh": { "token_endpoint_auth": { "type": "client_secret_basic", "client_secret": NEW_CLIENT_SECRET } } } }),
        "no client secret to replace",
    )
    .await;
    bad(
        &engine,
        &path(&public_client),
        json!({ "auth": { "type": "mcp_oauth", "refresh": { "token_endpoint_auth": { "type": "none" } } } }),
        "token_endpoint_auth",
    )
    .await;
    bad(
        &engine,
        &path(&oauth),
        json!({ "auth": { "type": "mcp_oauth", "expires_at": "2001-01-01T00:00:00Z" } }),
        "in the future",
    )
    .await;
    bad(
        &engine,
        &path(&variable),
        json!({ "auth": { "type": "environment_variable", "injection_location": { "header": false } } }),
        "injection_location",
    )
    .await;
    let seventeen: Vec<String> = (0..17).map(|i| format!("h{i}.example.com")).collect();
    bad(
        &engine,
        &path(&variable),
        json!({ "auth": { "type": "environment_variable", "networking": { "type": "limited", "allowed_hosts": seventeen } } }),
        "at most 16",
    )
    .await;
    let sixteen: Vec<String> = (0..16).map(|i| format!("h{i}.example.com")).collect();
    let widened = post(
        &engine,
        &path(&variable),
        json!({ "auth": { "type": "environment_variable", "networking": { "type": "limited", "allowed_hosts": sixteen } } }),
    )
    .await;
    assert_eq!(widened["auth"]["networking"]["allowed_hosts"].as_array().unwrap().len(), 16);
    bad(&engine, &path(&variable), json!({ "display_name": "" }), "display_name").await;
    bad(&engine, &path(&variable), json!({ "display_name": "n".repeat(256) }), "display_name").await;
    bad(
        &engine,
        &path(&variable),
        json!({ "auth": { "type": "environment_variable", "secret_value": "" } }),
        "secret_value",
    )
    .await;
}

#[tokio::test]
async fn bad_credential_bodies_are_400s_and_name_the_field() {
    let engine = spawn_engine(config(temp_dir())).await;
    let vault_id = vault(&engine, "Carol").await;
    let base = format!("/v1/vaults/{vault_id}/credentials");
    let with = |patch: Value, from: Value| {
        let mut auth = from;
        for (k, v) in patch.as_object().unwrap() {
            auth[k] = v.clone();
        }
        json!({ "auth": auth })
    };
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "auth"),
        (json!({ "auth": { "type": "password", "secret": SECRET_VALUE } }), "unknown credential type"),
        (json!({ "auth": { "mcp_server_url": "https://x.example/" } }), "unknown credential type"),
        (json!({ "auth": { "type": "static_bearer", "mcp_server_url": "https://x.example/" } }), "token"),
        (with(json!({ "token": "" }), bearer_auth()), "auth.token"),
        (with(json!({ "mcp_server_url": "ftp://x.example/" }), bearer_auth()), "mcp_server_url"),
        (with(json!({ "mcp_server_url": "https://" }), bearer_auth()), "mcp_server_url"),
        (with(json!({ "mcp_server_url": "https://x.example/a b" }), bearer_auth()), "mcp_server_url"),
        (with(json!({ "access_token": "" }), oauth_auth()), "access_token"),
        (with(json!({ "expires_at": "2001-01-01T00:00:00Z" }), oauth_auth()), "in the future"),
        (with(json!({ "expires_at": "tomorrow" }), oauth_auth()), "RFC 3339"),
        (
            with(
                json!({ "refresh": { "client_id": "c", "refresh_token": REFRESH_TOKEN, "token_endpoint": "not a url",
                                     "token_endpoint_auth": { "type": "none" } } }),
                oauth_auth(),
            ),
            "token_endpoint",
        ),
        (
            with(
                json!({ "refresh": { "client_id": "c", "refresh_token": REFRESH_TOKEN, "token_endpoint": "https://a.example/t",
                                     "token_endpoint_auth": { "type": "private_key_jwt" } } }),
                oauth_auth(),
            ),
            "token_endpoint_auth",
        ),
        (
            with(
                json!({ "refresh": { "client_id": "c", "refresh_token": REFRESH_TOKEN, "token_endpoint": "https://a.example/t",
                                     "token_endpoint_auth": { "type": "client_secret_post" } } }),
                oauth_auth(),
            ),
            "client_secret",
        ),
        (
            with(
                json!({ "refresh": { "client_id": "", "refresh_token": REFRESH_TOKEN, "token_endpoint": "https://a.example/t",
                                     "token_endpoint_auth": { "type": "none" } } }),
                oauth_auth(),
            ),
            "client_id",
        ),
        (with(json!({ "secret_name": "1ABC" }), variable_auth()), "secret_name"),
        (with(json!({ "secret_name": "MY-TOKEN" }), variable_auth()), "secret_name"),
        (with(json!({ "secret_value": "" }), variable_auth()), "secret_value"),
        (with(json!({ "networking": null }), variable_auth()), "networking"),
        (with(json!({ "networking": { "type": "open" } }), variable_auth()), "networking"),
        (with(json!({ "networking": { "type": "limited", "allowed_hosts": [] } }), variable_auth()), "allowed_hosts"),
        (
            with(json!({ "injection_location": { "body": false, "header": false } }), variable_auth()),
            "injection_location",
        ),
        (json!({ "auth": bearer_auth(), "display_name": "d".repeat(256) }), "display_name"),
        (json!({ "auth": bearer_auth(), "metadata": { "k": "v".repeat(513) } }), "metadata"),
    ];
    for host in [
        "https://api.example.com",
        "api.example.com:443",
        "api.example.com/path",
        "2001:db8::1",
        "[2001:db8::1]",
        "*.192.0.2.1",
        "999.1.1.1",
        "*",
        "exa mple.com",
        "-bad.example.com",
        "",
    ] {
        let auth = with(
            json!({ "networking": { "type": "limited", "allowed_hosts": ["ok.example.com", host] } }),
            variable_auth(),
        );
        let message = bad(&engine, &base, auth, "allowed_hosts[1]").await;
        assert!(message.contains("IPv4"), "{message}");
    }
    for (body, needle) in cases {
        bad(&engine, &base, body, needle).await;
    }
    // None of those left anything behind.
    assert_eq!(ids(&get(&engine, &format!("{base}?include_archived=true")).await), Vec::<String>::new());

    // Missing vaults are 404s, also for a credential addressed through another vault.
    let (status, answer) =
        call(&engine, Method::POST, "/v1/vaults/vlt_nope/credentials", Some(json!({ "auth": bearer_auth() }))).await;
    assert_eq!((status, &answer["error"]["type"]), (404, &json!("not_found_error")), "{answer}");
    let credential = post(&engine, &base, json!({ "auth": bearer_auth() })).await;
    let other = vault(&engine, "Dave").await;
    let id = credential["id"].as_str().unwrap();
    for method in [Method::GET, Method::DELETE] {
        assert_eq!(status_of(&engine, method, &format!("/v1/vaults/{other}/credentials/{id}")).await.0, 404);
    }
    let (status, _) = call(&engine, Method::POST, &format!("/v1/vaults/{other}/credentials/{id}/archive"), None).await;
    assert_eq!(status, 404);
    assert_eq!(status_of(&engine, Method::GET, &format!("{base}/vcrd_nope")).await.0, 404);
}

#[tokio::test]
async fn an_archived_vault_archives_its_credentials_and_takes_no_new_ones() {
    let engine = spawn_engine(config(temp_dir())).await;
    let vault_id = vault(&engine, "Erin").await;
    let base = format!("/v1/vaults/{vault_id}/credentials");
    let kept = post(&engine, &base, json!({ "auth": variable_auth() })).await;
    let kept_id = kept["id"].as_str().unwrap();
    let kept_path = format!("{base}/{kept_id}");
    let archived_vault = post(&engine, &format!("/v1/vaults/{vault_id}/archive"), json!({})).await;

    let message = bad(&engine, &base, json!({ "auth": bearer_auth() }), "archived").await;
    assert!(message.contains(&vault_id), "{message}");
    bad(&engine, &kept_path, json!({ "display_name": "changed" }), "archived").await;

    // Its credentials were archived with it, as the API does: their secrets are gone.
    let read = get(&engine, &kept_path).await;
    assert_eq!(read["archived_at"], archived_vault["archived_at"], "{read}");
    assert_eq!(read["auth"], kept["auth"]);
    let (archived, _, secrets) = stored_credential(&engine, kept_id).await.unwrap();
    assert_eq!((archived, secrets), (1, json!({})));
    assert_eq!(ids(&get(&engine, &base).await), Vec::<String>::new());
    assert_eq!(ids(&get(&engine, &format!("{base}?include_archived=true")).await), [kept_id]);
    // Archiving it again changes nothing; it can still be deleted.
    assert_eq!(post(&engine, &format!("{kept_path}/archive"), json!({})).await, read);
    assert_eq!(status_of(&engine, Method::DELETE, &kept_path).await.0, 200);
    assert_eq!(ids(&get(&engine, &format!("{base}?include_archived=true")).await), Vec::<String>::new());
}

/// A valid body with one to three of its fields (at any depth) replaced by odd values or removed.
fn mutate(rng: &mut rand::rngs::StdRng, value: &mut Value) {
    use rand::Rng;
    const ODD: &[fn() -> Value] = &[
        || Value::Null,
        || json!(""),
        || json!(" "),
        || json!(17),
        || json!(-1.5),
        || json!(true),
        || json!([]),
        || json!({}),
        || json!(["a", 1]),
        || json!({ "type": "limited" }),
        || json!({ "type": "none" }),
        || json!({ "type": "unrestricted" }),
        || json!("mcp_oauth"),
        || json!("environment_variable"),
        || json!("https://x.example/"),
        || json!("1999-01-01T00:00:00Z"),
        || json!("🙂".repeat(300)),
    ];
    let mut paths = Vec::new();
    fn collect(value: &Value, at: Vec<String>, out: &mut Vec<Vec<String>>) {
        if let Value::Object(map) = value {
            for (k, v) in map {
                let mut next = at.clone();
                next.push(k.clone());
                out.push(next.clone());
                collect(v, next, out);
            }
        }
    }
    collect(value, Vec::new(), &mut paths);
    for _ in 0..rng.random_range(1..=3) {
        if paths.is_empty() {
            return;
        }
        let path = &paths[rng.random_range(0..paths.len())];
        let (last, parents) = path.split_last().unwrap();
        let pointer: String = parents.iter().map(|k| format!("/{k}")).collect();
        if let Some(Value::Object(map)) = value.pointer_mut(&pointer) {
            if rng.random_bool(0.25) {
                map.remove(last);
            } else {
                map.insert(last.clone(), ODD[rng.random_range(0..ODD.len())]());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mangled_bodies_never_cause_a_server_error_or_show_a_secret() {
    use rand::SeedableRng;
    let engine = spawn_engine(config(temp_dir())).await;
    let vault_id = vault(&engine, "Fuzz").await;
    let base = format!("/v1/vaults/{vault_id}/credentials");
    let mut targets = Vec::new();
    for auth in [oauth_auth(), bearer_auth(), variable_auth()] {
        let credential = post(&engine, &base, json!({ "auth": auth })).await;
        targets.push(format!("{base}/{}", credential["id"].as_str().unwrap()));
    }
    let updates = [
        json!({ "auth": { "type": "mcp_oauth", "access_token": NEW_ACCESS_TOKEN, "expires_at": "2999-01-01T00:00:00Z",
                          "refresh": { "refresh_token": NEW_REFRESH_TOKEN, "scope": "s",
                                       "token_endpoint_auth": { "type": "client_secret_post", "client_secret": NEW_CLIENT_SECRET } } },
                "display_name": "d", "metadata": { "k": "v" } }),
        json!({ "auth": { "type": "static_bearer", "token": NEW_BEARER_TOKEN }, "display_name": "d" }),
        json!({ "auth": { "type": "environment_variable", "secret_value": NEW_SECRET_VALUE,
                          "networking": { "type": "limited", "allowed_hosts": ["a.example.com"] },
                          "injection_location": { "body": true, "header": false } }, "metadata": { "k": null } }),
    ];
    let mut rng = rand::rngs::StdRng::seed_from_u64(20_260_601);
    let mut statuses = std::collections::BTreeMap::new();
    for round in 0..60 {
        let mut requests = vec![
            ("/v1/vaults".to_owned(), json!({ "display_name": "v", "metadata": { "a": "b" } })),
            (format!("/v1/vaults/{vault_id}"), json!({ "display_name": "v", "metadata": { "a": null } })),
        ];
        for (i, auth) in [oauth_auth(), bearer_auth(), variable_auth()].into_iter().enumerate() {
            requests.push((base.clone(), json!({ "auth": auth, "display_name": "c", "metadata": { "a": "b" } })));
            // Updates of every type against every credential: most are type changes.
            requests.push((targets[(i + round) % 3].clone(), updates[i].clone()));
        }
        for (path, mut body) in requests {
            mutate(&mut rng, &mut body);
            let (status, answer) = call(&engine, Method::POST, &path, Some(body.clone())).await;
            *statuses.entry(status).or_insert(0) += 1;
            assert!(status < 500, "POST {path} {body} → {status}: {answer}");
            if status >= 400 {
                assert_eq!(answer["type"], "error", "{answer}");
                assert!(answer["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{answer}");
            }
        }
    }
    assert!(statuses.contains_key(&200) && statuses.contains_key(&400), "{statuses:?}");
    // Every credential is still whole and readable.
    for path in &targets {
        let credential = get(&engine, path).await;
        assert!(credential["auth"]["type"].is_string(), "{credential}");
    }
    let (listed, _) = walk(&engine, &format!("{base}?include_archived=true"), 100).await;
    assert!(listed.len() >= 3);
}

/// Without a key a credential's secret sits in the database in plain text (as the README says);
/// once the engine starts with `SWITCHBOARD_ENGINE_SECRET_KEY` it is sealed, the old pages are
/// gone from every file of the data directory, and the credential still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_secret_key_no_credential_secret_is_left_in_any_file() {
    let data = temp_dir();
    let key = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    let (mut plain_process, plain) = start(&data);
    let vault_id = vault(&plain, "before the key").await;
    let before = post(&plain, &format!("/v1/vaults/{vault_id}/credentials"), json!({ "auth": bearer_auth() })).await;
    plain_process.interrupt();
    assert!(!files_holding(&data, BEARER_TOKEN).is_empty(), "without a key the secret is stored as given");

    let (mut sealed_process, sealed) = start_with(&data, &[("SWITCHBOARD_ENGINE_SECRET_KEY", key)]);
    let after = post(&sealed, &format!("/v1/vaults/{vault_id}/credentials"), json!({ "auth": variable_auth() })).await;
    // A change carries the sealed secrets over: they open with the key.
    for credential in [&before, &after] {
        let path = format!("/v1/vaults/{vault_id}/credentials/{}", credential["id"].as_str().unwrap());
        let renamed = post(&sealed, &path, json!({ "display_name": "renamed" })).await;
        assert_eq!(renamed["display_name"], "renamed");
    }
    let (_, _, stored) = stored_credential_in(&data, before["id"].as_str().unwrap()).await.unwrap();
    assert!(stored.starts_with("sealed:v1:"), "{stored}");
    for secret in [BEARER_TOKEN, SECRET_VALUE] {
        assert_eq!(files_holding(&data, secret), Vec::<std::path::PathBuf>::new(), "{secret} found at rest");
    }
    sealed_process.interrupt();

    // Started again without the key, the sealed credentials are refused in words, not used.
    let (_process, keyless) = start(&data);
    let path = format!("/v1/vaults/{vault_id}/credentials/{}", before["id"].as_str().unwrap());
    let (status, answer) = call(&keyless, Method::POST, &path, Some(json!({ "display_name": "again" }))).await;
    assert_eq!(status, 500, "{answer}");
    drop((plain, sealed, keyless));
}

/// (archived, body, secrets as stored) of a credential in the engine under `data` (started with
/// `SWITCHBOARD_DATA_DIR=data`).
async fn stored_credential_in(data: &std::path::Path, id: &str) -> Option<(i64, String, String)> {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(data.join("engine").join("engine.db"));
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let row = sqlx::query_as("SELECT archived, body, secrets FROM vault_credentials WHERE id = ?")
        .bind(id)
        .fetch_optional(&pool)
        .await
        .unwrap();
    pool.close().await;
    row
}
