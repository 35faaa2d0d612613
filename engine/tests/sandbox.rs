//! The tools cannot reach anything outside the session's sandbox.

use crate::support;

use serde_json::json;
use support::{config, spawn_engine, start, temp_dir, tool_results};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_cannot_reach_host_secrets_the_data_directory_or_paths_out_of_the_workspace() {
    let engine = spawn_engine(config(temp_dir())).await;
    let data = engine.data_dir.display().to_string();
    let host_marker = temp_dir().join("host-secret.txt");
    std::fs::write(&host_marker, "HOST-ONLY-SECRET").unwrap();
    let marker = host_marker.display().to_string();
    let escape = |tool: &str, input: serde_json::Value| json!({ "tool": tool, "input": input });
    let turn = json!([
        escape("bash", json!({ "command": "cat /etc/shadow" })),
        escape("bash", json!({ "command": "ls /root" })),
        escape("bash", json!({ "command": format!("ls {data}; cat {data}/engine.db | head -c 100") })),
        escape("bash", json!({ "command": format!("cat {marker}") })),
        escape("read", json!({ "file_path": "/etc/shadow" })),
        escape("read", json!({ "file_path": "../../etc/shadow" })),
        escape("read", json!({ "file_path": marker })),
        escape("read", json!({ "file_path": format!("../../../../../..{marker}") })),
        escape("bash", json!({ "command": format!("ln -s {marker} /workspace/link && cat /workspace/link") })),
        escape("read", json!({ "file_path": "link" })),
        escape("write", json!({ "file_path": format!("../../../..{data}/planted.txt"), "content": "x" })),
        escape("write", json!({ "file_path": "/etc/planted.txt", "content": "x" })),
        escape("glob", json!({ "pattern": "**/*", "path": "/" })),
        escape("grep", json!({ "pattern": "HOST-ONLY-SECRE[T]", "path": "/tmp" })),
        escape("bash", json!({ "command": format!("ln -s {marker} /mnt/session/outputs/leak.txt; echo done") })),
        escape("bash", json!({ "command": "echo $HOME; id -u; cat /proc/1/cmdline | tr '\\0' ' '" })),
    ]);
    let session = engine.scripted_session(json!([turn]), "limited").await;
    engine.say(&session, "try to escape").await;
    let events = engine.wait_idle(&session, 1).await;
    let results = tool_results(&events);
    assert_eq!(results.len(), 16, "{results:#?}");
    for (i, (_, text)) in results.iter().enumerate() {
        assert!(!text.contains("HOST-ONLY-SECRET"), "tool call {i} read a host file: {text}");
        assert!(!text.contains("root:"), "tool call {i} read /etc/shadow: {text}");
        assert!(!text.contains("SQLite format"), "tool call {i} read the engine's database: {text}");
        assert!(!text.contains(".bashrc"), "tool call {i} listed /root: {text}");
    }
    assert!(results[0].0 && results[0].1.contains("No such file"), "{:?}", results[0]);
    assert!(results[4].0 && results[5].0 && results[6].0 && results[9].0, "reads outside the sandbox fail");
    assert!(!engine.data_dir.join("planted.txt").exists(), "a write reached the data directory");
    assert!(!std::path::Path::new("/etc/planted.txt").exists(), "a write reached the host's /etc");
    assert!(!results[12].1.contains(&data), "glob listed the data directory: {}", results[12].1);
    // A symlink in the outputs is not followed: it never becomes a downloadable file.
    let files = engine.get(&format!("/v1/files?scope_id={session}")).await;
    assert_eq!(files["data"].as_array().unwrap().len(), 0, "{files}");
    assert!(results[15].1.starts_with("/workspace\n"), "{:?}", results[15]);
    std::fs::remove_file(host_marker).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limited_networking_means_no_network_and_outputs_become_files() {
    let engine = spawn_engine(config(temp_dir())).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let turn = json!([
        { "tool": "bash", "input": { "command": format!("exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected") } },
        { "tool": "write", "input": { "file_path": "/mnt/session/outputs/answer.md", "content": "# 42\n" } },
        { "tool": "bash", "input": { "command": "yes x | head -c 100000" } },
        { "tool": "bash", "input": { "command": "sleep 5", "timeout_ms": 200 } },
        { "tool": "web_fetch", "input": { "url": "https://example.com" } },
    ]);
    let session = engine.scripted_session(json!([turn]), "limited").await;
    engine.say(&session, "go").await;
    let results = tool_results(&engine.wait_idle(&session, 1).await);
    assert!(results[0].0 && !results[0].1.contains("connected"), "{:?}", results[0]);
    assert!(!results[1].0, "{:?}", results[1]);
    assert!(results[2].1.contains("[output truncated: 70000 more bytes not shown]"), "{}", &results[2].1[29_000..]);
    assert!(results[3].0 && results[3].1.contains("200 ms"), "{:?}", results[3]);
    assert!(results[4].0 && results[4].1.contains("not available in the embedded engine"), "{:?}", results[4]);
    let files = engine.get(&format!("/v1/files?scope_id={session}")).await;
    let file = &files["data"][0];
    assert_eq!((file["filename"].as_str(), file["downloadable"].as_bool()), (Some("answer.md"), Some(true)), "{files}");
    let content = engine
        .request(reqwest::Method::GET, &format!("/v1/files/{}/content", file["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(content, "# 42\n");
}

/// Each abuse ends as a clear tool error and the session goes on. Before the limits (stop 27):
/// `read` of `/dev/zero` grew the tool's memory without end, a large write filled the host's
/// disk, `/tmp` was a tmpfs of half the host's memory, and a busy loop ran until the bash timeout.
/// Before the control groups (stop 28): a fork bomb ran as root, whom `RLIMIT_NPROC` does not
/// stop, until the host had no pids left; and four processes of 200 MiB each passed a 512 MiB
/// limit that only held each of them (`RLIMIT_AS`), not all together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abuse_ends_as_a_tool_error_within_the_limits_and_the_session_goes_on() {
    // Never a fork bomb on a host that cannot stop it.
    if let Err(why) = engine::sandbox::cgroups::Cgroups::detect() {
        panic!("this machine gives the engine no control groups, so its sandbox cannot limit processes: {why}");
    }
    let mut config = config(temp_dir());
    const MIB: u64 = 1024 * 1024;
    config.sandbox_limits = engine::SandboxLimits {
        memory_bytes: 512 * MIB,
        cpu_seconds: 2,
        file_bytes: 64 * MIB,
        open_files: 256,
        tmp_bytes: 8 * MIB,
        processes: 64,
        disk_bytes: 512 * MIB,
        ..engine::SandboxLimits::default()
    };
    let engine = spawn_engine(config).await;
    let bash = |command: &str| json!({ "tool": "bash", "input": { "command": command, "timeout_ms": 60_000 } });
    let turn = json!([
        { "tool": "read", "input": { "file_path": "/dev/zero" } },
        bash("ln -s /dev/zero zeros && echo linked"),
        { "tool": "read", "input": { "file_path": "zeros" } },
        { "tool": "edit", "input": { "file_path": "/dev/zero", "old_string": "a", "new_string": "b" } },
        bash("yes 'needle in a haystack' | head -c 48M > big.txt; ls -l big.txt | cut -d' ' -f5"),
        { "tool": "grep", "input": { "pattern": "needle" } },
        { "tool": "read", "input": { "file_path": "big.txt", "view_range": [1, 2] } },
        bash("head -c 10G /dev/zero > ten-gb.bin"),
        bash("head -c 20M /dev/zero > /tmp/fill"),
        bash("python3 -c 'bytearray(1 << 30)'"),
        bash("while :; do :; done"),
        bash(":(){ :|:& };:; sleep 3"),
        bash("for i in 1 2 3 4; do python3 -c 'b = bytearray(200 << 20); import time; time.sleep(3)' & done; wait; echo waited"),
        bash("echo still here"),
        bash("stat -c %s ten-gb.bin"),
        bash("mkfifo pipe && echo made"),
        { "tool": "read", "input": { "file_path": "pipe" } },
    ]);
    let session = engine.scripted_session(json!([turn]), "limited").await;
    let host_before = host_files(&engine.data_dir, &session);
    engine.say(&session, "misbehave").await;
    let results = tool_results(&engine.wait_idle(&session, 1).await);
    assert_eq!(results.len(), 17, "{results:#?}");
    let failed = |i: usize, words: &str| {
        assert!(results[i].0, "call {i} should fail: {:?}", results[i]);
        assert!(results[i].1.contains(words), "call {i} should say {words:?}: {:?}", results[i]);
    };
    failed(0, "is not a regular file");
    failed(2, "is not a regular file");
    failed(3, "is not a regular file");
    assert_eq!(results[4].1.trim(), (48 * MIB).to_string(), "{:?}", results[4]);
    // A 48 MiB file is searched in its first 10 MiB; the answer stays within the output cap and
    // still says that the file was searched in part (a note that the cap used to cut off).
    assert!(!results[5].0, "{:?}", &results[5].1[..200]);
    assert!(results[5].1.contains("more bytes not shown]"), "{}", &results[5].1[29_000..]);
    assert!(results[5].1.contains("[searched only the first 10485760 bytes of: /workspace/big.txt]"));
    assert!(results[5].1.len() <= 30_000, "{}", results[5].1.len());
    assert!(results[6].1.contains("needle in a haystack"), "{:?}", results[6]);
    assert!(results[6].1.contains("read shows its first 10485760"), "{:?}", results[6]);
    failed(7, "File size limit exceeded");
    failed(7, "limit of 64 MiB per file");
    let written: u64 = results[14].1.trim().parse().unwrap_or_else(|_| panic!("{:?}", results[14]));
    assert!(written <= 64 * MIB, "the write stopped at the file size limit: {written}");
    failed(8, "No space left on device");
    failed(9, "MemoryError");
    // Stopped at 2 s of CPU, long before the 60 s timeout.
    failed(10, "CPU time limit of 2 s");
    failed(11, "were refused: the sandbox runs at most 64 processes at once");
    failed(12, "killed at the sandbox's memory limit of 512 MiB");
    assert_eq!(results[13], (false, "still here\n".to_owned()));
    // A named pipe is refused at once: opening it used to wait for a writer until the timeout.
    assert_eq!(results[15], (false, "made\n".to_owned()));
    failed(16, "is not a regular file");
    // The engine still serves.
    let status = engine.get(&format!("/v1/sessions/{session}")).await;
    assert_eq!(status["status"], "idle", "{status}");
    // Nothing outside the session's own disk and folder changed: not the engine's other files,
    // not the host's /tmp (the sandbox's is its own).
    assert_eq!(host_files(&engine.data_dir, &session), host_before, "files outside the session changed");
    assert!(!std::path::Path::new("/tmp/fill").exists(), "the sandbox's /tmp is the host's");
}

/// Every file under `data` with its size, but the engine's database (which the turn writes) and
/// what belongs to `session` (its disk image and folder).
fn host_files(data: &std::path::Path, session: &str) -> std::collections::BTreeMap<String, u64> {
    walkdir::WalkDir::new(data)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| (entry.path().strip_prefix(data).unwrap().display().to_string(), entry))
        .filter(|(path, _)| !path.contains(session) && !path.starts_with("engine.db"))
        .map(|(path, entry)| (path, entry.metadata().map(|m| m.len()).unwrap_or(0)))
        .collect()
}

/// The host's mount table, to show that no session disk is mounted there.
fn host_mounts() -> String {
    std::fs::read_to_string("/proc/self/mountinfo").unwrap()
}

/// A session's files live on a disk of its own. Filling it ends as a tool error that names the
/// limit, the session goes on, the host's folder and mount table get none of it, and deleting the
/// session deletes the disk. Before stop 29 a session's workspace was a folder on the host's disk,
/// held only by the size of one file (`RLIMIT_FSIZE`): a call writing many files, or many calls,
/// could fill the host's disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_fills_only_a_disk_of_its_own() {
    // SAFETY: geteuid only reads the process's user id.
    if unsafe { libc::geteuid() } != 0 {
        panic!("session disks are loop-mounted images and need root, as CI has");
    }
    const MIB: u64 = 1024 * 1024;
    let mut config = config(temp_dir());
    config.sandbox_limits.disk_bytes = 64 * MIB;
    let engine = spawn_engine(config).await;
    let data = engine.data_dir.display().to_string();
    let bash = |command: &str| json!({ "tool": "bash", "input": { "command": command } });
    let turn = json!([
        bash("df -k /workspace | tail -1 | awk '{print $2}'"),
        bash("head -c 100M /dev/zero > fill.bin"),
        bash("rm fill.bin && echo freed"),
        bash("echo kept > /mnt/session/outputs/kept.txt && echo wrote"),
        bash("echo still here"),
    ]);
    let session = engine.scripted_session(json!([turn]), "limited").await;
    engine.say(&session, "fill the disk").await;
    let results = tool_results(&engine.wait_idle(&session, 1).await);
    assert_eq!(results.len(), 5, "{results:#?}");
    let size_kib: u64 = results[0].1.trim().parse().unwrap_or_else(|_| panic!("{:?}", results[0]));
    assert!((48 * 1024..=64 * 1024).contains(&size_kib), "the workspace's disk is about 64 MiB: {size_kib} KiB");
    assert!(results[1].0, "{:?}", results[1]);
    assert!(results[1].1.contains("No space left on device"), "{:?}", results[1]);
    assert!(results[1].1.contains("[the session's disk of 64 MiB is full"), "{:?}", results[1]);
    assert_eq!(results[2], (false, "freed\n".to_owned()));
    assert_eq!(results[3], (false, "wrote\n".to_owned()));
    assert_eq!(results[4], (false, "still here\n".to_owned()));

    // The host: an empty folder, no mount, and an image that holds no more than the disk.
    let folder = engine.data_dir.join("sandboxes").join(&session);
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 0, "the host's folder stays empty");
    assert!(!host_mounts().contains(&data), "nothing is mounted in the host's namespace");
    let image = engine.data_dir.join("disks").join(format!("{session}.img"));
    let allocated = std::os::unix::fs::MetadataExt::blocks(&std::fs::metadata(&image).unwrap()) * 512;
    assert!(allocated <= 64 * MIB, "the image holds at most its size: {allocated}");
    // Outputs are still collected from the disk.
    let files = engine.get(&format!("/v1/files?scope_id={session}")).await;
    assert_eq!(files["data"][0]["filename"], "kept.txt", "{files}");

    let (status, _) = engine.call(reqwest::Method::DELETE, &format!("/v1/sessions/{session}"), None).await;
    assert_eq!(status, 200);
    assert!(!image.exists() && !folder.exists(), "deleting the session deletes its disk");
}

