"""The monthly service report: its figures, and the CSV and PDF drawn from them.

:func:`report_figures` gathers what a governance review of one service and month needs, from
the same rollups as the dashboards (so the report and the dashboard never disagree) and from
the clocks that missed: service levels against what the contract promised, volumes by channel,
handle time, first-contact resolution, satisfaction, each breach with the provider's
explanation, and the trend over the months before. The figures are stored with the report
(``ServiceReport.figures``, JSON); :func:`report_csv` and :func:`report_pdf` draw from them
only, so a report reads the same every time it is opened.
"""

from __future__ import annotations

import io
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.db.models import Q, QuerySet
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from bpo.audit.queries import spreadsheet_safe
from bpo.contracts.models import (
    Metric,
    Priority,
    Service,
    ServiceTerms,
    SlaTarget,
    VersionStatus,
)
from bpo.portal.metrics import day_start, decision, definitions_of
from bpo.portal.queries import (
    Attainment,
    Totals,
    attainment_of,
    service_days,
    service_sla_days,
    totals_of,
    zone_of,
)
from bpo.web.formatting import format_duration, format_percent
from bpo.work.models import Channel, SlaClock

TREND_MONTHS = 6  # the month reported on and the five before it
BREACHES_LISTED = 300  # a month worse than this lists the first ones (all are counted)

STATUS_ACHIEVED = "achieved"
STATUS_MISSED = "missed"
STATUS_REPORTED = "reported only"  # no service level promised for the target
STATUS_NOTHING = "nothing decided"


def month_first(day: date) -> date:
    return day.replace(day=1)


def month_last(month: date) -> date:
    return month_first(month) + relativedelta(months=1, days=-1)


def months_back(month: date, count: int) -> list[date]:
    """``count`` months ending with ``month``, oldest first (first days)."""
    return [month - relativedelta(months=n) for n in range(count - 1, -1, -1)]


def report_figures(service: Service, month: date, now: datetime) -> dict[str, Any]:
    """Everything the report of ``service`` for ``month`` shows, JSON-safe (rollups must be
    fresh: the caller refreshes them)."""
    zone = zone_of(service)
    first, last = month, month_last(month)
    today = now.astimezone(zone).date()
    months = months_back(month, TREND_MONTHS)
    days = service_days(service, months[0], last)
    sla_rows = service_sla_days(service, months[0], last)
    in_month = [row for row in days if first <= row["day"] <= last]
    sla_in_month = [row for row in sla_rows if first <= row["day"] <= last]
    version, targets = _targets_in_force(service, first, last)
    return {
        "client": service.client.name,
        "service": service.name,
        "month": f"{month:%Y-%m}",
        "first": first.isoformat(),
        "last": last.isoformat(),
        "zone": str(zone),
        "generated_at": now.astimezone(zone).isoformat(timespec="seconds"),
        "complete": today > last,
        "contract": (
            f"{version.contract.reference} version {version.number}" if version else "no terms"
        ),
        "definitions": [list(pair) for pair in version.metric_definitions()] if version else [],
        "overall": _attainment_json(attainment_of(sla_in_month, first, last)),
        "service_levels": _service_levels(sla_in_month, targets, first, last),
        "volumes": _volumes(in_month),
        "indicators": _indicators(totals_of(in_month, first, last)),
        "breaches": _breaches(service, zone, first, last),
        "days": _daily(in_month, sla_in_month, first, last),
        "trend": [_month_row(m, days, sla_rows) for m in months],
    }


def _attainment_json(attainment: Attainment) -> dict[str, Any]:
    return {
        "met": attainment.met,
        "missed": attainment.missed,
        "percent": attainment.percent,
    }


def terms_in_force(service: Service, first: date, last: date) -> QuerySet[ServiceTerms]:
    """The service's terms in the agreed (not draft) versions in force at some day from
    ``first`` to ``last``."""
    return (
        ServiceTerms.objects.filter(service=service, version__start_date__lte=last)
        .exclude(version__status=VersionStatus.DRAFT)
        .filter(Q(version__end_date__isnull=True) | Q(version__end_date__gte=first))
    )


