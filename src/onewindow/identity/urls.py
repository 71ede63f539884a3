from django.urls import path

from onewindow.identity import views

app_name = "identity"

urlpatterns = [
    path("security/", views.security, name="security"),
    path("enterprises/", views.enterprises, name="enterprises"),
]
