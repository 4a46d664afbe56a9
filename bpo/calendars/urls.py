from django.urls import path

from bpo.calendars import views

app_name = "calendars"
urlpatterns = [
    path("", views.calendar_list, name="list"),
    path("new/", views.calendar_create, name="create"),
    path("<int:calendar_id>/", views.calendar_detail, name="detail"),
    path("<int:calendar_id>/edit/", views.calendar_edit, name="edit"),
]
