"""Skills through `client.skills` (GA, no beta header) and `client.beta.skills.versions.download`:
an upload's checks and the API's error bodies, versions and `latest`, the zip a version
downloads as, deletes, and a custom skill mounted read-only into its agent's sessions."""

from __future__ import annotations

import io
import zipfile

import anthropic
from anthropic.types.beta.beta_managed_agents_agent import BetaManagedAgentsAgent as Agent
from anthropic.types.beta.beta_managed_agents_deployment import BetaManagedAgentsDeployment as Deployment
from anthropic.types.beta.beta_managed_agents_deployment_run import BetaManagedAgentsDeploymentRun as Run
from anthropic.types.deleted_skill import DeletedSkill
from anthropic.types.skill import Skill
from anthropic.types.skills.deleted_skill_version import DeletedSkillVersion
from anthropic.types.skills.skill_version import SkillVersion

import sdk_strict as sx

INVALID = {"invalid_request_error"}


def skill_md(name: str | None, description: str = "Formats weekly reports. Use when asked for a report.") -> bytes:
    lines = ["---"]
    if name is not None:
        lines.append(f"name: {name}")
    lines += [f"description: {description}", "---", "", "# How to write the report", ""]
    return "\n".join(lines).encode()


def folder(top: str, name: str | None, extra: dict[str, bytes] | None = None) -> list:
    """The `files` of an upload: the folder `top/` with its SKILL.md and `extra` files."""
    files = [(f"{top}/SKILL.md", skill_md(name), "text/markdown")]
    files += [(f"{top}/{path}", data, "application/octet-stream") for path, data in (extra or {}).items()]
    return files


def upload(client: anthropic.Anthropic, files: list, **extra) -> Skill:
    return sx.call(client.skills.with_raw_response.create, Skill, files=files, **extra)


def test_a_skill_is_uploaded_versioned_downloaded_and_deleted(client):
    name = sx.unique("report")
    skill = upload(client, folder("report", name, {"scripts/fmt.py": b"print('v1')\n"}))
    assert skill.id.startswith("skill_") and skill.source.type == "custom"
    assert skill.display_name == name, "the display name defaults to SKILL.md's name"
    first = sx.call(client.skills.versions.with_raw_response.retrieve, SkillVersion, "latest", skill_id=skill.id)
    assert first.id == skill.latest_version_id and first.name == name and first.skill_id == skill.id
    assert first.description == "Formats weekly reports. Use when asked for a report."

    listed = sx.call_page(client.skills.with_raw_response.list, Skill, source="custom", limit=1000)
    assert skill.id in [s.id for s in listed.data]
    assert sx.call_page(client.skills.with_raw_response.list, Skill, source="anthropic").data == [], (
        "the engine has none of Anthropic's skills"
    )

    second = sx.call(
        client.skills.versions.with_raw_response.create,
        SkillVersion,
        skill.id,
        files=folder("report", name, {"scripts/fmt.py": b"print('v2')\n"}),
    )
    again = sx.call(client.skills.with_raw_response.retrieve, Skill, skill.id)
    assert again.latest_version_id == second.id and again.updated_at >= skill.updated_at
    versions = sx.call_page(client.skills.versions.with_raw_response.list, SkillVersion, skill.id)
    assert [v.id for v in versions.data] == [second.id, first.id], "newest first"

    archive = client.beta.skills.versions.download(first.id, skill_id=skill.id)
    with zipfile.ZipFile(io.BytesIO(archive.read())) as zipped:
        assert sorted(zipped.namelist()) == [f"{name}/SKILL.md", f"{name}/scripts/fmt.py"]
        assert zipped.read(f"{name}/scripts/fmt.py") == b"print('v1')\n", "the old version keeps its own files"

    gone = sx.call(client.skills.versions.with_raw_response.delete, DeletedSkillVersion, second.id, skill_id=skill.id)
    assert gone.id == second.id and gone.type == "skill_version_deleted"
    assert sx.call(client.skills.with_raw_response.retrieve, Skill, skill.id).latest_version_id == first.id
    sx.expect_error(
        anthropic.ConflictError, 409, {"conflict_error"}, client.skills.versions.delete, first.id, skill_id=skill.id
    )
    deleted = sx.call(client.skills.with_raw_response.delete, DeletedSkill, skill.id)
    assert deleted.id == skill.id and deleted.type == "skill_deleted"
    sx.expect_error(anthropic.NotFoundError, 404, {"not_found_error"}, client.skills.retrieve, skill.id)


