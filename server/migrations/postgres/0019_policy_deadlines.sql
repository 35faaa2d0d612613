-- PostgreSQL's form of sqlite/0019_policy_deadlines.sql: an approval policy's deadline, as JSON
-- text, NULL when the policy sets none.
ALTER TABLE policies ADD COLUMN deadline TEXT;
