from django.urls import path

from bpo.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.audit_list, name="list"),
    path("export.csv", views.audit_export, name="export"),
    path("access/", views.access_log, name="access_log"),
    path("access/export.csv", views.access_log_export, name="access_log_export"),
]
