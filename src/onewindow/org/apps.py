from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "onewindow.org"
    label = "org"
    verbose_name = _("Organisation")

    def ready(self) -> None:
        from django.core.cache import cache
        from django.db import transaction
        from django.db.models.signals import post_delete, post_save

        from onewindow.org.models import DEPARTMENT_IDS_CACHE_KEY, Department

        def forget_ids(**_kwargs: object) -> None:
            # Whoever changed a department (services, admin, a migration), the cached code ->
            # id map is dropped when the change commits, and at once so this transaction
            # does not read a stale map either.
            cache.delete(DEPARTMENT_IDS_CACHE_KEY)
            transaction.on_commit(lambda: cache.delete(DEPARTMENT_IDS_CACHE_KEY))

        post_save.connect(forget_ids, sender=Department, dispatch_uid="org-department-ids-save")
        post_delete.connect(forget_ids, sender=Department, dispatch_uid="org-department-ids-del")
