//! What the in-process benches share: Switchboard on the embedded engine, on a free port, with a
//! first admin.

use std::path::PathBuf;

use server::{settings::Settings, startup::Application};

/// The first admin's password in the benches.
pub const PASSWORD: &str = "bench password, long enough to pass";

/// A running Switchboard: its base URL, and its data directory (removed by [`Bench::finish`]).
pub struct Bench {
    pub base: String,
    data_dir: PathBuf,
}

/// Starts Switchboard in this process, in a fresh data directory named after `name`.
pub async fn start(name: &str) -> Bench {
    let data_dir = std::env::temp_dir().join(format!("switchboard-{name}-{}", std::process::id()));
    let vars = [
        ("SWITCHBOARD_LISTEN", "127.0.0.1:0".to_owned()),
        ("SWITCHBOARD_DATA_DIR", data_dir.display().to_string()),
        ("ANTHROPIC_API_KEY", String::new()),
        ("SWITCHBOARD_ADMIN_PASSWORD", PASSWORD.to_owned()),
    ];
    let settings = Settings::from_lookup(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())).unwrap();
    let app = Application::build(settings).await.expect("Switchboard starts");
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));
    Bench { base, data_dir }
}

impl Bench {
    /// Signs `http` in as the first admin; answers the response (a redirect when it worked).
    pub async fn sign_in(&self, http: &reqwest::Client) -> reqwest::Response {
        http.post(format!("{}/auth/login", self.base))
            .form(&[("username", "admin"), ("password", PASSWORD), ("next", "/")])
            .send()
            .await
            .unwrap()
    }

    pub fn finish(self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}
