from __future__ import annotations

import pytest

from onewindow import cli
from onewindow.workflow.models import ProcessDefinition

pytestmark = pytest.mark.django_db

GOOD = """
key: tiny
version: 1
start: accept
steps:
  accept:
    role: window_clerk
    actions:
      accept: {effect: accept, to: done}
  done: {type: end}
"""


def test_load_validates_and_refuses_a_changed_version(tmp_path, capsys):
    good = tmp_path / "tiny.yaml"
    good.write_text(GOOD, encoding="utf-8")
    assert cli.main(["workflow", "load", str(good)]) == 0
    assert ProcessDefinition.objects.filter(key="tiny", version=1).count() == 1
    assert cli.main(["workflow", "load", str(good)]) == 0  # unchanged: nothing new
    assert ProcessDefinition.objects.filter(key="tiny").count() == 1

    good.write_text(GOOD.replace("window_clerk", "reviewer"), encoding="utf-8")
    assert cli.main(["workflow", "load", str(good)]) == 1
    assert "version_exists" in capsys.readouterr().err

    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("window_clerk", "janitor").replace("tiny", "bad"), "utf-8")
    assert cli.main(["workflow", "load", str(bad)]) == 1
    assert "unknown_role" in capsys.readouterr().err
    assert not ProcessDefinition.objects.filter(key="bad").exists()
