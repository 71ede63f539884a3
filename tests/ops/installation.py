"""Run inside a scratch installation (``python -m tests.ops.installation ACTION``, from the
repository root, with that installation's ``ONEWINDOW_*`` environment) by tests/ops:

seed      the demo city (its food business service only, no data hub registries), then
          applications with uploaded materials (申请材料) made through the casework services
apply     one more draft application with materials (changes the installation)
snapshot  print, as JSON, every application, material file and e-license row, and the SHA-256
          of every stored file read back through the storage API
wipe      delete every stored file through the storage API
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from typing import Any


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onewindow.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast


def seed() -> None:
    from tests.casework.conftest import food_draft, food_submitted

    from onewindow import demo
    from onewindow.catalog import services as catalog

    def food_service_only() -> int:
        data = catalog.catalog_load_yaml(demo.CATALOG_FILE.read_text("utf-8"))
        data["items"] = [i for i in data["items"] if i["key"] == "food_business_license"]
        data.pop("bundles", None)
        catalog.catalog_import(data)
        return 1

    demo._seed_catalog = food_service_only  # type: ignore[assignment]
    demo._seed_datahub = lambda: (0, 0)  # type: ignore[assignment]
    demo.seed()
    food_submitted("zhangsan")
    food_submitted("lisi", premises_area=120, operator_name="示范面馆")
    food_draft("zhangsan", business_items=["hot_food", "cold_food"])


def apply() -> None:
    from tests.casework.conftest import food_draft

    food_draft("lisi", operator_name="备份之后的小店")


def snapshot() -> dict[str, Any]:
    from django.core.files.storage import storages

    from onewindow.casework.models import Application, MaterialFile
    from onewindow.kit.crypto import sm3_hex
    from onewindow.license.models import License
    from onewindow.ops.backup import stored_names

    storage = storages["default"]
    files = {}
    for name in stored_names(storage):
        with storage.open(name, "rb") as fh:
            data = fh.read()
        files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "sm3": sm3_hex(data)}
    return {
        "applications": list(Application.objects.order_by("pk").values()),
        "materials": list(MaterialFile.objects.order_by("pk").values()),
        "licenses": list(License.objects.order_by("pk").values()),
        "files": files,
    }


def wipe() -> None:
    from django.core.files.storage import storages

    from onewindow.ops.backup import stored_names

    storage = storages["default"]
    for name in stored_names(storage):
        storage.delete(name)


if __name__ == "__main__":
    _setup()
    action = sys.argv[1]
    if action == "snapshot":
        print(json.dumps(snapshot(), ensure_ascii=False, default=str))
    else:
        {"seed": seed, "apply": apply, "wipe": wipe}[action]()
