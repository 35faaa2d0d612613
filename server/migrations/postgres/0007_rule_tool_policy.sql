-- PostgreSQL's form of sqlite/0007_rule_tool_policy.sql.
ALTER TABLE rules ADD COLUMN previous_config TEXT;
ALTER TABLE rules ADD COLUMN write_note TEXT;
ALTER TABLE rules ADD COLUMN restored_at TEXT;