def test_uploads_the_api_refuses(client):
    def refused(files: list) -> str:
        _, body = sx.expect_error(anthropic.BadRequestError, 400, INVALID, client.skills.create, files=files)
        return body["error"]["message"]

    assert "No SKILL.md" in refused([("report/README.md", b"hello", "text/markdown")])
    two = folder("a", sx.unique("a")) + [("b/SKILL.md", skill_md(sx.unique("b")), "text/markdown")]
    assert "2 top-level folders" in refused(two)
    assert "not inside a folder" in refused([("SKILL.md", skill_md(sx.unique("bare")), "text/markdown")])
    assert "no description" in refused([("x/SKILL.md", b"---\nname: x-only\n---\n", "text/markdown")])
    assert ".." in refused([("x/../SKILL.md", skill_md(sx.unique("up")), "text/markdown")])

    name = sx.unique("taken")
    skill = upload(client, folder("one", name))
    _, body = sx.expect_error(
        anthropic.ConflictError, 409, {"conflict_error"}, client.skills.create, files=folder("two", name)
    )
    assert body["error"]["details"] == {"error_code": "skill_name_taken", "skill_name": name}
    # A version must keep the skill's name.
    _, body = sx.expect_error(
        anthropic.BadRequestError,
        400,
        INVALID,
        client.skills.versions.create,
        skill.id,
        files=folder("one", sx.unique("renamed")),
    )
    assert "never changes" in body["error"]["message"]


def test_an_upload_over_the_engines_limit_is_a_413_and_leaves_nothing(client):
    name = sx.unique("big")
    before = [s.id for s in client.skills.list(limit=1000)]
    big = folder("big", name, {"data.bin": b"\0" * (8 * 1024 * 1024 + 1)})
    try:
        client.skills.create(files=big)
    except anthropic.APIStatusError as error:
        # `request_too_large` is the API's documented type for a 413; the SDK's ErrorType enum
        # does not list it, so the body is checked here rather than by sx.check_api_error.
        assert isinstance(error, anthropic.ContentTooLargeError) and error.status_code == 413
        body = error.response.json()
        assert body["type"] == "error" and body["error"]["type"] == "request_too_large"
        assert "8388608 bytes" in body["error"]["message"] and body["request_id"] == error.request_id
    else:
        raise AssertionError("an upload over the limit was accepted")
    assert [s.id for s in client.skills.list(limit=1000)] == before


def test_an_agents_skill_is_mounted_read_only_into_its_sessions(client, make_agent, make_session, environment):
    name = sx.unique("greeter")
    skill = upload(client, folder("greeter", name, {"scripts/hello.sh": b"echo hello from the skill\n"}))
    root = f"/workspace/skills/{name}"
    turn = [
        {"tool": "bash", "input": {"command": f"head -2 {root}/SKILL.md; bash {root}/scripts/hello.sh"}},
        {"tool": "bash", "input": {"command": f"echo changed > {root}/SKILL.md"}},
        {"text": "Done."},
    ]
    agent = make_agent([turn], tools=[sx.toolset()], skills=[{"type": "custom", "skill_id": skill.id}])
    assert [(s.type, s.skill_id, s.version) for s in agent.skills] == [("custom", skill.id, "latest")]
    session = make_session(agent.id)
    client.beta.sessions.events.send(session.id, events=[sx.user_message("Say hello.")])
    events = sx.events_once_idle(client, session.id)
    read, write = [e for e in events if e.type == "agent.tool_result"]
    assert f"name: {name}" in sx.text_of(read) and "hello from the skill" in sx.text_of(read)
    assert write.is_error and "Read-only file system" in sx.text_of(write)


def test_a_skill_that_is_gone_refuses_agents_and_fails_a_deployments_run(client, make_agent, environment):
    sx.expect_error(
        anthropic.BadRequestError,
        400,
        INVALID,
        client.beta.agents.create,
        name=sx.unique("agent"),
        model="scripted",
        system=sx.script([{"text": "Hi."}]),
        skills=[{"type": "custom", "skill_id": "skill_doesnotexist"}],
    )
    skill = upload(client, folder("doomed", sx.unique("doomed")))
    agent = make_agent([[{"text": "Hi."}]], skills=[{"type": "custom", "skill_id": skill.id, "version": skill.latest_version_id}])
    assert isinstance(agent, Agent) and agent.skills[0].version == skill.latest_version_id
    deployment = sx.call(
        client.beta.deployments.with_raw_response.create,
        Deployment,
        name=sx.unique("uses-skill"),
        agent=agent.id,
        environment_id=environment.id,
        initial_events=[sx.user_message("Hi.")],
    )
    sx.call(client.skills.with_raw_response.delete, DeletedSkill, skill.id)
    run = sx.call(client.beta.deployments.with_raw_response.run, Run, deployment.id)
    assert run.session_id is None and run.error.type == "skill_not_found_error" and skill.id in run.error.message
