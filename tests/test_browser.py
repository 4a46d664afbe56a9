"""End to end through a real Chromium (Playwright, sync API) against pytest-django's live server.

Each test logs in through the real login page, as a person of the ``world`` fixture, and checks
what that person sees and may do. Screenshots go to
``test-artifacts/screenshots/<database vendor>/`` so the SQLite and PostgreSQL runs keep theirs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Request,
    Response,
    expect,
    sync_playwright,
)

from bpo.accounts.models import Membership, User
from bpo.accounts.tests.factories import PASSWORD
from bpo.audit.log import record
from bpo.tenancy.models import Client
from bpo.tenancy.scoping import all_clients_unscoped
from bpo.work.models import WorkItem

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 10_000


# Leaving an item page sends a beacon that ends the work session. The test server's in-memory
# SQLite cannot serve it beside the next page or the test's teardown flush ("table is locked"),
# so the browser tests switch beacons off; ending a session is covered by the view tests, and
# an unended session ends by the idle sweep anyway.
NO_BEACONS = "navigator.sendBeacon = function () { return true; };"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole module (starting it is the slow part).

    Playwright's sync API keeps its asyncio loop marked as running in this thread, so Django
    would refuse every ORM call of the tests (and the database flush between them) as "async
    unsafe". They are not async: the live server answers from its own thread. Django's switch
    for this case is turned on exactly while Playwright runs, for this module only.
    """
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (scripts/test.sh installs it)")
    with pytest.MonkeyPatch.context() as mp, sync_playwright() as playwright:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def live_world(transactional_db, live_server, world):
    """The ``world``, committed, so the live server's thread sees it (``world`` alone uses
    ``db``; asking for ``transactional_db`` first makes the whole test transactional)."""
    return world


@pytest.fixture
def page(browser: Browser, live_server) -> Iterator[Page]:
    """A fresh browser context (no cookies) per test, pointed at the live server."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.add_init_script(NO_BEACONS)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # Console errors catch Content-Security-Policy violations. A page's own 4xx status (the
        # 403 and 404 pages, a refused form) is expected and reported here too: left out.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(f"console: {message.text}")

    def on_response(response: Response) -> None:
        # Stylesheets, scripts, fonts: every one must load.
        if response.status >= 400 and response.request.resource_type != "document":
            problems.append(f"{response.status} {response.url}")

    def on_request_failed(request: Request) -> None:
        # ERR_ABORTED is the browser cancelling a load because its page went away (the test
        # clicked on before a script had finished loading): no fault of the server's. A missing
        # file answers 404 (on_response); a refused or reset connection fails otherwise.
        if request.failure != "net::ERR_ABORTED":
            problems.append(f"failed {request.url}: {request.failure}")

    page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    page.on("console", on_console)
    page.on("response", on_response)
    page.on("requestfailed", on_request_failed)
    yield page
    context.close()
    assert not problems, f"The browser met problems: {problems}"


@pytest.fixture
def shot(page: Page):
    """``shot("name")`` saves a full-page screenshot under the database vendor's folder."""
    folder = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots" / connection.vendor
    folder.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def log_in(page: Page, user: User, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def nav(page: Page):
    return page.get_by_role("navigation", name="Main")


def assert_styled(page: Page) -> None:
    """Bootstrap and the icon font are loaded, i.e. the static files are served."""
    assert page.evaluate("getComputedStyle(document.body).fontFamily").lower() != "times new roman"
    icon_font = page.evaluate(
        "() => { const i = document.querySelector('i.bi');"
        " return i ? getComputedStyle(i, '::before').fontFamily : 'bootstrap-icons'; }"
    )
    assert "bootstrap-icons" in icon_font
    assert page.evaluate("document.fonts.check('1em bootstrap-icons')")
    # Nothing, the menu included, is wider than the window.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_client_user_sees_only_their_own_company(live_world, page: Page, shot):
    own, other = live_world.own, live_world.other
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    shot("login_page")

    log_in(page, live_world.people["client_viewer"])
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name=re.compile("^Welcome"))).to_be_visible()
    cards = page.get_by_test_id("client-card")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Own Client GmbH")
    expect(page.locator("body")).not_to_contain_text("Other Client Inc")
    expect(page.locator("body")).not_to_contain_text("OTHERSECRET")
    expect(nav(page).get_by_role("link", name="My company")).to_be_visible()
    expect(nav(page).get_by_role("link", name="People")).to_have_count(0)
    expect(nav(page).get_by_role("link", name="Audit log")).to_have_count(0)
    expect(page.get_by_test_id("account-link").locator(".badge")).to_have_text("Client")
    assert_styled(page)
    shot("client_home")

    cards.first.click()
    expect(page).to_have_url(re.compile(rf"/clients/{own.pk}/$"))
    expect(page.get_by_test_id("client-name")).to_have_text("Own Client GmbH")
    expect(page.get_by_role("navigation", name="breadcrumb")).to_contain_text("My company")
    expect(page.get_by_text("Client users")).to_have_count(0)
    shot("client_own_company")

    response = page.goto(f"/clients/{other.pk}/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="404 · Not found")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Other Client Inc")
    expect(page.locator("body")).not_to_contain_text("OTHERSECRET")
    shot("client_other_company_404")

    response = page.goto("/people/")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="403 · Not allowed")).to_be_visible()
    expect(page.get_by_role("table")).to_have_count(0)
    shot("client_people_403")


