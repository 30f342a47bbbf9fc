-- A group of concurrent grants committed in one call on PostgreSQL (service::grant_writer):
-- `SELECT * FROM porter_commit_grants($1, $2, $3)` in autocommit is one round trip and the
-- commit's WAL flush, where the group's transaction sent five statements or more (BEGIN, the
-- facts, the claim, the insert, COMMIT, and two per idempotency key), each a loopback round trip
-- while the deliveries' row locks were held. The rules and their order are those of the
-- transaction SQLite still runs (grant_writer::commit_group), step for step:
--
--   1. stale: a grant decided on a site version other than the current one, or asked with a
--      token that is no longer live (revoked, expired, its driver revoked), stores nothing;
--   2. each other grant's idempotency key is reserved, in (token, key) order, the order every
--      group takes keys in; a grant whose key is taken (an earlier request's, or a concurrent
--      one's once it commits) does nothing else;
--   3. the deliveries of the rest are locked in id order, the order every transaction locks
--      deliveries in, and read afresh under the lock; a grant claims one of its delivery's
--      grants, in the group's order, while the delivery is open, not entered and under `bound`;
--   4. the claimed grants are inserted and their keys answered with the grant; the keys of
--      refused grants are freed for a retry.
--
-- A grant is acknowledged only after the call returns, that is after its implicit transaction
-- committed; an error rolls the whole group back, as the transaction did.

-- One grant of a group as the server sends it (JSON, one object per grant): `n` is its index in
-- the group, then the request's facts, then the grant row.
CREATE TYPE porter_pending_grant AS (
    n BIGINT,
    caller TEXT,
    site_version BIGINT,
    idem_key TEXT,
    request_hash TEXT,
    answer TEXT,
    id TEXT,
    site_id TEXT,
    delivery_id TEXT,
    driver_id TEXT,
    carrier_id TEXT,
    issuer_id TEXT,
    issuer_key_id TEXT,
    serial BIGINT,
    uses BIGINT,
    doors TEXT,
    not_before BIGINT,
    not_after BIGINT,
    grant_bytes TEXT,
    issued_at BIGINT
);

-- Each grant's outcome by its index: 'issued', 'exhausted' (the delivery is closed, entered or
-- at its bound), 'key_taken' or 'stale'.
CREATE FUNCTION porter_commit_grants(group_json JSON, now_at BIGINT, bound BIGINT)
RETURNS TABLE (pending BIGINT, outcome TEXT) LANGUAGE plpgsql AS $$
DECLARE
    grp porter_pending_grant[] := ARRAY(
        SELECT r FROM json_populate_recordset(NULL::porter_pending_grant, group_json) r);
    g porter_pending_grant;
    stale BIGINT[];
    taken BIGINT[] := '{}';
    live BIGINT[];
    claimed BIGINT[];
BEGIN
    -- 1. The site's facts current, the caller's token and driver live, as of now.
    stale := ARRAY(
        SELECT p.n FROM unnest(grp) p
        LEFT JOIN site_versions v ON v.site_id = p.site_id
        WHERE COALESCE(v.version, 0) <> p.site_version
           OR NOT EXISTS (
                SELECT 1 FROM api_tokens t JOIN drivers d ON d.id = t.driver_id
                WHERE t.id = p.caller AND t.revoked_at IS NULL
                  AND (t.expires_at IS NULL OR t.expires_at > now_at)
                  AND d.revoked_at IS NULL));

    -- 2. Idempotency keys, one at a time in (token, key) order: an insert that meets a
    --    concurrent request's uncommitted key waits for it, and finds it taken if it commits.
    FOR g IN
        SELECT * FROM unnest(grp) p
        WHERE p.idem_key IS NOT NULL AND p.n <> ALL (stale)
        ORDER BY p.caller, p.idem_key, p.n
    LOOP
        INSERT INTO idempotency (token_id, idem_key, request_hash, status, body, created_at)
        VALUES (g.caller, g.idem_key, g.request_hash, 0, '', now_at)
        ON CONFLICT (token_id, idem_key) DO NOTHING;
        IF NOT FOUND THEN
            taken := taken || g.n;
        END IF;
    END LOOP;
    live := ARRAY(SELECT p.n FROM unnest(grp) p WHERE p.n <> ALL (stale) AND p.n <> ALL (taken));

    -- 3. The deliveries locked in id order, then read afresh (this statement's snapshot is taken
    --    after the locks: it sees every transaction that held one committed).
    PERFORM 1 FROM deliveries
    WHERE id = ANY (ARRAY(SELECT p.delivery_id FROM unnest(grp) p WHERE p.n = ANY (live)))
    ORDER BY id FOR UPDATE;
    claimed := ARRAY(
        SELECT w.n
        FROM (SELECT p.n, p.delivery_id,
                     row_number() OVER (PARTITION BY p.delivery_id ORDER BY p.n) AS k
              FROM unnest(grp) p WHERE p.n = ANY (live)) w
        JOIN deliveries d ON d.id = w.delivery_id
        WHERE d.status = 'open' AND d.entered_at IS NULL AND d.grants_issued + w.k <= bound);
    UPDATE deliveries d SET grants_issued = d.grants_issued + c.grants
    FROM (SELECT p.delivery_id, count(*) AS grants FROM unnest(grp) p
          WHERE p.n = ANY (claimed) GROUP BY p.delivery_id) c
    WHERE d.id = c.delivery_id;

    -- 4. The grants, and their keys' answers; a refused grant's key freed.
    INSERT INTO grants (id, site_id, delivery_id, driver_id, carrier_id, issuer_id,
        issuer_key_id, serial, uses, doors, not_before, not_after, grant_bytes, issued_at)
    SELECT p.id, p.site_id, p.delivery_id, p.driver_id, p.carrier_id, p.issuer_id,
        p.issuer_key_id, p.serial, p.uses, p.doors, p.not_before, p.not_after, p.grant_bytes,
        p.issued_at
    FROM unnest(grp) p WHERE p.n = ANY (claimed);
    UPDATE idempotency i SET status = 201, body = p.answer
    FROM unnest(grp) p
    WHERE p.n = ANY (claimed) AND i.token_id = p.caller AND i.idem_key = p.idem_key;
    DELETE FROM idempotency i
    USING unnest(grp) p
    WHERE p.n = ANY (live) AND p.n <> ALL (claimed)
      AND i.token_id = p.caller AND i.idem_key = p.idem_key AND i.status = 0;

    RETURN QUERY
    SELECT p.n,
           CASE WHEN p.n = ANY (stale) THEN 'stale'
                WHEN p.n = ANY (taken) THEN 'key_taken'
                WHEN p.n = ANY (claimed) THEN 'issued'
                ELSE 'exhausted' END
    FROM unnest(grp) p ORDER BY p.n;
END
$$;
