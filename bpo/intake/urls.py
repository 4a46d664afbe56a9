from django.urls import path

from bpo.intake import views

app_name = "intake"
urlpatterns = [
    path("", views.intake, name="home"),
    path("mailboxes/<int:mailbox_id>/toggle/", views.mailbox_toggle, name="mailbox_toggle"),
    path("inbound/<int:message_id>/retry/", views.inbound_retry, name="inbound_retry"),
    path("forms/new/", views.web_form_create, name="web_form_create"),
    path("forms/<int:form_id>/toggle/", views.web_form_toggle, name="web_form_toggle"),
    path("imports/", views.imports_page, name="imports"),
    path("imports/<int:import_id>/", views.import_page, name="import"),
    path("imports/<int:import_id>/progress/", views.import_progress, name="import_progress"),
    path("imports/<int:import_id>/start/", views.import_start, name="import_start"),
    path("imports/<int:import_id>/resume/", views.import_resume, name="import_resume"),
    # Public pages (no login): a service's request form and a contact's private status page.
    path("f/<str:key>/", views.public_form, name="public_form"),
    path("t/<str:token>/", views.track, name="track"),
]
