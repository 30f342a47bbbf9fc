-- A change counter per site over everything a grant decision reads that rarely changes (the
-- site, its doors, issuers, approvals, revocations, door states and residents' opt-outs).
-- Grant issuance caches those facts per site in each server process and checks the counter in
-- the transaction that commits the grants: a change made by any process (or by hand, in SQL)
-- bumps it, so no process issues a grant on facts older than the ones committed before it.
-- SQLite's variant of this migration (PostgreSQL's runs the same bumps from one function).
CREATE TABLE site_versions (
    site_id TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO site_versions (site_id, version) SELECT id, 1 FROM sites;

CREATE TRIGGER sites_version_insert AFTER INSERT ON sites BEGIN
    INSERT INTO site_versions (site_id, version) VALUES (NEW.id, 1)
    ON CONFLICT (site_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER sites_version_update AFTER UPDATE ON sites BEGIN
    INSERT INTO site_versions (site_id, version) VALUES (NEW.id, 1)
    ON CONFLICT (site_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER doors_version_insert AFTER INSERT ON doors BEGIN
    INSERT INTO site_versions (site_id, version) VALUES (NEW.site_id, 1)
    ON CONFLICT (site_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER doors_version_update AFTER UPDATE OF site_id, door_number ON doors BEGIN
    INSERT INTO site_versions (site_id, version) VALUES (NEW.site_id, 1)
    ON CONFLICT (site_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER doors_version_delete AFTER DELETE ON doors BEGIN
    INSERT INTO site_versions (site_id, version) VALUES (OLD.site_id, 1)
    ON CONFLICT (site_id) DO UPDATE SET version = version + 1;
END;

-- An issuer's serial counter (next_serial) moves with every lease of serials: not a change.
CREATE TRIGGER issuers_version_insert AFTER INSERT ON issuers BEGIN
    INSERT INTO site_versions (site_id, version) VALUES (NEW.site_id, 1)
    ON CONFLICT (site_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER issuers_version_update AFTER UPDATE OF
    site_id, public_key, key_id, secret_seed, certificate, epoch, not_before, not_after, revoked_at
    ON issuers BEGIN
    INSERT INTO site_versions (site_id, version) VALUES (NEW.site_id, 1)
    ON CONFLICT (site_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER issuers_version_delete AFTER DELETE ON issuers BEGIN
    INSERT INTO site_versions (site_id, version) VALUES (OLD.site_id, 1)
    ON CONFLICT (site_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER approvals_version_insert AFTER INSERT ON approvals BEGIN
    INSERT INTO site_versions (site_id, version) VALUES (NEW.site_id, 1)
    ON CONFLICT (site_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER approvals_version_update AFTER UPDATE ON approvals BEGIN
    INSERT INTO site_versions (site_id, version) VALUES (NEW.site_id, 1)
    ON CONFLICT (site_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER approvals_version_delete AFTER DELETE ON approvals BEGIN
    INSERT INTO site_versions (site_id, version) VALUES (OLD.site_id, 1)
    ON CONFLICT (site_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER revocations_version_insert AFTER INSERT ON revocations BEGIN
    INSERT INTO site_versions (site_id, version) VALUES (NEW.site_id, 1)
    ON CONFLICT (site_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER revocations_version_update AFTER UPDATE ON revocations BEGIN
    INSERT INTO site_versions (site_id, version) VALUES (NEW.site_id, 1)
    ON CONFLICT (site_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER revocations_version_delete AFTER DELETE ON revocations BEGIN
    INSERT INTO site_versions (site_id, version) VALUES (OLD.site_id, 1)
    ON CONFLICT (site_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER door_states_version_insert AFTER INSERT ON door_states BEGIN
    INSERT INTO site_versions (site_id, version) VALUES (NEW.site_id, 1)
    ON CONFLICT (site_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER door_states_version_update AFTER UPDATE ON door_states BEGIN
    INSERT INTO site_versions (site_id, version) VALUES (NEW.site_id, 1)
    ON CONFLICT (site_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER door_states_version_delete AFTER DELETE ON door_states BEGIN
    INSERT INTO site_versions (site_id, version) VALUES (OLD.site_id, 1)
    ON CONFLICT (site_id) DO UPDATE SET version = version + 1;
END;

-- Residents belong to a site through their unit.
CREATE TRIGGER residents_version_insert AFTER INSERT ON residents BEGIN
    INSERT INTO site_versions (site_id, version)
    SELECT site_id, 1 FROM units WHERE id = NEW.unit_id
    ON CONFLICT (site_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER residents_version_update AFTER UPDATE OF unit_id, opted_out ON residents BEGIN
    INSERT INTO site_versions (site_id, version)
    SELECT site_id, 1 FROM units WHERE id = NEW.unit_id
    ON CONFLICT (site_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER residents_version_delete AFTER DELETE ON residents BEGIN
    INSERT INTO site_versions (site_id, version)
    SELECT site_id, 1 FROM units WHERE id = OLD.unit_id
    ON CONFLICT (site_id) DO UPDATE SET version = version + 1;
END;