def test_agent_sees_exactly_the_clients_they_are_assigned_to(live_world, page: Page, shot):
    own, other = live_world.own, live_world.other
    log_in(page, live_world.people["agent"])
    expect(page).to_have_url(re.compile(r"/$"))
    cards = page.get_by_test_id("client-card")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Own Client GmbH")
    expect(page.locator("body")).not_to_contain_text("Other Client Inc")
    expect(nav(page).get_by_role("link", name="Clients")).to_be_visible()
    expect(nav(page).get_by_role("link", name="People")).to_have_count(0)
    expect(nav(page).get_by_role("link", name="Audit log")).to_have_count(0)
    assert_styled(page)
    shot("agent_home")

    nav(page).get_by_role("link", name="Clients").click()
    expect(page.get_by_test_id("client-row")).to_have_count(1)
    expect(page.get_by_test_id("client-row")).to_contain_text("Own Client GmbH")
    shot("agent_client_list")

    page.get_by_role("link", name="Own Client GmbH").click()
    expect(page).to_have_url(re.compile(rf"/clients/{own.pk}/$"))
    expect(page.get_by_test_id("client-name")).to_have_text("Own Client GmbH")
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    shot("agent_own_client")

    response = page.goto(f"/clients/{other.pk}/")
    assert response is not None and response.status == 404

    # On a phone the menu folds away behind a button (Bootstrap's script runs under the CSP).
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/")
    clients_link = nav(page).get_by_role("link", name="Clients")
    expect(clients_link).to_be_hidden()
    nav(page).get_by_role("button", name="Menu").click()
    expect(page.locator("#mainnav")).to_have_class(re.compile(r"(^|\s)show(\s|$)"))
    expect(clients_link).to_be_visible()
    expect(nav(page).get_by_role("link", name="People")).to_have_count(0)
    shot("agent_home_phone_menu")


def test_wrong_password_shows_the_error_on_the_login_page(live_world, page: Page, shot):
    user = live_world.people["client_viewer"]
    log_in(page, user, password="not-the-password")
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_test_id("login-error")).to_have_text(
        "The e-mail address or the password is wrong."
    )
    expect(page.get_by_label("E-mail")).to_have_value(user.email)
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    shot("login_wrong_password")


