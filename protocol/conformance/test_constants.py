"""The header values Switchboard sends on every request are the official SDK's own.

`protocol/src/lib.rs` holds them once (`ANTHROPIC_VERSION`, `MANAGED_AGENTS_BETA`,
`AGENT_MEMORY_BETA`); the server's upstream client and the engine use those constants, and
`server/tests/anthropic_mode.rs` checks that the client sends them.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import anthropic._constants
import anthropic.resources.beta.agents.agents as sdk_agents
import anthropic.resources.beta.memory_stores.memory_stores as sdk_memory_stores

LIB = Path(__file__).resolve().parents[1] / "src" / "lib.rs"


def rust_const(name: str) -> str:
    found = re.search(rf'pub const {name}: &str = "([^"]+)";', LIB.read_text())
    assert found, f"{name} is not defined in protocol/src/lib.rs"
    return found.group(1)


def sent_beta(module: object) -> set[str]:
    """The `anthropic-beta` values a resource module of the SDK adds to its requests."""
    return set(re.findall(r'"anthropic-beta": "([a-z0-9-]+)"', inspect.getsource(module)))


def test_anthropic_version_is_the_sdks() -> None:
    assert rust_const("ANTHROPIC_VERSION") == anthropic._constants.ANTHROPIC_API_VERSION


def test_managed_agents_beta_is_the_one_the_sdk_sends_for_agents() -> None:
    assert sent_beta(sdk_agents) == {rust_const("MANAGED_AGENTS_BETA")}


def test_memory_beta_is_the_one_the_sdk_sends_for_memory_stores() -> None:
    assert sent_beta(sdk_memory_stores) == {rust_const("AGENT_MEMORY_BETA")}
