from django.urls import path

from onewindow.notify import views

app_name = "notify"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("read-all", views.read_all, name="read_all"),
    path("<int:pk>/read", views.read_one, name="read_one"),
]
