"""The citizen's journey in a real browser (issue 9), on a live platform.

a. 张三 searches 出生, opens 新生儿出生“一件事”, starts it, sees the fields the platform filled
   from the registries, meets the error summary when something is missing (each problem a link
   to its field), fills the one form, uploads the one material asked for, checks the answers,
   submits, and sees the number and the status.

Every page visited is looked at in the default, large-text and high-contrast modes (axe-core:
no serious or critical violation) and at 375 px wide (no sideways scrolling); screenshots of
each step, desktop and mobile, go to test-output/browser/.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import pytest
from tests.browser.pages import Visit

pytestmark = pytest.mark.slow

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
CITIZEN_PASSWORD = "Demo-Citizen-2026"

# The one form of 新生儿出生“一件事”: text answers by field, choices by field.
NEWBORN_TEXT = {
    "newborn_name": "张小明",
    "mother_name": "李芳",
    "father_name": "张三",
    "applicant_phone": "13800000001",
    "birth_place": "示范市妇幼保健院",
    "gestational_weeks": "39",
    "birth_weight": "3200",
    "birth_certificate_number": "Q990100123",
}
NEWBORN_CHOICES = {
    "newborn_sex": "male",
    "father_known": "yes",
    "settle_with": "father",
    "surname_basis": "father",
    "parents_married": "yes",
    "application_type": "first",
    "bank": "icbc",
    "delivery_method": "electronic",
    "insured_type": "adult",
    "household_type": "local",
}


@pytest.fixture(scope="module")
def visit(browser, platform, output_dir):
    return Visit(browser, platform.url, output_dir, "a-citizen")


def login(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_login", username)
    page.fill("#id_password", password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert "/accounts/login" not in page.url, page.locator("main").inner_text()


def test_a_citizen_applies_for_the_newborn_bundle(visit):
    context = visit.context()
    page = context.new_page()
    page.goto("/")
    visit.look(page, "home")
    page.goto("/accounts/login/")
    visit.look(page, "login")
    login(page, "zhangsan", CITIZEN_PASSWORD)

    page.goto("/")
    page.fill("#q", "出生")
    page.press("#q", "Enter")
    page.wait_for_load_state()
    visit.look(page, "search 出生")
    page.get_by_role("link", name="新生儿出生“一件事”").click()
    visit.look(page, "service guide")
    page.get_by_role("link", name="在线申请").click()
    visit.look(page, "apply")
    page.get_by_role("button", name="开始申请").click()
    page.wait_for_url(re.compile(r"/applications/\w+/edit/"))

    # The platform filled in who is applying, from the population registry: visible, editable.
    assert page.input_value("#field-applicant_name") == "张三"
    id_number = page.input_value("#field-applicant_id_number")
    assert re.fullmatch(r"\d{17}[\dX]", id_number)
    visit.look(page, "the one form")

    # Nothing else filled in: the check lists every problem at once, each linked to its field.
    page.click("button[name=then][value=check]")
    page.wait_for_load_state()
    summary = page.locator(".ow-error-summary")
    assert summary.is_visible()
    assert summary.bounding_box()["y"] < page.locator("main h1").bounding_box()["y"] + 200
    links = summary.locator("a")
    assert links.count() >= len(NEWBORN_TEXT)
    first = links.first.get_attribute("href")
    assert first
    assert "#" in first
    visit.look(page, "check: what is missing")
    links.first.click()
    page.wait_for_load_state()
    target = first.split("#", 1)[1]
    assert page.locator(f"#{target}").count() == 1, f"the summary's link #{target} has no field"

    page.goto(page.url.split("#")[0].replace("/check/", "/edit/"))
    for key, value in NEWBORN_TEXT.items():
        page.fill(f"#field-{key}", value)
    for key, value in NEWBORN_CHOICES.items():
        page.select_option(f"#field-{key}", value)
    page.fill("#field-newborn_birth_date", (dt.date.today() - dt.timedelta(days=10)).isoformat())
    page.fill("#field-mother_id_number", id_number)
    page.fill("#field-father_id_number", id_number)
    page.click("button[name=then][value=stay]")
    page.wait_for_load_state()

    # The one material the citizen must upload (the e-licenses come from the library).
    page.set_input_files(
        "#material-issuance_register",
        {"name": "登记表.pdf", "mimeType": "application/pdf", "buffer": PDF},
    )
    page.locator("form").filter(has=page.locator("#material-issuance_register")).locator(
        "button"
    ).click()
    page.wait_for_load_state()

    page.click("button[name=then][value=check]")
    page.wait_for_load_state()
    assert page.locator(".ow-error-summary").count() == 0, page.locator("main").inner_text()
    visit.look(page, "check your answers")
    page.locator("form[action$='/submit/'] button").click()
    page.wait_for_load_state()
    assert status_of(page) in ("submitted", "in_review"), page.locator("main").inner_text()
    number = application_number(page)
    assert number in page.locator(".ow-flash, [role=status], main").first.inner_text()
    STATE["number"] = number
    visit.look(page, "submitted")
    context.close()
    visit.assert_clean()


def tab_to(page: Any, selector: str, *, limit: int = 250) -> None:
    """Press Tab until the element matching ``selector`` has the focus (it must be reachable)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => !!document.activeElement?.matches(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key on {page.url}")


def follow(page: Any, key: str) -> None:
    """Press ``key`` on the focused element and wait for the page it leads to."""
    with page.expect_navigation():
        page.keyboard.press(key)
    page.wait_for_load_state()


def choose_with_keys(page: Any, selector: str, value: str) -> None:
    """Move a focused <select> to ``value`` with the arrow keys."""
    index = page.eval_on_selector(
        selector, "(e, v) => [...e.options].findIndex(o => o.value === v)", value
    )
    assert index > 0, f"{selector} has no option {value}"
    page.keyboard.press("Home")
    for _ in range(index):
        page.keyboard.press("ArrowDown")
    assert page.input_value(selector) == value


def test_a_the_same_journey_with_the_keyboard_alone(browser, platform):
    """Journey (a) without the mouse: only Tab, typing, arrows, Space and Enter."""
    context = browser.new_context(base_url=platform.url, locale="zh-CN")
    page = context.new_page()
    keys = page.keyboard
    page.goto("/accounts/login/")
    tab_to(page, "#id_login")
    keys.type("zhangsan")
    tab_to(page, "#id_password")
    keys.type(CITIZEN_PASSWORD)
    follow(page, "Enter")
    assert "/accounts/login" not in page.url

    page.goto("/")
    tab_to(page, "#q")
    keys.type("出生")
    follow(page, "Enter")
    tab_to(page, "main a[href='/services/newborn_bundle/']")
    follow(page, "Enter")
    tab_to(page, "main a[href='/services/newborn_bundle/apply/']")
    follow(page, "Enter")
    tab_to(page, "main form button[type=submit]")
    follow(page, "Enter")
    page.wait_for_url(re.compile(r"/applications/\w+/edit/"))

    id_number = page.input_value("#field-applicant_id_number")
    answers = {
        **NEWBORN_TEXT,
        "mother_id_number": id_number,
        "father_id_number": id_number,
    }
    for key, value in answers.items():
        tab_to(page, f"#field-{key}")
        keys.type(value)
    tab_to(page, "#field-newborn_birth_date")
    born = dt.date.today() - dt.timedelta(days=10)
    # The date input's segments follow chromium's own locale (en-US here: month, day, year);
    # each full segment moves the caret on to the next.
    keys.type(f"{born:%m%d%Y}")
    assert page.input_value("#field-newborn_birth_date") == born.isoformat()
    for key, value in NEWBORN_CHOICES.items():
        tab_to(page, f"#field-{key}")
        choose_with_keys(page, f"#field-{key}", value)
    tab_to(page, "button[name=then][value=stay]")
    follow(page, "Enter")

    tab_to(page, "#material-issuance_register")
    with page.expect_file_chooser() as chooser:
        keys.press("Space")
    chooser.value.set_files({"name": "登记表.pdf", "mimeType": "application/pdf", "buffer": PDF})
    keys.press("Tab")  # the form's upload button follows its file input
    follow(page, "Enter")
    assert "登记表.pdf" in page.locator("main").inner_text()

    tab_to(page, "button[name=then][value=check]")
    follow(page, "Enter")
    assert page.locator(".ow-error-summary").count() == 0, page.locator("main").inner_text()
    tab_to(page, "form[action$='/submit/'] button")
    follow(page, "Enter")
    assert status_of(page) in ("submitted", "in_review"), page.locator("main").inner_text()
    assert application_number(page)
    context.close()


# --- b. the departments work the parts; one asks for a correction ----------------------------

POSITIVE = ("pass", "approve", "accept", "complete")
BUNDLE_DEPARTMENTS = ("health", "public_security", "hrss", "medical_insurance", "gov_services")


class Staff:
    """Logged-in browser pages of the demo's staff, one context each, made when first needed."""

    def __init__(self, visit: Visit) -> None:
        from onewindow import demo

        self.visit = visit
        self.accounts = [a for a in demo.STAFF if a.department in BUNDLE_DEPARTMENTS]
        self.pages: dict[str, Any] = {}

    def page(self, username: str) -> Any:
        if username not in self.pages:
            from onewindow import demo

            account = next(a for a in demo.STAFF if a.username == username)
            page = self.visit.context().new_page()
            login(page, username, account.password)
            self.pages[username] = page
        return self.pages[username]

    def find(self, number: str, department_name: str) -> tuple[Any, str] | None:
        """The first staff member of that department (or a window clerk) whose workbench shows
        an open task of ``number``."""
        from onewindow import demo

        code = next(d[0] for d in demo.DEPARTMENTS if d[1] == department_name)
        for account in self.accounts:
            if account.department not in (code, "gov_services"):
                continue
            page = self.page(account.username)
            page.goto(f"/workbench/?number={number}")
            link = page.locator("table.ow-table a[href*='/workbench/tasks/']")
            if link.count():
                return page, link.first.get_attribute("href")
        return None

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()


STATE: dict[str, Any] = {}  # what the journey's steps hand on: the bundle's number


def status_of(page: Any) -> str:
    """The application's status (the class of the first status badge: draft, submitted ...)."""
    badge = page.locator("dl.ow-facts .ow-status").first
    classes = badge.get_attribute("class") or ""
    return classes.rsplit("ow-status--", 1)[-1]


def application_number(page: Any) -> str:
    """The number on the application page (实施编码 + date + serial)."""
    number = page.locator("dl.ow-facts .ow-code").first.inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z]{30,}", number), number
    return number


