from django.urls import path

from bpo.billing import views

app_name = "billing"
urlpatterns = [
    path("", views.invoice_list, name="list"),
    path("draft/", views.invoice_draft, name="draft"),
    path("revenue.csv", views.revenue_csv, name="revenue_csv"),
    path("invoices/<int:invoice_id>/", views.invoice_detail, name="invoice"),
    path("invoices/<int:invoice_id>.pdf", views.invoice_pdf, name="invoice_pdf"),
    path("invoices/<int:invoice_id>.csv", views.invoice_csv, name="invoice_csv"),
    path("invoices/<int:invoice_id>/recompute/", views.invoice_recompute, name="recompute"),
    path("invoices/<int:invoice_id>/approve/", views.invoice_approve, name="approve"),
    path("invoices/<int:invoice_id>/issue/", views.invoice_issue, name="issue"),
    path("invoices/<int:invoice_id>/paid/", views.invoice_mark_paid, name="mark_paid"),
    path("invoices/<int:invoice_id>/void/", views.invoice_void, name="void"),
    path("invoices/<int:invoice_id>/credit-note/", views.credit_note_create, name="credit_note"),
    path("lines/<int:line_id>/", views.line_detail, name="line"),
    path("lines/<int:line_id>/<str:day>/", views.line_day, name="line_day"),
    path("versions/<int:version_id>/terms/", views.terms_edit, name="terms"),
    path(
        "versions/<int:version_id>/services/<int:service_id>/rate-card/",
        views.rate_card_set,
        name="rate_card_set",
    ),
    path("rate-cards/<int:rate_card_id>/remove/", views.rate_card_remove, name="rate_card_remove"),
    path("rate-cards/<int:rate_card_id>/charges/new/", views.charge_add, name="charge_add"),
    path("charges/<int:charge_id>/edit/", views.charge_edit, name="charge_edit"),
    path("charges/<int:charge_id>/remove/", views.charge_remove, name="charge_remove"),
]
