"""Memory stores through `client.beta.memory_stores` (beta `agent-memory-2026-07-22`): stores,
memories by path with `path_prefix`/`depth` listings, `content_sha256` preconditions and their
409s, the version history with its actors, redaction, and a store mounted into sessions: what one
session of a deployment writes, the next one reads."""

from __future__ import annotations

import hashlib

import anthropic
from anthropic.types.beta.beta_managed_agents_deleted_memory_store import BetaManagedAgentsDeletedMemoryStore
from anthropic.types.beta.beta_managed_agents_deployment import BetaManagedAgentsDeployment as Deployment
from anthropic.types.beta.beta_managed_agents_deployment_run import BetaManagedAgentsDeploymentRun as Run
from anthropic.types.beta.beta_managed_agents_memory_store import BetaManagedAgentsMemoryStore as Store
from anthropic.types.beta.beta_managed_agents_session import BetaManagedAgentsSession as Session
from anthropic.types.beta.memory_stores.beta_managed_agents_deleted_memory import BetaManagedAgentsDeletedMemory
from anthropic.types.beta.memory_stores.beta_managed_agents_memory import BetaManagedAgentsMemory as Memory
from anthropic.types.beta.memory_stores.beta_managed_agents_memory_list_item import BetaManagedAgentsMemoryListItem
from anthropic.types.beta.memory_stores.beta_managed_agents_memory_version import (
    BetaManagedAgentsMemoryVersion as Version,
)
from anthropic.types.beta.sessions.beta_managed_agents_session_resource import BetaManagedAgentsSessionResource

import sdk_strict as sx

INVALID = {"invalid_request_error"}
NOT_FOUND = {"not_found_error"}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def new_store(client: anthropic.Anthropic, **extra) -> Store:
    kwargs = {"name": sx.unique("notes"), **extra}
    return sx.call(client.beta.memory_stores.with_raw_response.create, Store, **kwargs)


def remember(client: anthropic.Anthropic, store_id: str, path: str, content: str | None, **extra) -> Memory:
    return sx.call(
        client.beta.memory_stores.memories.with_raw_response.create, Memory, store_id, path=path, content=content, **extra
    )


def test_stores_are_created_updated_listed_archived_and_deleted(client):
    store = new_store(client, description="What the team decided.", metadata={"team": "ops"})
    assert store.id.startswith("memstore_") and store.description == "What the team decided."
    assert store.archived_at is None and store.metadata == {"team": "ops"}
    bare = new_store(client)
    assert bare.description == "", "an unset description is the empty string"
    updated = sx.call(
        client.beta.memory_stores.with_raw_response.update,
        Store,
        store.id,
        name="Team decisions",
        description="",
        metadata={"team": None, "owner": "ana"},
    )
    assert updated.name == "Team decisions" and updated.description == "" and updated.metadata == {"owner": "ana"}
    got = sx.call(client.beta.memory_stores.with_raw_response.retrieve, Store, store.id)
    assert got == updated
    listed = sx.call_page(client.beta.memory_stores.with_raw_response.list, Store, limit=100)
    assert store.id in [s.id for s in listed.data]
    archived = sx.call(client.beta.memory_stores.with_raw_response.archive, Store, store.id)
    assert archived.archived_at is not None
    again = sx.call(client.beta.memory_stores.with_raw_response.archive, Store, store.id)
    assert again.archived_at == archived.archived_at, "archiving twice changes nothing"
    assert store.id not in [s.id for s in sx.call_page(client.beta.memory_stores.with_raw_response.list, Store, limit=100).data]
    shown = sx.call_page(client.beta.memory_stores.with_raw_response.list, Store, limit=100, include_archived=True)
    assert store.id in [s.id for s in shown.data]
    # An archived store refuses changes and new memories.
    sx.expect_error(anthropic.BadRequestError, 400, INVALID, client.beta.memory_stores.update, store.id, name="x")
    sx.expect_error(
        anthropic.BadRequestError, 400, INVALID, client.beta.memory_stores.memories.create, store.id, path="/a", content="x"
    )
    # Deleting a store deletes its memories: the store and a memory in it are gone.
    memory = remember(client, bare.id, "/a.md", "a")
    deleted = sx.call(client.beta.memory_stores.with_raw_response.delete, BetaManagedAgentsDeletedMemoryStore, bare.id)
    assert deleted.id == bare.id and deleted.type == "memory_store_deleted"
    sx.expect_error(anthropic.NotFoundError, 404, NOT_FOUND, client.beta.memory_stores.retrieve, bare.id)
    sx.expect_error(
        anthropic.NotFoundError, 404, NOT_FOUND, client.beta.memory_stores.memories.retrieve, memory.id, memory_store_id=bare.id
    )
    for bad in ({"name": ""}, {"name": "x" * 256}, {"name": "x", "description": "d" * 1025}):
        sx.expect_error(anthropic.BadRequestError, 400, INVALID, client.beta.memory_stores.create, **bad)


