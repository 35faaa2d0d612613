//! `chunk-merge [--under BYTES] [--output NAME] PKG_DIR`: merges the WASM chunks of a split
//! release build smaller than BYTES (default 1024) into `chunks_merged.wasm` (see the library),
//! then gives every asset a name with its content's hash (`chunk_merge::hashing`; the main module
//! is NAME, default `switchboard`). Run by `scripts/lib.sh`'s `release_build` after cargo-leptos.

use std::path::PathBuf;
use std::process::ExitCode;

use chunk_merge::{Outcome, hashing, run};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut under = 1024;
    let mut output = "switchboard".to_owned();
    let mut pkg = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--under" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => under = n,
                None => return usage("--under needs a number of bytes"),
            },
            "--output" => match args.next() {
                Some(name) => output = name,
                None => return usage("--output needs the main module's name"),
            },
            _ if pkg.is_none() => pkg = Some(PathBuf::from(arg)),
            _ => return usage("one folder only"),
        }
    }
    let Some(pkg) = pkg else { return usage("which folder?") };
    if hashing::done(&pkg, &output) {
        println!("chunk-merge: {} was merged and named by hashes already", pkg.display());
        return ExitCode::SUCCESS;
    }
    let merged = hashing::clear_earlier(&pkg, &output).and_then(|cleared| {
        if cleared > 0 {
            println!("chunk-merge: {cleared} files of an earlier build removed");
        }
        run(&pkg, under)
    });
    let code = report_merge(&pkg, under, merged);
    if code != ExitCode::SUCCESS {
        return code;
    }
    match hashing::hash_names(&pkg, &output) {
        Ok(hashing::Hashed::Named { files }) => {
            println!("chunk-merge: {files} files given their content's hash in their names ({})", hashing::HASH_FILE);
            ExitCode::SUCCESS
        }
        Ok(hashing::Hashed::Already) => {
            println!("chunk-merge: {} has hashed names already", pkg.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("chunk-merge: naming the files by their hashes failed: {error}. Build again (scripts/run).");
            ExitCode::FAILURE
        }
    }
}

fn report_merge(pkg: &std::path::Path, under: usize, merged: Result<Outcome, chunk_merge::NotMerged>) -> ExitCode {
    match merged {
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
    eprintln!("chunk-merge: {problem}\nusage: chunk-merge [--under BYTES] [--output NAME] PKG_DIR");
    ExitCode::from(2)
}
