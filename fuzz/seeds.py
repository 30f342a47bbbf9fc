#!/usr/bin/env python3
"""Writes seed corpora for the fuzz targets from spec/vectors/ (fuzz/seeds/<target>/, committed;
the fuzzer grows its own fuzz/corpus/<target>/, not committed).

Every message in the vectors goes to the decoder target for its kind; presentations are also
split into their grant, certificate and door state. Zones, the replay table and the door's
memory, which no vector holds, are encoded here by hand (postcard: varints, tuples without a
length). Run from anywhere: `python3 fuzz/seeds.py`, then minimise with `fuzz/run-long.sh --cmin`.

The server's requests come from its OpenAPI document (every route, with the document's example
bodies): `cargo run -q -p porter-server -- openapi > /tmp/openapi.json` and
`python3 fuzz/seeds.py --openapi /tmp/openapi.json`; without `--openapi` they are left as they are.
"""
import hashlib
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "spec", "vectors")
CORPUS = os.path.join(HERE, "seeds")

# The order of porter_protocol::internal::Decoder::ALL, for the all-in-one `decode` target.
DECODERS = ["certificate", "enrolment", "grant", "challenge", "presentation", "door_state",
            "door_state_view", "receipt", "audit_record", "log_head", "zone_text",
            "zone_binary", "replay_table", "door_memory"]