def test_memories_by_path_with_views_and_listings(client):
    store = new_store(client)
    created = remember(client, store.id, "/notes/todo.md", "buy milk")
    assert created.id.startswith("mem_") and created.content is None, "create answers the basic view by default"
    assert created.content_sha256 == sha("buy milk") and created.content_size_bytes == 8
    assert created.memory_version_id.startswith("memver_")
    full = sx.call(client.beta.memory_stores.memories.with_raw_response.retrieve, Memory, created.id, memory_store_id=store.id)
    assert full.content == "buy milk", "retrieve answers the full view by default"
    empty = remember(client, store.id, "/empty.md", None)
    assert empty.content_size_bytes == 0 and empty.content_sha256 == sha("")
    for path in ("/notes/deep/a.md", "/notes/deep/er/b.md", "/notes-archive/old.md", "/z.md"):
        remember(client, store.id, path, path)
    _, body = sx.expect_error(
        anthropic.ConflictError,
        409,
        {"memory_path_conflict_error"},
        client.beta.memory_stores.memories.create,
        store.id,
        path="/notes/todo.md",
        content="again",
    )
    list_ = client.beta.memory_stores.memories.with_raw_response.list
    item = BetaManagedAgentsMemoryListItem

    everything, _ = sx.walk_pages(list_, item, store.id, limit=2)
    assert [m.path for m in everything] == [
        "/empty.md", "/notes-archive/old.md", "/notes/deep/a.md", "/notes/deep/er/b.md", "/notes/todo.md", "/z.md"
    ], "listed in path order, across pages"
    assert all(m.type == "memory" and m.content is None for m in everything)
    # A prefix matches whole segments: /notes/ is not /notes-archive/.
    under = sx.call_page(list_, item, store.id, path_prefix="/notes/")
    assert [m.path for m in under.data] == ["/notes/deep/a.md", "/notes/deep/er/b.md", "/notes/todo.md"]
    top = sx.call_page(list_, item, store.id, depth=1)
    assert [(m.type, m.path) for m in top.data] == [
        ("memory", "/empty.md"),
        ("memory_prefix", "/notes-archive/"),
        ("memory_prefix", "/notes/"),
        ("memory", "/z.md"),
    ]
    level, pages = sx.walk_pages(list_, item, store.id, path_prefix="/notes/", depth=1, limit=1)
    assert [(m.type, m.path) for m in level] == [("memory_prefix", "/notes/deep/"), ("memory", "/notes/todo.md")]
    assert len(pages) == 2, "a marker counts toward the limit"
    with_content = sx.call_page(list_, item, store.id, path_prefix="/notes/deep/", view="full", limit=100)
    assert [m.content for m in with_content.data] == ["/notes/deep/a.md", "/notes/deep/er/b.md"]
    for bad in ({"path_prefix": "/notes"}, {"depth": -1}, {"view": "everything"}, {"limit": 0}, {"page": "nonsense"}):
        sx.expect_error(anthropic.BadRequestError, 400, INVALID, client.beta.memory_stores.memories.list, store.id, **bad)
    for bad_path in ("notes", "/a/", "//a", "/a/../b", "/a/./b", "/bad\u0007", "/e\u0301", "/" + "/".join("x" * 21)):
        sx.expect_error(
            anthropic.BadRequestError, 400, INVALID, client.beta.memory_stores.memories.create, store.id, path=bad_path, content=""
        )
    sx.expect_error(
        anthropic.BadRequestError,
        400,
        INVALID,
        client.beta.memory_stores.memories.create,
        store.id,
        path="/big.md",
        content="x" * 102_401,
    )
    remember(client, store.id, "/just-fits.md", "x" * 102_400)


