"""Business calendars in the web UI: managers define them, everyone in scope reads them."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from bpo.audit.models import AuditEntry
from bpo.calendars.models import BusinessCalendar
from bpo.tenancy.scoping import all_clients_unscoped

WORKDAYS = {day: "08:00-12:00, 13:00-17:00" for day in ("mon", "tue", "wed", "thu", "fri")}
CLOSED = {day: "" for day in ("sat", "sun")}


def calendar_post(world, **overrides: object) -> dict[str, object]:
    return {
        "client": world.own.pk,
        "name": "Berlin office",
        "time_zone": "Europe/Berlin",
        **WORKDAYS,
        **CLOSED,
        "holiday_country": "de",
        "holiday_subdivision": "BE",
        "holidays": "2026-12-24 Christmas Eve\n\n2026-12-31: New Year's Eve",
        "exceptions": "2026-12-19 09:00-13:00 extra Saturday\n2026-06-05 closed stocktaking",
        **overrides,
    }


def saved_calendars() -> list[BusinessCalendar]:
    with all_clients_unscoped("test"):
        return list(BusinessCalendar.objects.all())


@pytest.fixture
def calendar(world) -> BusinessCalendar:
    response = world.login("manager").post("/calendars/new/", calendar_post(world))
    assert response.status_code == 302, response.content.decode()
    (saved,) = saved_calendars()
    assert response["Location"] == f"/calendars/{saved.pk}/"
    return saved


def test_a_manager_defines_a_calendar_in_the_form(world, calendar):
    assert calendar.client_id == world.own.pk
    assert calendar.weekly == {day: ["08:00-12:00", "13:00-17:00"] for day in WORKDAYS}
    assert (calendar.holiday_country, calendar.holiday_subdivision) == ("DE", "BE")
    assert calendar.holidays == [
        {"date": "2026-12-24", "name": "Christmas Eve"},
        {"date": "2026-12-31", "name": "New Year's Eve"},
    ]
    assert calendar.exceptions == [
        {"date": "2026-12-19", "shifts": ["09:00-13:00"], "note": "extra Saturday"},
        {"date": "2026-06-05", "shifts": [], "note": "stocktaking"},
    ]
    assert AuditEntry.objects.filter(action="calendar.created", client_id=world.own.pk).exists()


def test_the_edit_form_shows_the_calendar_as_it_was_typed(world, calendar):
    http = world.login("manager")
    page = http.get(f"/calendars/{calendar.pk}/edit/").content.decode()
    assert 'value="08:00-12:00, 13:00-17:00"' in page
    assert "2026-12-19 09:00-13:00 extra Saturday\n2026-06-05 closed stocktaking" in page
    response = http.post(
        f"/calendars/{calendar.pk}/edit/",
        calendar_post(world, fri="08:00-14:00", sat="22:00-06:00", exceptions=""),
    )
    assert response.status_code == 302, response.content.decode()
    calendar.refresh_from_db()
    assert calendar.weekly["fri"] == ["08:00-14:00"] and calendar.weekly["sat"] == ["22:00-06:00"]
    assert calendar.exceptions == []
    assert AuditEntry.objects.filter(action="calendar.updated").exists()


def test_the_calendar_page_shows_the_next_two_weeks_in_the_calendars_zone(world, calendar):
    zone = ZoneInfo("Europe/Berlin")
    today = timezone.now().astimezone(zone).date()
    closed_day = today + timedelta(days=3)
    with all_clients_unscoped("test setup"):
        calendar.exceptions = [{"date": closed_day.isoformat(), "shifts": [], "note": "Move"}]
        calendar.weekly = {day: ["08:00-12:00", "13:00-17:00"] for day in WORKDAYS} | {
            "sat": ["22:00-06:00"]
        }
        calendar.save()
    response = world.login("client_viewer").get(f"/calendars/{calendar.pk}/")
    days = response.context["days"]
    assert len(days) == 14 and days[0].day == today and days[0].is_today
    by_day = {d.day: d for d in days}
    assert by_day[closed_day].spans == [] and by_day[closed_day].note == "Move"
    working = next(d for d in days if d.day.weekday() == 1 and d.day != closed_day)
    assert working.shifts == ["08:00–12:00", "13:00–17:00"] and working.total == "8 h"
    saturday = next(d for d in days if d.day.weekday() == 5 and d.day != closed_day)
    assert saturday.shifts == ["22:00–06:00 (+1)"]
    page = response.content.decode()
    assert "13:00–17:00" in page and "Move" in page


def test_the_calculator_counts_business_time(world, calendar):
    http = world.login("agent")
    # Thursday 24 December 2026, 16:00 in Berlin: Christmas Eve, then two public holidays and
    # a Sunday; counting starts on Monday 28 December at 08:00.
    response = http.get(f"/calendars/{calendar.pk}/?start=2026-12-24T16:00&minutes=120")
    result = response.context["result"]
    assert result["due"] == result["next"] + timedelta(hours=2)
    assert result["next"].astimezone(ZoneInfo("Europe/Berlin")).isoformat() == (
        "2026-12-28T08:00:00+01:00"
    )
    assert "Mon 2026-12-28 10:00" in response.content.decode()

    bad = http.get(f"/calendars/{calendar.pk}/?start=tomorrow&minutes=-5")
    assert bad.status_code == 200 and bad.context["result"] is None
    assert {"start", "minutes"} <= set(bad.context["calculator"].errors)


def test_calendar_form_errors_are_shown_on_their_fields_and_nothing_is_saved(world):
    http = world.login("manager")
    response = http.post(
        "/calendars/new/",
        calendar_post(
            world,
            tue="8-12",
            holidays="2026-12-24 Christmas Eve\n24.12.2026 Heiligabend",
            exceptions="2026-12-31 early close",
        ),
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "is not a shift like 08:00-17:00" in errors["tue"][0]
    assert errors["holidays"] == ["Line 2: '24.12.2026' is not a date (YYYY-MM-DD)."]
    assert "Line 1: after the date give the day's shifts" in errors["exceptions"][0]

    # What only the whole calendar shows is checked by the action, and lands on its field.
    response = http.post(
        "/calendars/new/",
        calendar_post(world, mon="08:00-12:00, 11:00-13:00", holiday_country="XX"),
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "'XX' is not a country" in errors["holiday_country"][0]
    response = http.post("/calendars/new/", calendar_post(world, mon="08:00-12:00, 11:00-13:00"))
    assert response.status_code == 400
    assert "overlap" in response.context["form"].errors["mon"][0]
    response = http.post(
        "/calendars/new/", calendar_post(world, exceptions="2026-12-18 16:00-20:00, 17:00-18:00")
    )
    assert response.status_code == 400
    assert "overlap" in response.context["form"].errors["exceptions"][0]
    response = http.post("/calendars/new/", calendar_post(world, **dict.fromkeys(WORKDAYS, "")))
    assert response.status_code == 400
    assert "no shifts" in " ".join(response.context["form"].non_field_errors())
    assert saved_calendars() == []


def test_a_name_is_used_once_per_client(world, calendar):
    response = world.login("manager").post("/calendars/new/", calendar_post(world))
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert len(saved_calendars()) == 1


def test_client_users_read_calendars_without_edit_buttons(world, calendar):
    viewer = world.login("client_admin")
    page = viewer.get(f"/calendars/{calendar.pk}/").content.decode()
    assert "Berlin office" in page and 'data-testid="edit-calendar"' not in page
    assert viewer.get(f"/calendars/{calendar.pk}/edit/").status_code == 403
    assert viewer.get("/calendars/new/").status_code == 403
    listing = viewer.get("/calendars/").content.decode()
    assert "Berlin office" in listing and "New calendar" not in listing
    manager_page = world.login("manager").get(f"/calendars/{calendar.pk}/").content.decode()
    assert 'data-testid="edit-calendar"' in manager_page


def test_the_list_filters_by_client_and_hides_other_clients(world, calendar):
    with all_clients_unscoped("test setup"):
        BusinessCalendar.objects.create(
            client=world.other, name="Other hours", time_zone="UTC", weekly={"mon": ["09:00-17:00"]}
        )
    admin = world.login("admin")
    assert "Other hours" in admin.get("/calendars/").content.decode()
    own_only = admin.get(f"/calendars/?client={world.own.pk}").content.decode()
    assert "Berlin office" in own_only and "Other hours" not in own_only
    manager = world.login("manager").get("/calendars/").content.decode()
    assert "Berlin office" in manager and "Other hours" not in manager
    assert "Mon–Fri 08:00-12:00, 13:00-17:00" in manager


def test_a_manager_cannot_create_a_calendar_for_another_client(world):
    response = world.login("manager").post(
        "/calendars/new/", calendar_post(world, client=world.other.pk)
    )
    assert response.status_code == 400 and "client" in response.context["form"].errors
    assert saved_calendars() == []


def test_navigation_and_client_page_lead_to_contracts_and_calendars(world):
    for role in ("manager", "agent", "client_viewer"):
        page = world.login(role).get(f"/clients/{world.own.pk}/").content.decode()
        assert "</i> Contracts</a>" in page and "</i> Calendars</a>" in page
        assert f"/calendars/?client={world.own.pk}" in page
        assert f"/contracts/?client={world.own.pk}" in page


def test_calculator_outside_supported_years_says_so(world):
    from bpo.calendars import actions
    from bpo.tenancy.context import acting_as

    with acting_as(world.actor("manager")) as manager:
        calendar = actions.calendar_create(
            actor=manager,
            client=world.own,
            name="Y",
            time_zone="UTC",
            weekly={"mon": ["09:00-17:00"]},
        )
    page = world.login("manager").get(
        f"/calendars/{calendar.pk}/", {"start": "0001-01-01T00:00", "minutes": "60"}
    )
    assert page.status_code == 200
    assert "cannot be computed" in page.content.decode() or "Enter a valid" in page.content.decode()
