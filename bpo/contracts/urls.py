from django.urls import path

from bpo.contracts import views

app_name = "contracts"
urlpatterns = [
    path("", views.contract_list, name="list"),
    path("new/", views.contract_create, name="create"),
    path("<int:contract_id>/", views.contract_detail, name="detail"),
    path("<int:contract_id>/versions/new/", views.version_draft, name="version_draft"),
    path("<int:contract_id>/end/", views.contract_end, name="end"),
    path("versions/<int:version_id>/", views.version_detail, name="version"),
    path("versions/<int:version_id>/edit/", views.version_edit, name="version_edit"),
    path("versions/<int:version_id>/activate/", views.version_activate, name="version_activate"),
    path("versions/<int:version_id>/services/new/", views.service_add, name="service_add"),
    path("service-terms/<int:terms_id>/edit/", views.terms_edit, name="terms_edit"),
    path("versions/<int:version_id>/sla-policies/new/", views.policy_add, name="policy_add"),
    path("sla-policies/<int:policy_id>/edit/", views.policy_edit, name="policy_edit"),
]
