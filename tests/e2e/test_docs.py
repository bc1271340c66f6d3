"""/docs: the vendored Swagger UI in Chromium, used as a person would: authorize with a token,
create an inbox and list its messages from the page, under the page's strict CSP."""

from __future__ import annotations

import json

import httpx
from playwright.sync_api import Locator, expect

from tempmail.app import DOCS_POLICY
from tests.e2e.conftest import UI
from tests.helpers import RunningServer, make_message, send_mail


def _operation(ui: UI, method: str, path: str) -> Locator:
    return ui.page.locator(
        f".opblock-{method}", has=ui.page.locator(f'.opblock-summary-path[data-path="{path}"]')
    )


def _execute(operation: Locator) -> dict[str, object]:
    operation.locator(".btn.execute").click()
    body = operation.locator(".live-responses-table .response-col_description pre").first
    expect(body).to_be_visible()
    result: dict[str, object] = json.loads(body.inner_text())
    return result


def test_swagger_ui_authorizes_creates_and_lists(ui: UI, server: RunningServer) -> None:
    spec = httpx.get(server.http_url + "/openapi.json", timeout=30).json()
    operations = sum(
        method in {"get", "post", "put", "patch", "delete"}
        for item in spec["paths"].values()
        for method in item
    )
    response = ui.page.goto(server.http_url + "/docs")
    assert response is not None
    # The page's own policy, stricter than the web UI's: no eval, images only from here.
    policy = response.headers["content-security-policy"]
    assert policy == DOCS_POLICY
    assert "unsafe-eval" not in policy and "img-src 'self' data:;" in policy
    expect(ui.page.locator(".opblock")).to_have_count(operations)

    create = _operation(ui, "post", "/api/v1/inboxes")
    create.locator(".opblock-summary").click()
    create.locator("textarea.body-param__text").fill("{}")
    created = _execute(create)
    assert created["address"] and created["token"]
    address, token = str(created["address"]), str(created["token"])
    send_mail(server, address, make_message(address, "Seen from Swagger UI", "hello"))

    ui.page.locator(".auth-wrapper .btn.authorize").click()
    bearer = ui.page.locator(".modal-ux .auth-container", has_text="bearer")
    bearer.locator("input").fill(token)
    bearer.locator(".btn.authorize").click()
    bearer.locator(".btn-done").click()

    listing = _operation(ui, "get", "/api/v1/inboxes/{inbox_id}/messages")
    listing.locator(".opblock-summary").click()
    listing.locator('tr[data-param-name="inbox_id"] input').fill(str(created["inbox_id"]))
    listed = _execute(listing)
    assert listed["count"] == 1
    messages = listed["messages"]
    assert isinstance(messages, list) and messages[0]["subject"] == "Seen from Swagger UI"
    expect(listing.locator(".live-responses-table tr.response .response-col_status")).to_have_text(
        "200"
    )

    assert ui.foreign_requests() == []
    assert ui.page_errors == []
    assert [text for text in ui.console_errors if "Content Security Policy" in text] == []
    ui.screenshot("docs-swagger-ui", full_page=False)
