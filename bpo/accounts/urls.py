from django.urls import path

from bpo.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("account/", views.account, name="account"),
    path("account/preferences/", views.preferences, name="preferences"),
    path("account/tokens/", views.token_create, name="token_create"),
    path("account/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("people/", views.people, name="people"),
    path("people/new/", views.person_create, name="person_create"),
    path("people/<int:user_id>/", views.person, name="person"),
    path("people/<int:user_id>/roles/", views.membership_add, name="membership_add"),
    path("roles/<int:membership_id>/remove/", views.membership_remove, name="membership_remove"),
    path("people/<int:user_id>/assignments/", views.assignment_add, name="assignment_add"),
    path(
        "assignments/<int:assignment_id>/remove/", views.assignment_remove, name="assignment_remove"
    ),
]