def test_admin_creates_and_revokes_an_api_token(live_world, live_server, page: Page, shot):
    admin = live_world.people["admin"]
    log_in(page, admin)
    expect(nav(page).get_by_role("link", name="People")).to_be_visible()
    expect(nav(page).get_by_role("link", name="Audit log")).to_be_visible()
    # the longest menu, an admin's, stays within the window at every desktop width (it wraps
    # onto a second row where it must; at 1,920 pixels it once ran 400 pixels off the screen)
    for width in (1280, 1440, 1920):
        page.set_viewport_size({"width": width, "height": 900})
        assert_styled(page)
        expect(page.get_by_role("button", name="Log out")).to_be_in_viewport()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_test_id("account-link").click()
    expect(page).to_have_url(re.compile(r"/account/$"))
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    shot("account_page")

    page.get_by_label("Name", exact=True).fill("CRM sync")
    page.get_by_role("button", name="Create").click()
    secret = page.get_by_test_id("new-token").inner_text().strip()
    assert secret
    rows = page.get_by_test_id("token-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("CRM sync")
    expect(rows.first).to_contain_text("active")
    shot("account_token_created")

    api = httpx.Client(base_url=live_server.url, timeout=10)
    bearer = {"Authorization": f"Bearer {secret}"}
    me = api.get("/api/v1/me", headers=bearer)
    assert me.status_code == 200, me.text
    assert me.json()["email"] == admin.email
    assert me.json()["side"] == "provider"

    # The secret is shown once: reloading the account page does not show it again.
    page.goto("/account/")
    expect(page.get_by_test_id("new-token")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text(secret)

    rows.first.get_by_role("button", name="Revoke").click()
    expect(
        page.get_by_role("alert").filter(has_text="The token 'CRM sync' is revoked.")
    ).to_be_visible()
    expect(rows.first).to_contain_text("revoked")
    expect(rows.first.get_by_role("button", name="Revoke")).to_have_count(0)
    shot("account_token_revoked")

    refused = api.get("/api/v1/me", headers=bearer)
    assert refused.status_code == 401
    error = refused.json()["error"]
    assert error["code"] == "not_authenticated"
    assert "revoked" in error["message"]
    api.close()

    # Both the revocation and the refused request are in the audit log.
    nav(page).get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    expect(page.get_by_role("cell", name="api_token.revoked")).to_have_count(1)
    expect(page.get_by_role("cell", name="auth.token_refused")).to_have_count(1)
    expect(page.locator("body")).not_to_contain_text(secret)
    shot("admin_audit_log")


def test_admin_creates_a_client_and_gives_a_person_a_role(live_world, page: Page, shot):
    log_in(page, live_world.people["admin"])
    page.get_by_role("link", name="New client").click()
    expect(page).to_have_url(re.compile(r"/clients/new/$"))
    page.get_by_label("Name", exact=True).fill("Northwind Traders")
    page.get_by_label("Slug").fill("northwind")
    page.get_by_label("Legal name").fill("Northwind Traders Ltd")
    page.get_by_label("Time zone").select_option("Europe/Berlin")
    shot("admin_new_client_form")
    page.get_by_role("button", name="Save").click()

    with all_clients_unscoped("test check"):
        client = Client.objects.get(slug="northwind")
    expect(page).to_have_url(re.compile(rf"/clients/{client.pk}/$"))
    expect(page.get_by_text("Northwind Traders is now a client.")).to_be_visible()
    expect(page.get_by_test_id("client-name")).to_contain_text("Northwind Traders")
    assert client.time_zone == "Europe/Berlin"
    shot("admin_client_created")

    page.goto("/people/new/")
    page.get_by_label("E-mail").fill("nora@northwind.test")
    page.get_by_label("Full name").fill("Nora North")
    page.get_by_label("Password").fill("a-long-enough-password")
    page.get_by_role("button", name="Add person").click()
    person = User.objects.get(email="nora@northwind.test")
    expect(page).to_have_url(re.compile(rf"/people/{person.pk}/$"))
    expect(page.get_by_text("No role: this person cannot see anything yet.")).to_be_visible()

    roles = page.locator("form", has=page.get_by_role("button", name="Give"))
    # Nothing is preselected: giving a role is a deliberate choice.
    expect(roles.get_by_label("Role", exact=True)).to_have_value("")
    roles.get_by_label("Role", exact=True).select_option(label="Client admin")
    roles.get_by_label("Client", exact=True).select_option(label="Northwind Traders")
    roles.get_by_role("button", name="Give").click()
    expect(page.get_by_text("Role given; their open sessions have ended.")).to_be_visible()
    expect(page.get_by_test_id("membership")).to_have_count(1)
    expect(page.get_by_test_id("membership")).to_contain_text("Client admin at Northwind Traders")
    with all_clients_unscoped("test check"):
        assert Membership.objects.filter(user=person, client=client, role="client_admin").exists()
    shot("admin_person_role_given")

    # A provider role with a client is refused, and the page says why.
    roles.get_by_label("Role", exact=True).select_option(label="Agent")
    roles.get_by_label("Client", exact=True).select_option(label="Northwind Traders")
    roles.get_by_role("button", name="Give").click()
    expect(roles.locator(".invalid-feedback")).to_contain_text("provider role")
    shot("admin_person_role_refused")

    page.get_by_role("navigation", name="breadcrumb").get_by_role("link", name="People").click()
    row = page.get_by_role("row").filter(has_text="Nora North")
    expect(row).to_contain_text("Client admin · Northwind Traders")
    shot("admin_people_list")


def test_client_reads_what_was_agreed_and_never_a_draft(live_world, page: Page, shot):
    """A manager's contract, agreed and then changed in a new draft, seen by the client."""
    from bpo.calendars import actions as calendar_actions
    from bpo.contracts import actions as contract_actions
    from bpo.tenancy.context import acting_as

    with acting_as(live_world.actor("manager")) as manager:
        calendar = calendar_actions.calendar_create(
            actor=manager,
            client=live_world.own,
            name="Office hours",
            time_zone="Europe/Berlin",
            weekly={d: ["08:00-12:00", "13:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
            holiday_country="DE",
        )
        contract = contract_actions.contract_create(
            actor=manager,
            client=live_world.own,
            reference="OWN-1",
            title="Support",
            start_date="2026-01-01",
            currency="EUR",
        )
        version = contract.versions.get()
        policy = contract_actions.sla_policy_save(
            actor=manager,
            version=version,
            name="Standard",
            targets=[{"priority": "normal", "metric": "first_response", "duration_minutes": 240}],
        )
        contract_actions.service_add(
            actor=manager,
            version=version,
            key="support",
            name="E-mail support",
            process_type="customer_service",
            calendar=calendar,
            sla_policy_id=policy.pk,
            scope_included="Orders and returns",
        )
        contract_actions.contract_version_activate(actor=manager, version=version)
        draft = contract_actions.contract_version_draft(actor=manager, contract=contract)

    log_in(page, live_world.people["client_viewer"])
    nav(page).get_by_role("link", name="Contracts").click()
    page.get_by_role("link", name=re.compile("OWN-1")).first.click()
    expect(page.locator("body")).to_contain_text("Active")
    expect(page.locator("body")).not_to_contain_text("Draft")
    page.get_by_role("link", name=re.compile("1")).filter(has_text="ersion").first.click()
    expect(page.locator("body")).to_contain_text("Orders and returns")
    expect(page.locator("body")).to_contain_text("4 h")
    expect(page.get_by_role("button", name=re.compile("Activate|Edit|Add"))).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("^Edit|^Add"))).to_have_count(0)
    shot("client_agreed_contract_version")
    response = page.goto(f"/contracts/versions/{draft.pk}/")
    assert response is not None and response.status == 404


def _agent_workspace_world(world) -> WorkItem:
    """An agreed customer-service contract of the own client, the agent certified on it, and two
    items waiting; returns the urgent one, from Jane Doe."""
    from bpo.tenancy.context import acting_as
    from bpo.work import actions as work
    from bpo.work.tests.test_items_api import agreed_service
    from bpo.workforce.actions import certification_grant

    service = agreed_service(world, world.own)
    with acting_as(world.actor("manager")) as manager:
        certification_grant(actor=manager, user=world.people["agent"], service=service)
    with acting_as(world.actor("client_admin")) as client:
        work.work_item_create(
            actor=client,
            service=service,
            title="Change delivery address",
            contact_email="j.fischer@example.net",
            custom_fields={"order": "NW-100262"},
        )
        urgent = work.work_item_create(
            actor=client,
            service=service,
            title="Charged twice for one order",
            priority="urgent",
            contact_email="jane@shop.example",
            contact_name="Jane Doe",
            custom_fields={"order": "NW-100251", "reason": "complaint"},
        )
    return urgent


def test_agent_gets_next_replies_with_a_canned_response_and_resolves(live_world, page: Page, shot):
    urgent = _agent_workspace_world(live_world)

    # A manager prepares the canned response on the service's page.
    log_in(page, live_world.people["manager"])
    nav(page).get_by_role("link", name="Work").click()
    page.get_by_role("link", name="Canned responses").click()
    page.get_by_role("link", name="Support").click()
    page.get_by_label("Title").fill("Refund on its way")
    page.get_by_label("Body").fill(
        "Hello {contact_name},\n\nwe have refunded the second charge; it shows on your "
        "statement within five days. Your case number is {item_id}.\n\nKind regards,\n{agent_name}"
    )
    page.get_by_role("button", name="Add").click()
    expect(
        page.get_by_text("The canned response 'Refund on its way' is ready to use.")
    ).to_be_visible()
    expect(page.get_by_test_id("canned-response")).to_have_count(1)
    shot("manager_canned_responses")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()

    log_in(page, live_world.people["agent"])
    nav(page).get_by_role("link", name="Work").click()
    expect(page).to_have_url(re.compile(r"/work/$"))
    expect(page.get_by_test_id("workload")).to_contain_text("2 waiting")
    expect(page.get_by_test_id("shortcuts")).to_contain_text("Get next")
    assert_styled(page)
    shot("agent_my_work_empty")

    page.get_by_test_id("get-next").click()
    expect(page).to_have_url(re.compile(rf"/work/items/{urgent.pk}/$"))
    expect(page.get_by_text(f"Item #{urgent.pk} is yours now.")).to_be_visible()
    expect(page.get_by_test_id("item-title")).to_contain_text("Charged twice for one order")
    details = page.get_by_test_id("item-details")
    expect(details).to_contain_text("Jane Doe")
    expect(details).to_contain_text("NW-100251")
    expect(page.get_by_test_id("assignee")).to_have_text("Agent of own")
    # Only the states an unanswered item may move to next are offered.
    actions = page.get_by_test_id("item-actions")
    expect(actions.get_by_role("button", name=re.compile("Resolve"))).to_be_visible()
    expect(actions.get_by_role("button", name=re.compile("Reopen|Close"))).to_have_count(0)
    shot("agent_item_taken")

    # "?" shows the shortcuts; "r" goes to the reply box.
    page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("Resolve the item")
    shot("agent_shortcuts_help")
    expect(help_dialog).to_be_focused()  # open: it has the keyboard now
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()
    page.keyboard.press("r")
    reply_box = page.get_by_label("Reply to the contact")
    expect(reply_box).to_be_focused()

    picker = page.get_by_test_id("canned-picker")
    picker.get_by_label("Canned response").select_option(label="Refund on its way")
    picker.get_by_role("button", name="Insert").click()
    expect(reply_box).to_have_value(re.compile(r"^Hello Jane Doe,\n\nwe have refunded"))
    expect(reply_box).to_have_value(re.compile(rf"case number is {urgent.pk}\."))
    expect(reply_box).to_have_value(re.compile(r"Kind regards,\nAgent of own$"))
    # Typing a shortcut letter in the box types it (here "g" and "s"), it does not act.
    reply_box.press("End")
    reply_box.type("\nPS: sorry for the trouble.")
    expect(page).to_have_url(re.compile(rf"/work/items/{urgent.pk}/$"))
    shot("agent_reply_with_canned_response")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_text("Your reply is on the timeline.")).to_be_visible()
    reply = page.get_by_test_id("timeline-entry").and_(page.locator("[data-kind=message_out]"))
    expect(reply).to_contain_text("Hello Jane Doe")
    expect(reply).to_contain_text("PS: sorry for the trouble.")

    page.keyboard.press("n")
    note_box = page.get_by_label("Internal note (never shown to the client)")
    expect(note_box).to_be_focused()
    note_box.fill("Refund approved by the client's finance team.")
    note_box.press("Control+Enter")
    note = page.get_by_test_id("timeline-entry").and_(page.locator("[data-kind=note]"))
    expect(note).to_contain_text("Refund approved")
    expect(note.get_by_test_id("internal-badge")).to_be_visible()
    shot("agent_item_replied_and_noted")

    page.keyboard.press("s")
    expect(page.get_by_text(f"Item #{urgent.pk} is resolved.")).to_be_visible()
    expect(page.get_by_test_id("state").first).to_have_text("Resolved")
    actions = page.get_by_test_id("item-actions")
    expect(actions.get_by_role("button", name=re.compile("Reopen"))).to_be_visible()
    expect(actions.get_by_role("button", name=re.compile("Resolve"))).to_have_count(0)
    shot("agent_item_resolved")

    # "g" takes the next item straight from here.
    page.keyboard.press("g")
    expect(page.get_by_test_id("item-title")).to_contain_text("Change delivery address")
    nav(page).get_by_role("link", name="Work").click()
    expect(page.get_by_test_id("open-item")).to_have_count(1)
    expect(page.get_by_test_id("open-item")).to_contain_text("Change delivery address")
    expect(page.get_by_test_id("open-item")).to_contain_text("Get next")
    expect(page.get_by_test_id("recent-item")).to_contain_text("Charged twice for one order")
    expect(page.get_by_test_id("workload")).to_contain_text("1 open item of the 5")
    shot("agent_my_work_after")


def test_client_user_reads_their_item_without_internal_notes(live_world, page: Page, shot):
    from bpo.tenancy.context import acting_as
    from bpo.work import actions as work

    urgent = _agent_workspace_world(live_world)
    with acting_as(live_world.actor("agent")) as agent:
        work.work_item_next(actor=agent)
        work.work_item_note(actor=agent, item=urgent, body="Customer sounds upset; OTHERNOTE")
        work.work_item_reply(actor=agent, item=urgent, body="We are on it.")
        work.work_item_update(actor=agent, item=urgent, priority="high", tags=["refund"])

    log_in(page, live_world.people["client_viewer"])
    expect(nav(page).get_by_role("link", name="Work")).to_have_count(0)
    page.goto(f"/work/items/{urgent.pk}/")
    expect(page.get_by_test_id("item-title")).to_contain_text("Charged twice for one order")
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("We are on it.")
    expect(timeline).to_contain_text("changed the priority: Urgent → High")
    expect(page.locator("body")).not_to_contain_text("OTHERNOTE")
    expect(page.get_by_test_id("internal-badge")).to_have_count(0)
    expect(page.get_by_test_id("reply-form")).to_have_count(0)
    expect(page.get_by_test_id("item-actions")).to_have_count(0)
    shot("client_item_read_only")

    page.keyboard.press("m")
    message_box = page.get_by_label("Your message")
    expect(message_box).to_be_focused()
    message_box.fill("Thank you! When will I see the money?")
    page.get_by_role("button", name="Send message").click()
    expect(page.get_by_text("Your message is on the timeline")).to_be_visible()
    expect(timeline.locator("[data-kind=message_in]")).to_contain_text("When will I see the money?")
    shot("client_item_message_sent")


def test_agent_corrects_details_and_a_refused_reply_keeps_its_text(live_world, page: Page, shot):
    from bpo.tenancy.context import acting_as
    from bpo.work import actions as work

    urgent = _agent_workspace_world(live_world)
    with acting_as(live_world.actor("agent")) as agent:
        work.work_item_next(actor=agent)

    log_in(page, live_world.people["agent"])
    page.goto(f"/work/items/{urgent.pk}/")
    page.keyboard.press("e")
    expect(page).to_have_url(re.compile(rf"/work/items/{urgent.pk}/edit/$"))
    page.get_by_label("Title").fill("Charged twice: refund the second charge")
    page.get_by_label("Tags").fill("refund, card")
    page.get_by_label("order").fill("")
    page.get_by_label("reason").select_option("return")
    page.get_by_role("button", name="Save").click()
    # The required order number is missing: said next to it; what was typed stays.
    expect(page.locator(".invalid-feedback")).to_have_text("order is required.")
    expect(page.get_by_label("Title")).to_have_value("Charged twice: refund the second charge")
    expect(page.get_by_label("reason")).to_have_value("return")
    shot("agent_details_refused")
    page.get_by_label("order").fill("NW-100251")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved; the changes are on the timeline.")).to_be_visible()
    changed = page.locator("[data-kind=fields_changed]")
    expect(changed).to_contain_text("Title: Charged twice for one order → Charged twice: refund")
    expect(changed).to_contain_text("reason: complaint → return")
    expect(page.get_by_test_id("tags")).to_contain_text("refund")

    # While the agent writes, a manager cancels the item: the reply is refused, the text kept.
    page.keyboard.press("r")
    page.keyboard.type("Hello Jane, the refund is on its way.")
    with acting_as(live_world.actor("manager")) as manager:
        work.work_item_transition(actor=manager, item=urgent, state="cancelled")
    page.get_by_role("button", name="Send reply").click()
    reply_box = page.get_by_label("Reply to the contact")
    expect(reply_box).to_have_value("Hello Jane, the refund is on its way.")
    expect(reply_box).to_be_focused()
    expect(page.get_by_test_id("reply-form").locator(".invalid-feedback")).to_have_text(
        "The item is cancelled; it takes no replies."
    )
    shortcuts = page.get_by_test_id("shortcuts")
    expect(shortcuts).not_to_contain_text("Edit the item's details")
    expect(shortcuts).not_to_contain_text("Resolve the item")
    shot("agent_reply_refused_kept")


def test_manager_watches_a_queue_fill_and_an_agent_take_the_item(
    live_world, live_server, browser: Browser, page: Page, shot, settings
):
    """The manager's queue table refreshes itself (htmx): a new item shows up as waiting, and
    when the agent takes it with Get next the waiting count drops and the agent's load rises.
    The manager opening the item sees that the agent has it open."""
    from bpo.tenancy.context import acting_as
    from bpo.work import actions as work
    from bpo.work.tests.test_items_api import agreed_service
    from bpo.workforce.actions import certification_grant

    # No timers: with SQLite in memory the live server's threads share one connection, so a
    # poll landing during another request can fail. The board's Refresh button does the same
    # htmx swap as its timer; the pages' own loads touch the work sessions.
    settings.OPENBPO_BOARD_REFRESH_SECONDS = 3600
    settings.OPENBPO_HEARTBEAT_SECONDS = 3600
    service = agreed_service(live_world, live_world.own)
    with acting_as(live_world.actor("manager")) as manager:
        certification_grant(actor=manager, user=live_world.people["agent"], service=service)

    log_in(page, live_world.people["manager"])
    nav(page).get_by_role("link", name="Queues & agents").click()
    expect(page).to_have_url(re.compile(r"/work/manage/$"))
    expect(page.get_by_test_id("queues")).to_contain_text("No queues yet")
    agent_row = page.locator('[data-testid=agent-row][data-agent="agent@own.test"]')
    expect(agent_row.get_by_test_id("agent-load")).to_have_text("0/5")
    assert_styled(page)
    shot("manager_queues_empty")

    with acting_as(live_world.actor("client_admin")) as client:
        item = work.work_item_create(
            actor=client,
            service=service,
            title="Parcel never arrived",
            contact_email="jane@shop.example",
            custom_fields={"order": "NW-100300"},
        )
    page.get_by_test_id("board-refresh").click()  # htmx: the tables alone, no reload
    queue_row = page.get_by_test_id("queue-row")
    expect(queue_row.get_by_test_id("waiting")).to_have_text("1")
    expect(queue_row).to_contain_text("Own Client GmbH · Support")
    expect(queue_row.get_by_test_id("sla-risk")).to_contain_text(re.compile("on track|at risk"))
    shot("manager_queue_one_waiting")

    agent_context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}
    )
    agent_context.add_init_script(NO_BEACONS)
    agent_context.set_default_timeout(TIMEOUT_MS)
    agent_page = agent_context.new_page()
    try:
        log_in(agent_page, live_world.people["agent"])
        nav(agent_page).get_by_role("link", name="Work").click()
        agent_page.get_by_test_id("presence").click()
        agent_page.get_by_role("button", name=re.compile("^Available")).click()
        expect(agent_page.get_by_text("You are available.")).to_be_visible()
        expect(agent_page.get_by_test_id("presence")).to_have_text("Available")
        agent_page.get_by_test_id("get-next").click()
        expect(agent_page).to_have_url(re.compile(rf"/work/items/{item.pk}/$"))
        expect(agent_page.get_by_test_id("sla-clock")).to_contain_text("First response")
        expect(agent_page.get_by_test_id("clock-status")).to_have_text("Running")
        shot_path = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots" / connection.vendor
        agent_page.screenshot(path=str(shot_path / "agent_item_with_sla.png"), full_page=True)

        page.get_by_test_id("board-refresh").click()
        expect(queue_row.get_by_test_id("waiting")).to_have_text("0")
        expect(queue_row.get_by_test_id("open")).to_have_text("1")
        expect(agent_row.get_by_test_id("agent-load")).to_have_text("1/5")
        expect(agent_row.get_by_test_id("agent-presence")).to_have_text("Available")
        shot("manager_queue_taken")

        # The manager opens the item: the agent has it open (their heartbeat keeps it so).
        page.goto(f"/work/items/{item.pk}/")
        expect(page.get_by_test_id("open-elsewhere")).to_contain_text(
            "agent@own.test also has this item open"
        )
        expect(page.get_by_test_id("transfer-form")).to_be_visible()
        # And the agent's banner names the manager (the heartbeat's answer; here, a reload).
        agent_page.reload()
        expect(agent_page.get_by_test_id("open-elsewhere")).to_contain_text(
            "manager@own.test also has this item open"
        )
        agent_page.screenshot(path=str(shot_path / "agent_item_open_elsewhere.png"), full_page=True)
        shot("manager_item_transfer")
        # Leaving the page sends the session-end beacon at the same moment as the next page's
        # request: two requests at once, which the in-memory SQLite live server cannot take.
        # The session-end route is tested in bpo/work/tests/test_live_views.py.
    finally:
        agent_context.close()