/// The loop devices backed by an image under `data` (loop devices are the host's, whatever the
/// namespace that mounted them).
fn loops_of(data: &std::path::Path) -> usize {
    let data = data.display().to_string();
    std::fs::read_dir("/sys/block")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("loop/backing_file")).ok())
        .filter(|backing| backing.contains(&data))
        .count()
}

/// The mounts under `data` in the engine's disks' namespace.
fn mounts_of(engine: &engine::Engine, data: &std::path::Path) -> usize {
    let keeper = engine.disks_keeper().expect("the engine mounts disks here");
    let table = std::fs::read_to_string(format!("/proc/{keeper}/mountinfo")).unwrap();
    table.lines().filter(|line| line.contains(&data.display().to_string())).count()
}

fn root_only() {
    // SAFETY: geteuid only reads the process's user id.
    if unsafe { libc::geteuid() } != 0 {
        panic!("session disks are loop-mounted images and need root, as CI has");
    }
}

/// Archiving a session lets go at once of all it held: its runtime task, its live hub (its open
/// streams end; one opened later stays quiet and makes none), its disk's mount, loop device and
/// image; its outputs stay listed and downloadable. A session archived mid-call is cut short,
/// idle, saying why. Before, archiving kept all of it until the session was deleted or the engine
/// stopped: a soak of 308 sessions held 56 loop devices per 100 archived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archiving_a_session_lets_go_of_its_runtime_hub_and_disk_and_keeps_its_files() {
    root_only();
    let mut config = config(temp_dir());
    config.sandbox_limits.disk_bytes = 64 * 1024 * 1024;
    let test = spawn_engine(config).await;
    let engine = test.engine.clone().unwrap();
    let bash = |command: &str| json!({ "tool": "bash", "input": { "command": command } });
    let turns = json!([[
        bash("echo kept > /mnt/session/outputs/kept.txt && echo wrote"),
        bash("echo in the workspace > note.txt")
    ]]);
    let session = test.scripted_session(turns, "limited").await;
    test.say(&session, "write").await;
    assert_eq!(tool_results(&test.wait_idle(&session, 1).await)[0], (false, "wrote\n".to_owned()));
    let held = engine.held().await;
    assert_eq!((held.runtimes, held.disks_mounted), (1, 1), "{held:?}");
    assert!(held.hubs >= 1, "{held:?}");
    assert_eq!((mounts_of(&engine, &test.data_dir), loops_of(&test.data_dir)), (1, 1));
    let mut open =
        test.request(reqwest::Method::GET, &format!("/v1/sessions/{session}/events/stream")).send().await.unwrap();

    test.post(&format!("/v1/sessions/{session}/archive"), json!({})).await;
    assert_eq!(engine.held().await, engine::Held { runtimes: 0, hubs: 0, disks_mounted: 0 });
    assert_eq!((mounts_of(&engine, &test.data_dir), loops_of(&test.data_dir)), (0, 0), "no mount, no loop device");
    assert!(!test.data_dir.join("disks").join(format!("{session}.img")).exists(), "the image went with it");
    let ended = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Ok(Some(_)) = open.chunk().await {}
    });
    assert!(ended.await.is_ok(), "the stream open on the session ended");
    let files = test.get(&format!("/v1/files?scope_id={session}")).await;
    let file = files["data"][0]["id"].as_str().unwrap().to_owned();
    let content = test.request(reqwest::Method::GET, &format!("/v1/files/{file}/content")).send().await.unwrap();
    assert_eq!(content.text().await.unwrap(), "kept\n", "its outputs stay downloadable");
    // A stream opened now answers and stays quiet, and holds no hub of its own.
    let quiet =
        test.request(reqwest::Method::GET, &format!("/v1/sessions/{session}/events/stream")).send().await.unwrap();
    assert_eq!(quiet.status(), 200);
    assert_eq!(engine.held().await.hubs, 0);
    let (status, refused) = test
        .call(
            reqwest::Method::POST,
            &format!("/v1/sessions/{session}/events"),
            Some(json!({ "events": [{ "type": "user.message", "content": [{ "type": "text", "text": "more" }] }] })),
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(engine.held().await.runtimes, 0, "no runtime starts for an archived session");
    drop(quiet);

    // Archived in the middle of a call: the call is killed, the turn cut short and said so.
    let busy = test.scripted_session(json!([[bash("sleep 60; echo never")]]), "limited").await;
    test.say(&busy, "wait").await;
    let started = std::time::Instant::now();
    loop {
        let events = test.events(&busy).await;
        if events.iter().any(|e| e["type"] == "agent.tool_use") {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "the call never started");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    test.post(&format!("/v1/sessions/{busy}/archive"), json!({})).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "archiving did not wait for the call");
    let events = test.events(&busy).await;
    let last: Vec<&str> = events.iter().rev().take(2).map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(last, ["session.status_idle", "session.error"], "{events:#?}");
    assert!(
        events
            .iter()
            .any(|e| e["error"]["message"].as_str().is_some_and(|m| m.contains("archived while it was running")))
    );
    assert!(!events.iter().any(|e| e["type"] == "agent.tool_result"), "the call never finished");
    let session_body = test.get(&format!("/v1/sessions/{busy}")).await;
    assert_eq!(session_body["status"], "idle");
    assert_eq!(engine.held().await, engine::Held { runtimes: 0, hubs: 0, disks_mounted: 0 });
    assert_eq!((mounts_of(&engine, &test.data_dir), loops_of(&test.data_dir)), (0, 0));
}

