-- SQLite's variant of this migration: nothing. PostgreSQL commits a group of grants in one call
-- of a function this migration creates there; SQLite, in process, runs the same steps as
-- statements of one transaction (service::grant_writer::commit_group), each without a round trip.
SELECT 1;
