"""Deployments and deployment runs through `client.beta.deployments` and
`client.beta.deployment_runs`: create with a schedule, the computed schedule times, update,
pause/unpause, Run now (a session that carries the deployment), runs with their filters, a run
error in the API's types, archive, and what the API refuses."""

from __future__ import annotations

import datetime as dt

import anthropic
from anthropic.types.beta.beta_managed_agents_deployment import BetaManagedAgentsDeployment as Deployment
from anthropic.types.beta.beta_managed_agents_deployment_run import BetaManagedAgentsDeploymentRun as Run
from anthropic.types.beta.beta_managed_agents_session import BetaManagedAgentsSession as Session

import sdk_strict as sx

INVALID = {"invalid_request_error"}
NOT_FOUND = {"not_found_error"}
HELLO = [[{"text": "Good morning."}]]


def deploy(client: anthropic.Anthropic, agent_id: str, environment_id: str, **extra) -> Deployment:
    kwargs = {
        "name": sx.unique("nightly"),
        "agent": agent_id,
        "environment_id": environment_id,
        "initial_events": [sx.user_message("Summarise yesterday.")],
    }
    kwargs.update(extra)
    return sx.call(client.beta.deployments.with_raw_response.create, Deployment, **kwargs)


def test_a_scheduled_deployment_lists_its_next_five_fires_in_its_time_zone(client, make_agent, environment):
    agent = make_agent(HELLO)
    schedule = {"type": "cron", "expression": "30 9 * * 1-5", "timezone": "America/New_York"}
    deployment = deploy(client, agent.id, environment.id, schedule=schedule, metadata={"team": "ops"})
    assert deployment.id.startswith("depl_") and deployment.status == "active"
    assert deployment.agent.id == agent.id and deployment.agent.version == agent.version
    assert deployment.paused_reason is None and deployment.archived_at is None
    assert deployment.schedule is not None and deployment.schedule.last_run_at is None
    fires = deployment.schedule.upcoming_runs_at or []
    assert len(fires) == 5 and fires == sorted(fires)
    new_york = dt.timezone(dt.timedelta(hours=-5)), dt.timezone(dt.timedelta(hours=-4))
    for fire in fires:
        local = [fire.astimezone(zone) for zone in new_york]
        # 9:30 in New York is 14:30 or 13:30 UTC, on a weekday there.
        assert any(t.hour == 9 and t.minute == 30 and t.weekday() < 5 for t in local), fire
    got = sx.call(client.beta.deployments.with_raw_response.retrieve, Deployment, deployment.id)
    assert got.schedule.upcoming_runs_at == fires and got.metadata == {"team": "ops"}


def test_run_now_creates_a_session_that_carries_the_deployment(client, make_agent, environment):
    agent = make_agent(HELLO)
    yearly = {"type": "cron", "expression": "0 0 1 1 *", "timezone": "UTC"}
    deployment = deploy(
        client,
        agent.id,
        environment.id,
        schedule=yearly,
        budget={"type": "limit", "max_list_cost": {"amount": "500", "currency": "USD"}},
    )
    run = sx.call(client.beta.deployments.with_raw_response.run, Run, deployment.id)
    assert run.id.startswith("drun_") and run.error is None and run.session_id
    assert run.trigger_context.type == "manual" and run.deployment_id == deployment.id
    assert (run.agent.id, run.agent.version) == (agent.id, agent.version)
    session = sx.call(client.beta.sessions.with_raw_response.retrieve, Session, run.session_id)
    assert session.deployment_id == deployment.id
    assert session.budget is not None and session.budget.max_list_cost.amount == "500"
    events = sx.wait_until(
        lambda: [e for e in client.beta.sessions.events.list(run.session_id).data if e.type == "agent.message"],
        10,
        "the deployment's session to answer its initial message",
    )
    assert sx.text_of(events[0]) == "Good morning."
    listed = sx.call_page(
        client.beta.sessions.with_raw_response.list, Session, bidirectional=True, deployment_id=deployment.id
    )
    assert [s.id for s in listed.data] == [run.session_id]
    # A manual run does not count as the schedule's last run.
    again = sx.call(client.beta.deployments.with_raw_response.retrieve, Deployment, deployment.id)
    assert again.schedule is not None and again.schedule.last_run_at is None
    # The run as Run now answered it is the run as stored.
    assert sx.call(client.beta.deployment_runs.with_raw_response.retrieve, Run, run.id) == run


def test_a_run_that_cannot_start_records_a_typed_error_and_filters_find_it(client, make_agent, environment):
    agent = make_agent(HELLO)
    doomed = sx.call(
        client.beta.environments.with_raw_response.create,
        anthropic.types.beta.BetaEnvironment,
        name=sx.unique("doomed-env"),
        config={"type": "cloud", "networking": {"type": "unrestricted"}},
    )
    deployment = deploy(client, agent.id, doomed.id)
    ok = sx.call(client.beta.deployments.with_raw_response.run, Run, deployment.id)
    client.beta.environments.archive(doomed.id)
    failed = sx.call(client.beta.deployments.with_raw_response.run, Run, deployment.id)
    assert failed.session_id is None and failed.error is not None
    assert failed.error.type == "environment_archived_error" and doomed.id in failed.error.message
    # A manual run's error does not pause the deployment.
    still = sx.call(client.beta.deployments.with_raw_response.retrieve, Deployment, deployment.id)
    assert still.status == "active" and still.paused_reason is None
    errors = sx.call_page(client.beta.deployment_runs.with_raw_response.list, Run, deployment_id=deployment.id, has_error=True)
    assert [r.id for r in errors.data] == [failed.id]
    fine = sx.call_page(client.beta.deployment_runs.with_raw_response.list, Run, deployment_id=deployment.id, has_error=False)
    assert [r.id for r in fine.data] == [ok.id]
    manual = sx.call_page(client.beta.deployment_runs.with_raw_response.list, Run, deployment_id=deployment.id, trigger_type="manual")
    assert [r.id for r in manual.data] == [failed.id, ok.id]
    scheduled = sx.call_page(client.beta.deployment_runs.with_raw_response.list, Run, deployment_id=deployment.id, trigger_type="schedule")
    assert scheduled.data == []
    got = sx.call(client.beta.deployment_runs.with_raw_response.retrieve, Run, failed.id)
    assert got == failed
    nobody = sx.call_page(client.beta.deployment_runs.with_raw_response.list, Run, deployment_id="depl_nothing")
    assert nobody.data == []


