"""What the shipped deployment files do by default: the safe setup unless told otherwise
(issue 11, items 21 and 23)."""

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def procfile_command(kind, **environment):
    """The Procfile's `kind` line as the shell expands it in `environment` alone."""
    [line] = [
        line.split(":", 1)[1].strip()
        for line in (ROOT / "Procfile").read_text().splitlines()
        if line.startswith(f"{kind}:")
    ]
    env = {"PATH": os.environ["PATH"], **environment}
    answer = subprocess.run(
        ["sh", "-c", f"echo {line}"], env=env, capture_output=True, text=True, check=True
    )
    return answer.stdout.strip()


def test_the_procfile_serves_this_machine_only_unless_told_otherwise():
    """Bound to 0.0.0.0, gunicorn took X-Forwarded-For from anyone who reached it directly."""
    assert "--bind 127.0.0.1:8000 " in procfile_command("web")
    assert "--bind 0.0.0.0:5000 " in procfile_command("web", HOST="0.0.0.0", PORT="5000")


def test_the_deploy_example_trusts_forwarded_headers_from_its_load_balancer_only():
    settings = dict(
        line.split("=", 1)
        for line in (ROOT / "deploy" / "vpadmin.env.example").read_text().splitlines()
        if re.match(r"^[A-Z_]+=", line)
    )
    if int(settings.get("TRUSTED_PROXY_COUNT", "0")):
        assert settings.get("TRUSTED_PROXY_ADDRESSES", "").strip()


def test_the_virtual_environment_gets_a_current_setuptools(tmp_path):
    """`python -m venv` brings an old setuptools: make upgrades it with pip."""
    venv = tmp_path / "venv"
    plan = subprocess.run(
        ["make", "-n", f"VENV={venv}", f"{venv}/.installed"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    upgrades = [line for line in plan.splitlines() if "pip install" in line and "--upgrade" in line]
    assert any("setuptools" in line.split() for line in upgrades), plan
