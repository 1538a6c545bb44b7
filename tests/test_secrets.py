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


def test_after_a_double_dash_a_secret_option_is_still_redacted() -> None:
    # A plain main() gets such options only after --: they are no less secret there.
    assert redact(["--", "--password", "pw", "--token=t"], NAMES) == \
        ["--", "--password", "***", "--token=***"]


def test_database_errors_lose_the_values_they_quote() -> None:
    scrub = Scrubber([], NAMES)
    postgres = ('(psycopg.errors.UniqueViolation) duplicate key value violates unique '
                'constraint "t_token_key"\nDETAIL:  Key (token)=(S3CRET-PG) already exists.\n'
                '[SQL: INSERT INTO t (token) VALUES (%(token)s)]')
    assert scrub.text(postgres) == postgres.replace("S3CRET-PG", "***")
    not_null = ('null value in column "name" of relation "t" violates not-null constraint\n'
                'DETAIL:  Failing row contains (1, S3CRET-ROW, null).')
    assert scrub.text(not_null) == not_null.replace("1, S3CRET-ROW, null", "***")
    expression = "DETAIL:  Key (lower(token::text))=(s3cret-lower) already exists."
    assert scrub.text(expression) == \
        "DETAIL:  Key (lower(token::text))=(***) already exists."
    mysql = ('(pymysql.err.IntegrityError) (1062, "Duplicate entry \'S3CRET-MY\' for key '
             '\'token\'")')
    assert scrub.text(mysql) == mysql.replace("S3CRET-MY", "***")


def test_a_url_password_holding_an_at_sign_is_masked_whole() -> None:
    assert Scrubber().text("postgresql://u:p@ss@h/db x") == "postgresql://u:***@h/db x"


def test_summary_values_that_are_no_json_are_scrubbed_as_their_text() -> None:
    class Conn:
        def __str__(self) -> str:
            return "postgresql://u:objpw@h/db"

    assert Scrubber().value({"conn": Conn(), "n": 2, "ok": True, "none": None}) == \
        {"conn": "postgresql://u:***@h/db", "n": 2, "ok": True, "none": None}


def test_the_app_s_secrets_leave_out_names_that_only_look_secret() -> None:
    config = {"SECRET_KEY": b"bytes-secret-key", "SECRET_KEY_FALLBACKS": ["old-key-1"],
              "SESSION_COOKIE_NAME": "session", "SESSION_COOKIE_PATH": "/app",
              "USE_AUTH": "true", "REDIS_URL": "redis://:redispw@cache:6379/0",
              "OAUTH_CLIENT_SECRET": "client-secret-value"}
    environ = {"PWD": "/home/alice/shop", "OLDPWD": "/home/alice", "PGPASSWORD": "envpass",
               "SSH_AUTH_SOCK": "/tmp/ssh-x/agent.1", "GITHUB_TOKEN": "ghp_tokenvalue",
               "HTTP_PROXY": "http://bob:proxypw@proxy:3128"}
    found = set(app_secrets(config, environ, NAMES))
    assert {"bytes-secret-key", "old-key-1", "redispw", "client-secret-value", "envpass",
            "ghp_tokenvalue", "proxypw"} <= found
    assert not found & {"session", "/app", "true", "/home/alice/shop", "/home/alice",
                        "/tmp/ssh-x/agent.1"}


def test_a_click_command_s_secret_options_go_by_every_name() -> None:
    import click

    from opsctl.run.script import secret_params

    @click.command()
    @click.option("-p", "--password")
    @click.option("-x", "pw")
    @click.option("--phrase", hide_input=True)
    @click.option("-t", "--show-token/--hide-token", default=False)
    @click.option("-n", "--name")
    @click.argument("api_key", required=False)
    def main(**kw: object) -> None: ...

    opts, names = secret_params(main, NAMES)
    assert opts == {"-p", "--password", "-x", "--phrase", "-t", "--show-token", "--hide-token"}
    assert names == ("password", "pw", "phrase", "show_token", "api_key")


def test_basic_credentials_are_masked_like_bearer_tokens() -> None:
    assert Scrubber().text("Authorization: Basic dXNlcjpwYXNz") == "Authorization: Basic ***"


def test_the_scrubber_knows_the_app_s_engines_and_the_ledger_s_password() -> None:
    """A URL object in the config prints its password as ***: only the engine has it."""
    import sqlalchemy as sa
    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy

    from opsctl.run.app import scrubber_for

    app = Flask("engines")
    app.config["SQLALCHEMY_DATABASE_URI"] = sa.URL.create(
        "postgresql+psycopg", username="u", password="Engine-Pw-0041", host="127.0.0.1",
        port=1, database="x")
    db = SQLAlchemy(app)
    assert "Engine-Pw-0041" not in repr(dict(app.config))
    with app.app_context():
        scrub = scrubber_for(app, NAMES, "postgresql://opsctl:Ledger-Pw-0042@db/ops")
        text = "engine Engine-Pw-0041, ledger Ledger-Pw-0042"
        assert scrub.text(text) == "engine ***, ledger ***"
        for engine in db.engines.values():
            engine.dispose()