def open_parts(page: Any) -> list[tuple[str, str]]:
    """(part number, department name) of each started part the applicant's page lists."""
    rows = page.locator("section[aria-labelledby=parts-heading] tbody tr").all()
    found = []
    for row in rows:
        code = row.locator("a .ow-code")
        state = row.locator(".ow-status").first.get_attribute("class") or ""
        if code.count() and not re.search(r"--(completed|rejected|terminated)\b", state):
            found.append((code.inner_text(), row.locator("td").nth(1).inner_text().strip()))
    return found


def request_correction(visit: Visit, page: Any) -> None:
    """补正: the reviewer ticks the newborn's name, gives the reason, sends it."""
    form = page.locator("form").filter(has=page.locator("input[name=form][value=supplement]"))
    page.locator("section[aria-labelledby=supplement-heading] summary").click()
    choice = form.locator("li").filter(has_text="新生儿姓名").first
    choice.locator("input[type=checkbox]").check()
    choice.locator("input[type=text]").fill("姓名与出生医学证明首次签发登记表不一致，请核对")
    visit.look(page, "reviewer: request a correction")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def act_positively(page: Any) -> str:
    """Claim the task if it must be claimed, then take its positive action with an opinion."""
    claim = page.locator("input[name=form][value=claim]")
    if claim.count():
        page.locator("form").filter(has=claim).locator("button[type=submit]").click()
        page.wait_for_load_state()
    page.fill("#step-opinion", "材料齐全，符合条件，同意。")
    for name in POSITIVE:
        button = page.locator(f"button[name=action][value={name}]")
        if button.count():
            button.click()
            page.wait_for_load_state()
            return name
    raise AssertionError(page.locator("main").inner_text())


