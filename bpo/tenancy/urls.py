from django.urls import path

from bpo.tenancy import views

app_name = "tenancy"
urlpatterns = [
    path("", views.client_list, name="list"),
    path("new/", views.client_create, name="create"),
    path("<int:client_id>/", views.client_detail, name="detail"),
    path("<int:client_id>/edit/", views.client_edit, name="edit"),
]
