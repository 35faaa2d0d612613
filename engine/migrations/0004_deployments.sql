-- Deployments and their runs. `body` is the deployment as the API returns it, without the
-- schedule's computed times (`last_run_at` lives in `last_run_us`, `upcoming_runs_at` is worked
-- out when read). `next_fire_us` is the cron time the scheduler fires next: NULL when there is
-- none (no schedule, paused, archived).
CREATE TABLE deployments (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    agent_id TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active',
    archived INTEGER NOT NULL DEFAULT 0,
    next_fire_us INTEGER,
    last_run_us INTEGER
);
CREATE INDEX deployments_due ON deployments (next_fire_us) WHERE next_fire_us IS NOT NULL;

-- Append-only: one row per fire, never changed. A scheduled fire is unique per
-- (deployment_id, scheduled_us), which is what keeps a restart from firing a time twice; the
-- session a fire creates is written in the same transaction as its run.
CREATE TABLE deployment_runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    deployment_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    has_error INTEGER NOT NULL,
    trigger_type TEXT NOT NULL,
    scheduled_us INTEGER,
    UNIQUE (deployment_id, scheduled_us)
);
CREATE INDEX deployment_runs_by_deployment ON deployment_runs (deployment_id, seq);