def test_manager_adds_a_mailbox_and_retries_failed_mail(live_world, page: Page, shot):
    """A manager gives a service an address on the Intake page, finds a message that failed
    to be taken in, downloads it as it arrived, retries it, and opens the item it became."""
    from unittest import mock

    from bpo.intake import actions as intake
    from bpo.intake.models import Mailbox
    from bpo.intake.tests import messages
    from bpo.tenancy.scoping import client_scope
    from bpo.work.tests.test_items_api import agreed_service

    service = agreed_service(live_world, live_world.own)
    log_in(page, live_world.people["manager"])
    nav(page).get_by_role("link", name="Intake").click()
    expect(page.get_by_test_id("mailboxes")).to_contain_text("No mailbox yet")
    mailbox_form = page.get_by_test_id("mailbox-form")
    mailbox_form.get_by_label("Service").select_option(label=f"Own Client GmbH · {service.name}")
    page.get_by_label("Address").fill("not an address")
    page.get_by_role("button", name="Add mailbox").click()
    expect(page.locator(".invalid-feedback, .alert-danger").first).to_be_visible()
    page.get_by_label("Address").fill("Care@Own.example")
    page.get_by_label("Display name").fill("Own care team")
    page.get_by_role("button", name="Add mailbox").click()
    expect(page.get_by_test_id("mailbox")).to_contain_text("care@own.example")

    with all_clients_unscoped("test setup"):
        mailbox = Mailbox.objects.get()
    with client_scope([mailbox.client_id]):
        stored = intake.inbound_email_store(
            mailbox=mailbox, raw=messages.corpus("latin1-qp.eml"), channel="smtp"
        )
        with mock.patch("bpo.intake.actions.mail.parse", side_effect=RuntimeError("parser bug")):
            intake.inbound_email_process(inbound_id=stored.pk)
    page.reload()
    expect(page.get_by_test_id("failed-count")).to_have_text("1 failed")
    expect(page.get_by_test_id("inbound-error")).to_contain_text("parser bug")
    assert_styled(page)
    shot("intake_failed_message")

    with page.expect_download() as download:
        page.get_by_role("link", name=".eml").click()
    assert Path(download.value.path()).read_bytes() == messages.corpus("latin1-qp.eml")

    page.get_by_test_id("retry").click()
    expect(page.locator(".alert-success")).to_contain_text("is processed")
    row = page.get_by_test_id("inbound-row")
    expect(row).to_contain_text("Rückerstattung für Bestellung 10046")
    shot("intake_retried")
    row.get_by_role("link", name=re.compile(r"^#\d+$")).click()
    expect(page.get_by_test_id("channel")).to_have_text("E-mail")
    expect(page.locator("body")).to_contain_text("Ich möchte mein Geld zurück.")
    shot("intake_item_from_email")


