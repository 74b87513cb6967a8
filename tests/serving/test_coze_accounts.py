"""COZE_ACCOUNTS: the settings read several Coze accounts, checked, and never show a token."""

import importlib

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.views.debug import SafeExceptionReporterFilter

from groups.models import CozeAccount
from vpadmin.coze_accounts import read_coze_accounts

BASE = "https://api.coze.cn"


def read(environ, *, simulated=False, token="pat_main"):
    return read_coze_accounts(environ, token=token, base=BASE, quota=1000, simulated=simulated)


def refusal(environ, **kwargs):
    with pytest.raises(ImproperlyConfigured) as caught:
        read(environ, **kwargs)
    return str(caught.value)


def test_without_coze_accounts_there_is_the_default_account_alone():
    assert read({}) == {"default": {"token": "pat_main", "base": BASE, "quota": 1000}}
    assert list(read({"COZE_ACCOUNTS": ""})) == ["default"]


def test_each_named_account_has_its_token_base_and_quota_in_order():
    accounts = read(
        {
            "COZE_ACCOUNTS": "intl, cn2,",
            "COZE_INTL_API_TOKEN": "pat_intl",
            "COZE_INTL_API_BASE": "https://api.coze.com/",
            "COZE_INTL_GROUP_QUOTA": "5000",
            "COZE_CN2_API_TOKEN": "pat_cn2",
        }
    )

    assert accounts == {
        "default": {"token": "pat_main", "base": BASE, "quota": 1000},
        "intl": {"token": "pat_intl", "base": "https://api.coze.com", "quota": 5000},
        "cn2": {"token": "pat_cn2", "base": BASE, "quota": 1000},  # the default's base
    }
    assert list(accounts) == ["default", "intl", "cn2"]


def test_simulated_accounts_without_a_token_get_their_development_token():
    accounts = read(
        {"COZE_ACCOUNTS": "cn2,intl", "COZE_INTL_API_TOKEN": "pat_mine"},
        simulated=True,
        token="pat_vpadmin_simulator",
    )

    assert accounts["cn2"]["token"] == "pat_vpadmin_simulator_cn2"
    assert accounts["intl"]["token"] == "pat_mine"


def test_with_a_real_token_every_account_needs_its_own():
    message = refusal({"COZE_ACCOUNTS": "cn2"})

    assert "COZE_CN2_API_TOKEN must be set" in message


@pytest.mark.parametrize(
    ("names", "said"),
    [
        ("CN2", "'CN2' is not an account name"),
        ("cn-2", "'cn-2' is not an account name"),
        ("cn 2", "'cn 2' is not an account name"),
        ("cn2,cn2", "'cn2' is named twice"),
        ("default", "the default account is COZE_API_TOKEN's"),
    ],
)
def test_account_names_are_lowercase_letters_digits_and_underscores_once(names, said):
    environ = {"COZE_ACCOUNTS": names, "COZE_CN2_API_TOKEN": "pat_cn2"}
    assert said in refusal(environ, simulated=True)


def test_an_account_name_longer_than_the_registers_column_is_refused_naming_the_limit():
    longest, longer = "a" * 32, "cn_" + "x" * 30
    environ = {"COZE_ACCOUNTS": f"{longest},{longer}"}

    assert f"'{longer}' is 33 characters long: an account name has at most 32." in refusal(
        environ, simulated=True
    )
    assert list(read({"COZE_ACCOUNTS": longest}, simulated=True)) == ["default", longest]
    assert CozeAccount._meta.get_field("name").max_length == 32


@pytest.mark.parametrize(
    ("environ", "said"),
    [
        (
            {"COZE_CN2_API_TOKEN": "pat_main"},
            "COZE_CN2_API_TOKEN is the same token as COZE_API_TOKEN",
        ),
        (
            {"COZE_CN2_API_TOKEN": "pat_x", "COZE_INTL_API_TOKEN": "pat_x"},
            "COZE_INTL_API_TOKEN is the same token as COZE_CN2_API_TOKEN",
        ),
    ],
)
def test_each_account_has_a_token_of_its_own(environ, said):
    message = refusal({"COZE_ACCOUNTS": "cn2,intl", "COZE_INTL_API_TOKEN": "pat_i", **environ})

    assert said in message
    assert "pat_" not in message  # never the token itself


@pytest.mark.parametrize("quota", ["0", "-3", "lots", "2.5"])
def test_an_accounts_quota_is_a_positive_number(quota):
    environ = {"COZE_ACCOUNTS": "cn2", "COZE_CN2_GROUP_QUOTA": quota}

    assert "COZE_CN2_GROUP_QUOTA must be a positive number" in refusal(environ, simulated=True)


def test_the_settings_read_coze_accounts_from_the_environment(monkeypatch):
    import vpadmin.settings

    monkeypatch.setenv("COZE_ACCOUNTS", "cn2")
    monkeypatch.setenv("COZE_CN2_API_TOKEN", "pat_cn2")
    monkeypatch.setenv("COZE_CN2_GROUP_QUOTA", "2")
    try:
        reloaded = importlib.reload(vpadmin.settings)
        assert reloaded.COZE_ACCOUNTS["cn2"] == {
            "token": "pat_cn2",
            "base": reloaded.COZE_API_BASE,
            "quota": 2,
        }
        assert reloaded.COZE_ACCOUNTS["default"]["token"] == reloaded.COZE_API_TOKEN
        monkeypatch.setenv("COZE_CN2_GROUP_QUOTA", "0")
        with pytest.raises(ImproperlyConfigured, match="COZE_CN2_GROUP_QUOTA"):
            importlib.reload(vpadmin.settings)
    finally:
        monkeypatch.setenv("COZE_ACCOUNTS", "")
        importlib.reload(vpadmin.settings)


def test_the_debug_page_hides_every_accounts_token(coze_accounts):
    coze_accounts(cn2=2)

    shown = SafeExceptionReporterFilter().get_safe_settings()["COZE_ACCOUNTS"]

    assert "pat_test" not in repr(shown)
    assert shown["cn2"]["quota"] == 2 and shown["cn2"]["base"].startswith("http://127.0.0.1:")


def test_make_run_refuses_an_account_the_simulator_would_not_serve(settings):
    """Without a token, one simulator serves every account at COZE_API_BASE."""
    settings.COZE_SIMULATED = True
    settings.COZE_API_BASE = "http://127.0.0.1:8765"
    settings.COZE_ACCOUNTS = {
        "default": {"token": "pat_vpadmin_simulator", "base": settings.COZE_API_BASE, "quota": 3},
        "intl": {"token": "pat_vpadmin_simulator_intl", "base": "https://api.coze.com", "quota": 2},
    }

    with pytest.raises(CommandError, match="COZE_INTL_API_BASE"):
        call_command("rundev", "127.0.0.1:0")