/// An idle session's disk is unmounted after the quiet period (its image kept) and mounted again
/// by its next call, its files as they were: idle sessions hold no mount or loop device.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_sessions_disk_is_let_go_and_mounted_again_by_its_next_call() {
    root_only();
    let mut config = config(temp_dir());
    config.sandbox_limits.disk_bytes = 64 * 1024 * 1024;
    config.sandbox_limits.disk_idle_seconds = 1;
    let test = spawn_engine(config).await;
    let engine = test.engine.clone().unwrap();
    let bash = |command: &str| json!([{ "tool": "bash", "input": { "command": command } }]);
    let session = test
        .scripted_session(json!([bash("echo remembered > note.txt && echo ok"), bash("cat note.txt")]), "limited")
        .await;
    test.say(&session, "write").await;
    assert_eq!(tool_results(&test.wait_idle(&session, 1).await), [(false, "ok\n".to_owned())]);
    let parked = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while engine.held().await.disks_mounted > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    });
    assert!(parked.await.is_ok(), "the idle session's disk was never let go");
    assert_eq!((mounts_of(&engine, &test.data_dir), loops_of(&test.data_dir)), (0, 0));
    assert!(test.data_dir.join("disks").join(format!("{session}.img")).exists(), "its image stays");
    assert_eq!(engine.held().await.runtimes, 1, "the session itself stays ready");
    test.say(&session, "read").await;
    let results = tool_results(&test.wait_idle(&session, 2).await);
    assert_eq!(results[1], (false, "remembered\n".to_owned()), "{results:#?}");
}

