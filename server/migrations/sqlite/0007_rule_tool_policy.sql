-- A session-scoped rule for a whole built-in tool is also written into the session's own tool
-- policy (always_allow for that tool, from the agent's next turn), and put back when the rule is
-- revoked or ends. `previous_config` is the tool's entry in the toolset's `configs` before (JSON;
-- 'null' when it had none); NULL when nothing was written. `write_note` says why it was not.
ALTER TABLE rules ADD COLUMN previous_config TEXT;
ALTER TABLE rules ADD COLUMN write_note TEXT;
ALTER TABLE rules ADD COLUMN restored_at TEXT;
