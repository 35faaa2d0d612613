-- Real models (issue 17).
--
-- What a real model's replies hold that events do not show, kept for the next Messages request:
-- the content blocks of each reply (thinking blocks with their signatures, tool calls under the
-- ids of their events), keyed by the reply's `span.model_request_end` event; and the summary
-- behind each `agent.thread_context_compacted` event, keyed by that event.
CREATE TABLE model_context (
    event_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX model_context_by_session ON model_context (session_id);

-- The list cost spent so far, exactly, in micro-cents (a millionth of a US cent): `usage.list_cost`
-- shows it in whole cents, and a budget is checked against it.
ALTER TABLE sessions ADD COLUMN cost_micro_cents INTEGER NOT NULL DEFAULT 0;
ALTER TABLE threads ADD COLUMN cost_micro_cents INTEGER NOT NULL DEFAULT 0;