/// A session's disk outlives the engine's process, and a killed engine leaves nothing mounted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_disk_survives_a_killed_engine_and_leaves_no_mount_behind() {
    let data = temp_dir();
    let (mut process, engine) = start(&data);
    let bash = |command: &str| json!([{ "tool": "bash", "input": { "command": command } }]);
    let turns = json!([bash("echo remembered > note.txt && echo ok"), bash("cat note.txt")]);
    let session = engine.scripted_session(turns, "limited").await;
    engine.say(&session, "write").await;
    let results = tool_results(&engine.wait_idle(&session, 1).await);
    assert_eq!(results, vec![(false, "ok\n".to_owned())]);
    assert!(data.join("engine/disks").join(format!("{session}.img")).exists(), "the session has a disk");
    process.kill();
    assert!(!host_mounts().contains(&data.display().to_string()), "a killed engine leaves no mount behind");

    let (_process, engine) = start(&data);
    engine.say(&session, "read").await;
    let results = tool_results(&engine.wait_idle(&session, 2).await);
    assert_eq!(results[1], (false, "remembered\n".to_owned()), "{results:#?}");
}

/// A multipart upload through the engine's API (a file, or a skill's files).
async fn upload(engine: &support::TestEngine, path: &str, field: &str, name: &str, content: &str) -> serde_json::Value {
    let part = reqwest::multipart::Part::text(content.to_owned()).file_name(name.to_owned());
    let response = engine
        .request(reqwest::Method::POST, path)
        .multipart(reqwest::multipart::Form::new().part(field.to_owned(), part))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "POST {path}");
    response.json().await.unwrap()
}

