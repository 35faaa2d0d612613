"""Lists: the SDK's auto-pagination and hand-walked `page=` cursors see every item exactly once,
in the documented order; event list `order`, `types[]` and `limit`."""

from __future__ import annotations

import anthropic
from anthropic.types.beta.beta_environment import BetaEnvironment
from anthropic.types.beta.beta_file_metadata import BetaFileMetadata
from anthropic.types.beta.beta_managed_agents_agent import BetaManagedAgentsAgent
from anthropic.types.beta.beta_managed_agents_session import BetaManagedAgentsSession

import sdk_strict as sx


def _no_duplicates(ids):
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    assert not dupes, f"listed more than once: {dupes}"


def test_agents_pages(client, make_agent):
    created = [make_agent([[{"text": f"agent {i}"}]]).id for i in range(5)]

    auto = [a.id for a in client.beta.agents.list(limit=2)]
    _no_duplicates(auto)
    assert set(created) <= set(auto), f"auto-pagination missed {set(created) - set(auto)}"

    walked, pages = sx.walk_pages(client.beta.agents.with_raw_response.list, BetaManagedAgentsAgent, limit=2)
    walked_ids = [a.id for a in walked]
    assert walked_ids == auto, "page= cursors and the SDK's auto-pagination disagree"
    assert all(len(p.data) <= 2 for p in pages), [len(p.data) for p in pages]
    assert all(p.data for p in pages[:-1]), "an empty page in the middle of a list"
    assert len(pages) >= 3

    one_page = sx.call_page(client.beta.agents.with_raw_response.list, BetaManagedAgentsAgent, limit=100)
    assert len(one_page.data) == len(walked_ids) <= 100 and one_page.next_page is None
    assert set(a.id for a in one_page.data) == set(walked_ids)


def test_environments_pages(client):
    created = [
        sx.call(client.beta.environments.with_raw_response.create, BetaEnvironment, name=sx.unique("page-env")).id
        for _ in range(3)
    ]
    walked, pages = sx.walk_pages(client.beta.environments.with_raw_response.list, BetaEnvironment, limit=2)
    ids = [e.id for e in walked]
    _no_duplicates(ids)
    assert set(created) <= set(ids)
    assert all(len(p.data) <= 2 for p in pages)
    assert [e.id for e in client.beta.environments.list(limit=2)] == ids


def test_files_pages(client):
    created = [
        sx.call(
            client.beta.files.with_raw_response.upload,
            BetaFileMetadata,
            file=(f"page-{i}.txt", f"file {i}\n".encode(), "text/plain"),
        ).id
        for i in range(3)
    ]
    walked, pages = sx.walk_pages(client.beta.files.with_raw_response.list, BetaFileMetadata, limit=2)
    ids = [f.id for f in walked]
    _no_duplicates(ids)
    assert set(created) <= set(ids)
    assert all(len(p.data) <= 2 for p in pages) and len(pages) >= 2
    assert [f.id for f in client.beta.files.list(limit=2)] == ids


def test_sessions_pages_order_and_prev_page(client, make_agent, make_session):
    agent = make_agent([[{"text": "hi"}]])
    created = [make_session(agent.id).id for _ in range(5)]

    newest_first = [s.id for s in client.beta.sessions.list(agent_id=agent.id, limit=2)]
    assert newest_first == created[::-1], "sessions list defaults to created_at descending"
    oldest_first = [s.id for s in client.beta.sessions.list(agent_id=agent.id, limit=2, order="asc")]
    assert oldest_first == created

    walked, pages = sx.walk_pages(
        client.beta.sessions.with_raw_response.list,
        BetaManagedAgentsSession,
        bidirectional=True,
        agent_id=agent.id,
        limit=2,
    )
    assert [s.id for s in walked] == newest_first
    assert [len(p.data) for p in pages] == [2, 2, 1]

    second = pages[1]
    assert second.prev_page, "the second page of sessions has no prev_page"
    back = sx.call_page(
        client.beta.sessions.with_raw_response.list,
        BetaManagedAgentsSession,
        bidirectional=True,
        agent_id=agent.id,
        limit=2,
        page=second.prev_page,
    )
    assert [s.id for s in back.data] == [s.id for s in pages[0].data], "prev_page does not lead back to page 1"

    # A cursor encodes its order: reusing it with the other order is a 400.
    sx.expect_error(
        anthropic.BadRequestError,
        400,
        {"invalid_request_error"},
        client.beta.sessions.list,
        agent_id=agent.id,
        limit=2,
        order="asc",
        page=pages[0].next_page,
    )


def test_event_list_order_types_and_limit(client, make_agent, make_session):
    agent = make_agent([[{"text": "one"}, {"text": "two"}, {"text": "three"}]])
    sid = make_session(agent.id).id
    stream = sx.EventStream(client, sid)
    try:
        sx.send(client, sid, sx.user_message("count"))
        _, idle = stream.wait_idle(timeout=30)
        assert idle.stop_reason.type == "end_turn"
        stream.assert_clean()
    finally:
        stream.close()

    lister = client.beta.sessions.events.with_raw_response.list
    full, _ = sx.walk_pages(lister, sx.SESSION_EVENT, sid)
    ids = [e.id for e in full]
    _no_duplicates(ids)
    types = [e.type for e in full]
    assert types[0] == "user.message" and types[-1] == "session.status_idle", types
    assert types.count("agent.message") == 3
    stamps = [e.processed_at for e in full]
    assert all(s is not None for s in stamps) and stamps == sorted(stamps), "asc order is by processed_at"

    asc, _ = sx.walk_pages(lister, sx.SESSION_EVENT, sid, order="asc")
    assert [e.id for e in asc] == ids, "order defaults to asc"
    desc, _ = sx.walk_pages(lister, sx.SESSION_EVENT, sid, order="desc")
    assert [e.id for e in desc] == ids[::-1]

    limited, pages = sx.walk_pages(lister, sx.SESSION_EVENT, sid, limit=2)
    assert [e.id for e in limited] == ids
    assert [len(p.data) for p in pages[:-1]] == [2] * (len(pages) - 1) and len(pages[-1].data) <= 2
    assert [e.id for e in client.beta.sessions.events.list(sid, limit=2)] == ids, "SDK auto-pagination"
    desc_limited, _ = sx.walk_pages(lister, sx.SESSION_EVENT, sid, order="desc", limit=3)
    assert [e.id for e in desc_limited] == ids[::-1]

    messages, _ = sx.walk_pages(lister, sx.SESSION_EVENT, sid, types=["agent.message"])
    assert [sx.text_of(e) for e in messages] == ["one", "two", "three"]
    wanted = {"user.message", "session.status_idle"}
    some, _ = sx.walk_pages(lister, sx.SESSION_EVENT, sid, types=sorted(wanted), limit=1)
    assert [e.id for e in some] == [e.id for e in full if e.type in wanted]