def put(target, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def seed(decoder, data):
    """A seed for one decoder's target and for the all-in-one `decode` target."""
    put("decode_" + decoder, data)
    put("decode", bytes([DECODERS.index(decoder)]) + data)


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def zigzag(n):
    return varint((n << 1) ^ (n >> 63))


def take_varint(b, i):
    n, shift = 0, 0
    while True:
        n |= (b[i] & 0x7F) << shift
        shift += 7
        i += 1
        if b[i - 1] < 0x80:
            return n, i


def take_bytes(b, i):
    n, i = take_varint(b, i)
    return b[i:i + n], i + n


def presentation_parts(p):
    """(grant, certificate, door state or None) of a presentation's body."""
    i = 1  # version
    grant, i = take_bytes(p, i)
    cert, i = take_bytes(p, i)
    state = None
    if p[i] == 1:
        state, i = take_bytes(p, i + 1)
    return grant, cert, state


def zone(std, offset, dst=None):
    out = varint(len(std)) + std + zigzag(offset)
    if dst is None:
        return out + b"\x00"
    name, dst_offset, start, end = dst
    out += b"\x01" + varint(len(name)) + name + zigzag(dst_offset)
    for month, week, day, minute in (start, end):
        out += bytes([month, week, day]) + zigzag(minute)
    return out


def replay_table(base, issuers, entries):
    out = varint(base) + varint(len(issuers)) + b"".join(issuers) + varint(len(entries))
    for serial, until, issuer, used in entries:
        out += varint(serial) + varint(until) + bytes([issuer, used])
    return out


def door_memory(site, floor, table, root=None, certs=()):
    # Genesis state: sequence, issued_at, grant_fence, cert_epoch_fence, clock_reset, no entry.
    state = b"\x01" + varint(site) + b"\x00" * 5 + varint(0)
    cache = (b"\x01" + root if root else b"\x00") + varint(len(certs)) + b"".join(certs)
    return state + varint(floor) + table + cache + b"\x00"


def main():
    admission = json.load(open(os.path.join(VECTORS, "admission.json")))
    for case in admission["cases"]:
        for step in case["steps"]:
            if step["kind"] == "admit":
                p = bytes.fromhex(step["presentation"])
                seed("presentation", p)
                seed("challenge", bytes.fromhex(step["challenge"]))
                try:
                    grant, cert, state = presentation_parts(p)
                except IndexError:
                    continue  # a deliberately malformed presentation
                seed("grant", grant)
                seed("certificate", cert)
                if state is not None:
                    seed("door_state", state)
                    seed("door_state_view", state)
            else:
                for key, value in step.items():
                    if isinstance(value, str) and key != "kind" and len(value) > 64:
                        seed("door_state", bytes.fromhex(value))
                        seed("door_state_view", bytes.fromhex(value))
    audit = json.load(open(os.path.join(VECTORS, "audit.json")))
    for case in audit["cases"]:
        records = [bytes.fromhex(r) for r in case["records"]]
        kind = {"enrolment": "enrolment", "receipt": "receipt", "chain": "audit_record"}
        for r in records:
            seed(kind[case["kind"]], r)
        if case["kind"] == "chain":
            put("audit_chain", b"".join(bytes([len(r)]) + r for r in records))
        if case.get("head"):
            seed("log_head", bytes.fromhex(case["head"]))

    for text in [b"UTC0", b"CET-1CEST,M3.5.0,M10.5.0/3", b"EST5EDT,M3.2.0,M11.1.0",
                 b"<+0530>-5:30", b"AEST-10AEDT,M10.1.0,M4.1.0/3", b"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",
                 b"NZST-12NZDT,M9.5.0,M4.1.0/3", b"IST-2IDT,M3.4.4/26,M10.5.0"]:
        seed("zone_text", text)
    seed("zone_binary", zone(b"UTC", 0))
    seed("zone_binary", zone(b"CET", 60, (b"CEST", 120, (3, 5, 0, 120), (10, 5, 0, 180))))
    seed("zone_binary", zone(b"+0530", 330))

    issuers = [bytes([i] * 8) for i in range(4)]
    tables = [replay_table(0, [], []),
              replay_table(29_923_920, issuers[:1], [(7, 11, 0, 1)]),
              replay_table(29_923_920, issuers, [(s, 10 + s, s % 4, s % 3 + 1) for s in range(16)])]
    for t in tables:
        seed("replay_table", t)
    seed("door_memory", door_memory(0x51570001, 0, tables[0]))
    seed("door_memory", door_memory(0x51570001, 1_795_435_200, tables[1], bytes(range(32)),
                                    [bytes(range(32)) + bytes(64)]))
    seed("door_memory", door_memory(0x51570001, 1_795_435_200, tables[2]))

    # The admission targets: the valid presentation, and a few single patches (see fuzz_hooks).
    for target in ["admit", "admit_deep"]:
        put(target, b"\x01")
        for at in [0, 40, 120, 200, 300]:
            put(target, b"\x01" + at.to_bytes(2, "little") + b"\x01")
    for target in ["admit_sequence", "admit_sequence_deep"]:
        # Grants 0..3 (1, 2, 3, 1 uses), each presented until refused, 10 s apart.
        put(target, b"".join(bytes([g, 10, 0, 0, 0]) for g in [0, 0, 1, 1, 1, 2, 2, 2, 2, 3]))
        put(target, b"".join(bytes([g, 100, at, 0, 1]) for g, at in [(1, 50), (1, 150), (2, 250)]))
    # The phone session (link/src/fuzz_session.rs): a setup byte (MTU 20 + b % 236; bit 0 set:
    # ask the door's info; bit 1 set: no log; bit 2 set: any door), then radio operations
    # (0-2 deliver, 3 up only, 4 lose up, 5 lose down, 6 corrupt, 7 forge, 8 wait, 9 reconnect).
    wait = bytes([8, 255]) * 13  # over the 3 s answer timeout
    for target in ["phone_session", "phone_session_deep"]:
        for setup in [224, 225, 226, 0, 3, 164]:
            put(target, bytes([setup]) + bytes(400))
        put(target, bytes([224, 0, 0, 3, 5]) + wait + bytes(400))  # the admission's answer lost
        put(target, bytes([224]) + bytes(12) + bytes([9, 1]) + bytes(400))
        put(target, bytes([224]) + bytes(20) + bytes([6, 3, 0x10]) + wait + bytes(400))
    # The link target: an MTU byte, then length-prefixed fragments (link/src/fuzz_hooks.rs);
    # the framing vectors' fragment streams and every message of the link vectors.
    link = json.load(open(os.path.join(VECTORS, "link.json")))
    for case in link["framing"]:
        fragments = [bytes.fromhex(f) for f in case["fragments"]]
        put("link", bytes([case["mtu"]]) + b"".join(bytes([len(f)]) + f for f in fragments))
    for message in link["messages"]:
        put("link", bytes.fromhex(message["hex"]))
    for n in [1, 8, 40]:
        put("replay_window", bytes((i * 37 + n) % 256 for i in range(3 * n)))
    door_scripts()
    if "--openapi" in sys.argv:
        server_requests(sys.argv[sys.argv.index("--openapi") + 1])
    portal_requests()


def door_scripts():
    """The door on the simulator (device-fw/src/fuzzing.rs): a settings byte (1: patient),
    then 4-byte steps: 0 attempt (grant a % 4 of 1..4 uses, patch at b with c), 2 clock
    (a, b: 16 ms units), 3 power cut (at flash op a % 64 from now, or during the next boot if
    c is odd; b % 4 picks the tear), 4 reboot, 5 door state a & 1, 6 raw fragment of a bytes
    (after the step), 7 door switch (a: bit 0 open, bit 1 exit request)."""
    def attempt(grant, at=0, xor=0):
        return bytes([0, grant, at, xor])
    steps = {
        "uses": [attempt(g) for g in [0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3]],
        "cut_in_attempt": [attempt(1), bytes([3, 2, 2, 0]), attempt(1), attempt(1),
                           bytes([4, 0, 0, 0]), attempt(1)],
        "cut_at_boot": [attempt(2), bytes([3, 5, 1, 1]), attempt(2), bytes([3, 1, 0, 1]),
                        attempt(2), attempt(2)],
        "cut_torn": [bytes([3, 0, 3, 0]), attempt(3), bytes([3, 1, 2, 0]), attempt(3),
                     attempt(3), attempt(3), attempt(3)],
        "states_clock_switch": [bytes([5, 0, 0, 0]), bytes([5, 1, 0, 0]), attempt(0),
                                bytes([7, 1, 0, 0]), bytes([2, 0x10, 0x27, 0]),
                                bytes([7, 0, 0, 0]), bytes([2, 0xff, 0xff, 0]), attempt(1)],
        "raw": [bytes([6, 8, 0, 0]) + bytes([0x80, 0, 1, 0, 0, 0, 1, 0x01]), attempt(0)],
    }
    for target in ["door_sim", "door_sim_deep"]:
        for name, script in steps.items():
            put(target, b"\x01" + b"".join(script))
        # Not patient: forged presentations until back-off, then an honest one.
        put(target, b"\x00" + b"".join(attempt(0, 40 + i, 1) for i in range(12)) + attempt(0))


# The order of METHODS in server/src/fuzzing.rs.
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]
# The admission vectors' site root: a valid key for the bodies that need one.
ROOT_HEX = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"


