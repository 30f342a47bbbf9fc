-- A change counter per site over everything a grant decision reads that rarely changes (the
-- site, its doors, issuers, approvals, revocations, door states and residents' opt-outs).
-- Grant issuance caches those facts per site in each server process and checks the counter in
-- the transaction that commits the grants: a change made by any process (or by hand, in SQL)
-- bumps it, so no process issues a grant on facts older than the ones committed before it.
-- PostgreSQL's variant of this migration (SQLite's has one trigger per table and event).
CREATE TABLE site_versions (
    site_id TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO site_versions (site_id, version) SELECT id, 1 FROM sites;

CREATE FUNCTION porter_site_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed RECORD;
    site TEXT;
BEGIN
    IF TG_OP = 'DELETE' THEN changed := OLD; ELSE changed := NEW; END IF;
    IF TG_TABLE_NAME = 'sites' THEN
        site := changed.id;
    ELSIF TG_TABLE_NAME = 'residents' THEN
        SELECT site_id INTO site FROM units WHERE id = changed.unit_id;
    ELSE
        site := changed.site_id;
    END IF;
    IF site IS NOT NULL THEN
        INSERT INTO site_versions (site_id, version) VALUES (site, 1)
        ON CONFLICT (site_id) DO UPDATE SET version = site_versions.version + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER sites_version AFTER INSERT OR UPDATE ON sites
    FOR EACH ROW EXECUTE FUNCTION porter_site_changed();
CREATE TRIGGER doors_version AFTER INSERT OR DELETE OR UPDATE OF site_id, door_number ON doors
    FOR EACH ROW EXECUTE FUNCTION porter_site_changed();
-- An issuer's serial counter (next_serial) moves with every lease of serials: not a change.
CREATE TRIGGER issuers_version AFTER INSERT OR DELETE OR UPDATE OF
    site_id, public_key, key_id, secret_seed, certificate, epoch, not_before, not_after, revoked_at
    ON issuers FOR EACH ROW EXECUTE FUNCTION porter_site_changed();
CREATE TRIGGER approvals_version AFTER INSERT OR UPDATE OR DELETE ON approvals
    FOR EACH ROW EXECUTE FUNCTION porter_site_changed();
CREATE TRIGGER revocations_version AFTER INSERT OR UPDATE OR DELETE ON revocations
    FOR EACH ROW EXECUTE FUNCTION porter_site_changed();
CREATE TRIGGER door_states_version AFTER INSERT OR UPDATE OR DELETE ON door_states
    FOR EACH ROW EXECUTE FUNCTION porter_site_changed();
-- Residents belong to a site through their unit.
CREATE TRIGGER residents_version AFTER INSERT OR DELETE OR UPDATE OF unit_id, opted_out
    ON residents FOR EACH ROW EXECUTE FUNCTION porter_site_changed();
