"""Agent versions: optimistic concurrency with `version`, no-op updates, old versions, the history,
and sessions pinning a version."""

from __future__ import annotations

import anthropic
from anthropic.types.beta.beta_managed_agents_agent import BetaManagedAgentsAgent as Agent

import sdk_strict as sx


def _without_updated_at(agent):
    dump = agent.model_dump()
    dump.pop("updated_at")
    return dump


def test_update_versions_conflicts_and_history(client, make_agent, make_session):
    update = client.beta.agents.with_raw_response.update
    retrieve = client.beta.agents.with_raw_response.retrieve
    v1 = make_agent([[{"text": "v1"}]], description="first", metadata={"team": "a"})
    aid = v1.id
    assert v1.version == 1

    v2 = sx.call(update, Agent, aid, version=1, description="second")
    assert v2.id == aid and v2.version == 2
    assert v2.description == "second" and v2.name == v1.name and v2.system == v1.system
    assert v2.metadata == {"team": "a"}, "an update without metadata keeps it"

    sx.expect_error(
        anthropic.ConflictError,
        409,
        {"conflict_error", "invalid_request_error"},
        update,
        aid,
        version=1,
        description="stale edit",
    )
    latest = sx.call(retrieve, Agent, aid)
    assert latest.version == 2 and latest.description == "second", "a rejected stale update changed the agent"

    same = sx.call(update, Agent, aid, version=2, description="second")
    assert same.version == 2, "an update that changes nothing must not make a new version"
    same = sx.call(update, Agent, aid, name=v1.name, metadata={"team": "a"})
    assert same.version == 2, "an update that changes nothing must not make a new version"

    v3_system = sx.script([{"text": "v3"}])
    v3 = sx.call(update, Agent, aid, system=v3_system, metadata={"team": None, "owner": "b"})
    assert v3.version == 3, "an update without version is last-write-wins"
    assert v3.system == v3_system and v3.description == "second"
    assert v3.metadata == {"owner": "b"}, "metadata is a patch: null deletes, a string upserts"

    old = sx.call(retrieve, Agent, aid, version=1)
    assert old.version == 1
    assert _without_updated_at(old) == _without_updated_at(v1), "version 1 is not the definition it was created with"
    mid = sx.call(retrieve, Agent, aid, version=2)
    assert mid.version == 2 and mid.description == "second" and mid.system == v1.system
    current = sx.call(retrieve, Agent, aid)
    assert current.version == 3 and current.system == v3_system
    sx.expect_error(anthropic.NotFoundError, 404, {"not_found_error"}, retrieve, aid, version=4)

    history, _ = sx.walk_pages(client.beta.agents.versions.with_raw_response.list, Agent, aid)
    assert sorted(v.version for v in history) == [1, 2, 3]
    assert {v.id for v in history} == {aid}
    by_version = {v.version: v for v in history}
    assert by_version[1].description == "first" and by_version[2].description == "second"
    assert by_version[3].system == v3_system
    auto = [v.version for v in client.beta.agents.versions.list(aid, limit=1)]
    assert auto == [v.version for v in history], "auto-pagination of versions differs from page= cursors"

    latest_session = make_session(aid)
    assert latest_session.agent.version == 3 and latest_session.agent.system == v3_system
    pinned = make_session({"type": "agent", "id": aid, "version": 1})
    assert pinned.agent.version == 1 and pinned.agent.system == v1.system
