"""The data steward's pages (数据管理员), mounted at /datahub/ by the project's urls.py."""

from django.urls import path

from onewindow.datahub import views

app_name = "datahub_staff"

urlpatterns = [
    path("quality/", views.quality_report, name="quality"),
]
