#![recursion_limit = "256"]
//! The `switchboard` binary: serves the console (settings, tracing, until a signal stops it), or
//! runs `engine`, `worker` or `messages-test-server` (the engine crate's commands).

use server::{
    settings::Settings,
    web::{startup::Application, telemetry},
};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        // What the engine's sandbox runs for the file tools; prints JSON only.
        Some("sandbox-tool") => return engine::cli::sandbox_tool(&args[1..]),
        Some("engine") if args.get(1).map(String::as_str) == Some("environment-key") => {
            return engine::cli::environment_key(&args[2..]).await;
        }
        Some("engine") => {
            if let Err(error) = engine::logs::init("info") {
                tracing::error!("The engine could not start: {error}");
                return std::process::ExitCode::FAILURE;
            }
            return engine::cli::serve(&args[1..], shutdown_signal()).await;
        }
        // Serves a self-hosted environment's work: no console, no database.
        Some("worker") => {
            if let Err(error) = engine::logs::init("warn,engine=info") {
                eprintln!("The worker could not start: {error}");
                return std::process::ExitCode::FAILURE;
            }
            return engine::worker::main(&args[1..]).await;
        }
        // A terminal's own token, approved on the console (server/src/cli.rs).
        Some("login") => return server::cli::login(&args[1..]).await,
        Some("logout") => return server::cli::logout().await,
        // A Messages-compatible server answering from a script, for tests and demos without a key.
        Some("messages-test-server") => return engine::model::test_server::main(&args[1..]).await,
        Some(other) if other != "serve" => {
            eprintln!(
                "usage: switchboard            serve the console\n       switchboard login --url URL [--name NAME]   a token for this terminal, approved on the console's /device page\n       switchboard logout   revoke that token\n       switchboard engine --listen 127.0.0.1:PORT   serve only the embedded engine\n       switchboard engine environment-key ENV_ID   issue a key for a self-hosted environment\n       switchboard engine environment-key --list ENV_ID | --revoke KEY_ID   list its keys, or revoke one\n       switchboard worker --environment ENV_ID [--base-url URL] [--concurrency N]   run a self-hosted environment's tools\n       switchboard messages-test-server [--listen ADDR] [--script FILE.json]   a scripted Messages API"
            );
            return std::process::ExitCode::from(2);
        }
        _ => {}
    }
    let telemetry = match telemetry::init() {
        Ok(telemetry) => telemetry,
        Err(error) => {
            tracing::error!("Switchboard could not start: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = async {
        let settings = Settings::from_env()?;
        let app = Application::build(settings).await?;
        if let Some(engine) = app.engine_url() {
            tracing::info!("no ANTHROPIC_API_KEY: the embedded engine is the upstream, on {engine}");
        }
        tracing::info!("Switchboard is serving http://{}", app.local_addr());
        if let Some(link) = app.setup_link() {
            tracing::info!(
                "no accounts yet: create the first admin at {link} (the link works until then, for this run)"
            );
        }
        app.run_until(shutdown_signal()).await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    };
    let result = result.await;
    if let Err(error) = &result {
        tracing::error!("{error}");
    }
    // The requests are over; their spans go out before the process does.
    telemetry.shutdown().await;
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(_) => std::process::ExitCode::FAILURE,
    }
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
