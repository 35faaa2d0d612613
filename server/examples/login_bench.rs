//! Sign-in time (not a test): `scripts/bench login`, or
//! `cargo run --release -p server --example login_bench`.
//!
//! Starts Switchboard in this process with a first admin, then times `RUNS` sign-ins over
//! loopback (`POST /auth/login` sent → its redirect received: the password check with argon2id,
//! the new login session written to SQLite), `REFUSED` failed sign-ins from one address at one
//! username (the first few checked, the rest held back by the throttle; all counted in one audit
//! entry, so each is one row updated) and, apart, `RUNS` argon2id hashes alone.

use std::time::{Duration, Instant};

mod common;

const RUNS: usize = 60;
const REFUSED: usize = 10_000;

#[tokio::main]
async fn main() {
    let bench = common::start("login-bench").await;
    let http = engine::http_client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    let mut sign_ins = Vec::new();
    for run in 0..RUNS + 5 {
        let started = Instant::now();
        let response = bench.sign_in(&http).await;
        let took = started.elapsed();
        assert_eq!(response.headers()["location"], "/", "the sign-in worked");
        if run >= 5 {
            sign_ins.push(took);
        }
    }
    let mut refused = Vec::new();
    for _ in 0..REFUSED {
        let started = Instant::now();
        let response = http
            .post(format!("{}/auth/login", bench.base))
            .form(&[("username", "admin"), ("password", "not the password at all"), ("next", "/")])
            .send()
            .await
            .unwrap();
        refused.push(started.elapsed());
        let location = response.headers()["location"].to_str().unwrap();
        assert!(location.starts_with("/login?error="), "refused: {location}");
    }
    let mut hashes = Vec::new();
    let mut hash = String::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        hash = std::hint::black_box(server::access::accounts::hash_password(common::PASSWORD));
        hashes.push(started.elapsed());
    }
    // The parameters as the hash records them: `$argon2id$v=19$m=…,t=…,p=…$salt$hash`.
    let parameters = hash.split('$').nth(3).unwrap_or("unknown parameters");
    println!("login bench: argon2id {parameters} (m in KiB); {RUNS} runs each");
    report("sign-in (POST /auth/login → redirect)", &mut sign_ins);
    println!("{REFUSED} refused sign-ins from one address at one username, one after another:");
    report("refused sign-in, p50/p99", &mut refused);
    report("argon2id hash alone", &mut hashes);
    bench.finish();
}

fn report(what: &str, times: &mut [Duration]) {
    times.sort();
    let at = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0;
    println!(
        "{what:<40} median {:>6.1} ms   min {:>6.1}   p99 {:>6.1}   max {:>6.1}",
        at(0.5),
        at(0.0),
        at(0.99),
        at(1.0)
    );
}