def _targets_in_force(
    service: Service, first: date, last: date
) -> tuple[Any, dict[tuple[str, str], SlaTarget]]:
    """The targets of the contract versions in force during the month, the latest version's
    winning where several were (and that version, whose definitions the report prints)."""
    terms = list(
        terms_in_force(service, first, last)
        .select_related("version__contract")
        .order_by("version__number")
    )
    order = {term.sla_policy_id: n for n, term in enumerate(terms)}
    found = SlaTarget.objects.filter(policy_id__in=[p for p in order if p is not None])
    targets = {
        (target.metric, target.priority): target
        for target in sorted(found, key=lambda t: order[t.policy_id])
    }
    return (terms[-1].version if terms else None), targets


def service_level_status(attainment: Attainment, promised: Decimal | None) -> str:
    """Whether a month's attainment reached the service level promised (exact, not rounded)."""
    if promised is None:
        return STATUS_REPORTED
    if not attainment.decided:
        return STATUS_NOTHING
    achieved = Decimal(100 * attainment.met) >= promised * attainment.decided
    return STATUS_ACHIEVED if achieved else STATUS_MISSED


def _service_levels(
    rows: list[dict[str, Any]], targets: dict[tuple[str, str], SlaTarget], first: date, last: date
) -> list[dict[str, Any]]:
    """Per target (metric × priority): attainment, what was promised, achieved or missed."""
    keys = {(r["metric"], r["priority"]) for r in rows} | set(targets)
    levels = []
    for metric in Metric.values:
        for priority in reversed(Priority.values):
            if (metric, priority) not in keys:
                continue
            attainment = attainment_of(
                [r for r in rows if r["metric"] == metric and r["priority"] == priority],
                first,
                last,
            )
            target = targets.get((metric, priority))
            promised = target.service_level_percent if target else None
            levels.append(
                {
                    "metric": str(Metric(metric).label),
                    "priority": str(Priority(priority).label),
                    "target": target.describe() if target else "",
                    "promised": str(promised) if promised is not None else None,
                    **_attainment_json(attainment),
                    "status": service_level_status(attainment, promised),
                }
            )
    return levels


def _volumes(rows: list[dict[str, Any]]) -> dict[str, Any]:
    created: Counter[str] = Counter()
    resolved: Counter[str] = Counter()
    for row in rows:
        created[row["channel"]] += row["created"]
        resolved[row["channel"]] += row["resolved"]
    return {
        "by_channel": [
            [str(Channel(c).label), created[c], resolved[c]]
            for c in Channel.values
            if created[c] or resolved[c]
        ],
        "created": sum(created.values()),
        "resolved": sum(resolved.values()),
    }


def _indicators(totals: Totals) -> dict[str, Any]:
    return {
        "handled": totals.counts["handled"],
        "aht_seconds": totals.aht_seconds,
        "fcr_counted": totals.counts["fcr_counted"],
        "fcr": totals.fcr,
        "surveys": totals.counts["surveys"],
        "csat": totals.csat,
        "average_rating": totals.average_rating,
        "nps_answers": totals.counts["nps_answers"],
        "nps": totals.nps,
    }


