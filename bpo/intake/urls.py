from django.urls import path

from bpo.intake import views

app_name = "intake"
urlpatterns = [
    path("", views.intake, name="home"),
    path("mailboxes/<int:mailbox_id>/toggle/", views.mailbox_toggle, name="mailbox_toggle"),
    path("inbound/<int:message_id>/retry/", views.inbound_retry, name="inbound_retry"),
    path("forms/new/", views.web_form_create, name="web_form_create"),
    path("forms/<int:form_id>/toggle/", views.web_form_toggle, name="web_form_toggle"),
    # Public pages (no login): a service's request form and a contact's private status page.
    path("f/<str:key>/", views.public_form, name="public_form"),
    path("t/<str:token>/", views.track, name="track"),
]
