//! Login sessions are stored under a hash of the login cookie's value: a copy of the data
//! directory (a backup) taken while Switchboard runs holds nothing a browser could present.

use crate::support;

use std::{path::Path, str::FromStr};

use reqwest::header::{COOKIE, SET_COOKIE};
use support::{ADMIN_PASSWORD, TempDir, TestApp, browser, files_holding, spawn_app, start};

/// The login cookie's value that a sign-in's response sets.
fn login_cookie_value(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("switchboard_login="))
        .and_then(|v| v.split(';').next())
        .expect("signing in sets the login cookie")
        .to_owned()
}

/// What a request carrying only `switchboard_login=<value>` is answered with.
async fn status_with_login(app: &TestApp, value: &str) -> (u16, String) {
    let response = engine::http_client::client()
        .get(format!("{}/api/upstream", app.address))
        .header(COOKIE, format!("switchboard_login={value}"))
        .send()
        .await
        .expect("request sent");
    (response.status().as_u16(), response.text().await.unwrap_or_default())
}

/// Copies every file under `from` (the database's `-wal` and `-shm` among them) to `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[tokio::test]
async fn a_copy_of_the_data_directory_holds_no_login_cookie_and_its_ids_sign_nobody_in() {
    // About the data directory's files: SQLite's, in either run.
    let app = spawn_app(&[("SWITCHBOARD_DATABASE_URL", "")]).await;
    app.client_as("vera", &["viewer"]).await;
    let mut cookies = Vec::new();
    for (username, password) in [("admin", ADMIN_PASSWORD), ("admin", ADMIN_PASSWORD), ("vera", ADMIN_PASSWORD)] {
        let response = app.try_sign_in(&browser(), username, password).await;
        assert_eq!(response.status().as_u16(), 303);
        cookies.push(login_cookie_value(&response));
    }
    // Each is in use (every request saves its session again) while the copy is taken.
    for cookie in &cookies {
        assert_eq!(status_with_login(&app, cookie).await.0, 200, "signed in with {cookie}");
    }

    let copy = std::sync::Arc::new(TempDir::new());
    copy_dir(&app.data_dir.0, &copy.0);
    assert!(copy.0.join("switchboard.db-wal").exists(), "the copy has the write-ahead log too");

    // (b) No file of the copy holds a cookie's value, as text or as the id's 16 bytes.
    for cookie in &cookies {
        let id = tower_sessions::session::Id::from_str(cookie).expect("a session id");
        assert_eq!(files_holding(&copy.0, cookie.as_bytes()), Vec::<String>::new(), "{cookie} in the copy");
        assert_eq!(files_holding(&copy.0, &id.0.to_le_bytes()), Vec::<String>::new(), "{cookie}'s bytes in the copy");
    }

    // (a) A second Switchboard on the copy: what its login_sessions rows are stored under, sent
    // as the cookie, signs nobody in.
    let second = start(copy, &[("SWITCHBOARD_DATABASE_URL", "")], true).await;
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT id_hash FROM login_sessions").fetch_all(&second.database().await).await.unwrap();
    assert!(stored.len() >= cookies.len(), "every sign-in has its row: {stored:?}");
    for key in &stored {
        let (status, body) = status_with_login(&second, key).await;
        assert_eq!(status, 401, "the stored {key} signed someone in: {body}");
        assert!(body.contains("Sign in"), "{body}");
    }
    // The copy itself works: the real cookies (which it does not hold) still sign in there.
    for cookie in &cookies {
        assert_eq!(status_with_login(&second, cookie).await.0, 200, "{cookie} on the copy");
    }
    // And the original still does.
    assert_eq!(status_with_login(&app, &cookies[0]).await.0, 200);
}

/// With `SWITCHBOARD_SECRET_KEY`, the embedded engine seals its vaults' credentials with a key
/// derived from it: a copy of the data directory holds no credential's secret, and the
/// credential still opens (a rotation carries it over).
#[tokio::test]
async fn with_the_secret_key_a_copy_of_the_data_directory_holds_no_vault_secret() {
    let app = spawn_app(&[
        ("SWITCHBOARD_SECRET_KEY", "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA="),
        // About the data directory's files: the embedded engine's, in either run.
        ("SWITCHBOARD_DATABASE_URL", ""),
    ])
    .await;
    let (status, vault) = app.call("vaults/create", &[("display_name", "Team secrets")]).await;
    assert_eq!(status, 200, "{vault}");
    let vault_id = vault["id"].as_str().unwrap().to_owned();
    let secret = "sk-live-SEALED-vault-secret-5678";
    let create = [
        ("vault_id", vault_id.as_str()),
        ("form[kind]", "static_bearer"),
        ("form[mcp_server_url]", "https://mcp.example.com/mcp"),
        ("form[secret]", secret),
    ];
    let (status, credential) = app.call("vaults/credentials/create", &create).await;
    assert_eq!(status, 200, "{credential}");
    let copy = TempDir::new();
    copy_dir(&app.data_dir.0, &copy.0);
    assert_eq!(files_holding(&copy.0, secret.as_bytes()), Vec::<String>::new(), "a vault secret at rest");
    let rotate = [
        ("vault_id", vault_id.as_str()),
        ("credential_id", credential["id"].as_str().unwrap()),
        ("form[kind]", "static_bearer"),
        ("form[mcp_server_url]", "https://mcp.example.com/mcp"),
        ("form[secret]", "sk-live-SEALED-rotated-9012"),
    ];
    let (status, rotated) = app.call("vaults/credentials/rotate", &rotate).await;
    assert_eq!(status, 200, "{rotated}");
}
