-- Alarms raised from audit evidence are kept once per door, kind and log sequence, and every
-- uploaded record, admission and alarm names the token that brought it. (Version numbered by
-- date so that branches adding migrations at once do not collide.)
ALTER TABLE alarms ADD COLUMN dedup_key TEXT;
ALTER TABLE alarms ADD COLUMN uploaded_by TEXT;
CREATE UNIQUE INDEX alarms_dedup_key ON alarms (dedup_key);
ALTER TABLE audit_records ADD COLUMN uploaded_by TEXT;
ALTER TABLE admissions ADD COLUMN uploaded_by TEXT;
