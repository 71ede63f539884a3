from django.urls import path

from onewindow.catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.service_list, name="list"),
    path("<str:key>/", views.service_guide, name="guide"),
]
