"""Download names in the browser carry no invisible characters (static/reader.js safeFilename).

A right-to-left override makes `invoice\u202efdp.exe` display as `invoiceexe.pdf`. The server
strips such characters from attachment names; the UI also strips them from every name it
makes, including the raw source's, which it takes from the subject.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import UI
from tests.helpers import RunningServer, make_message, send_mail

DISGUISED = "invoice\u202efdp\u200b.exe"


def test_download_names_lose_bidi_and_zero_width_characters(ui: UI, server: RunningServer) -> None:
    address = ui.open_inbox()
    page = ui.page
    message = make_message(
        address,
        subject=DISGUISED,
        attachments=[(DISGUISED, "application/octet-stream", b"MZ not really")],
    )
    send_mail(server, address, message)
    ui.open_message(DISGUISED)

    with page.expect_download() as attachment_download:
        page.get_by_role("button", name="Download invoicefdp.exe").click()
    assert attachment_download.value.suggested_filename == "invoicefdp.exe"

    page.get_by_role("tab", name="Raw source").click()
    with page.expect_download() as raw_download:
        page.locator("#download-raw").click()
    assert raw_download.value.suggested_filename == "invoicefdp.exe.eml"
    expect(page.locator("#raw-source")).to_contain_text("Subject:")
