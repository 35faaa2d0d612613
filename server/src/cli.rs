//! `switchboard login` and `switchboard logout`: a terminal's own personal access token, through
//! the device authorization grant (RFC 8628) against a Switchboard (`access::device_login`).
//!
//! `login --url <switchboard>` asks for a code, prints it with the console's /device page, and
//! polls until a person approves it there (signed in, single sign-on included). The token it gets
//! goes in a file only its user can read (`<config>/switchboard/token`, mode 0600, in a folder of
//! mode 0700; `<config>` is `$XDG_CONFIG_HOME` or `~/.config`, or `SWITCHBOARD_CONFIG_DIR` is the
//! folder itself), and the two lines that point the SDKs and `ant` at Switchboard are printed,
//! the token read from that file rather than printed. `logout` revokes the token and removes the
//! files.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

use serde_json::Value;

const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The folder the token and the Switchboard's address are kept in.
fn config_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SWITCHBOARD_CONFIG_DIR") {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(base.join("switchboard"))
}

/// The value after `--name` in `args`.
fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("switchboard: {message}");
    ExitCode::FAILURE
}

fn http() -> reqwest::Client {
    engine::http_client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client with static settings builds")
}

/// `switchboard login --url <switchboard> [--name <this machine>]`.
pub async fn login(args: &[String]) -> ExitCode {
    let Some(url) = flag(args, "--url").or_else(|| std::env::var("SWITCHBOARD_URL").ok()) else {
        return fail("say which Switchboard: switchboard login --url https://switchboard.example.com");
    };
    let url = url.trim_end_matches('/').to_owned();
    let Some(dir) = config_dir() else { return fail("neither XDG_CONFIG_HOME nor HOME is set: set one") };
    let name = flag(args, "--name").unwrap_or_else(|| {
        std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "a terminal".to_owned())
    });
    let http = http();
    let started = match http.post(format!("{url}/auth/device/code")).form(&[("name", name.as_str())]).send().await {
        Ok(response) if response.status().is_success() => response.json::<Value>().await.unwrap_or_default(),
        Ok(response) => return fail(format!("{url} refused to start a sign-in ({})", response.status())),
        Err(error) => return fail(format!("{url} could not be reached: {}", crate::support::describe(error))),
    };
    let (Some(device_code), Some(user_code), Some(page)) =
        (started["device_code"].as_str(), started["user_code"].as_str(), started["verification_uri_complete"].as_str())
    else {
        return fail(format!("{url} did not answer as a Switchboard does: is it one?"));
    };
    eprintln!(
        "To sign in, open\n\n    {page}\n\nin a browser, check that it shows the code {user_code}, and approve it. Waiting…"
    );
    let mut interval = started["interval"].as_u64().unwrap_or(5).max(1);
    let token = loop {
        tokio::time::sleep(Duration::from_secs(interval)).await;
        let form = [("grant_type", GRANT_TYPE), ("device_code", device_code)];
        let Ok(response) = http.post(format!("{url}/auth/device/token")).form(&form).send().await else { continue };
        let answer: Value = response.json().await.unwrap_or_default();
        if let Some(token) = answer["access_token"].as_str() {
            break (token.to_owned(), answer["expires_in"].as_u64().unwrap_or(0));
        }
        match answer["error"].as_str() {
            Some("authorization_pending") => {}
            Some("slow_down") => interval += 5,
            Some("access_denied") => return fail("the sign-in was denied on the console"),
            Some("expired_token") => {
                return fail("the code was not approved within 10 minutes: run switchboard login again");
            }
            _ => {
                return fail(format!(
                    "the sign-in failed: {}",
                    answer["error_description"].as_str().unwrap_or("no reason given")
                ));
            }
        }
    };
    let path = match keep(&dir, &url, &token.0) {
        Ok(path) => path,
        Err(error) => return fail(format!("the token could not be written to {}: {error}", dir.display())),
    };
    eprintln!(
        "Signed in for {} hours (switchboard logout ends it). Point the SDKs and ant at Switchboard with:",
        token.1 / 3600
    );
    println!("export ANTHROPIC_BASE_URL={url}");
    println!("export ANTHROPIC_API_KEY=\"$(cat {})\"", path.display());
    ExitCode::SUCCESS
}

/// Writes the token (mode 0600, in a folder of mode 0700) and the Switchboard's address; answers
/// the token's path.
fn keep(dir: &Path, url: &str, token: &str) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    let path = dir.join("token");
    // Written beside and moved in, so that no other user ever reads a half-written or wider file.
    let partial = dir.join(".token.partial");
    let _ = std::fs::remove_file(&partial);
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&partial)?;
    file.write_all(token.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&partial, &path)?;
    std::fs::write(dir.join("url"), url)?;
    Ok(path)
}

/// `switchboard logout`: revokes the token `login` kept and removes it.
pub async fn logout() -> ExitCode {
    let Some(dir) = config_dir() else { return fail("neither XDG_CONFIG_HOME nor HOME is set: set one") };
    let (Ok(token), Ok(url)) = (std::fs::read_to_string(dir.join("token")), std::fs::read_to_string(dir.join("url")))
    else {
        eprintln!("No login to end in {}.", dir.display());
        return ExitCode::SUCCESS;
    };
    let revoked = http().post(format!("{}/auth/token/revoke", url.trim())).bearer_auth(token.trim()).send().await;
    let outcome = match revoked {
        Ok(response) if response.status().is_success() => Ok("Signed out: the token is revoked."),
        Ok(response) if response.status().as_u16() == 401 => Ok("Signed out: the token had ended already."),
        Ok(response) => Err(format!("{} did not revoke the token ({})", url.trim(), response.status())),
        Err(error) => Err(format!("{} could not be reached: {}", url.trim(), crate::support::describe(error))),
    };
    match outcome {
        Ok(words) => {
            let _ = std::fs::remove_file(dir.join("token"));
            let _ = std::fs::remove_file(dir.join("url"));
            eprintln!("{words}");
            ExitCode::SUCCESS
        }
        // The file stays: the token still works, and a later logout can revoke it.
        Err(words) => fail(format!("{words}; the token is kept in {} until it is revoked", dir.display())),
    }
}
