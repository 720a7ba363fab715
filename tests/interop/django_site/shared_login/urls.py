from django.contrib.auth.views import LoginView
from django.urls import path

from . import views

urlpatterns = [
    path("django/login/", LoginView.as_view(template_name="shared_login/login.html"), name="login"),
    path("django/whoami/", views.whoami, name="whoami"),
    path("django/set/", views.set_value, name="set"),
    path("django/expiry/", views.expiry, name="expiry"),
    path("django/logout/", views.logout, name="logout"),
]
