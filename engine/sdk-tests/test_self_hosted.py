"""Self-hosted environments: the engine's work queue driven by the official SDK's own worker.

The SDK's `EnvironmentWorker` (anthropic 2.11.0, `lib/environments/_worker.py`) polls the engine,
acks, heartbeats, follows the session's stream, runs each `agent.tool_use` with the SDK's own
toolset in a folder of this test and posts `user.tool_result`, then force-stops the item: the
session must play to its end. The queue's endpoints are also called one by one, each answer read
strictly as the SDK's type, for what the worker's happy path does not show: the 412 of a stale
heartbeat, a lease that runs out and goes to another worker, who may call what.

The engine here is one of this module's own, with a 3-second lease, so that a lease runs out
within a test; its data directory is known, so that `environment-key` can issue keys for it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import anthropic
import pytest
from anthropic.lib.environments import EnvironmentWorker
from anthropic.types.beta.beta_environment import BetaEnvironment
from anthropic.types.beta.beta_managed_agents_agent import BetaManagedAgentsAgent
from anthropic.types.beta.beta_managed_agents_session import BetaManagedAgentsSession
from anthropic.types.beta.environments.beta_heartbeat_precondition_failed_error_details import (
    BetaHeartbeatPreconditionFailedErrorDetails,
)
from anthropic.types.beta.environments.beta_self_hosted_work import BetaSelfHostedWork
from anthropic.types.beta.environments.beta_self_hosted_work_heartbeat_response import (
    BetaSelfHostedWorkHeartbeatResponse,
)
from anthropic.types.beta.environments.beta_self_hosted_work_queue_stats import BetaSelfHostedWorkQueueStats

import sdk_strict as sx
from conftest import DEFAULT_BIN, Engine, running_engine

LEASE_SECONDS = 3


class SelfHosted:
    def __init__(self, engine: Engine, data_dir: Path, environment: BetaEnvironment, key: str):
        self.engine = engine
        self.client = engine.client()
        self.environment = environment
        self.key = key
        # The worker's credentials go as Authorization: Bearer, as the SDK's worker sends them.
        self.worker_client = engine.client(api_key=None, auth_token=key)
        self.data_dir = data_dir

    def token_client(self, item: BetaSelfHostedWork) -> anthropic.Anthropic:
        return self.engine.client(api_key=None, auth_token=sessions_token(item))


def sessions_token(item: BetaSelfHostedWork) -> str:
    assert item.secret, "poll handed out an item without its secret"
    padded = item.secret + "=" * (-len(item.secret) % 4)
    return json.loads(base64.urlsafe_b64decode(padded))["sessions_token"]


def issue_key(data_dir: Path, environment_id: str) -> str:
    binary = Path(os.environ.get("SWITCHBOARD_ENGINE_BIN", str(DEFAULT_BIN)))
    done = subprocess.run(
        [str(binary), "environment-key", environment_id],
        env={**os.environ, "SWITCHBOARD_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip()
    assert key and "\n" not in key, f"environment-key printed more than the key: {done.stdout!r}"
    return key


@pytest.fixture(scope="module")
def hosted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SelfHosted]:
    data_dir = tmp_path_factory.mktemp("self-hosted-engine")
    with running_engine(data_dir, {"SWITCHBOARD_ENGINE_WORK_LEASE_SECONDS": str(LEASE_SECONDS)}) as engine:
        client = engine.client()
        environment = sx.call(
            client.beta.environments.with_raw_response.create,
            BetaEnvironment,
            name=sx.unique("sdk-tests-self-hosted"),
            config={"type": "self_hosted"},
        )
        yield SelfHosted(engine, data_dir, environment, issue_key(data_dir, environment.id))


def make_session(hosted: SelfHosted, turns: list[list[dict[str, Any]]], policy: str = "always_allow"):
    agent = sx.call(
        hosted.client.beta.agents.with_raw_response.create,
        BetaManagedAgentsAgent,
        name=sx.unique("sdk-tests-self-hosted-agent"),
        model="scripted",
        system=sx.script(*turns),
        tools=[sx.toolset(policy)],
    )
    return sx.call(
        hosted.client.beta.sessions.with_raw_response.create,
        BetaManagedAgentsSession,
        agent=agent.id,
        environment_id=hosted.environment.id,
    )


def poll(hosted: SelfHosted, worker_id: str) -> BetaSelfHostedWork | None:
    raw = hosted.worker_client.beta.environments.work.with_raw_response.poll(
        hosted.environment.id, block_ms=999, anthropic_worker_id=worker_id
    )
    if raw.text() == "null":
        return None
    return sx.strict(BetaSelfHostedWork, raw.text())


def poll_for(hosted: SelfHosted, session_id: str, worker_id: str, timeout: float = 10) -> BetaSelfHostedWork:
    """Polls until the item of `session_id` comes; items of other sessions are force-stopped."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = poll(hosted, worker_id)
        if item is None:
            continue
        if item.data.id == session_id:
            return item
        hosted.client.beta.environments.work.stop(item.id, environment_id=hosted.environment.id, force=True)
    pytest.fail(f"no work item for {session_id} within {timeout} s")


class WorkerThread:
    """The SDK's EnvironmentWorker running in a thread of its own, until stopped."""

    def __init__(self, hosted: SelfHosted, workdir: Path, **options: Any):
        client = anthropic.AsyncAnthropic(base_url=hosted.engine.url, api_key=hosted.engine.key, max_retries=2)
        self.worker = EnvironmentWorker(
            client,
            **{
                "environment_id": hosted.environment.id,
                "environment_key": hosted.key,
                "workdir": workdir,
                "max_idle": 1.0,
                "memory_sync_interval": None,
                "worker_id": "sdk-tests-worker",
                **options,
            },
        )
        self.loop = asyncio.new_event_loop()
        self.task = self.loop.create_task(self.worker.run())
        self.error: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.loop.run_until_complete(self.task)
        except asyncio.CancelledError:
            pass
        except BaseException as error:  # reported by stop()
            self.error.append(error)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(30)
        assert not self.thread.is_alive(), "the SDK's worker did not stop when cancelled"
        assert not self.error, f"the SDK's worker failed: {self.error[0]!r}"