def test_update_pause_unpause_and_archive(client, make_agent, environment):
    agent = make_agent(HELLO)
    deployment = deploy(client, agent.id, environment.id, description="Morning summary")
    schedule = {"type": "cron", "expression": "0 7 * * *", "timezone": "Europe/Paris"}
    updated = sx.call(
        client.beta.deployments.with_raw_response.update,
        Deployment,
        deployment.id,
        name="Morning summary",
        schedule=schedule,
        description=None,
        metadata={"owner": "ops"},
    )
    assert updated.name == "Morning summary" and updated.description is None
    assert updated.schedule.expression == "0 7 * * *" and len(updated.schedule.upcoming_runs_at) == 5
    assert all(t.astimezone(dt.timezone.utc).minute == 0 for t in updated.schedule.upcoming_runs_at)
    paused = sx.call(client.beta.deployments.with_raw_response.pause, Deployment, deployment.id)
    assert paused.status == "paused" and paused.paused_reason.type == "manual"
    # Paused deployments still show what the schedule would do.
    assert len(paused.schedule.upcoming_runs_at) == 5
    listed = sx.call_page(client.beta.deployments.with_raw_response.list, Deployment, status="paused", agent_id=agent.id)
    assert [d.id for d in listed.data] == [deployment.id]
    resumed = sx.call(client.beta.deployments.with_raw_response.unpause, Deployment, deployment.id)
    assert resumed.status == "active" and resumed.paused_reason is None
    cleared = sx.call(client.beta.deployments.with_raw_response.update, Deployment, deployment.id, schedule=None)
    assert cleared.schedule is None
    archived = sx.call(client.beta.deployments.with_raw_response.archive, Deployment, deployment.id)
    assert archived.archived_at is not None and archived.status == "active"
    hidden = sx.call_page(client.beta.deployments.with_raw_response.list, Deployment, agent_id=agent.id)
    assert deployment.id not in [d.id for d in hidden.data]
    shown = sx.call_page(client.beta.deployments.with_raw_response.list, Deployment, agent_id=agent.id, include_archived=True)
    assert deployment.id in [d.id for d in shown.data]
    for action in (client.beta.deployments.run, client.beta.deployments.pause):
        sx.expect_error(anthropic.BadRequestError, 400, INVALID, action, deployment.id)
    sx.expect_error(anthropic.BadRequestError, 400, INVALID, client.beta.deployments.update, deployment.id, name="again")


def test_what_a_deployment_refuses(client, make_agent, environment):
    agent = make_agent(HELLO)
    base = {"name": "x", "agent": agent.id, "environment_id": environment.id, "initial_events": [sx.user_message("hi")]}
    bad_cases = [
        {"schedule": {"type": "cron", "expression": "0 9 * *", "timezone": "UTC"}},
        {"schedule": {"type": "cron", "expression": "0 0 9 * * *", "timezone": "UTC"}},
        {"schedule": {"type": "cron", "expression": "0 9 L * *", "timezone": "UTC"}},
        {"schedule": {"type": "cron", "expression": "0 9 * * 1#2", "timezone": "UTC"}},
        {"schedule": {"type": "cron", "expression": "61 9 * * *", "timezone": "UTC"}},
        {"schedule": {"type": "cron", "expression": "0 9 * * *", "timezone": "Mars/Olympus_Mons"}},
        {"initial_events": []},
        {"vault_ids": ["vlt_missing"]},
        {"environment_id": "env_missing"},
        {"agent": "agent_missing"},
        {"agent": {"type": "agent", "id": agent.id}},
        {"name": "  "},
    ]
    for case in bad_cases:
        _, body = sx.expect_error(anthropic.BadRequestError, 400, INVALID, client.beta.deployments.create, **{**base, **case})
        assert body["error"]["message"], case
    sx.expect_error(anthropic.NotFoundError, 404, NOT_FOUND, client.beta.deployments.retrieve, "depl_missing")
    sx.expect_error(anthropic.NotFoundError, 404, NOT_FOUND, client.beta.deployment_runs.retrieve, "drun_missing")
    sx.expect_error(
        anthropic.BadRequestError,
        400,
        INVALID,
        lambda: client.beta.deployments.list(status="active", include_archived=True),
    )
    # Sunday is 0 or 7, and names work.
    for expression in ("0 9 * * 0", "0 9 * * 7", "0 9 * JAN-MAR MON,WED"):
        made = deploy(client, agent.id, environment.id, schedule={"type": "cron", "expression": expression, "timezone": "UTC"})
        assert len(made.schedule.upcoming_runs_at) == 5
