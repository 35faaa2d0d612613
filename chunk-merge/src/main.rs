//! `chunk-merge [--under BYTES] PKG_DIR`: merges the WASM chunks of a split release build smaller
//! than BYTES (default 1024) into `chunks_merged.wasm` (see the library). Run by
//! `scripts/lib.sh`'s `release_build` after cargo-leptos.

use std::path::PathBuf;
use std::process::ExitCode;

use chunk_merge::{Outcome, run};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut under = 1024;
    let mut pkg = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--under" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => under = n,
                None => return usage("--under needs a number of bytes"),
            },
            _ if pkg.is_none() => pkg = Some(PathBuf::from(arg)),
            _ => return usage("one folder only"),
        }
    }
    let Some(pkg) = pkg else { return usage("which folder?") };
    match run(&pkg, under) {
        Ok(Outcome::Merged { chunks, bytes }) => {
            println!(
                "chunk-merge: {} chunks under {under} bytes merged into chunks_merged.wasm ({bytes} bytes)",
                chunks.len()
            );
            ExitCode::SUCCESS
        }
        Ok(Outcome::AlreadyMerged) => {
            println!("chunk-merge: {} was merged already", pkg.display());
            ExitCode::SUCCESS
        }
        Ok(Outcome::Nothing) => {
            println!("chunk-merge: no chunk under {under} bytes to merge");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!(
                "chunk-merge: {error}; {} is left as it was. If cargo-leptos was upgraded, its wasm-split may \
                 write chunks or their loader differently: see chunk-merge/src/lib.rs.",
                pkg.display()
            );
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("chunk-merge: {problem}\nusage: chunk-merge [--under BYTES] PKG_DIR");
    ExitCode::from(2)
}
