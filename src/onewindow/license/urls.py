"""E-license pages: /licenses/ (wallet, a license, the department's register) and the public
/verify/<identifier> that the QR code on every license opens."""

from django.urls import path

from onewindow.license import views

app_name = "license"

urlpatterns = [
    path("licenses/", views.wallet, name="wallet"),
    path("licenses/issued/", views.issued, name="issued"),
    path("licenses/<str:identifier>/", views.detail, name="detail"),
    path("licenses/<str:identifier>/pdf", views.pdf, name="pdf"),
    path("licenses/<str:identifier>/status", views.status_change, name="status"),
    path("verify/<str:identifier>", views.verify, name="verify"),
]