def test_preconditions_versions_actors_and_redaction(client):
    store = new_store(client)
    memory = remember(client, store.id, "/plan.md", "v1")
    update = client.beta.memory_stores.memories.with_raw_response.update
    v2 = sx.call(
        update,
        Memory,
        memory.id,
        memory_store_id=store.id,
        content="v2",
        precondition={"type": "content_sha256", "content_sha256": sha("v1")},
    )
    assert v2.content_sha256 == sha("v2") and v2.memory_version_id != memory.memory_version_id
    # Someone who read v1 loses the race: 409, and nothing changes.
    _, body = sx.expect_error(
        anthropic.ConflictError,
        409,
        {"memory_precondition_failed_error"},
        client.beta.memory_stores.memories.update,
        memory.id,
        memory_store_id=store.id,
        content="stale edit",
        precondition={"type": "content_sha256", "content_sha256": sha("v1")},
    )
    now = sx.call(client.beta.memory_stores.memories.with_raw_response.retrieve, Memory, memory.id, memory_store_id=store.id)
    assert now.content == "v2"
    # A rename keeps the id; a rename onto a taken path is a 409.
    remember(client, store.id, "/taken.md", "t")
    renamed = sx.call(update, Memory, memory.id, memory_store_id=store.id, path="/plans/q4.md", view="full")
    assert renamed.id == memory.id and renamed.path == "/plans/q4.md" and renamed.content == "v2"
    sx.expect_error(
        anthropic.ConflictError,
        409,
        {"memory_path_conflict_error"},
        client.beta.memory_stores.memories.update,
        memory.id,
        memory_store_id=store.id,
        path="/taken.md",
    )
    unchanged = sx.call(update, Memory, memory.id, memory_store_id=store.id, content="v2")
    assert unchanged.memory_version_id == renamed.memory_version_id, "a change that changes nothing adds no version"
    # Delete with a stale hash is refused; with the right one it goes, and its history stays.
    sx.expect_error(
        anthropic.ConflictError,
        409,
        {"memory_precondition_failed_error"},
        client.beta.memory_stores.memories.delete,
        memory.id,
        memory_store_id=store.id,
        expected_content_sha256=sha("v1"),
    )
    gone = sx.call(
        client.beta.memory_stores.memories.with_raw_response.delete,
        BetaManagedAgentsDeletedMemory,
        memory.id,
        memory_store_id=store.id,
        expected_content_sha256=sha("v2"),
    )
    assert gone.id == memory.id and gone.type == "memory_deleted"

    versions = client.beta.memory_stores.memory_versions.with_raw_response.list
    history = sx.call_page(versions, Version, store.id, memory_id=memory.id)
    assert [(v.operation, v.path) for v in history.data] == [
        ("deleted", "/plans/q4.md"),
        ("modified", "/plans/q4.md"),
        ("modified", "/plan.md"),
        ("created", "/plan.md"),
    ], "newest first, one version per change"
    assert all(v.content is None for v in history.data), "the list answers the basic view by default"
    assert history.data[0].content_sha256 is None and history.data[1].content_sha256 == sha("v2")
    actors = {(v.created_by.type, getattr(v.created_by, "api_key_id", "")) for v in history.data}
    assert len(actors) == 1 and next(iter(actors))[0] == "api_actor" and next(iter(actors))[1].startswith("apikey_")
    full = sx.call_page(versions, Version, store.id, memory_id=memory.id, view="full", limit=100)
    assert [v.content for v in full.data] == [None, "v2", "v2", "v1"]
    created = sx.call_page(versions, Version, store.id, operation="created")
    assert {v.path for v in created.data} == {"/plan.md", "/taken.md"}
    assert sx.call_page(versions, Version, store.id, session_id="sesn_nobody").data == []

    first = history.data[-1]
    redacted = sx.call(client.beta.memory_stores.memory_versions.with_raw_response.redact, Version, first.id, memory_store_id=store.id)
    assert redacted.redacted_at is not None and redacted.redacted_by.type == "api_actor"
    assert (redacted.content, redacted.path, redacted.content_sha256, redacted.content_size_bytes) == (None,) * 4
    assert redacted.created_by == first.created_by, "redaction keeps who wrote it"
    got = sx.call(client.beta.memory_stores.memory_versions.with_raw_response.retrieve, Version, first.id, memory_store_id=store.id)
    assert got == redacted
    # The version a live memory stands on cannot be redacted: its content is still the memory's.
    taken = sx.call_page(versions, Version, store.id, operation="created", view="full")
    live = next(v for v in taken.data if v.path == "/taken.md")
    sx.expect_error(
        anthropic.BadRequestError,
        400,
        INVALID,
        client.beta.memory_stores.memory_versions.redact,
        live.id,
        memory_store_id=store.id,
    )
    sx.expect_error(
        anthropic.NotFoundError, 404, NOT_FOUND, client.beta.memory_stores.memory_versions.retrieve, "memver_x", memory_store_id=store.id
    )


