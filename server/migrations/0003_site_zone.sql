-- A site's time zone as a POSIX TZ rule (e.g. `CET-1CEST,M3.5.0,M10.5.0/3`): the one source of
-- its local time, written into every issuer certificate the site root signs. It replaces the
-- fixed UTC offset, which could not follow daylight saving. Existing sites become UTC0; a
-- manager certifies their issuers again with the zone they need.
ALTER TABLE sites ADD COLUMN zone TEXT NOT NULL DEFAULT 'UTC0';
ALTER TABLE sites DROP COLUMN utc_offset_minutes;
