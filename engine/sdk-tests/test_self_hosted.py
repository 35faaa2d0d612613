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
import subprocess
import sys
import threading
import time
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

    def __init__(self, hosted: SelfHosted, workdir: Path):
        client = anthropic.AsyncAnthropic(base_url=hosted.engine.url, api_key=hosted.engine.key, max_retries=2)
        self.worker = EnvironmentWorker(
            client,
            environment_id=hosted.environment.id,
            environment_key=hosted.key,
            workdir=workdir,
            max_idle=1.0,
            memory_sync_interval=None,
            worker_id="sdk-tests-worker",
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