def test_the_sdks_worker_runs_a_self_hosted_session_to_its_end(hosted: SelfHosted, tmp_path: Path):
    turns = [
        [
            {"tool": "bash", "input": {"command": "echo worker-$((40+2))"}},
            {"tool": "write", "input": {"file_path": "note.txt", "content": "from the worker"}},
            {"text": "done"},
        ]
    ]
    session = make_session(hosted, turns)
    stats = sx.call(
        hosted.client.beta.environments.work.with_raw_response.stats,
        BetaSelfHostedWorkQueueStats,
        hosted.environment.id,
    )
    assert stats.depth >= 1 and stats.oldest_queued_at, "a new self-hosted session queued no work"
    stream = sx.EventStream(hosted.client, session.id)
    worker = WorkerThread(hosted, tmp_path)
    try:
        sx.send(hosted.client, session.id, sx.user_message("go"))
        i, idle = stream.wait(
            lambda e: e.type == "session.status_idle" and e.stop_reason.type == "end_turn",
            "the session's turn to end",
            timeout=60,
        )
        events = stream.snapshot()[: i + 1]
        uses = [e for e in events if e.type == "agent.tool_use"]
        results = [e for e in events if e.type == "user.tool_result"]
        assert [u.name for u in uses] == ["bash", "write"], stream.summary()
        assert [r.tool_use_id for r in results] == [u.id for u in uses], "each call got exactly one result"
        assert not any(e.type == "agent.tool_result" for e in events), "the engine ran a tool a worker should have"
        assert "worker-42" in sx.text_of(results[0]) and not results[0].is_error
        assert (tmp_path / "note.txt").read_text() == "from the worker", "the write ran in the worker's folder"
        stream.assert_clean()
        # Idle for max_idle, the worker force-stops its item; the environment key lists it.
        def stopped() -> bool:
            page = sx.call_page(
                hosted.worker_client.beta.environments.work.with_raw_response.list,
                BetaSelfHostedWork,
                hosted.environment.id,
            )
            mine = [w for w in page.data if w.data.id == session.id]
            return bool(mine) and all(w.state == "stopped" for w in mine)

        sx.wait_until(stopped, 20, "the worker to stop its item once the session was idle")
    finally:
        worker.stop()
        stream.close()


def test_a_stale_heartbeat_is_412_and_a_lost_lease_goes_to_another_worker(hosted: SelfHosted):
    session = make_session(hosted, [[{"text": "hello"}]])
    work = hosted.worker_client.beta.environments.work
    item = poll_for(hosted, session.id, "worker-a")
    assert item.state == "queued" and item.data.type == "session"
    acked = sx.call(work.with_raw_response.ack, BetaSelfHostedWork, item.id, environment_id=hosted.environment.id)
    assert acked.state == "starting" and acked.acknowledged_at and acked.secret is None
    mine = hosted.token_client(item).beta.environments.work
    beat = sx.call(
        mine.with_raw_response.heartbeat,
        BetaSelfHostedWorkHeartbeatResponse,
        item.id,
        environment_id=hosted.environment.id,
        expected_last_heartbeat="NO_HEARTBEAT",
    )
    assert beat.lease_extended and beat.state == "active" and beat.ttl_seconds == LEASE_SECONDS
    def refused_beat(expected: str) -> dict[str, Any]:
        """A heartbeat with `expected` that must be the 412; its error body."""
        _, body = sx.expect_error(
            anthropic.APIStatusError,
            412,
            {"invalid_request_error"},
            mine.heartbeat,
            item.id,
            environment_id=hosted.environment.id,
            expected_last_heartbeat=expected,
        )
        return body

    body = refused_beat("2020-01-01T00:00:00.000000Z")
    details = sx.strict(BetaHeartbeatPreconditionFailedErrorDetails, json.dumps(body["error"]["details"]))
    assert details.current_state.state == "active" and details.current_state.last_heartbeat == beat.last_heartbeat

    # No beat for longer than the lease: the item goes back to the queue, and to another worker.
    time.sleep(LEASE_SECONDS + 0.5)
    again = poll_for(hosted, session.id, "worker-b")
    assert again.id == item.id and again.state == "queued"
    assert sessions_token(again) != sessions_token(item), "the new holder got a token of its own"
    refused_beat(beat.last_heartbeat)
    stopped = sx.call(
        hosted.client.beta.environments.work.with_raw_response.stop,
        BetaSelfHostedWork,
        item.id,
        environment_id=hosted.environment.id,
        force=True,
    )
    assert stopped.state == "stopped" and stopped.stopped_at
    error, _ = sx.expect_error(
        anthropic.ConflictError,
        409,
        {"conflict_error"},
        hosted.client.beta.environments.work.stop,
        item.id,
        environment_id=hosted.environment.id,
        force=True,
    )
    assert error.response.headers.get("x-should-retry") == "false"
    # A stopped item's token reaches nothing any more.
    sx.expect_error(
        anthropic.AuthenticationError,
        401,
        {"authentication_error"},
        hosted.token_client(again).beta.sessions.retrieve,
        session.id,
    )


