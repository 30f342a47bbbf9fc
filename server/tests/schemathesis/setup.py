"""Makes what the API fuzzer needs to reach past authentication: a site, its manager, a
carrier, a unit with a resident, and one API token per role, through the API itself.
Prints the tokens as JSON. Usage: setup.py BASE_URL OPERATOR_TOKEN"""

import json
import random
import sys
import urllib.request
import uuid

BASE, OPERATOR = sys.argv[1], sys.argv[2]
# spec/vectors' site root key (the OpenAPI document's example).
ROOT_KEY = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"


def call(method, path, token, body):
    request = urllib.request.Request(
        BASE + path,
        method=method,
        data=json.dumps(body).encode(),
        headers={
            "Authorization": "Bearer " + token,
            "Content-Type": "application/json",
            "Idempotency-Key": uuid.uuid4().hex,
        },
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)


site = call("POST", "/v1/sites", OPERATOR, {
    "name": "12 Rue Exemple", "site_number": random.randint(1, 2**31),
    "root_key": ROOT_KEY, "zone": "UTC0"})
manager = call("POST", "/v1/tokens", OPERATOR, {"role": "manager", "site_id": site["id"]})
carrier = call("POST", "/v1/carriers", OPERATOR, {"name": "Rapid Parcel"})
carrier_token = call("POST", "/v1/tokens", OPERATOR, {"role": "carrier", "carrier_id": carrier["id"]})
unit = call("POST", f"/v1/sites/{site['id']}/units", manager["token"], {"label": "4B"})
resident = call("POST", f"/v1/sites/{site['id']}/units/{unit['id']}/residents", manager["token"],
                {"display_name": "A. Martin"})
resident_token = call("POST", "/v1/tokens", manager["token"],
                      {"role": "resident", "resident_id": resident["id"]})
print(json.dumps({
    "operator": OPERATOR,
    "manager": manager["token"],
    "carrier": carrier_token["token"],
    "resident": resident_token["token"],
}))
