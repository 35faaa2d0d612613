"""GitHub repositories on sessions through the official SDK: created with a write-only token,
read back in the SDK's strict types without it, and the token rotated through the resource's
route. The checkout itself is tested against a git server of the engine's tests' own
(engine/tests/repositories.rs); here no turn runs, so github.com is never reached."""

from __future__ import annotations

import anthropic
import pytest
from anthropic.types.beta.sessions.beta_managed_agents_session_resource import BetaManagedAgentsSessionResource
from anthropic.types.beta.sessions.resource_update_response import ResourceUpdateResponse

import sdk_strict as sx

TOKEN = "ghp_sdktests_0f9e8d7c6b5a"


def test_a_repository_is_attached_with_a_token_the_api_never_answers(client, make_agent, make_session):
    agent = make_agent([[{"text": "ok"}]])
    session = make_session(
        agent.id,
        resources=[
            {
                "type": "github_repository",
                "url": "https://github.com/acme/widgets",
                "authorization_token": TOKEN,
                "checkout": {"type": "branch", "name": "release/2.x"},
            },
            {
                "type": "github_repository",
                "url": "https://github.com/acme/tools.git",
                "checkout": {"type": "commit", "sha": "0123456789abcdef0123456789abcdef01234567"},
                "mount_path": "/opt/tools",
            },
        ],
    )
    widgets, tools = session.resources
    assert widgets.type == "github_repository" and widgets.url == "https://github.com/acme/widgets"
    assert widgets.mount_path == "/workspace/widgets"
    assert widgets.checkout.type == "branch" and widgets.checkout.name == "release/2.x"
    assert tools.mount_path == "/opt/tools" and tools.checkout.type == "commit"
    listed, _ = sx.walk_pages(
        client.beta.sessions.resources.with_raw_response.list, BetaManagedAgentsSessionResource, session.id
    )
    assert [r.model_dump() for r in listed] == [widgets.model_dump(), tools.model_dump()]
    raw = client.beta.sessions.resources.with_raw_response.retrieve(widgets.id, session_id=session.id)
    assert TOKEN not in raw.text()
    assert TOKEN not in client.beta.sessions.with_raw_response.retrieve(session.id).text()

    rotated = sx.call(
        client.beta.sessions.resources.with_raw_response.update,
        ResourceUpdateResponse,
        widgets.id,
        session_id=session.id,
        authorization_token="ghp_sdktests_rotated",
    )
    assert rotated.id == widgets.id and rotated.type == "github_repository"
    assert rotated.updated_at >= widgets.updated_at
    assert "ghp_sdktests_rotated" not in rotated.model_dump_json()


def test_a_repository_the_engine_cannot_clone_from_is_refused_in_words(client, make_agent, environment):
    agent = make_agent([[{"text": "ok"}]])
    with pytest.raises(anthropic.BadRequestError) as refused:
        client.beta.sessions.create(
            agent=agent.id,
            environment_id=environment.id,
            resources=[{"type": "github_repository", "url": "https://gitlab.example.com/acme/widgets"}],
        )
    assert "SWITCHBOARD_ENGINE_GIT_HOSTS" in refused.value.message


def test_a_files_token_cannot_be_rotated(client, make_agent, make_session):
    uploaded = client.beta.files.upload(file=("notes.txt", b"notes\n", "text/plain"))
    session = make_session(make_agent([[{"text": "ok"}]]).id, resources=[{"type": "file", "file_id": uploaded.id}])
    (resource,) = session.resources
    with pytest.raises(anthropic.BadRequestError) as refused:
        client.beta.sessions.resources.update(resource.id, session_id=session.id, authorization_token="x")
    assert "github_repository" in refused.value.message
