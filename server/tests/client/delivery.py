"""One full delivery driven by a client that openapi-python-client generated from `porter openapi`.

Run by run.sh (which generates the client, starts `porter serve` and passes the environment):
PORTER_URL, PORTER_OPERATOR_TOKEN, PORTER_ROOT_BIN (the offline `porter-root` tool), PORTER_WORK (a
scratch directory). Every call goes through the generated code and every answer is parsed into
the generated models, so a schema in the document that disagrees with what the server sends
fails here.
"""

import os
import random
import subprocess
import sys
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from porter_client import AuthenticatedClient
from porter_client.api.default import (
    get_deliveries_delivery_id,
    get_me_notifications,
    post_carriers,
    post_deliveries,
    post_deliveries_delivery_id_grants,
    post_drivers,
    post_drivers_challenges,
    post_sites,
    post_sites_site_id_approvals,
    post_sites_site_id_doors,
    post_sites_site_id_issuers,
    post_sites_site_id_units,
    post_sites_site_id_units_unit_id_residents,
    post_tokens,
    put_sites_site_id_issuers_issuer_id_certificate,
)
from porter_client.models import (
    ApprovalView,
    CarrierView,
    CertificateUpload,
    DeliveryView,
    DoorView,
    DriverChallenge,
    DriverView,
    Error,
    GrantRequest,
    IssuedGrant,
    IssuerView,
    NewApproval,
    NewCarrier,
    NewDelivery,
    NewDoor,
    NewDriver,
    NewResident,
    NewSite,
    NewToken,
    NewUnit,
    NoFields,
    ResidentView,
    Role,
    SiteView,
    TokenCreated,
    UnitView,
)

URL = os.environ["PORTER_URL"]
PORTER_ROOT = os.environ["PORTER_ROOT_BIN"]
WORK = os.environ["PORTER_WORK"]


def client(token):
    return AuthenticatedClient(base_url=URL, token=token, raise_on_unexpected_status=True)


def ok(response, status, model):
    """The parsed answer, after checking the status and that it parsed into `model`."""
    if response.status_code != status or not isinstance(response.parsed, model):
        sys.exit(
            f"expected {status} {model.__name__}, got {int(response.status_code)}: "
            f"{response.content.decode(errors='replace')}"
        )
    return response.parsed


def root(*args):
    out = subprocess.run([PORTER_ROOT, *args], check=True, capture_output=True, text=True)
    return out.stdout


def public_hex(key):
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def token(creator, **scope):
    made = post_tokens.sync_detailed(client=client(creator), body=NewToken(**scope))
    return ok(made, 201, TokenCreated).token


