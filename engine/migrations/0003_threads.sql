-- Session threads: one primary thread per session (parent_thread_id NULL) plus the child threads
-- its agent starts (subagents, workflow runs' threads, advisor consultations). The thread object
-- is kept as the JSON the API returns (`body`); `status` mirrors its status for filtering.
CREATE TABLE threads (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL,
    parent_thread_id TEXT,
    status TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX threads_by_session ON threads (session_id, seq);

-- Every session made before threads existed gets its primary thread.
INSERT INTO threads (id, session_id, parent_thread_id, status, body)
SELECT 'sthr_' || lower(hex(randomblob(12))), s.id, NULL, s.status, '{}'
FROM sessions s;
UPDATE threads SET body = (
    SELECT json_object(
        'type', 'session_thread',
        'id', threads.id,
        'session_id', s.id,
        'parent_thread_id', NULL,
        'status', s.status,
        'agent', json(json_remove(json_extract(s.body, '$.agent'), '$.multiagent')),
        'workflow_run_id', NULL,
        'stats', json_object('active_seconds', COALESCE(json_extract(s.body, '$.stats.active_seconds'), 0.0), 'startup_seconds', 0.0),
        'usage', json(COALESCE(json_extract(s.body, '$.usage'), '{}')),
        'created_at', json_extract(s.body, '$.created_at'),
        'updated_at', json_extract(s.body, '$.updated_at'),
        'archived_at', NULL)
    FROM sessions s WHERE s.id = threads.session_id);

-- Which thread an event belongs to (NULL: the primary thread), and whether it is on the session's
-- own stream and list: the primary's events, thread lifecycle events, and the child events the API
-- cross-posts there (tool calls, their answers) with `session_thread_id`.
ALTER TABLE events ADD COLUMN thread_id TEXT;
ALTER TABLE events ADD COLUMN on_session INTEGER NOT NULL DEFAULT 1;
CREATE INDEX events_by_thread ON events (thread_id, seq);
