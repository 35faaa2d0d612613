"""Switchboard started as its own binary (`target/debug/switchboard`, or `SWITCHBOARD_BIN`) with the
embedded engine, a first admin, and the official SDK pointed at its address with a person's
personal access token: nothing changed in the SDK but the base URL and the key."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator

import anthropic
import httpx2 as httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
START_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Switchboard:
    def __init__(self, url: str, data_dir: Path, log: Path):
        self.url = url
        self.data_dir = data_dir
        self.log = log

    def browser(self, username: str = "admin", password: str = PASSWORD) -> httpx.Client:
        """A client signed in as `username`, as a browser is (the login cookie)."""
        browser = httpx.Client(base_url=self.url, follow_redirects=False, timeout=30)
        signed_in = browser.post("/auth/login", data={"username": username, "password": password, "next": "/"})
        assert signed_in.status_code == 303 and "/login" not in signed_in.headers["location"], signed_in.text
        return browser

    def person(self, username: str, roles: list[str]) -> httpx.Client:
        """A new account with `roles`, made by the admin, and a client signed in as it."""
        form = {"username": username, "display_name": "", "password": PASSWORD}
        form.update({f"roles[{role}]": "true" for role in roles})
        made = self.browser().post("/api/users/create", data=form)
        assert made.status_code == 200, made.text
        return self.browser(username)

    def token(self, browser: httpx.Client, name: str, roles: list[str]) -> str:
        """A personal access token made on the Account page's form, in the default workspace."""
        form = {"form[name]": name, "form[workspace]": "default"}
        form.update({f"form[{role}]": "on" for role in roles})
        made = browser.post("/api/me/tokens/create", data=form)
        assert made.status_code == 200, made.text
        return made.json()["secret"]

    def client(self, token: str, **kwargs) -> anthropic.Anthropic:
        options = {"base_url": self.url, "api_key": token, "max_retries": 0, "timeout": 30.0}
        options.update(kwargs)
        return anthropic.Anthropic(**options)


@pytest.fixture(scope="session")
def switchboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Switchboard]:
    binary = Path(os.environ.get("SWITCHBOARD_BIN", str(REPO / "target" / "debug" / "switchboard")))
    if not binary.exists():
        pytest.fail(f"the server binary {binary} does not exist (build it, or set SWITCHBOARD_BIN)")
    data_dir = tmp_path_factory.mktemp("switchboard-data")
    log_path = data_dir.parent / "switchboard.log"
    url = f"http://127.0.0.1:{_free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "SWITCHBOARD_"))}
    env.update(
        {
            "SWITCHBOARD_LISTEN": url.removeprefix("http://"),
            "SWITCHBOARD_DATA_DIR": str(data_dir),
            "SWITCHBOARD_ADMIN_PASSWORD": PASSWORD,
        }
    )
    with open(log_path, "w") as log:
        process = subprocess.Popen([str(binary)], env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"Switchboard did not start (exit code {process.poll()}): {log_path.read_text()[-4000:]}")
            time.sleep(0.2)
        try:
            yield Switchboard(url, data_dir, log_path)
            assert process.poll() is None, f"Switchboard exited during the tests: {log_path.read_text()[-4000:]}"
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
