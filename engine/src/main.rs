//! `switchboard-engine`: the embedded engine on its own, the sandbox's tool runner, and the
//! Messages-compatible test server the tests and benches run real-model turns against.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("sandbox-tool") => engine::cli::sandbox_tool(&args[1..]),
        Some("serve") => {
            if let Err(error) = engine::logs::init("warn,engine=info") {
                eprintln!("The engine could not start: {error}");
                return ExitCode::FAILURE;
            }
            engine::cli::serve(&args[1..], async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
        }
        Some("messages-test-server") => engine::model::test_server::main(&args[1..]).await,
        Some("environment-key") => engine::cli::environment_key(&args[1..]).await,
        Some("worker") => {
            if let Err(error) = engine::logs::init("warn,engine=info") {
                eprintln!("The worker could not start: {error}");
                return ExitCode::FAILURE;
            }
            engine::worker::main(&args[1..]).await
        }
        _ => {
            eprintln!(
                "usage: switchboard-engine serve --listen 127.0.0.1:PORT\n       switchboard-engine environment-key ENV_ID | --list ENV_ID | --revoke KEY_ID\n       switchboard-engine worker --environment ENV_ID [--base-url URL] [--concurrency N]\n       switchboard-engine sandbox-tool <tool>\n       switchboard-engine messages-test-server [--listen ADDR] [--script FILE.json]"
            );
            ExitCode::from(2)
        }
    }
}
