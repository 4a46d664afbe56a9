from django.urls import path

from bpo.finance import views

app_name = "finance"
urlpatterns = [
    path("", views.overview, name="overview"),
    # Accounts, their files and rows
    path("accounts/new/", views.account_create, name="account_create"),
    path("accounts/<int:account_id>/", views.account_detail, name="account"),
    path("accounts/<int:account_id>/edit/", views.account_edit, name="account_edit"),
    path("accounts/<int:account_id>/statements/", views.statement_upload, name="statement_upload"),
    path("accounts/<int:account_id>/ledger/", views.ledger_upload, name="ledger_upload"),
    path("accounts/<int:account_id>/reconcile/", views.reconcile_now, name="reconcile"),
    path("files/<int:file_id>/retry/", views.file_retry, name="file_retry"),
    # Lines and matches
    path("lines/<int:line_id>/", views.line_detail, name="line"),
    path("lines/<int:line_id>/match/", views.line_match, name="line_match"),
    path("matches/<int:match_id>/confirm/", views.match_confirm, name="match_confirm"),
    path("matches/<int:match_id>/approve/", views.match_approve, name="match_approve"),
    path("matches/<int:match_id>/reject/", views.match_reject, name="match_reject"),
    path("matches/<int:match_id>/undo/", views.match_undo, name="match_undo"),
    path("matches/<int:match_id>/rule/", views.match_learn, name="match_learn"),
    # Set-up: mappings, rules and policy
    path("mappings/", views.mapping_list, name="mappings"),
    path("mappings/new/", views.mapping_create, name="mapping_create"),
    path("mappings/<int:mapping_id>/edit/", views.mapping_edit, name="mapping_edit"),
    path("services/<int:service_id>/rules/", views.rules, name="rules"),
    path("services/<int:service_id>/rules/new/", views.rule_create, name="rule_create"),
    path("services/<int:service_id>/policy/", views.policy_save, name="policy"),
    path("rules/<int:rule_id>/edit/", views.rule_edit, name="rule_edit"),
    path("rules/<int:rule_id>/delete/", views.rule_delete, name="rule_delete"),
    # Close and filing calendar
    path("calendar/", views.calendar, name="calendar"),
    path("obligations/new/", views.obligation_create, name="obligation_create"),
    path("obligations/<int:obligation_id>/edit/", views.obligation_edit, name="obligation_edit"),
    path("occurrences/<int:occurrence_id>/", views.occurrence_detail, name="occurrence"),
    path(
        "occurrences/<int:occurrence_id>/evidence/",
        views.occurrence_evidence,
        name="evidence",
    ),
    # Daily reports
    path("reports/", views.report_list, name="reports"),
    path("reports/make/", views.report_make, name="report_make"),
    path("reports/<int:report_id>/", views.report_detail, name="report"),
    path("reports/<int:report_id>.pdf", views.report_pdf, name="report_pdf"),
    path("reports/<int:report_id>.csv", views.report_csv, name="report_csv"),
]