def main():
    operator = os.environ["PORTER_OPERATOR_TOKEN"]
    key_file = os.path.join(WORK, "root.key")
    site_number = random.randrange(1, 2**31)
    printed = dict(line.split(" ", 1) for line in root("init", "--key", key_file, "--site", str(site_number)).split("\n") if line)

    site = ok(
        post_sites.sync_detailed(
            client=client(operator),
            body=NewSite(name="12 Rue Exemple", site_number=site_number, root_key=printed["root_key"], zone="UTC0"),
            idempotency_key="site-1",
        ),
        201, SiteView,
    )
    manager = client(token(operator, role=Role.MANAGER, site_id=site.id))

    device = Ed25519PrivateKey.generate()
    # The enrolment names the site server's log key, read from the generated site model.
    enrolment = root(
        "enroll-device", "--key", key_file, "--door", "1", "--device", public_hex(device), "--log-key", site.log_key
    ).strip()
    door = ok(
        post_sites_site_id_doors.sync_detailed(site.id, client=manager, body=NewDoor(name="street door", enrolment=enrolment)),
        201, DoorView,
    )
    assert door.door_number == 1, door

    issuer = ok(post_sites_site_id_issuers.sync_detailed(site.id, client=manager, body=NoFields()), 201, IssuerView)
    certificate = root("certify-issuer", "--key", key_file, "--issuer", issuer.public_key, "--zone", site.zone).strip()
    certified = ok(
        put_sites_site_id_issuers_issuer_id_certificate.sync_detailed(
            site.id, issuer.id, client=manager, body=CertificateUpload(certificate=certificate)
        ),
        200,
        IssuerView,
    )
    assert certified.certificate == certificate

    carrier_id = ok(post_carriers.sync_detailed(client=client(operator), body=NewCarrier(name="Rapid Parcel")), 201, CarrierView).id
    carrier = client(token(operator, role=Role.CARRIER, carrier_id=carrier_id))
    ok(
        post_sites_site_id_approvals.sync_detailed(
            site.id,
            client=manager,
            body=NewApproval(carrier_id=carrier_id, issuer_id=issuer.id, doors=[1], max_uses=2, max_lifetime_minutes=15),
        ),
        201,
        ApprovalView,
    )

    holder = Ed25519PrivateKey.generate()
    driver_view = ok(post_drivers.sync_detailed(client=carrier, body=new_driver(carrier, carrier_id, holder)), 201, DriverView)
    driver = client(token(carrier.token, role=Role.DRIVER, driver_id=driver_view.id))

    unit = ok(post_sites_site_id_units.sync_detailed(site.id, client=manager, body=NewUnit(label="4B")), 201, UnitView)
    resident_view = ok(
        post_sites_site_id_units_unit_id_residents.sync_detailed(site.id, unit.id, client=manager, body=NewResident(display_name="A. Martin")),
        201,
        ResidentView,
    )
    resident = client(token(manager.token, role=Role.RESIDENT, resident_id=resident_view.id))

    now = int(time.time())
    delivery = ok(
        post_deliveries.sync_detailed(
            client=carrier,
            body=NewDelivery(site_id=site.id, unit="4B", tracking_number="1Z999AA10123456784", window_start=now - 60, window_end=now + 3600),
            idempotency_key="delivery-1",
        ),
        201,
        DeliveryView,
    )
    grant = ok(
        post_deliveries_delivery_id_grants.sync_detailed(
            delivery.id, client=driver, body=GrantRequest(uses=1, lifetime_minutes=10, doors=[1]), idempotency_key="grant-1"
        ),
        201,
        IssuedGrant,
    )
    assert grant.doors == [1] and grant.uses == 1 and len(grant.grant) > 0, grant

    # A refusal parses into the one error shape, with a code from the document's enum.
    too_many = post_deliveries_delivery_id_grants.sync_detailed(
        delivery.id, client=driver, body=GrantRequest(uses=99, lifetime_minutes=10, doors=[1])
    )
    assert int(too_many.status_code) == 422 and isinstance(too_many.parsed, Error), too_many.content
    assert too_many.parsed.code.value == "too_many_uses", too_many.parsed

    # The delivery as the resident reads it, and the announcement in their notifications.
    seen = ok(get_deliveries_delivery_id.sync_detailed(delivery.id, client=resident), 200, DeliveryView)
    assert seen.id == delivery.id and seen.unit_id == unit.id, seen
    notes = get_me_notifications.sync_detailed(client=resident)
    assert int(notes.status_code) == 200 and any(n.kind == "delivery.announced" for n in notes.parsed.items), notes.content
    print(f"generated client: one delivery end to end (site {site.id}, delivery {delivery.id}, grant {grant.id})")


# What the phone signs to prove it holds its key: the tag, the challenge's bytes, the carrier id.
REGISTRATION_TAG = b"porter/v1/holder-registration\0"


def new_driver(carrier, carrier_id, holder):
    """The registration body for `holder`: a fresh challenge signed with the holder key."""
    challenge = ok(post_drivers_challenges.sync_detailed(client=carrier), 201, DriverChallenge).challenge
    signed = holder.sign(REGISTRATION_TAG + bytes.fromhex(challenge) + carrier_id.encode())
    return NewDriver(holder_key=public_hex(holder), label="van 7", challenge=challenge, signature=signed.hex())


if __name__ == "__main__":
    main()
