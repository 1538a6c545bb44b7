"""Secret values are scrubbed before anything is stored: option values by every name they go
by, ``KEY=value`` arguments, URL passwords, SQLAlchemy's bound parameters and the app's own
secrets. Unit level; ``tests/test_secrets_ledger.py`` searches real ledgers for the bytes."""

from __future__ import annotations

import pytest

from opsctl.config import DEFAULT_SECRET_OPTIONS
from opsctl.run.secrets import Scrubber, app_secrets, redact, secret_name

NAMES = DEFAULT_SECRET_OPTIONS


@pytest.mark.parametrize("option", [
    "--password", "--db-password", "--passwd", "--pass", "--pwd", "--token", "--api-key",
    "--api_key", "--apikey", "--auth", "--credentials", "--key", "--private-key", "--secret",
    "--client-secret", "--pin", "--cookie", "PASSWORD", "DB_PASSWORD", "STRIPE_API_KEY",
])
def test_secret_names(option: str) -> None:
    assert secret_name(option, NAMES)


@pytest.mark.parametrize("option", ["--older-than", "--author", "--monkey", "--passes",
                                    "--keyword", "--bypass-cache", "--days", "--limit"])
def test_ordinary_names(option: str) -> None:
    assert not secret_name(option, NAMES)


@pytest.mark.parametrize(("args", "stored"), [
    (["--password", "hunter2"], ["--password", "***"]),
    (["--password=hunter2"], ["--password=***"]),
    (["-p", "hunter2"], ["-p", "***"]),
    (["-phunter2"], ["-p***"]),
    (["--apikey", "k3y-v4lue"], ["--apikey", "***"]),
    (["--auth", "Bearer abc.def"], ["--auth", "***"]),
    (["--key", "AKIA1234"], ["--key", "***"]),
    (["PASSWORD=hunter2", "days=3"], ["PASSWORD=***", "days=3"]),
    (["--verbose", "--token", "t0k"], ["--verbose", "--token", "***"]),
    (["--days", "3", "--limit", "-1"], ["--days", "3", "--limit", "-1"]),
])
def test_redact(args: list[str], stored: list[str]) -> None:
    assert redact(args, NAMES, flags=frozenset({"--verbose"}),
                  secret_opts=frozenset({"-p", "--password"})) == stored


def test_a_configured_name_is_secret_and_a_declared_alias_follows_its_option() -> None:
    assert redact(["--pin", "1234"], ["pin"]) == ["--pin", "***"]
    assert redact(["-x", "1234"], [], secret_opts=frozenset({"-x"})) == ["-x", "***"]
    # A flag named like a secret takes no value: the next argument is kept.
    assert redact(["--show-token", "file.csv"], NAMES,
                  flags=frozenset({"--show-token"})) == ["--show-token", "file.csv"]


def test_the_scrubber_masks_urls_parameters_bearers_pairs_and_known_values() -> None:
    scrub = Scrubber(["S3CRETKEY", "xy"], NAMES)
    assert scrub.text("postgresql://app:hunter2@db.internal:5432/shop") == \
        "postgresql://app:***@db.internal:5432/shop"
    assert scrub.text("mysql+pymysql://root:p%40ss@h/x and more") == \
        "mysql+pymysql://root:***@h/x and more"
    error = ("(psycopg.errors.UniqueViolation) duplicate key\n[SQL: INSERT INTO t (token) "
             "VALUES (%(token)s)]\n[parameters: {'token': 'S3CRET-TOKEN'}]\n(Background ...)")
    assert "S3CRET-TOKEN" not in (scrub.text(error) or "")
    assert "[SQL: INSERT INTO t" in (scrub.text(error) or "")
    assert scrub.text("Authorization: Bearer eyJhbGciOi.x.y") == "Authorization: Bearer ***"
    assert scrub.text("using token=abc123 and days=3") == "using token=*** and days=3"
    assert scrub.text("the key is S3CRETKEY!") == "the key is ***!"
    assert scrub.text("xy stays: too short to be told from words") == \
        "xy stays: too short to be told from words"
    assert scrub.value({"password": "hunter2", "rows": 3, "note": ["S3CRETKEY"]}) == \
        {"password": "***", "rows": 3, "note": ["***"]}


def test_the_app_s_own_secrets_are_known() -> None:
    config = {"SECRET_KEY": "flask-secret-key", "STRIPE_API_KEY": "sk_live_123",
              "SQLALCHEMY_DATABASE_URI": "postgresql://app:db%2Fpass@h/shop",
              "SQLALCHEMY_BINDS": {"audit": "mysql://a:auditpw@h/audit"},
              "DEBUG": False, "NAME": "shop"}
    found = set(app_secrets(config, {"PGPASSWORD": "envpass", "HOME": "/root"}, NAMES))
    assert {"flask-secret-key", "sk_live_123", "db%2Fpass", "db/pass", "auditpw",
            "envpass"} <= found
    assert "/root" not in found and "shop" not in found
