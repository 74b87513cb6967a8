"""Schemathesis against the live schema of a live server: every operation of /api/schema/,
called over HTTP with an Administrator's read-write token on a register that holds a few
rows of each kind (groups on the Coze simulator), answers without a 5xx and as the schema
documents it (status code, content type, body). Deterministic (derandomized), bounded."""

import json
import uuid
import zlib

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    missing_required_header,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
    use_after_free,
)

from groups import services
from groups.models import AuditEntry, Device, Job, Person, Voiceprint, VoiceprintGroup

from .. import factories
from .conftest import api_for

# No 5xx; every answer's status code, content type, headers and body as documented; an
# operation refuses a request without the token (ignored_auth) and a method it does not
# document (405); a resource deleted is gone, one created can be read. Not schemathesis's
# guesses about what a valid request is (positive_data_acceptance, negative_data_rejection):
# the pages' forms check more than a schema can say (a serial already used, a consent whose
# keeping time has passed), and DRF reads 0 as the text "0", as a form does.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    unsupported_method,
    missing_required_header,
    use_after_free,
    ensure_resource_availability,
]
# Sends the request again without the token and with a made-up one: once per operation
# (each case would double the run, and each refused token is an audit row).
ONCE_PER_OPERATION = [ignored_auth]
# Each operation's boundary cases (the coverage phase) that the schema allows, then
# EXAMPLES generated ones, valid and not (the fuzzing phase): about 500 requests in all,
# 30 s or so. (The coverage phase's invalid cases would be 900 more, each parameter
# malformed every way it can be: the fuzzing phase's invalid cases stand in for them.)
EXAMPLES = 8
CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"deterministic": True},
        "phases": {"coverage": {"generation": {"mode": "positive"}}},
    }
)


def _ids(model):
    return list(model.objects.order_by("pk").values_list("pk", flat=True)[:6])


# The rows a path's {id} names: three generated ids in four are made to name a row that
# exists (the rest stay as generated, mostly a 404), so that reads, changes and deletions
# reach the services.
EXISTING = {
    "/api/devices/": Device,
    "/api/groups/": VoiceprintGroup,
    "/api/voiceprints/": Voiceprint,
    "/api/people/": Person,
    "/api/audit/": AuditEntry,
    "/api/jobs/": Job,
}


@pytest.fixture
def register(coze_sim, administrator, settings):
    """A few rows of each kind, as the services make them: devices with groups on the
    simulator, a spare device, people with a consent in force, withdrawn or none,
    voiceprints (one a colleague's on Coze), a sync's job and their audit rows."""
    settings.API_THROTTLE_RATE = "100000/minute"  # every operation reached, none throttled
    actor = factories.actor(administrator)
    groups = []
    for n in range(3):
        device = services.create_device(actor, name=f"Kiosk {n}", serial=f"KIO-{n:03d}")
        groups.append(
            services.create_group(
                actor, name=f"kiosk {n}", desc="", device=device, submission=uuid.uuid4()
            )
        )
    factories.device("Spare", "SPARE-1")
    people = [factories.enrollee(f"Enrollee {n}", reference=f"R-{n}") for n in range(3)]
    consents = [factories.consent_for(person) for person in people[:2]]
    mine, colleagues = (
        coze_sim.seed_voiceprints(groups[0].coze_id, 1),
        coze_sim.seed_voiceprints(groups[1].coze_id, 1, creator_id="7000000000000000001"),
    )
    factories.voiceprint(groups[0], coze_id=mine[0], person=people[0], consent=consents[0])
    factories.voiceprint(groups[1], coze_id=colleagues[0], coze_creator_id="7000000000000000001")
    factories.voiceprint(groups[2], person=people[1], consent=consents[1])
    services.withdraw_consent(actor, people[1], method="written")  # its voiceprint: to delete
    services.start_sync(actor)


@pytest.fixture
def api_schema(request, live_server, register):
    # schemathesis 4.32 names each operation's report by rewriting the test's
    # `node._nodeid`, an attribute pytest 9.2 no longer has: give it one to rewrite.
    request.node._nodeid = request.node.nodeid
    return schemathesis.openapi.from_url(f"{live_server.url}/api/schema/", config=CONFIG)


def name_existing_rows(case):
    """Make most cases' {id} name a row that exists (chosen from the case itself, so a
    derandomized run chooses the same). Done here rather than in a schemathesis hook:
    hooks do not reach the coverage phase's cases."""
    value = (case.path_parameters or {}).get("id")
    path = case.operation.path
    model = next((m for prefix, m in EXISTING.items() if path.startswith(prefix)), None)
    if value is None or model is None:
        return
    body = case.body if isinstance(case.body, (dict, list, str, int, float)) else None
    sent = json.dumps([case.method, value, case.query, body], sort_keys=True, default=repr)
    choice = zlib.crc32(sent.encode())
    if choice % 4 and (ids := _ids(model)):
        case.path_parameters["id"] = str(ids[choice % len(ids)])


@pytest.fixture
def token(administrator):
    """An Administrator's read-write token: every operation is allowed."""
    return api_for(administrator).token


@pytest.fixture
def operations_seen():
    return set()


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case, token, operations_seen):
    name_existing_rows(case)
    checks = CHECKS
    if case.operation.label not in operations_seen:
        operations_seen.add(case.operation.label)
        checks = CHECKS + ONCE_PER_OPERATION
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=checks)
