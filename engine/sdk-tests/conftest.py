"""Shared fixtures: one engine process per test run, an SDK client for it, and factories.

The engine is started as a subprocess (`switchboard-engine serve --listen 127.0.0.1:0`) with a
fresh data directory and a random key; the URL is taken from the one line it prints on stdout.
Set `SWITCHBOARD_ENGINE_BIN` to test another build of the binary.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import subprocess
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

import anthropic
import pytest
from anthropic.types.beta.beta_environment import BetaEnvironment
from anthropic.types.beta.beta_managed_agents_agent import BetaManagedAgentsAgent
from anthropic.types.beta.beta_managed_agents_session import BetaManagedAgentsSession

import sdk_strict as sx

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BIN = REPO / "target" / "debug" / "switchboard-engine"
READY = re.compile(r"Switchboard engine: serving the Managed Agents API on (http://\S+)")
START_TIMEOUT_S = 30.0


def start_messages_test_server(tmp: Path, script: dict[str, Any]) -> tuple[subprocess.Popen[str], str]:
    """The engine's Messages-compatible test server playing `script`; its process and URL."""
    binary = Path(os.environ.get("SWITCHBOARD_ENGINE_BIN", str(DEFAULT_BIN)))
    path = tmp / "script.json"
    path.write_text(json.dumps(script))
    process = subprocess.Popen(
        [str(binary), "messages-test-server", "--script", str(path)],
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), f"the test server printed {url!r}"
    return process, url


class Engine:
    def __init__(self, url: str, key: str):
        self.url = url
        self.key = key

    def client(self, **kwargs: Any) -> anthropic.Anthropic:
        options: dict[str, Any] = {"base_url": self.url, "api_key": self.key, "max_retries": 0, "timeout": 30.0}
        options.update(kwargs)
        return anthropic.Anthropic(**options)


def _drain(pipe: Any, sink: list[str], ready: threading.Event, found: list[str]) -> None:
    for line in iter(pipe.readline, ""):
        sink.append(line.rstrip("\n"))
        if not found and (match := READY.search(line)):
            found.append(match.group(1).rstrip("/"))
            ready.set()
    ready.set()  # the pipe closed: the process ended


@contextlib.contextmanager
def running_engine(data_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[Engine]:
    """An engine process on a free port with its data in `data_dir`; stopped on exit."""
    binary = Path(os.environ.get("SWITCHBOARD_ENGINE_BIN", str(DEFAULT_BIN)))
    if not binary.exists():
        pytest.fail(f"engine binary {binary} does not exist (build it, or set SWITCHBOARD_ENGINE_BIN)")
    key = "sk-engine-test-" + secrets.token_hex(16)
    env = {**os.environ, "SWITCHBOARD_ENGINE_KEY": key, "SWITCHBOARD_DATA_DIR": str(data_dir), **(extra_env or {})}
    stderr_path = data_dir.parent / f"{data_dir.name}-stderr.log"
    stderr = open(stderr_path, "w")
    process = subprocess.Popen(
        [str(binary), "serve", "--listen", "127.0.0.1:0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        bufsize=1,
    )
    log: list[str] = []
    found: list[str] = []
    ready = threading.Event()
    threading.Thread(target=_drain, args=(process.stdout, log, ready, found), daemon=True).start()
    ready.wait(START_TIMEOUT_S)
    if not found:
        process.kill()
        process.wait(5)
        stderr.close()
        pytest.fail(
            f"engine did not print its URL within {START_TIMEOUT_S:.0f} s (exit code {process.poll()}).\n"
            f"stdout: {log}\nstderr: {stderr_path.read_text()[-4000:]}"
        )
    try:
        yield Engine(found[0], key)
        assert process.poll() is None, (
            f"the engine exited during the tests (exit code {process.returncode}); "
            f"stderr: {stderr_path.read_text()[-4000:]}"
        )
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        stderr.close()


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    with running_engine(tmp_path_factory.mktemp("engine-data")) as engine:
        yield engine


@pytest.fixture(scope="session")
def client(engine: Engine) -> anthropic.Anthropic:
    return engine.client()


@pytest.fixture(scope="session")
def environment(client: anthropic.Anthropic) -> BetaEnvironment:
    return sx.call(
        client.beta.environments.with_raw_response.create,
        BetaEnvironment,
        name=sx.unique("sdk-tests-env"),
        config={"type": "cloud", "networking": {"type": "unrestricted"}},
    )


@pytest.fixture
def make_agent(client: anthropic.Anthropic) -> Callable[..., BetaManagedAgentsAgent]:
    """Creates a scripted agent (strictly validated): make_agent(turns, tools=[...], name=...)."""

    def make(turns: list[list[dict[str, Any]]], *, tools: list[dict[str, Any]] | None = None, **extra: Any):
        kwargs: dict[str, Any] = {
            "name": sx.unique("sdk-tests-agent"),
            "model": "scripted",
            "system": sx.script(*turns),
        }
        if tools is not None:
            kwargs["tools"] = tools
        kwargs.update(extra)
        return sx.call(client.beta.agents.with_raw_response.create, BetaManagedAgentsAgent, **kwargs)

    return make


@pytest.fixture
def make_session(
    client: anthropic.Anthropic, environment: BetaEnvironment
) -> Callable[..., BetaManagedAgentsSession]:
    def make(agent_id: str, **extra: Any) -> BetaManagedAgentsSession:
        kwargs: dict[str, Any] = {"agent": agent_id, "environment_id": environment.id}
        kwargs.update(extra)
        return sx.call(client.beta.sessions.with_raw_response.create, BetaManagedAgentsSession, **kwargs)

    return make