def _breaches(service: Service, zone: ZoneInfo, first: date, last: date) -> dict[str, Any]:
    """The clocks missed in the month (as the rollups count them: on the breach's day, the
    contract version's exclusions left out), with the provider's explanation of each."""
    start, end = day_start(first, zone), day_start(last + timedelta(days=1), zone)
    definitions = definitions_of(service.pk)
    clocks = (
        SlaClock.objects.filter(client_id=service.client_id, item__service_id=service.pk)
        .filter(
            Q(breached_at__gte=start, breached_at__lt=end)
            | Q(breached_at__isnull=True, met=False, stopped_at__gte=start, stopped_at__lt=end)
        )
        .select_related("item__terms", "target", "explanation")
        .order_by("id")
    )
    listed: list[dict[str, Any]] = []
    count = 0
    causes: Counter[str] = Counter()
    for clock in clocks.iterator(chunk_size=2000):
        item = clock.item
        outcome = decision(clock.met, clock.stopped_at, clock.breached_at)
        if outcome is None or definitions[item.terms.version_id].excludes(item.tags, item.state):
            continue
        at, met = outcome
        if met or not start <= at < end:
            continue
        count += 1
        explanation = getattr(clock, "explanation", None)
        causes[explanation.get_cause_display() if explanation else "Not explained"] += 1
        if len(listed) < BREACHES_LISTED:
            listed.append(
                {
                    "item_id": item.pk,
                    "title": item.title,
                    "metric": str(Metric(clock.metric).label),
                    "priority": str(Priority(clock.target.priority).label),
                    "due_at": _local(clock.due_at, zone),
                    "missed_at": _local(at, zone),
                    "done_at": _local(clock.stopped_at, zone),
                    "cause": explanation.get_cause_display() if explanation else "",
                    "note": explanation.note if explanation else "",
                }
            )
    listed.sort(key=lambda b: (b["missed_at"], b["item_id"]))
    return {
        "count": count,
        "explained": count - causes["Not explained"],
        "by_cause": [
            [cause, n] for cause, n in sorted(causes.items(), key=lambda pair: (-pair[1], pair[0]))
        ],
        "listed": listed,
    }


def _local(at: datetime | None, zone: ZoneInfo) -> str | None:
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if at is not None else None


def _daily(
    rows: list[dict[str, Any]], sla_rows: list[dict[str, Any]], first: date, last: date
) -> list[dict[str, Any]]:
    """A row per day of the month: created, resolved, SLA attainment."""
    out = []
    day = first
    while day <= last:
        totals = totals_of(rows, day, day)
        attainment = attainment_of(sla_rows, day, day)
        out.append(
            {
                "day": day.isoformat(),
                "created": totals.counts["created"],
                "resolved": totals.counts["resolved"],
                "sla_percent": attainment.percent,
            }
        )
        day += timedelta(days=1)
    return out


def _month_row(
    month: date, rows: list[dict[str, Any]], sla_rows: list[dict[str, Any]]
) -> dict[str, Any]:
    last = month_last(month)
    totals = totals_of(rows, month, last)
    attainment = attainment_of(sla_rows, month, last)
    return {
        "month": f"{month:%Y-%m}",
        "created": totals.counts["created"],
        "resolved": totals.counts["resolved"],
        "sla_percent": attainment.percent,
        "aht_seconds": totals.aht_seconds,
        "fcr": totals.fcr,
        "csat": totals.csat,
    }


# --- CSV ------------------------------------------------------------------------------------------

CSV_COLUMNS = ["section", "month", "metric", "priority", "channel", "item_id", "measure", "value"]


def report_csv_rows(figures: dict[str, Any]) -> list[list[object]]:
    """The report as one value per row (a long table a spreadsheet pivots), sections in the
    order of the PDF. Text from people (titles, notes) cannot run as a spreadsheet formula."""
    month = figures["month"]
    rows: list[list[object]] = []

    def add(section: str, measure: str, value: object, **where: object) -> None:
        if isinstance(value, str):
            value = spreadsheet_safe(value)
        rows.append(
            [
                section,
                where.get("month", month),
                where.get("metric", ""),
                where.get("priority", ""),
                where.get("channel", ""),
                where.get("item_id", ""),
                measure,
                "" if value is None else value,
            ]
        )

    for key in ("client", "service", "zone", "generated_at", "complete", "contract"):
        add("report", key, figures[key])
    for name, value in figures["overall"].items():
        add("service_level", name, value, metric="All")
    for level in figures["service_levels"]:
        where = {"metric": level["metric"], "priority": level["priority"]}
        for name in ("target", "promised", "met", "missed", "percent", "status"):
            add("service_level", name, level[name], **where)
    for channel, created, resolved in figures["volumes"]["by_channel"]:
        add("volume", "created", created, channel=channel)
        add("volume", "resolved", resolved, channel=channel)
    add("volume", "created", figures["volumes"]["created"], channel="All")
    add("volume", "resolved", figures["volumes"]["resolved"], channel="All")
    for name, value in figures["indicators"].items():
        add("indicator", name, value)
    breaches = figures["breaches"]
    add("breaches", "count", breaches["count"])
    add("breaches", "explained", breaches["explained"])
    for cause, count in breaches["by_cause"]:
        add("breaches", f"cause: {cause}", count)
    for breach in breaches["listed"]:
        where = {
            "metric": breach["metric"],
            "priority": breach["priority"],
            "item_id": breach["item_id"],
        }
        for name in ("title", "due_at", "missed_at", "done_at", "cause", "note"):
            add("breach", name, breach[name], **where)
    for day in figures["days"]:
        for name in ("created", "resolved", "sla_percent"):
            add("day", name, day[name], month=day["day"])
    for row in figures["trend"]:
        for name in ("created", "resolved", "sla_percent", "aht_seconds", "fcr", "csat"):
            add("trend", name, row[name], month=row["month"])
    return rows


