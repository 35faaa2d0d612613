-- An approval policy's deadline (app/src/policies.rs, `Deadline`): JSON
-- ({ "after_secs": n or null, "tools": [{ "tool", "after_secs" }] }), NULL when the policy sets none.
-- The inbox's poller denies a call still waiting at its deadline (server/src/approvals/deadlines.rs).
ALTER TABLE policies ADD COLUMN deadline TEXT;
