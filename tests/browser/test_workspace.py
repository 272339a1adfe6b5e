"""The agent workspace in a real browser: sign in, open, reply, live updates, keyboard only,
translations, a phone-sized screen."""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

from sellerdesk.core import i18n
from sellerdesk.core.i18n_check import used_texts
from tests.browser.conftest import Desk, OpenPage
from tests.process import wait_until

LIVE_SECONDS = 15
ALL_OPEN = "/inbox?view=open"


def _unique() -> str:
    return uuid.uuid4().hex[:8]


async def _ticket(desk: Desk, subject: str, text: str, *, name: str = "Ewa Nowak",
                  email: str = "ewa@example.pl") -> tuple[int, str]:
    key = _unique()
    subject = f"{subject} {key}"
    return await desk.inbound(f"browser-{key}", name, email, subject, text), subject


async def test_agent_opens_a_ticket_and_the_reply_reaches_the_shop(
    desk: Desk, signed_in: OpenPage
) -> None:
    ticket_id, subject = await _ticket(desk, "Zwrot zamówienia",
                                       "Dzień dobry, proszę o zwrot za uszkodzony czajnik.")
    page = await signed_in("ola")
    await page.goto(ALL_OPEN)

    await page.get_by_role("link", name=subject).click()
    await page.wait_for_url(f"**/tickets/{ticket_id}")
    assert "uszkodzony czajnik" in await page.inner_text("#thread")
    reply = f"Zwrot jest w drodze ({_unique()})."
    await page.fill("#composer-text", reply)
    await page.click("#send-button")

    async def delivered() -> bool:
        return any(b.get("text") == reply for b in desk.webhook.bodies)

    await wait_until(delivered, LIVE_SECONDS, "the reply at the shop's webhook")
    body = next(b for b in desk.webhook.bodies if b.get("text") == reply)
    assert body["ticket_id"] == ticket_id
    await page.locator("#thread").get_by_text(reply).wait_for()
    assert await page.input_value("#composer-text") == ""


async def test_a_second_agent_sees_new_tickets_and_replies_arrive_live(
    desk: Desk, signed_in: OpenPage
) -> None:
    watcher = await signed_in("minji")
    writer = await signed_in("ola")
    await watcher.goto(ALL_OPEN)

    ticket_id, subject = await _ticket(
        desk, "환불 요청", "주문한 상품이 파손되어 환불을 요청합니다.",
        name="김서연", email="seoyeon@example.kr")
    await watcher.get_by_role("link", name=subject).wait_for(timeout=LIVE_SECONDS * 1000)

    await watcher.goto(f"/tickets/{ticket_id}")
    await writer.goto(f"/tickets/{ticket_id}")
    reply = f"Zwrot przyznany ({_unique()})."
    await writer.fill("#composer-text", reply)
    await writer.click("#send-button")

    await watcher.locator("#thread").get_by_text(reply).wait_for(timeout=LIVE_SECONDS * 1000)


async def test_collision_banner_when_another_agent_views_and_types(
    desk: Desk, signed_in: OpenPage
) -> None:
    ticket_id, _ = await _ticket(desk, "Reklamacja", "Buty rozkleiły się po tygodniu.")
    first = await signed_in("ola")
    second = await signed_in("minji")
    await first.goto(f"/tickets/{ticket_id}")
    await second.goto(f"/tickets/{ticket_id}")

    banner = first.locator("#live-banner")
    await banner.get_by_text("김민지").wait_for(timeout=LIVE_SECONDS * 1000)
    await second.type("#composer-text", "답변을 작성하는 중입니다")
    await first.wait_for_function(
        "document.getElementById('live-banner').textContent.includes('pisze')",
        timeout=LIVE_SECONDS * 1000)


async def test_keyboard_only_an_agent_solves_a_ticket(desk: Desk, signed_in: OpenPage) -> None:
    ticket_id, subject = await _ticket(desk, "Faktura", "Proszę o fakturę VAT do zamówienia.")
    page = await signed_in("ola")
    await page.goto(ALL_OPEN)
    row = page.locator(f"#ticket-{ticket_id}")
    await row.wait_for()

    # Move down with j until the new ticket's row is the selected one (it is the newest: first).
    for _ in range(10):
        await page.keyboard.press("j")
        if await row.get_attribute("aria-selected") == "true":
            break
    assert await row.get_attribute("aria-selected") == "true"
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/tickets/{ticket_id}")
    await page.keyboard.press("e")

    async def solved() -> bool:
        await page.goto(f"/tickets/{ticket_id}")
        return await page.input_value("#prop-status") == "solved"

    await wait_until(solved, LIVE_SECONDS, "the ticket to be solved")


def _english_labels(language: str) -> set[str]:
    """The English texts that the language's catalog translates differently (a label shown in
    English in that UI is a leak), without placeholders."""
    texts = used_texts()
    labels = set()
    for text in texts.all:
        if "{" in text or len(text) < 3:
            continue
        translated = i18n.translate(language, text)
        if translated != text:
            labels.add(text)
    return labels


async def _visible_texts(page: Any) -> list[str]:
    """Every line of visible text plus labels a screen reader or tooltip shows."""
    return list(await page.evaluate("""() => {
        const out = document.body.innerText.split('\\n').map(s => s.trim()).filter(Boolean);
        for (const el of document.querySelectorAll('[placeholder],[aria-label],[title]')) {
            for (const a of ['placeholder', 'aria-label', 'title']) {
                const v = el.getAttribute(a);
                if (v) out.push(v.trim());
            }
        }
        return out;
    }"""))


