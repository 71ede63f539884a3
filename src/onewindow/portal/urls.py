from django.urls import path

from onewindow.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("departments/", views.department_list, name="departments"),
    path("preferences/display", views.display_preferences, name="display"),
]