# --- PDF ------------------------------------------------------------------------------------------

FONT_FILES = (
    # DejaVu covers far more scripts than Vera (client names, item titles); Vera ships with
    # reportlab, so a machine without DejaVu still draws every Western European letter.
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    (str(Path(pdfmetrics.__file__).parent.parent / "fonts" / "Vera.ttf"), "VeraBd.ttf"),
)
GREEN = colors.HexColor("#198754")
RED = colors.HexColor("#dc3545")
GREY = colors.HexColor("#6c757d")
LIGHT = colors.HexColor("#f1f3f5")
BLUE = colors.HexColor("#0d6efd")


def pdf_fonts() -> tuple[str, str]:
    """Register the regular and bold fonts of our PDFs once; their names."""
    if "OpenBPO" in pdfmetrics.getRegisteredFontNames():
        return "OpenBPO", "OpenBPO-Bold"
    for regular, bold in FONT_FILES:
        path = Path(regular)
        if path.exists() and (path.parent / bold).exists():
            pdfmetrics.registerFont(TTFont("OpenBPO", str(path)))
            pdfmetrics.registerFont(TTFont("OpenBPO-Bold", str(path.parent / bold)))
            return "OpenBPO", "OpenBPO-Bold"
    return "Helvetica", "Helvetica-Bold"


def _percent(value: float | None) -> str:
    return "—" if value is None else format_percent(value)


def report_pdf(figures: dict[str, Any]) -> bytes:
    """The report as an A4 PDF: summary, service levels against targets, volumes, indicators,
    trend (with charts), breaches with their causes, and how each figure is defined."""
    regular, bold = pdf_fonts()
    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["BodyText"], fontName=regular, fontSize=9)
    small = ParagraphStyle("small", parent=body, fontSize=7.5, leading=9, textColor=GREY)
    cell = ParagraphStyle("cell", parent=body, fontSize=8, leading=10)
    h1 = ParagraphStyle("h1", parent=styles["Heading1"], fontName=bold, fontSize=16)
    h2 = ParagraphStyle("h2", parent=styles["Heading2"], fontName=bold, fontSize=12)

    def text(value: object, style: ParagraphStyle = cell) -> Paragraph:
        return Paragraph(escape(str(value)), style)

    def table(
        rows: list[list[Any]], widths: list[float], extra: list[tuple[Any, ...]] | None = None
    ) -> Table:
        shown = Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
        shown.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), regular, 8),
                    ("FONT", (0, 0), (-1, 0), bold, 8),
                    ("BACKGROUND", (0, 0), (-1, 0), LIGHT),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    *(extra or []),
                ]
            )
        )
        return shown

    story: list[Any] = [
        Paragraph(escape(f"Service report {figures['month']}"), h1),
        text(f"{figures['service']} · {figures['client']}", body),
        text(
            f"{figures['first']} to {figures['last']}, days and times in {figures['zone']}. "
            f"Contract {figures['contract']}. "
            f"Generated {figures['generated_at'][:16].replace('T', ' ')}.",
            small,
        ),
    ]
    if not figures["complete"]:
        story.append(
            text("Preliminary: the month had not ended when this report was generated.", body)
        )
    story += _summary(figures, table)
    story += _levels_section(figures, table, text, h2, small)
    story += _volumes_section(figures, table, h2)
    story += _trend_section(figures, table, h2, regular)
    story += _breaches_section(figures, table, text, h2, small)
    story.append(Paragraph("How the figures are counted", h2))
    for title, meaning in figures["definitions"]:
        story.append(Paragraph(f"<b>{escape(title)}.</b> {escape(meaning)}", small))
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Service report {figures['month']}: {figures['service']}",
        author="OpenBPO",
    )

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(regular, 7)
        canvas.setFillColor(GREY)
        canvas.drawString(
            15 * mm, 8 * mm, f"{figures['client']} · {figures['service']} · {figures['month']}"
        )
        canvas.drawRightString(A4[0] - 15 * mm, 8 * mm, f"Page {doc.page}")
        canvas.restoreState()

    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _summary(figures: dict[str, Any], table: Any) -> list[Any]:
    overall, indicators, volumes = figures["overall"], figures["indicators"], figures["volumes"]
    levels = figures["service_levels"]
    # Levels promised and measured this month (a target nothing was decided on is neither).
    promised = [level for level in levels if level["status"] in (STATUS_ACHIEVED, STATUS_MISSED)]
    achieved = sum(level["status"] == STATUS_ACHIEVED for level in promised)
    rows = [
        ["SLA attainment", "Levels achieved", "Created", "Resolved", "AHT", "FCR", "CSAT"],
        [
            _percent(overall["percent"]),
            f"{achieved} of {len(promised)}" if promised else "none promised",
            str(volumes["created"]),
            str(volumes["resolved"]),
            format_duration(indicators["aht_seconds"]),
            _percent(indicators["fcr"]),
            _percent(indicators["csat"]),
        ],
    ]
    widths = [28 * mm, 28 * mm, 22 * mm, 22 * mm, 26 * mm, 26 * mm, 26 * mm]
    return [Spacer(1, 4 * mm), table(rows, widths, [("FONTSIZE", (0, 1), (-1, 1), 11)])]