async def test_korean_and_polish_uis_show_no_untranslated_text(
    desk: Desk, signed_in: OpenPage
) -> None:
    ticket_id, _ = await _ticket(desk, "배송 문의", "배송이 언제 되나요? 주문번호 HW-2231.",
                                 name="박지훈", email="jihoon@example.kr")
    leaks: dict[str, list[tuple[str, str]]] = {}
    for agent, language in (("minji", "ko"), ("ola", "pl")):
        english = _english_labels(language)
        page = await signed_in(agent)
        for path in ("/inbox", ALL_OPEN, f"/tickets/{ticket_id}", "/profile",
                     "/search?q=%EB%B0%B0%EC%86%A1"):
            await page.goto(path)
            assert await page.get_attribute("html", "lang") == language
            for text in await _visible_texts(page):
                if text in english:
                    leaks.setdefault(language, []).append((path, text))
        await page.keyboard.press("?")
        for text in await _visible_texts(page):
            if text in english:
                leaks.setdefault(language, []).append(("help", text))

    assert leaks == {}


async def test_phone_sized_screen_has_no_sideways_scrolling(
    desk: Desk, signed_in: OpenPage
) -> None:
    ticket_id, subject = await _ticket(desk, "Gdzie jest paczka", "Paczka miała być wczoraj.")
    page = await signed_in("ola", viewport=(390, 844))

    for path in (ALL_OPEN, f"/tickets/{ticket_id}"):
        await page.goto(path)
        overflow = await page.evaluate(
            "document.scrollingElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} scrolls sideways by {overflow}px on a phone"
    await page.locator("#composer-text").scroll_into_view_if_needed()
    assert await page.locator("#composer-text").is_visible()


async def test_every_form_control_has_a_label(desk: Desk, signed_in: OpenPage) -> None:
    ticket_id, _ = await _ticket(desk, "Etykieta", "Proszę o etykietę zwrotną.")
    page = await signed_in("john")

    unlabeled: dict[str, list[str]] = {}
    for path in ("/inbox", f"/tickets/{ticket_id}", "/profile", "/admin/agents"):
        await page.goto(path)
        missing = await page.evaluate("""() => [...document.querySelectorAll(
                'input:not([type=hidden]), select, textarea, button')]
            .filter(el => el.offsetParent !== null)
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !el.getAttribute('aria-labelledby') && !el.getAttribute('title')
                          && !(el.tagName === 'BUTTON' && el.textContent.trim()))
            .map(el => el.outerHTML.slice(0, 300))""")
        if missing:
            unlabeled[path] = missing
    assert unlabeled == {}


async def test_an_owner_writes_a_macro_in_the_automation_editor(
    desk: Desk, signed_in: OpenPage
) -> None:
    page = await signed_in("john")
    await page.goto("/automation/macros/new")
    name = f"Paczka w drodze {_unique()}"
    definition = {"name": name, "variants": {"pl": "Paczka jest w drodze."},
                  "actions": {"tags": ["wysyłka"]}}
    await page.fill("#definition", json.dumps(definition, ensure_ascii=False))

    await page.click("#save")

    await page.wait_for_url(re.compile(r".*/automation/macros/\d+$"))
    await page.wait_for_function("document.getElementById('definition').value.includes('wysy')")
    await page.fill("#definition", '{"name": ""}')
    await page.click("#save")
    await page.locator("#editor-result.error").wait_for()
    await page.goto("/automation/macros")
    await page.locator("#automation-list").get_by_text(name).wait_for()


async def test_an_agent_grants_a_pre_approved_refund_from_the_ticket(
    desk: Desk, signed_in: OpenPage
) -> None:
    ticket_id, _ = await _ticket(desk, "Pęknięty kubek", "Kubek przyszedł pęknięty.")
    owner = await signed_in("john")
    name = f"Zwrot do 30 EUR {_unique()}"
    status = await owner.evaluate("""async (name) => {
        const csrf = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token'];
        const r = await fetch('/api/v1/pre-approved-actions', {method: 'POST',
            headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
            body: JSON.stringify({name, kind: 'refund', currency: 'EUR', max_amount: '30.00',
                                  limits: [{kind: 'role', role: 'agent', max_amount: '30.00'}]})});
        return r.status; }""", name)
    assert status == 201
    page = await signed_in("ola")
    await page.goto(f"/tickets/{ticket_id}")

    await page.locator("#grant-action").select_option(label=f"{name} (EUR)")
    await page.fill("#grant-amount", "12,50")
    await page.fill("#grant-reason", "Pęknięty kubek")
    await page.click("#grant-apply")

    await page.locator("#empower").get_by_text("Przyznano").first.wait_for()
    # The rest of the sidebar is still there.
    assert await page.locator("#prop-status").is_visible()


SCREENSHOT_DIR_ENV = "SELLERDESK_SCREENSHOTS"


async def test_main_pages_render_for_screenshots(desk: Desk, signed_in: OpenPage) -> None:
    """Screenshots of the main pages in each language, into test-artifacts/pages/ (or the folder
    in $SELLERDESK_SCREENSHOTS: docs/screenshots/ was made that way)."""
    ticket_id, _ = await _ticket(desk, "Uszkodzona paczka",
                                 "Dzień dobry, paczka przyszła zgnieciona, a kubek jest pęknięty. "
                                 "Zamówienie HW-100231.")
    target = Path(os.environ.get(SCREENSHOT_DIR_ENV) or
                  Path(__file__).resolve().parents[2] / "test-artifacts" / "pages")
    target.mkdir(parents=True, exist_ok=True)
    for agent in ("ola", "minji", "john"):
        page = await signed_in(agent)
        for name, path in (("inbox", ALL_OPEN), ("ticket", f"/tickets/{ticket_id}")):
            await page.goto(path)
            await page.wait_for_load_state("networkidle")
            shot = target / f"{name}-{agent}.png"
            await page.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000
