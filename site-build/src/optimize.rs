//! Step 4, `wasm-opt` over every module, as many at a time as the machine has cores: most modules
//! are small, and binaryen (npm's, JavaScript) spends much of each run starting (0.8 s of a core,
//! however small the module). An unchanged module is answered from `target/wasm-opt-cache` by the
//! `scripts/tools/bin/wasm-opt` in front of binaryen.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{Layout, Progress, WASM_OPT_FLAGS, shown};

/// How often the count of modules done is printed while wasm-opt runs.
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// Optimizes every module in place with `program` (`wasm-opt`, found on PATH), `workers` at a
/// time. Stops handing out modules at the first failure and names it.
pub fn optimize_all(
    layout: &Layout,
    program: &Path,
    modules: &[PathBuf],
    workers: usize,
    progress: &Progress,
) -> Result<()> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    let last_report = Mutex::new(Instant::now());
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, modules.len().max(1)) {
            scope.spawn(|| {
                while failure.lock().is_ok_and(|f| f.is_none()) {
                    let Some(module) = modules.get(next.fetch_add(1, Ordering::Relaxed)) else { break };
                    if let Err(error) = optimize_one(layout, program, module) {
                        if let Ok(mut first) = failure.lock() {
                            first.get_or_insert(error);
                        }
                        break;
                    }
                    let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                    report(progress, &last_report, finished, modules.len());
                }
            });
        }
    });
    match failure.into_inner() {
        Ok(Some(error)) => Err(error),
        Ok(None) => Ok(()),
        Err(_) => bail!("a wasm-opt worker stopped halfway"),
    }
}

fn report(progress: &Progress, last: &Mutex<Instant>, finished: usize, total: usize) {
    let Ok(mut last) = last.lock() else { return };
    if finished == total || last.elapsed() >= REPORT_EVERY {
        *last = Instant::now();
        progress.note(&format!("wasm-opt: {finished} of {total} modules"));
    }
}

fn optimize_one(layout: &Layout, program: &Path, module: &Path) -> Result<()> {
    let output = Command::new(program)
        .args(WASM_OPT_FLAGS)
        .arg(module)
        .arg("-o")
        .arg(module)
        .output()
        .with_context(|| format!("{} could not be started", program.display()))?;
    if !output.status.success() {
        bail!(
            "wasm-opt failed on {} ({}): {}",
            shown(layout, module),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("site-build-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A stand-in for wasm-opt: appends "opt" to the file it is given, or fails on one named
    /// `bad.wasm`, as the real one does on a module it cannot read.
    fn fake_wasm_opt(dir: &Path) -> PathBuf {
        let program = dir.join("wasm-opt");
        let script = "#!/bin/sh\nfor last; do :; done\ncase \"$last\" in *bad.wasm) echo 'not a module' >&2; exit 1;; esac\nprintf opt >> \"$last\"\n";
        fs::write(&program, script).unwrap();
        fs::set_permissions(&program, fs::Permissions::from_mode(0o755)).unwrap();
        program
    }

    #[test]
    fn every_module_is_optimized_once_by_several_workers() {
        let dir = scratch("all");
        let program = fake_wasm_opt(&dir);
        let modules: Vec<PathBuf> = (0..23).map(|i| dir.join(format!("m{i}.wasm"))).collect();
        for module in &modules {
            fs::write(module, "").unwrap();
        }
        optimize_all(&Layout::new(&dir), &program, &modules, 4, &Progress::default()).unwrap();
        for module in &modules {
            assert_eq!(fs::read_to_string(module).unwrap(), "opt", "{}", module.display());
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_module_wasm_opt_refuses_fails_the_build_and_is_named() {
        let dir = scratch("bad");
        let program = fake_wasm_opt(&dir);
        let modules = vec![dir.join("a.wasm"), dir.join("bad.wasm"), dir.join("c.wasm")];
        for module in &modules {
            fs::write(module, "").unwrap();
        }
        let error = optimize_all(&Layout::new(&dir), &program, &modules, 1, &Progress::default()).unwrap_err();
        let said = error.to_string();
        assert!(said.contains("bad.wasm") && said.contains("not a module"), "{said}");
        // One worker stops at the failure: what follows it is left alone.
        assert_eq!(fs::read_to_string(&modules[2]).unwrap(), "");
        fs::remove_dir_all(&dir).unwrap();
    }
}