def _levels_section(
    figures: dict[str, Any], table: Any, text: Any, h2: ParagraphStyle, small: ParagraphStyle
) -> list[Any]:
    rows: list[list[Any]] = [
        ["Metric", "Priority", "Target", "Promised", "Met", "Missed", "Attained", "Status"]
    ]
    style: list[tuple[Any, ...]] = []
    for n, level in enumerate(figures["service_levels"], start=1):
        rows.append(
            [
                level["metric"],
                level["priority"],
                text(level["target"]),
                format_percent(Decimal(level["promised"])) if level["promised"] else "—",
                level["met"],
                level["missed"],
                _percent(level["percent"]),
                level["status"],
            ]
        )
        if level["status"] in (STATUS_ACHIEVED, STATUS_MISSED):
            shade = GREEN if level["status"] == STATUS_ACHIEVED else RED
            style.append(("TEXTCOLOR", (7, n), (7, n), shade))
    widths = [28 * mm, 18 * mm, 40 * mm, 18 * mm, 14 * mm, 14 * mm, 18 * mm, 28 * mm]
    return [
        Paragraph("Service levels against targets", h2),
        table(rows, widths, style)
        if len(rows) > 1
        else text("No SLA clock was decided this month.", small),
        text(
            "A service level is achieved when the share of clocks met reaches the share "
            "promised in the contract.",
            small,
        ),
    ]


def _volumes_section(figures: dict[str, Any], table: Any, h2: ParagraphStyle) -> list[Any]:
    volumes, indicators = figures["volumes"], figures["indicators"]
    channel_rows = [["Channel", "Created", "Resolved"], *volumes["by_channel"]]
    channel_rows.append(["All", volumes["created"], volumes["resolved"]])
    indicator_rows = [
        ["Indicator", "Value", "Out of"],
        ["Average handle time", format_duration(indicators["aht_seconds"]), indicators["handled"]],
        ["First-contact resolution", _percent(indicators["fcr"]), indicators["fcr_counted"]],
        ["Satisfaction (CSAT)", _percent(indicators["csat"]), indicators["surveys"]],
        [
            "Average rating (1–5)",
            "—" if indicators["average_rating"] is None else indicators["average_rating"],
            indicators["surveys"],
        ],
        [
            "Net promoter score",
            "—" if indicators["nps"] is None else indicators["nps"],
            indicators["nps_answers"],
        ],
    ]
    side_by_side = Table(
        hAlign="LEFT",
        data=[
            [
                table(
                    channel_rows,
                    [30 * mm, 20 * mm, 20 * mm],
                    [("LINEABOVE", (0, -1), (-1, -1), 0.75, GREY)],
                ),
                table(indicator_rows, [45 * mm, 25 * mm, 18 * mm]),
            ]
        ],
        colWidths=[80 * mm, 100 * mm],
    )
    side_by_side.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return [Paragraph("Volumes and indicators", h2), side_by_side]