/// Every file under `dir` with its content: what a test compares before and after.
fn contents(dir: &std::path::Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .filter_map(Result::ok)
        .map(|entry| (entry.path().to_owned(), std::fs::read(entry.path()).unwrap_or_default()))
        .collect()
}

/// An agent plants links where the host works on its behalf: at the packages record (read and
/// written by the engine on the host), at `/workspace/skills` and under a file resource's mount
/// path (where bubblewrap would make mount points, through `/oldroot`, the host's root while it
/// sets up). Absolute and relative targets, the engine's own database among them: nothing outside
/// the session's folder is made, changed or read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_the_agent_plants_are_never_followed_by_the_host() {
    let engine = spawn_engine(config(temp_dir())).await;
    let data = engine.data_dir.canonicalize().unwrap();
    let outside = temp_dir().canonicalize().unwrap();
    std::fs::write(outside.join("canary.txt"), "CANARY-OUTSIDE").unwrap();
    std::fs::write(data.join("canary.txt"), "CANARY-IN-DATA").unwrap();
    let outside_before = contents(&outside);
    let database_header = || std::fs::read(data.join("engine.db")).unwrap()[..16].to_vec();
    assert_eq!(database_header(), b"SQLite format 3\0");

    let skill = upload(
        &engine,
        "/v1/skills",
        "files[]",
        "linked/SKILL.md",
        "---\nname: linked\ndescription: A skill.\n---\nHello.\n",
    )
    .await;
    let file = upload(&engine, "/v1/files", "file", "data.txt", "mounted data").await;
    let bash = |command: String| json!({ "tool": "bash", "input": { "command": command } });
    let outside_text = outside.display();
    let record = "/opt/packages/.installed.json";
    let turns = json!([
        [
            bash(format!("ln -sf {outside_text}/planted-absolute {record}")),
            bash("true".to_owned()),
            bash(format!("ln -sf ../../../canary.txt {record}")),
            bash("true".to_owned()),
            bash(format!("ln -sf ../../../engine.db {record}")),
            bash("true".to_owned()),
            bash(format!("ln -sf {outside_text}/canary.txt {record}")),
            bash("true".to_owned()),
            bash(format!(
                "mv /workspace/skills /workspace/skills-before && ln -s /oldroot{outside_text} /workspace/skills"
            )),
            bash("ls /workspace/skills; true".to_owned()),
            bash(format!("ln -s /oldroot{outside_text} /workspace/added && ln -s ../../../../.. /workspace/relative")),
        ],
        [bash("cat /workspace/data/data.txt; cat /workspace/added/data.txt /workspace/relative/data.txt".to_owned())],
    ]);
    let agent = engine
        .post(
            "/v1/agents",
            json!({ "name": "planter", "model": "scripted", "system": json!({ "turns": turns }).to_string(),
                    "tools": [{ "type": "agent_toolset_20260401" }],
                    "skills": [{ "type": "custom", "skill_id": skill["id"], "version": "latest" }] }),
        )
        .await;
    let environment = engine
        .post(
            "/v1/environments",
            json!({ "name": "planted", "config": { "type": "cloud", "networking": { "type": "limited", "allow_package_managers": true },
                    "packages": { "apt": ["cowsay"] } } }),
        )
        .await;
    let session = engine
        .post(
            "/v1/sessions",
            json!({ "agent": agent["id"], "environment_id": environment["id"],
                    "resources": [{ "type": "file", "file_id": file["id"], "mount_path": "/workspace/data/data.txt" }] }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    engine.say(&session, "plant").await;
    engine.wait_idle(&session, 1).await;
    // A resource added after the links were planted: mounted beneath them, it would be made outside.
    for mount_path in ["/workspace/added/data.txt", "/workspace/relative/data.txt"] {
        engine
            .post(
                &format!("/v1/sessions/{session}/resources"),
                json!({ "type": "file", "file_id": file["id"], "mount_path": mount_path }),
            )
            .await;
    }
    engine.say(&session, "use them").await;
    let events = engine.wait_idle(&session, 2).await;
    let results = tool_results(&events);
    assert_eq!(results.len(), 12, "{results:#?}");

    for (i, (_, text)) in results.iter().enumerate() {
        assert!(!text.contains("CANARY"), "tool call {i} read a canary through a link: {text}");
    }
    for event in &events {
        assert!(!event.to_string().contains("CANARY"), "a canary's content in an event: {event}");
    }
    assert_eq!(contents(&outside), outside_before, "a file outside the data directory was made or changed");
    assert_eq!(std::fs::read_to_string(data.join("canary.txt")).unwrap(), "CANARY-IN-DATA");
    assert_eq!(database_header(), b"SQLite format 3\0", "the engine's database was written through a link");
    // The engine goes on: its database answers.
    assert_eq!(engine.get(&format!("/v1/sessions/{session}")).await["id"], session.as_str());
    // The skill's and the added files' mounts were refused in words, not made through the links.
    let refused = |text: &str, path: &str| text.contains(&format!("[{path} is not mounted in this call"));
    assert!(refused(&results[9].1, "/workspace/skills/linked"), "{:?}", results[9]);
    assert!(refused(&results[11].1, "/workspace/added/data.txt"), "{:?}", results[11]);
    assert!(refused(&results[11].1, "/workspace/relative/data.txt"), "{:?}", results[11]);
    // The file mounted where no link was is there as ever.
    assert!(results[11].1.contains("mounted data"), "{:?}", results[11]);
    std::fs::remove_dir_all(outside).unwrap();
}
