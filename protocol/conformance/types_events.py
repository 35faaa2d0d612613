"""Which SDK type checks each request fixture folder that sends events (fixtures/requests/).

Event fixtures themselves (fixtures/events/<type>/) need no table: the SDK's stream union names
every event type, and the test finds each fixture's class through its `type`.
"""

REQUEST_TYPES: dict[str, str] = {
    # Body of POST /v1/sessions/{id}/events (`betas` / `workspace_id` are headers, never sent).
    "events_send": "anthropic.types.beta.sessions.event_send_params.EventSendParams",
    # One element of sessions.create(initial_events=[...]).
    "events_initial": "anthropic.types.beta.session_create_params.InitialEvent",
}