def server_requests(document):
    """One request per route of the OpenAPI document (server/src/fuzzing.rs): `[method, auth
    (0x81: the operator's token, JSON), 0xff (the path as given), path?query, 0, idempotency
    key, 0, body]`, with the document's example body, its placeholders made well-formed; and
    each again without a token."""
    doc = json.load(open(document))
    for path, operations in sorted(doc["paths"].items()):
        concrete = path
        for name in ["site_id", "door_id", "issuer_id", "carrier_id", "driver_id", "unit_id",
                     "resident_id", "delivery_id", "grant_id", "token_id", "webhook_id",
                     "revocation_id", "approval_id"]:
            concrete = concrete.replace("{%s}" % name, name.split("_")[0][:4] + "_0")
        concrete = concrete.replace("{", "").replace("}", "")
        for method, op in sorted(operations.items()):
            query = ""
            if any(p.get("name") == "limit" for p in op.get("parameters", [])):
                query = "?limit=2"
            example = (op.get("requestBody", {}).get("content", {})
                       .get("application/json", {}).get("example"))
            body = b""
            if example is not None:
                text = json.dumps(example, ensure_ascii=False).replace("<64 hex>", ROOT_HEX)
                text = text.replace("<128 hex>", "00" * 64)
                for placeholder in ["<hex from porter root enroll-device>",
                                    "<hex from porter root certify-issuer>",
                                    "<hex from porter root sign-state>", "<hex>"]:
                    text = text.replace(placeholder, "00")
                body = text.replace("\u2026", "0").encode()
            m = METHODS.index(method.upper())
            for auth in [0x81, 0x80]:
                put("server_request", bytes([m, auth, 0xFF]) + (concrete + query).encode()
                    + b"\x00fuzz-key\x00" + body)


# Example forms of the portal's POST routes (the handlers' form structs; `csrf` is added by
# the hook). Query strings for the pages that take one.
PORTAL_FORMS = {
    "/portal/manager/units": "label=9Z",
    "/portal/manager/residents/invite": "unit_id=$0&display_name=C.+Roy&email=c%40example.org",
    "/portal/manager/revocations/revoke": "kind=driver&id=$1",
    "/portal/manager/revocations/door-state": "state=00",
    "/portal/resident/opt-out": "opted_out=yes",
    "/portal/resident/email": "email=r%40example.org&lang=fr",
    "/portal/sign-in/finish": "{}",
}
PORTAL_QUERIES = {
    "/portal/manager/log": "?door=&carrier=&page=2",
    "/portal/manager/deliveries": "?page=1",
    "/portal/lang/{lang}": "?back=/portal/manager",
}


def portal_requests():
    """One request per portal route (server/src/fuzzing/portal.rs, whose ROUTES this reads):
    `[method, who, route, path?query, 0, form, 0, cookie]`: GET and POST, as nobody, the
    manager and the resident, with the session's CSRF token and a form body; path parameters
    `$0` (the first id the site holds)."""
    source = open(os.path.join(HERE, "..", "server", "src", "fuzzing", "portal.rs")).read()
    table = source[source.index("pub const ROUTES"):]
    routes = re.findall(r'"(/[^"]*)"', table[:table.index("];")])
    for i, route in enumerate(routes):
        params = "/".join("$%d" % n for n in range(route.count("{")))
        path = ("fr" if route.endswith("{lang}") else params) + PORTAL_QUERIES.get(route, "")
        form = PORTAL_FORMS.get(route, "").encode()
        for method in [0, 1]:
            for who in [0, 1, 2]:
                put("server_portal", bytes([method, who | 0x10, i]) + path.encode() + b"\x00"
                    + form + b"\x00porter_session=0")


if __name__ == "__main__":
    main()
