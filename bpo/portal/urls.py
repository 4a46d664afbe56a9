from django.urls import path

from bpo.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("clients/<int:client_id>/", views.client_page, name="client"),
    path("services/<int:service_id>/", views.service_page, name="service"),
    path("services/<int:service_id>/days.csv", views.service_csv, name="service_csv"),
    path("services/<int:service_id>/request/", views.request_new, name="request"),
    path("services/<int:service_id>/reports/", views.reports_page, name="reports"),
    path("reports/<int:report_id>.pdf", views.report_pdf, name="report_pdf"),
    path("reports/<int:report_id>.csv", views.report_csv, name="report_csv"),
    path("survey/<str:token>/", views.survey, name="survey"),
]
