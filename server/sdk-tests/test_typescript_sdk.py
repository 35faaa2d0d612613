"""The official TypeScript SDK (`@anthropic-ai/sdk`, as typescript/package-lock.json pins it) runs the
same scenario as test_gateway.py against Switchboard with a person's token: the scenario is compiled
with `tsc --strict` and run with Node, which checks each answer's fields at run time."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent / "typescript"


def test_the_typescript_sdk_runs_the_scenario_through_switchboard(switchboard):
    assert (HERE / "node_modules" / "@anthropic-ai" / "sdk").is_dir(), (
        "the TypeScript SDK is not installed: scripts/test installs it (npm ci in server/sdk-tests/typescript)"
    )
    compiled = subprocess.run(["npx", "tsc", "-p", "."], cwd=HERE, capture_output=True, text=True, timeout=300)
    assert compiled.returncode == 0, f"tsc --strict refused the scenario:\n{compiled.stdout}{compiled.stderr}"
    token = switchboard.token(switchboard.browser(), "typescript", ["viewer", "operator", "approver"])
    env = {**os.environ, "SWITCHBOARD_URL": switchboard.url, "SWITCHBOARD_TOKEN": token}
    ran = subprocess.run(
        ["node", "build/scenario.js"], cwd=HERE, env=env, capture_output=True, text=True, timeout=240
    )
    assert ran.returncode == 0 and "typescript scenario: ok" in ran.stdout, f"{ran.stdout}\n{ran.stderr}"