def test_the_next_session_of_a_deployment_reads_what_the_last_one_wrote(client, make_agent, environment):
    store = new_store(client, name="Team notes")
    remember(client, store.id, "/readme.md", "Append a line per run to log.md.")
    turn = [
        {"tool": "bash", "input": {"command": "cd /mnt/memory/team-notes && cat log.md 2>/dev/null; echo run >> log.md"}},
        {"text": "Logged."},
    ]
    agent = make_agent([turn], tools=[sx.toolset()])
    deployment = sx.call(
        client.beta.deployments.with_raw_response.create,
        Deployment,
        name=sx.unique("logger"),
        agent=agent.id,
        environment_id=environment.id,
        initial_events=[sx.user_message("Log this run.")],
        resources=[{"type": "memory_store", "memory_store_id": store.id, "instructions": "Keep the log short."}],
    )
    assert deployment.resources[0].type == "memory_store"

    def run_once() -> tuple[Session, list]:
        run = sx.call(client.beta.deployments.with_raw_response.run, Run, deployment.id)
        assert run.session_id and run.error is None, run
        events = sx.events_once_idle(client, run.session_id)
        session = sx.call(client.beta.sessions.with_raw_response.retrieve, Session, run.session_id)
        return session, events

    first, first_events = run_once()
    resource = first.resources[0]
    assert resource.type == "memory_store" and resource.mount_path == "/mnt/memory/team-notes"
    assert resource.name == "Team notes" and resource.access == "read_write" and resource.instructions == "Keep the log short."
    listed = sx.call_page(client.beta.sessions.resources.with_raw_response.list, BetaManagedAgentsSessionResource, first.id)
    assert [r.type for r in listed.data] == ["memory_store"]
    second, second_events = run_once()
    results = [e for e in second_events if e.type == "agent.tool_result"]
    assert "run" in "".join(b.text for b in results[0].content or []), "the second session read the first one's line"

    log = next(
        m
        for m in client.beta.memory_stores.memories.list(store.id, view="full", limit=20)
        if m.type == "memory" and m.path == "/log.md"
    )
    assert log.content == "run\nrun\n"
    history = sx.call_page(client.beta.memory_stores.memory_versions.with_raw_response.list, Version, store.id, memory_id=log.id)
    assert [(v.operation, v.created_by.type, v.created_by.session_id) for v in history.data] == [
        ("modified", "session_actor", second.id),
        ("created", "session_actor", first.id),
    ]
    by_session = sx.call_page(client.beta.memory_stores.memory_versions.with_raw_response.list, Version, store.id, session_id=first.id)
    assert [v.memory_id for v in by_session.data] == [log.id], "the readme it did not touch has no version of the session's"
    sessions = client.beta.sessions.list(memory_store_id=store.id)
    assert {s.id for s in sessions} == {first.id, second.id}


def test_a_read_only_mount_keeps_nothing_and_an_archived_store_is_refused(client, make_agent, make_session, environment):
    store = new_store(client, name="Policies")
    remember(client, store.id, "/policy.md", "No deploys on Friday.")
    turn = [
        {"tool": "bash", "input": {"command": "cat /mnt/memory/policies/policy.md; echo changed > /mnt/memory/policies/policy.md"}},
        {"text": "Tried."},
    ]
    agent = make_agent([turn], tools=[sx.toolset()])
    session = make_session(
        agent.id,
        resources=[{"type": "memory_store", "memory_store_id": store.id, "access": "read_only"}],
        initial_events=[sx.user_message("Read the policy.")],
    )

    def tool_result():
        events = list(client.beta.sessions.events.list(session.id, limit=1000))
        done = any(e.type == "session.status_idle" for e in events)
        return [e for e in events if e.type == "agent.tool_result"] if done else None

    result = sx.wait_until(tool_result, 30, "the session to go idle")[0]
    text = "".join(b.text for b in result.content or [])
    assert "No deploys on Friday." in text and "Read-only file system" in text, text
    versions = sx.call_page(client.beta.memory_stores.memory_versions.with_raw_response.list, Version, store.id)
    assert len(versions.data) == 1, "a read-only mount writes no version"
    sx.call(client.beta.memory_stores.with_raw_response.archive, Store, store.id)
    sx.expect_error(
        anthropic.BadRequestError,
        400,
        INVALID,
        client.beta.sessions.create,
        agent=agent.id,
        environment_id=environment.id,
        resources=[{"type": "memory_store", "memory_store_id": store.id}],
    )
    sx.expect_error(
        anthropic.BadRequestError,
        400,
        INVALID,
        client.beta.sessions.create,
        agent=agent.id,
        environment_id=environment.id,
        resources=[{"type": "memory_store", "memory_store_id": "memstore_missing"}],
    )
