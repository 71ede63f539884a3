"""Application pages (applicants) and the workbench (staff)."""

from django.urls import path

from onewindow.casework import views

app_name = "casework"

urlpatterns = [
    path("services/<str:key>/apply/", views.apply, name="apply"),
    path("services/<str:key>/precheck/", views.precheck, name="precheck"),
    path("applications/", views.application_list, name="list"),
    path("applications/<str:public_id>/", views.application_detail, name="detail"),
    path("applications/<str:public_id>/edit/", views.application_edit, name="edit"),
    path("applications/<str:public_id>/materials/", views.material_upload, name="upload"),
    path(
        "applications/<str:public_id>/materials/<int:file_id>/",
        views.material_download,
        name="material",
    ),
    path("applications/<str:public_id>/check/", views.application_check, name="check"),
    path("applications/<str:public_id>/submit/", views.application_submit, name="submit"),
    path("workbench/", views.workbench, name="workbench"),
    path("workbench/overdue/", views.workbench_overdue, name="overdue"),
    path("workbench/tasks/<int:item_id>/", views.task, name="task"),
    path("workbench/file/", views.file_for_citizen, name="file"),
]
