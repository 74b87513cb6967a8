"""Refused API tokens are bounded per client address: the first API_REFUSED_TOKEN_LIMIT of
a window are audit rows one by one, the next one a row saying the rest are counted, the rest
counted on the address's record (shown on /team/) and written as one row with their number
when the window ends. Every refusal is still a 401, and a good token from the same address
still works."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from groups import services
from groups.models import AuditEntry, TokenRefusals
from groups.services import tokens
from tests.factories import actor

from .conftest import api_for

FLOOD = "203.0.113.7"
LIMIT = 20  # the setting's default


def bogus(address, n=1, secret="vpa_madeUpToken"):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}", REMOTE_ADDR=address)
    answers = {client.get("/api/devices/").status_code for _ in range(n)}
    assert answers == {401}
    return answers


def refused_rows():
    return AuditEntry.objects.filter(action="token.refused").order_by("pk")


def test_a_flood_of_refused_tokens_writes_a_bounded_number_of_rows(db, settings):
    assert settings.API_REFUSED_TOKEN_LIMIT == LIMIT
    bogus(FLOOD, 200)

    rows = list(refused_rows())
    assert len(rows) == LIMIT + 1
    assert {row.facts["say"] for row in rows[:LIMIT]} == {"token_unknown"}
    held = rows[LIMIT]
    assert held.facts["say"] == "token_refusals_held" and held.facts["address"] == FLOOD
    assert "More than 20 requests with a refused API token came from 203.0.113.7" in (
        held.explanation
    )
    window = TokenRefusals.objects.get(address=FLOOD)
    assert (window.refused, window.counted) == (200, 200 - LIMIT - 1)


def test_the_count_is_written_as_one_row_when_the_window_ends(db, settings):
    bogus(FLOOD, 60)
    TokenRefusals.objects.update(window_started_at=timezone.now() - timedelta(minutes=16))
    bogus("198.51.100.1")  # the next refusal from anywhere ends the window

    counted = refused_rows().get(facts__say="token_refusals_counted")
    assert (counted.facts["address"], counted.facts["count"]) == (FLOOD, 60 - LIMIT - 1)
    assert counted.explanation.startswith(
        "39 more requests with a refused API token came from 203.0.113.7 between "
    )
    assert counted.via == "api" and counted.outcome == "refused"
    assert not TokenRefusals.objects.filter(address=FLOOD).exists()
    # 60 refusals, LIMIT + 2 rows, and the rows say all 60.
    from_flood = [row for row in refused_rows() if row.ip_address == FLOOD or row.pk == counted.pk]
    assert len(from_flood) == LIMIT + 2

    bogus(FLOOD)  # a new window: one by one again
    assert refused_rows().last().facts["say"] == "token_unknown"


def test_a_worker_writes_a_window_that_ended_with_no_refusal_after_it(db, settings):
    bogus(FLOOD, LIMIT + 3)
    later = timezone.now() + timedelta(minutes=16)
    services.keep_scheduled(now=later)
    counted = refused_rows().get(facts__say="token_refusals_counted")
    assert counted.facts["count"] == 2 and not TokenRefusals.objects.exists()


def test_other_addresses_and_good_tokens_are_not_held_back(operator, settings):
    settings.API_REFUSED_TOKEN_LIMIT = 3
    bogus(FLOOD, 10)
    bogus("198.51.100.1", 2)
    assert refused_rows().filter(ip_address="198.51.100.1", facts__say="token_unknown").count() == 2

    good = api_for(operator, REMOTE_ADDR=FLOOD)
    assert good.get("/api/devices/").status_code == 200


@pytest.mark.parametrize(
    "other, shared",
    [("2001:db8:1:2::99", True), ("2001:db8:1:3::1", False)],
)
def test_an_ipv6_client_is_counted_by_its_64(db, settings, other, shared):
    settings.API_REFUSED_TOKEN_LIMIT = 2
    bogus("2001:db8:1:2::1", 3)
    bogus(other, 1)
    windows = {w.address: w.refused for w in TokenRefusals.objects.all()}
    if shared:
        assert windows == {"2001:db8:1:2::/64": 4}
    else:
        assert windows == {"2001:db8:1:2::/64": 3, "2001:db8:1:3::/64": 1}


def test_revoked_and_expired_tokens_count_too(operator, settings):
    settings.API_REFUSED_TOKEN_LIMIT = 2
    token, secret = tokens.create_token(actor(operator), operator, name="old", read_only=True)
    tokens.revoke_token(actor(operator), token)
    bogus(FLOOD, 5, secret=secret)
    says = [row.facts["say"] for row in refused_rows()]
    assert says == ["token_revoked_used", "token_revoked_used", "token_refusals_held"]
    assert TokenRefusals.objects.get().counted == 2


def test_administrators_see_the_counts_on_the_team_page(administrator_client, viewer_client):
    bogus(FLOOD, LIMIT + 5)
    page = administrator_client.get("/team/").content.decode()
    assert "Refused API tokens" in page and FLOOD in page
    assert f"<td>{LIMIT + 5}</td>" in page and "<td>4</td>" in page
    assert FLOOD not in viewer_client.get("/team/").content.decode()
