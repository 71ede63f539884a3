from __future__ import annotations

from ninja import NinjaAPI
from ninja.renderers import JSONRenderer

from onewindow.api.errors import install_handlers
from onewindow.api.validate import router as validate_router
from onewindow.casework.api import router as casework_router
from onewindow.casework.api import tasks_router
from onewindow.catalog.api import router as catalog_router
from onewindow.datahub.api import router as datahub_router
from onewindow.identity.api import router as identity_router
from onewindow.license.api import router as license_router
from onewindow.notify.api import router as notify_router
from onewindow.org.api import router as org_router
from onewindow.workflow.api import router as workflow_router


class Utf8JSONRenderer(JSONRenderer):
    """Chinese text as UTF-8, not \\uXXXX escapes: readable and about a third smaller."""

    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    renderer=Utf8JSONRenderer(),
    title="OneWindow API (一网通办)",
    version="1",
    description=(
        "The public API of the OneWindow platform. Every error has the shape "
        '`{"code", "message", "details", "request_id"}`; codes are listed in docs/api-errors.md.'
    ),
    urls_namespace="api-v1",
)
install_handlers(api)
api.add_router("/validate", validate_router)
api.add_router("/", identity_router)
api.add_router("/", catalog_router)
api.add_router("/", workflow_router)
api.add_router("/", org_router)
api.add_router("/", notify_router)
api.add_router("/", casework_router)
api.add_router("/", tasks_router)
api.add_router("/", datahub_router)
api.add_router("/", license_router)

urlpatterns = api.urls