def test_b_departments_act_and_one_correction_is_made_at_once(browser, platform, output_dir):
    visit = Visit(browser, platform.url, output_dir, "b-departments")
    number = STATE["number"]
    citizen = visit.context().new_page()
    login(citizen, "zhangsan", CITIZEN_PASSWORD)
    staff = Staff(visit)
    corrected = looked = False
    acted: list[str] = []
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        citizen.goto(f"/applications/{number}/")
        if status_of(citizen) in ("completed", "rejected"):
            break
        for part, department in open_parts(citizen):
            found = staff.find(part, department)
            if found is None:
                continue
            page, href = found
            if not looked:
                visit.look(page, "workbench: the task found by number")
            page.goto(href)
            if not looked:
                visit.look(page, "task")
                looked = True
            if not corrected and page.locator("input[name=form][value=supplement]").count():
                request_correction(visit, page)
                corrected = True
                correct_everything_at_once(visit, citizen, number)
            else:
                acted.append(f"{part}: {act_positively(page)}")
            break
        else:
            time.sleep(0.5)  # the next part starts when the worker has delivered the approval
    citizen.goto(f"/applications/{number}/")
    assert status_of(citizen) == "completed", citizen.locator("main").inner_text()
    assert corrected, "no task offered a correction request"
    assert len({a.split(":")[0] for a in acted}) == 4, acted
    visit.look(citizen, "the bundle completed (办结)")
    staff.close()
    citizen.context.close()
    visit.assert_clean()