def test_each_credential_reaches_only_what_the_api_lets_it(hosted: SelfHosted):
    session = make_session(hosted, [[{"text": "hello"}]])
    other = make_session(hosted, [[{"text": "hello"}]])
    env_id = hosted.environment.id
    api_work = hosted.client.beta.environments.work
    # Listing and polling take the environment key, not the API key.
    sx.expect_error(anthropic.PermissionDeniedError, 403, {"permission_error"}, api_work.list, env_id)
    sx.expect_error(anthropic.PermissionDeniedError, 403, {"permission_error"}, api_work.poll, env_id)
    # block_ms 0 is refused; the poll answers JSON null when the queue is empty (the SDK's None).
    sx.expect_error(
        anthropic.BadRequestError, 400, {"invalid_request_error"}, hosted.worker_client.beta.environments.work.poll,
        env_id, block_ms=0,
    )
    item = poll_for(hosted, session.id, "worker-c")
    # The environment key reaches no other resource; retrieving an item takes the API key.
    sx.expect_error(
        anthropic.PermissionDeniedError, 403, {"permission_error"}, hosted.worker_client.beta.agents.list
    )
    sx.expect_error(
        anthropic.PermissionDeniedError,
        403,
        {"permission_error"},
        hosted.worker_client.beta.environments.work.retrieve,
        item.id,
        environment_id=env_id,
    )
    fetched = sx.call(api_work.with_raw_response.retrieve, BetaSelfHostedWork, item.id, environment_id=env_id)
    assert fetched.secret is None, "only poll shows an item's secret"
    # The sessions token reaches its own session and nothing else.
    token = hosted.token_client(item)
    sx.call(token.beta.sessions.with_raw_response.retrieve, BetaManagedAgentsSession, session.id)
    sx.expect_error(anthropic.PermissionDeniedError, 403, {"permission_error"}, token.beta.sessions.retrieve, other.id)
    sx.expect_error(anthropic.PermissionDeniedError, 403, {"permission_error"}, token.beta.sessions.delete, session.id)
    updated = sx.call(
        api_work.with_raw_response.update,
        BetaSelfHostedWork,
        item.id,
        environment_id=env_id,
        metadata={"rack": "b7"},
    )
    assert updated.metadata == {"rack": "b7"}
    # A cloud environment has no queue and no keys.
    cloud = sx.call(
        hosted.client.beta.environments.with_raw_response.create,
        BetaEnvironment,
        name=sx.unique("sdk-tests-cloud"),
        config={"type": "cloud"},
    )
    sx.expect_error(anthropic.BadRequestError, 400, {"invalid_request_error"}, api_work.stats, cloud.id)
    binary = Path(os.environ.get("SWITCHBOARD_ENGINE_BIN", str(DEFAULT_BIN)))
    refused = subprocess.run(
        [str(binary), "environment-key", cloud.id],
        env={**os.environ, "SWITCHBOARD_DATA_DIR": str(hosted.data_dir)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode != 0 and not refused.stdout and "cloud environment" in refused.stderr
    for done in (session, other):
        hosted.client.beta.sessions.archive(done.id)


# --------------------------------------------------------------------------------------------
# `switchboard worker` (here the engine binary's `worker` command, the same code)

SCENARIO = [
    [
        {"tool": "bash", "input": {"command": "echo worker-$((40+2))"}},
        {"tool": "write", "input": {"file_path": "note.txt", "content": "from the worker"}},
        {"text": "done"},
    ]
]


class WorkerProcess:
    """A `worker` process serving the module's environment, its log in `log_path`."""

    def __init__(
        self, hosted: SelfHosted, workdir: Path, name: str, concurrency: int = 4, extra: tuple[str, ...] = ()
    ):
        binary = Path(os.environ.get("SWITCHBOARD_ENGINE_BIN", str(DEFAULT_BIN)))
        self.name = name
        self.log_path = workdir.parent / f"{name}.log"
        self.log = open(self.log_path, "w")
        # The key goes in the environment, never on the command line.
        env = {**os.environ, "ANTHROPIC_ENVIRONMENT_KEY": hosted.key, "RUST_LOG": "warn,engine=info"}
        self.process = subprocess.Popen(
            [
                str(binary), "worker", "--environment", hosted.environment.id, "--base-url", hosted.engine.url,
                "--workdir", str(workdir), "--concurrency", str(concurrency), "--max-idle", "1",
                "--worker-id", name, *extra,
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def text(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()


def played(hosted: SelfHosted, session_id: str, timeout: float) -> list[Any]:
    """The session's events up to its first `end_turn`, once it has one."""

    def ended() -> list[Any] | None:
        events, _ = sx.walk_pages(
            hosted.client.beta.sessions.events.with_raw_response.list, sx.SESSION_EVENT, session_id
        )
        for i, event in enumerate(events):
            if event.type == "session.status_idle" and event.stop_reason.type == "end_turn":
                return events[: i + 1]
        return None

    return sx.wait_until(ended, timeout, f"session {session_id} to end its turn", interval=0.25)


def shape(events: list[Any]) -> tuple[list[str], list[int]]:
    """What a worker's run shows, timing aside: the agent's and clients' events in order, and for
    each result the index of the call it answers."""
    kinds = [e.type for e in events if e.type.startswith(("agent.", "user."))]
    uses = [e.id for e in events if e.type == "agent.tool_use"]
    answers = [uses.index(e.tool_use_id) for e in events if e.type == "user.tool_result"]
    return kinds, answers


def test_our_worker_and_the_sdks_send_the_same_events(hosted: SelfHosted, tmp_path: Path):
    sdk_session = make_session(hosted, SCENARIO)
    (tmp_path / "sdk").mkdir()
    sdk = WorkerThread(hosted, tmp_path / "sdk")
    try:
        sx.send(hosted.client, sdk_session.id, sx.user_message("go"))
        by_sdk = played(hosted, sdk_session.id, 60)
    finally:
        sdk.stop()
    our_session = make_session(hosted, SCENARIO)
    ours = WorkerProcess(hosted, tmp_path / "ours", "ours")
    try:
        sx.send(hosted.client, our_session.id, sx.user_message("go"))
        by_us = played(hosted, our_session.id, 60)
    finally:
        ours.stop()
    assert shape(by_us) == shape(by_sdk), (shape(by_us), shape(by_sdk))
    assert shape(by_us)[1] == [0, 1], "each call answered once, in order"
    results = [e for e in by_us if e.type == "user.tool_result"]
    assert "worker-42" in sx.text_of(results[0]) and not results[0].is_error
    assert "Wrote 15 bytes" in sx.text_of(results[1]) and not results[1].is_error
    assert ours.process.returncode == 0, ours.text()
    # The worker's sandbox wrote in the session's own folder.
    assert (tmp_path / "ours" / our_session.id / "workspace" / "note.txt").read_text() == "from the worker"


def test_three_workers_share_thirty_sessions_through_a_kill_and_a_stop(hosted: SelfHosted, tmp_path: Path):
    turns = [[{"tool": "bash", "input": {"command": "sleep 3; echo slow-$((6*7))"}}, {"text": "done"}]]
    sessions = [make_session(hosted, turns) for _ in range(30)]
    workers = [WorkerProcess(hosted, tmp_path / name, name, concurrency=c) for name, c in
               [("killed", 4), ("stopped", 4), ("survivor", 10)]]
    killed, stopped, survivor = workers
    try:
        for session in sessions:
            sx.send(hosted.client, session.id, sx.user_message("go"))
        # Both to be stopped are running calls: a SIGKILL mid-call, a SIGTERM mid-call.
        for worker in (killed, stopped):
            sx.wait_until(lambda w=worker: "running a tool call" in w.text(), 30, f"{worker.name} to run a call")
        time.sleep(1)
        killed.process.kill()
        stopped.process.terminate()
        assert stopped.process.wait(20) == 0, stopped.text()
        assert "handed the item back" in stopped.text(), stopped.text()
        results: dict[str, int] = {}
        for session in sessions:
            events = played(hosted, session.id, 90)
            uses = [e.id for e in events if e.type == "agent.tool_use"]
            assert len(uses) == 1, [e.type for e in events]
            for e in events:
                if e.type == "user.tool_result":
                    results[e.tool_use_id] = results.get(e.tool_use_id, 0) + 1
                    assert "slow-42" in sx.text_of(e) and not e.is_error
            assert results.get(uses[0]) == 1, f"call {uses[0]} of {session.id} got {results.get(uses[0])} results"
        # What the killed worker held was finished by another, after its lease ran out.
        taken = [s.id for s in sessions if s.id in killed.text()]
        assert taken, killed.text()
        for session_id in taken:
            assert session_id in survivor.text() or session_id in stopped.text(), f"no one finished {session_id}"
    finally:
        for worker in workers:
            worker.stop()


def test_our_worker_gives_an_item_up_on_a_412_and_does_not_stop_it(hosted: SelfHosted, tmp_path: Path):
    """A worker frozen past its lease comes back to a 412: another holds the item, so it lets go of
    it without stopping it (the new holder's item stays active)."""
    turns = [[{"tool": "bash", "input": {"command": "sleep 2; echo late"}}, {"text": "done"}]]
    session = make_session(hosted, turns)
    worker = WorkerProcess(hosted, tmp_path / "frozen", "frozen")
    try:
        sx.send(hosted.client, session.id, sx.user_message("go"))
        sx.wait_until(lambda: "took an item" in worker.text(), 20, "the worker to take the item")
        worker.process.send_signal(signal.SIGSTOP)
        time.sleep(LEASE_SECONDS + 0.5)
        # The lease ran out: another worker (this test) takes the item and holds its lease.
        item = poll_for(hosted, session.id, "thief")
        work = hosted.worker_client.beta.environments.work
        work.ack(item.id, environment_id=hosted.environment.id)
        thief = hosted.token_client(item).beta.environments.work
        thief.heartbeat(item.id, environment_id=hosted.environment.id, expected_last_heartbeat="NO_HEARTBEAT")
        worker.process.send_signal(signal.SIGCONT)
        sx.wait_until(lambda: "lease lost" in worker.text(), 20, "the worker to see its lease was lost")
        held = hosted.client.beta.environments.work.retrieve(item.id, environment_id=hosted.environment.id)
        assert held.state == "active", f"the worker stopped an item it no longer held: {held.state}"
        hosted.client.beta.environments.work.stop(item.id, environment_id=hosted.environment.id, force=True)
    finally:
        worker.process.send_signal(signal.SIGCONT)
        worker.stop()


ON_WORK_SCRIPT = """
import asyncio, os
import anthropic
from anthropic.lib.environments import EnvironmentWorker

async def main():
    # Everything it needs comes from the variables `--on-work` sets; the key is never an argument.
    client = anthropic.AsyncAnthropic(base_url=os.environ["ANTHROPIC_BASE_URL"], api_key="not-used")
    worker = EnvironmentWorker(client, workdir=os.environ["WORKDIR"], max_idle=1.0, memory_sync_interval=None)
    await worker.handle_item()

asyncio.run(main())
"""


def test_on_work_hands_each_item_to_a_script_using_the_sdks_handle_item(hosted: SelfHosted, tmp_path: Path):
    script = tmp_path / "serve_item.py"
    script.write_text(ON_WORK_SCRIPT)
    (tmp_path / "items").mkdir()
    session = make_session(hosted, SCENARIO)
    command = f"WORKDIR={tmp_path / 'items'} {sys.executable} {script}"
    worker = WorkerProcess(hosted, tmp_path / "on-work", "on-work", extra=("--on-work", command))
    try:
        sx.send(hosted.client, session.id, sx.user_message("go"))
        events = played(hosted, session.id, 60)
        kinds, answers = shape(events)
        assert answers == [0, 1], kinds
        results = [e for e in events if e.type == "user.tool_result"]
        assert "worker-42" in sx.text_of(results[0]), "the SDK's toolset ran the call for the script"
        assert (tmp_path / "items" / "note.txt").read_text() == "from the worker"
        sx.wait_until(lambda: "the --on-work command finished" in worker.text(), 30, "the script to finish")
    finally:
        worker.stop()


# --------------------------------------------------------------------------------------------
# Who reaches what: docs/engine.md's route × credential table, every work route with every
# credential, and the session, skill and memory routes a worker's credentials use or must not.

ALLOWED, FORBIDDEN = "allowed", "forbidden"


def raw(engine: Engine, credential: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """One request as a worker sends it (`Authorization: Bearer`), with the beta its family takes;
    a stream is closed once its status is in."""
    headers = {"authorization": f"Bearer {credential}", "anthropic-version": "2023-06-01"}
    if path.startswith("/v1/memory_stores"):
        headers["anthropic-beta"] = "agent-memory-2026-07-22"
    elif not path.startswith("/v1/skills"):
        headers["anthropic-beta"] = "managed-agents-2026-04-01"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    request = urllib.request.Request(engine.url + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            if path.split("?")[0].endswith("stream"):
                return response.status, None
            text = response.read()
            if "json" not in response.headers.get("content-type", ""):
                return response.status, text
            return response.status, json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def check_reach(engine: Engine, rows: list[tuple[str, str, str, Any, str]], credentials: dict[str, str]) -> None:
    """Each row (credential name, method, path, body, ALLOWED or FORBIDDEN): a forbidden request is
    a 403 in the API's error shape; an allowed one reaches what it names (neither a 401, a 403, a
    404 nor a 5xx; it may still be a 400, a 409 or a 412 for what it asks)."""
    wrong = []
    for who, method, path, body, expected in rows:
        status, answer = raw(engine, credentials[who], method, path, body)
        if expected == FORBIDDEN:
            shaped = isinstance(answer, dict) and answer.get("type") == "error" and answer["error"]["type"] == "permission_error"
            if status != 403 or not shaped:
                wrong.append(f"{who} {method} {path}: {status} {answer}, not a 403")
        elif status in (401, 403, 404) or status >= 500:
            wrong.append(f"{who} {method} {path}: {status} {answer}, not allowed")
    assert not wrong, "\n".join(wrong)


def self_hosted_environment(hosted: SelfHosted) -> tuple[BetaEnvironment, str]:
    environment = sx.call(
        hosted.client.beta.environments.with_raw_response.create,
        BetaEnvironment,
        name=sx.unique("sdk-tests-reach"),
        config={"type": "self_hosted"},
    )
    return environment, issue_key(hosted.data_dir, environment.id)


def skill_of(client: anthropic.Anthropic, marker: str) -> tuple[str, str]:
    """A skill whose SKILL.md says `marker`: (its id, its folder's name)."""
    name = sx.unique("reach-skill")
    text = f"---\nname: {name}\ndescription: Says {marker}. Use when asked.\n---\n\n{marker}\n".encode()
    skill = client.skills.create(files=[(f"{name}/SKILL.md", text, "text/markdown")])
    return skill.id, name


class Reach:
    """A self-hosted environment with two sessions, each with a polled item: one session's agent
    runs a skill and has a memory store attached read_only and one read_write. The credentials:
    the API key, the environment's key and another environment's, each item's sessions token."""

    EVERY = ["api", "key", "other key", "token", "other token"]

    def __init__(self, hosted: SelfHosted):
        client = self.client = hosted.client
        self.engine = hosted.engine
        environment, key = self_hosted_environment(hosted)
        _, other_key = self_hosted_environment(hosted)
        self.skill_id, _ = skill_of(client, "reach")
        self.other_skill, _ = skill_of(client, "elsewhere")
        store = lambda: client.beta.memory_stores.create(name=sx.unique("reach-store"))  # noqa: E731
        self.read_only, self.read_write, self.unattached = store(), store(), store()
        self.kept = client.beta.memory_stores.memories.create(self.read_only.id, path="/kept.md", content="shared notes")
        self.mine = client.beta.memory_stores.memories.create(self.read_write.id, path="/mine.md", content="v1")
        agent = client.beta.agents.create(
            name=sx.unique("reach-agent"), model="scripted", system=sx.script([{"text": "hello"}]),
            tools=[sx.toolset()], skills=[{"type": "custom", "skill_id": self.skill_id, "version": "latest"}],
        )
        plain = client.beta.agents.create(
            name=sx.unique("reach-plain"), model="scripted", system=sx.script([{"text": "hello"}]), tools=[sx.toolset()]
        )
        self.agent_id = agent.id
        self.session = client.beta.sessions.create(
            agent=agent.id, environment_id=environment.id,
            resources=[
                {"type": "memory_store", "memory_store_id": self.read_only.id, "access": "read_only"},
                {"type": "memory_store", "memory_store_id": self.read_write.id, "access": "read_write"},
            ],
        )
        self.other = client.beta.sessions.create(agent=plain.id, environment_id=environment.id)
        worker = hosted.engine.client(api_key=None, auth_token=key).beta.environments.work
        items: dict[str, BetaSelfHostedWork] = {}
        for _ in range(2):
            polled = worker.poll(environment.id, block_ms=999)
            assert polled is not None, "both sessions queued an item"
            items[polled.data.id] = polled
        self.item, self.other_item = items[self.session.id], items[self.other.id]
        self.credentials = {
            "api": hosted.engine.key, "key": key, "other key": other_key,
            "token": sessions_token(self.item), "other token": sessions_token(self.other_item),
        }
        self.work = f"/v1/environments/{environment.id}/work"
        self.sessions = f"/v1/sessions/{self.session.id}"

    def row(self, allowed: list[str], method: str, path: str, body: Any = None) -> list[tuple[str, str, str, Any, str]]:
        return [(who, method, path, body, ALLOWED if who in allowed else FORBIDDEN) for who in self.EVERY]

    def workers(self, method: str, path: str, body: Any = None) -> list[tuple[str, str, str, Any, str]]:
        """Refused to every worker's credential (the API key's holder may, and is not asked here:
        it would change what the rows after it read)."""
        return [(who, method, path, body, FORBIDDEN) for who in self.EVERY if who != "api"]

    def check(self, rows: list[tuple[str, str, str, Any, str]]) -> None:
        check_reach(self.engine, rows, self.credentials)

    def close(self) -> None:
        for done in (self.session, self.other):
            self.client.beta.sessions.archive(done.id)


def test_the_queue_answers_each_credential_as_the_table_says(hosted: SelfHosted):
    """Every work route with every credential: a worker's own calls take its environment's key;
    its sessions token heartbeats and stops its own item; the API key reads, labels and stops."""
    reach = Reach(hosted)
    work, item, other_item, row = reach.work, reach.item, reach.other_item, reach.row
    reach.check([
        *row(["key"], "GET", work),
        *row(["key"], "GET", f"{work}/poll?reclaim_older_than_ms=3600000"),
        *row(["api", "key"], "GET", f"{work}/stats"),
        *row(["api"], "GET", f"{work}/{item.id}"),
        *row(["api"], "POST", f"{work}/{item.id}", {"metadata": {"rack": "b7"}}),
        *row(["key"], "POST", f"{work}/{item.id}/ack"),
        *row(["api", "key", "token"], "POST", f"{work}/{item.id}/heartbeat?expected_last_heartbeat=NO_HEARTBEAT"),
        ("other token", "POST", f"{work}/{item.id}/stop", {}, FORBIDDEN),
        ("other key", "POST", f"{work}/{item.id}/stop", {}, FORBIDDEN),
        ("token", "POST", f"{work}/{other_item.id}/stop", {}, FORBIDDEN),
        ("token", "POST", f"{work}/{item.id}/stop", {}, ALLOWED),
        ("key", "POST", f"{work}/{item.id}/stop", {}, ALLOWED),
        ("api", "POST", f"{work}/{item.id}/stop", {"force": True}, ALLOWED),
    ])
    status, _ = raw(hosted.engine, reach.credentials["token"], "GET", reach.sessions)
    assert status == 401, "a stopped item's token reaches nothing"
    reach.close()


def test_a_workers_credentials_read_its_session_and_send_only_tools_results(hosted: SelfHosted):
    """A confirmation, a message or an interrupt comes from a person through the console's
    approvals: from a worker's key or token it is a 403 and nothing reaches the session. Before,
    both sent any event (a sessions token allowed an always_ask call)."""
    reach = Reach(hosted)
    sessions, row, workers = reach.sessions, reach.row, reach.workers
    message = {"events": [sx.user_message("let me in")]}
    confirm = {"events": [{"type": "user.tool_confirmation", "tool_use_id": "sevt_none", "result": "allow"}]}
    interrupt = {"events": [{"type": "user.interrupt"}]}
    outcome = {"events": [{"type": "user.define_outcome", "description": "x", "rubric": {"type": "text", "content": "y"}}]}
    result = {"events": [{"type": "user.tool_result", "tool_use_id": "sevt_none", "content": []}]}
    custom = {"events": [{"type": "user.custom_tool_result", "custom_tool_use_id": "sevt_none", "content": []}]}
    readers = ["api", "key", "token"]
    reach.check([
        *row(readers, "GET", sessions),
        *row(readers, "GET", f"{sessions}/events"),
        *row(readers, "GET", f"{sessions}/events/stream"),
        *row(readers, "GET", f"{sessions}/threads"),
        *row(["api"], "GET", f"{sessions}/resources"),
        *row(["api"], "GET", "/v1/sessions"),
        *workers("POST", f"{sessions}/events", confirm),
        *workers("POST", f"{sessions}/events", interrupt),
        *workers("POST", f"{sessions}/events", outcome),
        *workers("POST", f"{sessions}/events", message),
        *workers("POST", f"{sessions}/events", {"events": [result["events"][0], message["events"][0]]}),
        *row(readers, "POST", f"{sessions}/events", result),
        *row(readers, "POST", f"{sessions}/events", custom),
        *row(["api"], "POST", sessions, {"title": "renamed"}),
        *workers("POST", f"{sessions}/archive"),
        *workers("DELETE", sessions),
        *row(["api"], "GET", f"/v1/agents/{reach.agent_id}"),
    ])
    kinds = [e.type for e in hosted.client.beta.sessions.events.list(reach.session.id)]
    assert not {"user.message", "user.interrupt", "user.tool_confirmation", "user.define_outcome"} & set(kinds), kinds
    reach.close()


def test_a_workers_token_reads_only_the_skills_its_agent_runs(hosted: SelfHosted):
    reach = Reach(hosted)
    version = hosted.client.skills.versions.retrieve("latest", skill_id=reach.skill_id)
    skills = f"/v1/skills/{reach.skill_id}/versions"
    reach.check([
        *reach.row(["api", "token"], "GET", f"{skills}/latest"),
        *reach.row(["api", "token"], "GET", f"{skills}/{version.id}/content"),
        *reach.row(["api"], "GET", f"/v1/skills/{reach.other_skill}/versions/latest"),
        *reach.row(["api"], "GET", "/v1/skills"),
    ])
    reach.close()


def test_a_workers_token_reaches_memory_only_as_its_session_attaches_it(hosted: SelfHosted):
    """The token syncs the memories of the stores attached to its session, as each attachment
    allows; the stores themselves, their history and every other store are the API key's.
    Before, a token of a session with a store attached read_only overwrote, redacted, archived
    and deleted it (the API key then got a 404)."""
    reach = Reach(hosted)
    client, row, workers = hosted.client, reach.row, reach.workers
    ro, rw = f"/v1/memory_stores/{reach.read_only.id}", f"/v1/memory_stores/{reach.read_write.id}"
    kept, mine = reach.kept, reach.mine
    versions = client.beta.memory_stores.memory_versions.list(reach.read_only.id).data
    reach.check([
        *row(["api", "token"], "GET", f"{ro}/memories"),
        *row(["api", "token"], "GET", f"{ro}/memories/{kept.id}"),
        *workers("POST", f"{ro}/memories", {"path": "/planted.md", "content": "x"}),
        *workers("POST", f"{ro}/memories/{kept.id}", {"content": "overwritten"}),
        *workers("DELETE", f"{ro}/memories/{kept.id}"),
        *row(["api", "token"], "GET", f"{rw}/memories"),
        *[(who, "POST", f"{rw}/memories", {"path": "/keyed.md", "content": "x"}, FORBIDDEN) for who in ("key", "other key", "other token")],
        ("token", "POST", f"{rw}/memories", {"path": "/new.md", "content": "from the worker"}, ALLOWED),
        ("token", "POST", f"{rw}/memories/{mine.id}", {"content": "v2"}, ALLOWED),
        ("other token", "POST", f"{rw}/memories/{mine.id}", {"content": "v3"}, FORBIDDEN),
        *row(["api"], "GET", ro),
        *row(["api"], "GET", f"{ro}/memory_versions"),
        *workers("POST", ro, {"name": "renamed"}),
        *workers("POST", f"{ro}/memory_versions/{versions[0].id}/redact"),
        *workers("POST", f"{ro}/archive"),
        *workers("POST", f"{rw}/archive"),
        *workers("DELETE", ro),
        *workers("DELETE", rw),
        *row(["api"], "GET", f"/v1/memory_stores/{reach.unattached.id}/memories"),
        *row(["api"], "GET", "/v1/memory_stores"),
    ])
    written = {m.path: m for m in client.beta.memory_stores.memories.list(reach.read_write.id, view="full")}
    assert written["/new.md"].content == "from the worker" and written["/mine.md"].content == "v2"
    reach.check([("token", "DELETE", f"{rw}/memories/{written['/new.md'].id}", None, ALLOWED)])
    # The shared store is whole: the store, its memory, its history.
    assert client.beta.memory_stores.retrieve(reach.read_only.id).archived_at is None
    assert client.beta.memory_stores.memories.retrieve(kept.id, memory_store_id=reach.read_only.id).content == "shared notes"
    assert [v.redacted_at for v in client.beta.memory_stores.memory_versions.list(reach.read_only.id).data] == [None]
    reach.close()


def keys_of(hosted: SelfHosted, *args: str) -> subprocess.CompletedProcess[str]:
    binary = Path(os.environ.get("SWITCHBOARD_ENGINE_BIN", str(DEFAULT_BIN)))
    return subprocess.run(
        [str(binary), "environment-key", *args],
        env={**os.environ, "SWITCHBOARD_DATA_DIR": str(hosted.data_dir)},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_an_environment_key_is_listed_without_its_value_revoked_and_dies_with_its_environment(hosted: SelfHosted):
    environment, first = self_hosted_environment(hosted)
    second = issue_key(hosted.data_dir, environment.id)
    stats = f"/v1/environments/{environment.id}/work/stats"
    # An item the first key polled: its token dies with the key.
    agent = hosted.client.beta.agents.create(
        name=sx.unique("sdk-tests-revoked"), model="scripted", system=sx.script([{"text": "hi"}]), tools=[sx.toolset()]
    )
    session = hosted.client.beta.sessions.create(agent=agent.id, environment_id=environment.id)
    status, polled = raw(hosted.engine, first, "GET", f"/v1/environments/{environment.id}/work/poll?block_ms=999")
    assert status == 200 and polled["data"]["id"] == session.id, polled
    token = sessions_token(sx.strict(BetaSelfHostedWork, json.dumps(polled)))
    assert raw(hosted.engine, token, "GET", f"/v1/sessions/{session.id}")[0] == 200
    assert raw(hosted.engine, first, "GET", stats)[0] == 200 and raw(hosted.engine, second, "GET", stats)[0] == 200
    listed = keys_of(hosted, "--list", environment.id)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("envkey_") and "\tlive" in line for line in lines), lines
    assert first not in listed.stdout and second not in listed.stdout, "a listed key shows its value"
    assert f"…{first[-4:]}" in lines[0] and "last used" in lines[0], lines[0]
    key_id = lines[0].split("\t")[0]
    revoked = keys_of(hosted, "--revoke", key_id)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout, revoked.stderr
    # At once, on the running engine: the revoked key is unknown, the other still works.
    status, answer = raw(hosted.engine, first, "GET", stats)
    assert status == 401 and answer["error"]["type"] == "authentication_error", answer
    assert raw(hosted.engine, token, "GET", f"/v1/sessions/{session.id}")[0] == 401, "its token went with it"
    assert raw(hosted.engine, second, "GET", stats)[0] == 200
    assert "\trevoked " in keys_of(hosted, "--list", environment.id).stdout.splitlines()[0]
    unknown = keys_of(hosted, "--revoke", "envkey_nosuchkey")
    assert unknown.returncode != 0 and "envkey_nosuchkey" in unknown.stderr
    # Archived, its environment takes every key with it, and every token its keys handed out.
    status, polled = raw(hosted.engine, second, "GET", f"/v1/environments/{environment.id}/work/poll?reclaim_older_than_ms=0")
    assert status == 200 and polled is not None, polled
    token = sessions_token(sx.strict(BetaSelfHostedWork, json.dumps(polled)))
    assert raw(hosted.engine, token, "GET", f"/v1/sessions/{session.id}")[0] == 200
    hosted.client.beta.environments.archive(environment.id)
    assert raw(hosted.engine, token, "GET", f"/v1/sessions/{session.id}")[0] == 401
    hosted.client.beta.sessions.archive(session.id)
    assert raw(hosted.engine, second, "GET", stats)[0] == 401
    assert all("\trevoked " in line for line in keys_of(hosted, "--list", environment.id).stdout.splitlines())
    # Deleted, nothing of its keys is left to list.
    deleted, key = self_hosted_environment(hosted)
    hosted.client.beta.environments.delete(deleted.id)
    assert raw(hosted.engine, key, "GET", f"/v1/environments/{deleted.id}/work/stats")[0] == 401
    gone = keys_of(hosted, "--list", deleted.id)
    assert gone.returncode != 0 and "not found" in gone.stderr.lower()


def test_each_claim_voids_the_last_token_and_the_table_holds_one_per_lease(hosted: SelfHosted):
    environment, key = self_hosted_environment(hosted)
    agent = hosted.client.beta.agents.create(
        name=sx.unique("sdk-tests-claims"), model="scripted", system=sx.script([{"text": "hi"}]), tools=[sx.toolset()]
    )
    session = hosted.client.beta.sessions.create(agent=agent.id, environment_id=environment.id)
    poll_again = f"/v1/environments/{environment.id}/work/poll?reclaim_older_than_ms=0"
    tokens = []
    for _ in range(200):
        status, item = raw(hosted.engine, key, "GET", poll_again)
        assert status == 200 and item is not None and item["data"]["id"] == session.id
        tokens.append(sessions_token(sx.strict(BetaSelfHostedWork, json.dumps(item))))
    session_path = f"/v1/sessions/{session.id}"
    assert raw(hosted.engine, tokens[-1], "GET", session_path)[0] == 200, "the last claim's token works"
    assert [raw(hosted.engine, t, "GET", session_path)[0] for t in (tokens[0], tokens[100], tokens[-2])] == [401] * 3
    database = sqlite3.connect(hosted.data_dir / "engine" / "engine.db")
    try:
        rows = database.execute(
            "SELECT COUNT(*) FROM work_tokens t JOIN work w ON w.id = t.work_id WHERE w.environment_id = ?",
            (environment.id,),
        ).fetchone()[0]
        assert rows == 1, f"{rows} tokens for one lease"
        # A lease that runs out takes its token with it: the item is queued again, with none.
        work = hosted.engine.client(api_key=None, auth_token=key).beta.environments.work
        item = sx.strict(BetaSelfHostedWork, json.dumps(raw(hosted.engine, key, "GET", poll_again)[1]))
        held = sessions_token(item)
        work.ack(item.id, environment_id=environment.id)
        assert raw(hosted.engine, held, "GET", session_path)[0] == 200
        time.sleep(LEASE_SECONDS + 0.5)
        hosted.client.beta.environments.work.stats(environment.id)  # the queue is read: leases are taken back
        assert raw(hosted.engine, held, "GET", session_path)[0] == 401, "a reclaimed item's token is refused"
        left = database.execute(
            "SELECT COUNT(*) FROM work_tokens t JOIN work w ON w.id = t.work_id WHERE w.environment_id = ?",
            (environment.id,),
        ).fetchone()[0]
        assert left == 0, f"{left} tokens of a lease that ran out"
    finally:
        database.close()
    hosted.client.beta.sessions.archive(session.id)


# --------------------------------------------------------------------------------------------
# Both workers serve a session to its end with the narrowed credentials: a skill, a custom tool
# the worker answers, a memory store attached read_write.

def rich_session(hosted: SelfHosted, marker: str, uses_store: bool = True) -> tuple[Any, str, Any]:
    """A session whose agent has a skill and a memory store attached read_write, calls
    `lookup_order`, and (`uses_store`) reads its skill and the store and writes a note into it:
    (session, the store's mount path, the store)."""
    client = hosted.client
    skill_id, skill_dir = skill_of(client, marker)
    name = sx.unique("worker-notes")
    notes = client.beta.memory_stores.create(name=name)
    client.beta.memory_stores.memories.create(notes.id, path="/seen.md", content="seen before")
    mount = f"/mnt/memory/{name}"
    reads = f"cat skills/{skill_dir}/SKILL.md {mount}/seen.md" if uses_store else "echo worker-$((40+2))"
    note = f"{mount}/learned.md" if uses_store else "learned.md"
    turns = [[
        {"tool": "bash", "input": {"command": reads}},
        {"custom_tool": "lookup_order", "input": {"order": "A-17"}},
        {"tool": "write", "input": {"file_path": note, "content": "learned by the worker"}},
        {"text": "done"},
    ]]
    agent = client.beta.agents.create(
        name=sx.unique("sdk-tests-rich"), model="scripted", system=sx.script(*turns),
        tools=[sx.toolset(), sx.CUSTOM_TOOL], skills=[{"type": "custom", "skill_id": skill_id, "version": "latest"}],
    )
    session = client.beta.sessions.create(
        agent=agent.id, environment_id=hosted.environment.id,
        resources=[{"type": "memory_store", "memory_store_id": notes.id, "access": "read_write"}],
    )
    assert session.resources[0].mount_path == mount
    return session, mount, notes


def test_the_sdks_worker_serves_a_skill_a_custom_tool_and_memory_with_its_narrowed_credentials(
    hosted: SelfHosted, tmp_path: Path
):
    from anthropic import beta_tool
    from anthropic.lib.tools.agent_toolset import beta_agent_toolset_20260401

    @beta_tool
    def lookup_order(order: str) -> str:
        """Look up an order by its number."""
        return f"order {order}: shipped"

    session, mount, notes = rich_session(hosted, "skill-marker-7")
    worker = WorkerThread(
        hosted, tmp_path, memory_sync_interval=5.0,
        tools=lambda env: [*beta_agent_toolset_20260401(env), lookup_order],
    )
    try:
        sx.send(hosted.client, session.id, sx.user_message("go"))
        events = played(hosted, session.id, 90)
        results = [e for e in events if e.type in ("user.tool_result", "user.custom_tool_result")]
        assert [e.type for e in results] == ["user.tool_result", "user.custom_tool_result", "user.tool_result"]
        assert not any(r.is_error for r in results), [sx.text_of(r) for r in results]
        assert "skill-marker-7" in sx.text_of(results[0]) and "seen before" in sx.text_of(results[0])
        assert sx.text_of(results[1]) == "order A-17: shipped"

        # When it lets the session go, the worker's last sync writes the note into the store.
        def learned() -> bool:
            return any(m.path == "/learned.md" for m in hosted.client.beta.memory_stores.memories.list(notes.id))

        sx.wait_until(learned, 60, "the worker's memory sync to write the note")
        memory = [m for m in hosted.client.beta.memory_stores.memories.list(notes.id, view="full") if m.path == "/learned.md"]
        assert memory[0].content == "learned by the worker"
    finally:
        worker.stop()
    assert not Path(mount).exists(), "the worker removed the store's folder at its teardown"


def test_our_worker_serves_the_same_session_and_answers_the_custom_tool_with_its_command(
    hosted: SelfHosted, tmp_path: Path
):
    """`switchboard worker` with the narrowed credentials: its sessions token posts a
    `user.tool_result` for each built-in call and a `user.custom_tool_result` for the custom tool
    it has a command for; the session plays to its end. (It mounts neither skills nor memory
    stores: the agent here does not read them.)"""
    session, _, notes = rich_session(hosted, "unused-marker", uses_store=False)
    tool = tmp_path / "lookup_order.py"
    tool.write_text(
        "import json, os, sys\n"
        "order = json.load(sys.stdin)['order']\n"
        "leaked = any(k.startswith('ANTHROPIC_') for k in os.environ)\n"
        "print(f'order {order}: shipped' + (' (and a key leaked)' if leaked else ''))\n"
    )
    worker = WorkerProcess(
        hosted, tmp_path / "ours", "ours-custom", extra=("--custom-tool", f"lookup_order={sys.executable} {tool}")
    )
    try:
        sx.send(hosted.client, session.id, sx.user_message("go"))
        events = played(hosted, session.id, 60)
    finally:
        worker.stop()
    results = [e for e in events if e.type in ("user.tool_result", "user.custom_tool_result")]
    assert [e.type for e in results] == ["user.tool_result", "user.custom_tool_result", "user.tool_result"], worker.text()
    assert not any(r.is_error for r in results), [sx.text_of(r) for r in results]
    assert "worker-42" in sx.text_of(results[0])
    assert sx.text_of(results[1]) == "order A-17: shipped", "the command ran without the worker's key"
    custom = next(e for e in events if e.type == "agent.custom_tool_use")
    assert results[1].custom_tool_use_id == custom.id
    assert [m.path for m in hosted.client.beta.memory_stores.memories.list(notes.id)] == ["/seen.md"]
