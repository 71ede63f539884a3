"""The data subject's pages: my consents (我的授权) and who accessed my data (谁查看了我的数据)."""

from django.urls import path

from onewindow.datahub import views

app_name = "datahub"

urlpatterns = [
    path("consents/", views.consents, name="consents"),
    path("consents/<int:pk>/revoke", views.consent_revoke, name="consent_revoke"),
    path("access-log/", views.access_log, name="access_log"),
]