def test_manager_imports_a_file_fixes_the_mapping_and_watches_the_progress(
    live_world, page: Page, shot, tmp_path
):
    """A manager uploads a CSV whose Priority column has a word the service does not know, sees
    the problem by row and column, leaves that column out, starts the import and watches the
    progress bar fill as the worker takes the rows in."""
    from django.core.management import call_command

    from bpo.work.tests.test_items_api import agreed_service

    service = agreed_service(live_world, live_world.own)
    path = tmp_path / "monday.csv"
    path.write_text(
        "Reference;Subject;E-mail;Priority;Order\n"
        "M-1;Parcel never arrived;anna@customer.example;high;A-1\n"
        "M-2;Wrong size;ben@customer.example;whenever;A-2\n"
        "M-3;Refund missing;cy@customer.example;low;A-3\n"
    )
    log_in(page, live_world.people["manager"])
    nav(page).get_by_role("link", name="Intake").click()
    page.get_by_test_id("intake-tabs").get_by_role("link", name="Imports").click()
    expect(page.get_by_test_id("imports")).to_contain_text("No import yet")
    form = page.get_by_test_id("import-form")
    form.get_by_label("Service").select_option(label=f"Own Client GmbH · {service.name}")
    form.get_by_label("CSV or Excel file").set_input_files(str(path))
    form.get_by_role("button", name="Upload and check").click()

    expect(page.get_by_test_id("import-status")).to_have_text("has errors")
    error = page.get_by_test_id("import-error")
    expect(error).to_have_count(1)
    expect(error).to_contain_text("3")
    expect(error).to_contain_text("Priority (D)")
    expect(error).to_contain_text("'whenever' is not a priority")
    expect(page.get_by_test_id("column-B")).to_have_value("title")
    expect(page.locator("body")).to_contain_text("Parcel never arrived")  # sample values
    assert_styled(page)
    shot("import_problems")

    page.get_by_test_id("column-D").select_option("")
    page.get_by_test_id("import-save-mapping").click()
    expect(page.locator(".alert-success")).to_contain_text("Every row is valid: 3 rows")
    page.get_by_test_id("import-start").click()
    expect(page.get_by_test_id("import-progress")).to_contain_text("Waiting for the worker")
    call_command("db_worker", batch=True, startup_delay=False)
    counts = page.get_by_test_id("import-counts")
    expect(counts).to_contain_text("3 items created", timeout=TIMEOUT_MS)
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(page.get_by_test_id("import-status")).to_have_text("imported")
    shot("import_done")
    with all_clients_unscoped("test"):
        assert sorted(WorkItem.objects.values_list("external_ref", flat=True)) == [
            "M-1",
            "M-2",
            "M-3",
        ]


def test_client_admin_reads_who_at_the_provider_touched_their_data(live_world, page: Page, shot):
    own, people = live_world.own.pk, live_world.people
    record(
        "attachment.downloaded",
        object_repr="delivery-note.pdf",
        client_id=own,
        actor=people["agent"],
    )
    record(
        "work_item.updated",
        object_repr="Parcel never arrived",
        client_id=own,
        actor=people["manager"],
        before={"priority": "normal"},
        after={"priority": "high"},
    )
    record(
        "attachment.downloaded",
        object_repr="OTHERSECRET.pdf",
        client_id=live_world.other.pk,
        actor=live_world.other_people["agent"],
    )
    log_in(page, people["client_admin"])
    nav(page).get_by_role("link", name="Access log").click()
    expect(page.get_by_role("heading", name=re.compile("^Access log"))).to_be_visible()
    rows = page.get_by_test_id("access-row")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Manager of own")
    expect(rows.first).to_contain_text("priority")
    expect(page.locator("body")).not_to_contain_text("OTHERSECRET")
    assert_styled(page)
    shot("client_access_log")
    page.get_by_label("Viewed or changed").select_option("viewed")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("delivery-note.pdf")