def correct_everything_at_once(visit: Visit, citizen: Any, number: str) -> None:
    citizen.goto(f"/applications/{number}/")
    assert status_of(citizen) == "supplement"
    notice = citizen.locator("section[aria-labelledby=supplement-heading]")
    assert "新生儿姓名" in notice.inner_text()
    visit.look(citizen, "citizen: what to correct")
    citizen.locator("main a[href$='/edit/']").first.click()
    citizen.wait_for_load_state()
    citizen.fill("#field-newborn_name", "张小明明")
    citizen.click("button[name=then][value=check]")
    citizen.wait_for_load_state()
    visit.look(citizen, "citizen: check the correction")
    citizen.locator("form[action$='/submit/'] button").click()
    citizen.wait_for_load_state()
    assert status_of(citizen) != "supplement", citizen.locator("main").inner_text()


# --- c. the citizen's results: wallet, download, verification --------------------------------


def test_c_the_citizen_finds_the_licenses_downloads_one_and_verifies_it(
    browser, platform, output_dir
):
    visit = Visit(browser, platform.url, output_dir, "c-results")
    context = visit.context()
    page = context.new_page()
    login(page, "zhangsan", CITIZEN_PASSWORD)
    page.goto(f"/applications/{STATE['number']}/")
    assert status_of(page) == "completed"
    visit.look(page, "the application: 办结")
    page.goto("/licenses/")
    visit.look(page, "wallet")
    # The parent's own result of the bundle: the social security card (the birth certificate
    # and the household page belong to the child).
    names = page.locator("table.ow-table th[scope=row] a").all_inner_texts()
    assert "社会保障卡" in names, names
    page.locator("table.ow-table th[scope=row] a").filter(has_text="社会保障卡").first.click()
    page.wait_for_load_state()
    visit.look(page, "license")
    with page.expect_download() as download:
        page.locator("a[href$='/pdf']").first.click()
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF"), pdf[:20]
    page.locator("a[href*='/verify/']").first.click()
    page.wait_for_load_state()
    visit.look(page, "verification page")
    assert "有效" in page.locator("main").inner_text()
    context.close()
    visit.assert_clean()


# --- d. the window clerk files for a walk-in citizen (帮办代办) ---------------------------------


def test_d_a_window_clerk_files_for_a_walk_in_citizen(browser, platform, output_dir):
    from onewindow import demo

    visit = Visit(browser, platform.url, output_dir, "d-clerk")
    lisi = next(a for a in demo.CITIZENS if a.username == "lisi")
    clerk = next(a for a in demo.STAFF if a.username == "clerk")
    context = visit.context()
    page = context.new_page()
    login(page, clerk.username, clerk.password)
    page.goto("/workbench/")
    visit.look(page, "workbench")
    page.goto("/workbench/file/")
    visit.look(page, "file for a citizen")
    page.select_option("#service", "social_security_card")
    page.fill("#citizen_id_number", lisi.id_number)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/applications/\w+/edit/"))
    assert page.input_value("#field-applicant_name") == "李四"
    visit.look(page, "the citizen's form, filled at the counter")
    context.close()
    visit.assert_clean()


# --- e. an agent outside their grant ------------------------------------------------------------


def test_e_an_agent_outside_the_grant_is_refused_clearly(browser, platform, output_dir):
    from onewindow import demo

    visit = Visit(browser, platform.url, output_dir, "e-agent")
    context = visit.context()
    page = context.new_page()
    login(page, "wangwu", CITIZEN_PASSWORD)
    page.goto("/accounts/enterprises/")
    visit.look(page, "enterprises I act for")
    page.check(f"#as-{demo.ENTERPRISE_USCC}")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    page.goto("/services/enterprise_deregistration/apply/")
    visit.look(page, "apply outside the grant")
    page.get_by_role("button", name="开始申请").click()
    page.wait_for_load_state()
    message = page.locator(".ow-error-summary")
    assert "授权" in message.inner_text(), page.locator("main").inner_text()
    visit.look(page, "refused: outside the grant")
    context.close()
    visit.assert_clean()
