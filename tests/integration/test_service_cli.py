"""``triage db``, ``triage keys`` and ``triage serve`` refusing an un-migrated database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from triage.adapters.bootstrap import build_service
from triage.cli.main import main as cli
from triage.config import get_settings
from triage.services.keys import authenticate

pytestmark = pytest.mark.integration


def test_serve_refuses_an_unmigrated_database_then_db_upgrade_fixes_it(cli_home: Path, capsys) -> None:  # noqa: ANN001
    assert cli(["serve", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "has never been migrated" in err and "run `triage db upgrade` first" in err
    assert cli(["db", "status"]) == 0
    assert json.loads(capsys.readouterr().out)["up_to_date"] is False
    assert cli(["db", "upgrade"]) == 0
    assert json.loads(capsys.readouterr().out)["to"]
    assert cli(["db", "status"]) == 0
    assert json.loads(capsys.readouterr().out)["up_to_date"] is True


def test_keys_create_prints_the_key_alone_on_the_last_line_and_stores_only_its_hash(cli_home: Path, capsys) -> None:  # noqa: ANN001
    assert cli(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert cli(["keys", "create", "--role", "agent", "--agent", "wang.lei", "--name", "desk"]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert key.startswith("tt_") and " " not in key
    service = build_service(get_settings())
    principal = authenticate(service.read, key)
    assert principal is not None and principal.agent_id == "wang.lei" and principal.teams == {"tech"}
    with service.read() as uow:
        assert all(key not in str(record) for record in uow.keys.all())
    service.stop()
    assert cli(["keys", "create", "--role", "manager"]) == 2
    assert "needs --team" in capsys.readouterr().err
    assert cli(["keys", "create", "--role", "agent", "--agent", "ghost"]) == 2
    assert cli(["keys", "list"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [k["name"] for k in listed] == ["desk"]
    assert cli(["keys", "revoke", listed[0]["id"]]) == 0
    assert authenticate(build_service(get_settings()).read, key) is None
