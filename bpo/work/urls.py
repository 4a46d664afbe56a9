from django.urls import path

from bpo.work import views

app_name = "work"
urlpatterns = [
    path("", views.my_work, name="mine"),
    path("next/", views.get_next, name="next"),
    path("items/<int:item_id>/", views.item_detail, name="item"),
    path("items/<int:item_id>/edit/", views.item_edit, name="item_edit"),
    path("items/<int:item_id>/reply/", views.item_reply, name="reply"),
    path("items/<int:item_id>/note/", views.item_note, name="note"),
    path("items/<int:item_id>/message/", views.item_message, name="message"),
    path("items/<int:item_id>/state/", views.item_state, name="state"),
    path("items/<int:item_id>/priority/", views.item_priority, name="priority"),
    path(
        "items/<int:item_id>/clocks/<int:clock_id>/explain/",
        views.clock_explain,
        name="clock_explain",
    ),
    path("items/<int:item_id>/heartbeat/", views.item_heartbeat, name="heartbeat"),
    path("items/<int:item_id>/session-end/", views.item_session_end, name="session_end"),
    path("items/<int:item_id>/transfer/", views.item_transfer, name="transfer"),
    path("presence/", views.presence_set, name="presence"),
    path("manage/", views.manage, name="manage"),
    path("manage/board/", views.manage_board, name="manage_board"),
    path("manage/agents/<int:user_id>/presence/", views.agent_presence, name="agent_presence"),
    path(
        "notifications/<int:notification_id>/read/",
        views.notification_read,
        name="notification_read",
    ),
    path("responses/", views.responses_index, name="responses"),
    path("services/<int:service_id>/responses/", views.service_responses, name="service_responses"),
    path("responses/<int:response_id>/edit/", views.response_edit, name="response_edit"),
    path("responses/<int:response_id>/delete/", views.response_delete, name="response_delete"),
]