def _bar_chart(
    labels: list[str], values: list[float | None], title: str, font: str, top: float | None
) -> Drawing:
    drawing = Drawing(85 * mm, 55 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 10 * mm, 10 * mm, 70 * mm, 35 * mm
    chart.data = [[v or 0 for v in values]]
    chart.categoryAxis.categoryNames = labels
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 6
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 6
    chart.valueAxis.valueMin = 0
    if top is not None:
        chart.valueAxis.valueMax = top
    chart.bars[0].fillColor = BLUE
    chart.bars[0].strokeColor = None
    drawing.add(chart)
    drawing.add(String(10 * mm, 49 * mm, title, fontName=font, fontSize=8))
    return drawing


def _trend_section(figures: dict[str, Any], table: Any, h2: ParagraphStyle, font: str) -> list[Any]:
    trend = figures["trend"]
    rows: list[list[Any]] = [["Month", "Created", "Resolved", "SLA", "AHT", "FCR", "CSAT"]]
    for row in trend:
        rows.append(
            [
                row["month"],
                row["created"],
                row["resolved"],
                _percent(row["sla_percent"]),
                format_duration(row["aht_seconds"]),
                _percent(row["fcr"]),
                _percent(row["csat"]),
            ]
        )
    labels = [row["month"] for row in trend]
    charts = Table(
        hAlign="LEFT",
        data=[
            [
                _bar_chart(
                    labels, [r["sla_percent"] for r in trend], "SLA attainment (%)", font, 100
                ),
                _bar_chart(labels, [r["created"] for r in trend], "Items created", font, None),
            ]
        ],
    )
    days = figures["days"]
    daily = _bar_chart(
        [str(int(d["day"][8:])) if n % 5 == 0 else "" for n, d in enumerate(days)],
        [d["created"] for d in days],
        "Items created per day this month",
        font,
        None,
    )
    return [
        KeepTogether(
            [
                Paragraph("Trend against the previous months", h2),
                table(rows, [22 * mm, 20 * mm, 20 * mm, 20 * mm, 22 * mm, 20 * mm, 20 * mm]),
                charts,
            ]
        ),
        daily,
    ]


def _breaches_section(
    figures: dict[str, Any], table: Any, text: Any, h2: ParagraphStyle, small: ParagraphStyle
) -> list[Any]:
    breaches = figures["breaches"]
    out: list[Any] = [Paragraph(f"Breaches ({breaches['count']})", h2)]
    if not breaches["count"]:
        return [*out, text("No target was missed this month.", small)]
    out.append(
        table(
            [["Cause", "Breaches"], *[[cause, n] for cause, n in breaches["by_cause"]]],
            [60 * mm, 20 * mm],
        )
    )
    out.append(Spacer(1, 3 * mm))
    rows: list[list[Any]] = [["Item", "Metric", "Due", "Missed", "Cause and note"]]
    for breach in breaches["listed"]:
        reason = breach["cause"] or "Not explained"
        if breach["note"]:
            reason += f": {breach['note']}"
        rows.append(
            [
                text(f"#{breach['item_id']} {breach['title']}"),
                text(f"{breach['metric']}, {breach['priority']}"),
                breach["due_at"] or "—",
                breach["missed_at"],
                text(reason),
            ]
        )
    out.append(table(rows, [44 * mm, 28 * mm, 27 * mm, 27 * mm, 54 * mm]))
    if breaches["count"] > len(breaches["listed"]):
        out.append(
            text(
                f"The first {len(breaches['listed'])} of {breaches['count']} breaches are "
                "listed; the CSV holds the same list.",
                small,
            )
        )
    return out
