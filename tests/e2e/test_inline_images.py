"""The reader says when embedded images were left out (`inline_images_omitted`).

Every use of a `cid:` image costs its size against one budget per read; uses past it lose their
`src` and keep their alt text. Without a note the reader would see broken images and not know
why. A message that uses a ~300 KB image 30 times passes its budget (2 MB + 4x its size); one
that uses it once does not, and shows no note.
"""

from __future__ import annotations

import re
import struct
import zlib

from playwright.sync_api import expect

from tests.e2e.conftest import UI
from tests.helpers import RunningServer, make_message, send_mail

CID = "banner@tempmail.test"


def _png_with_padding(padding: int) -> bytes:
    """A valid 2x2 PNG followed by `padding` bytes after IEND (which decoders ignore)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\xc8\x28\x28" * 2 + b"\x00" + b"\xc8\x28\x28" * 2)
    image = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
    return image + chunk(b"IEND", b"") + bytes(range(256)) * (padding // 256)


def _send(server: RunningServer, address: str, subject: str, uses: int) -> None:
    images = "".join(f'<img alt="banner {n}" src="cid:{CID}">' for n in range(uses))
    message = make_message(address, subject=subject, html=f"<p>{subject}</p>{images}")
    html_part = message.get_body(preferencelist=("html",))
    assert html_part is not None
    html_part.add_related(
        _png_with_padding(300_000), maintype="image", subtype="png", cid=f"<{CID}>"
    )
    send_mail(server, address, message)


def test_the_reader_notes_embedded_images_left_out(ui: UI, server: RunningServer) -> None:
    address = ui.open_inbox()
    page = ui.page
    _send(server, address, "Banner once", 1)
    _send(server, address, "Banner thirty times", 30)

    ui.open_message("Banner thirty times")
    expect(ui.frame().locator("p")).to_have_text("Banner thirty times")
    note = page.locator("#inline-omitted")
    expect(note).to_be_visible()
    expect(note).to_have_text(re.compile(r"^\d+ embedded images were left out: "))
    omitted = int(note.inner_text().split()[0])
    shown = ui.frame().locator("img[src^='data:image/png;base64,']")
    # The note counts exactly the images that lost their source; the rest are shown.
    assert 0 < omitted < 30
    expect(shown).to_have_count(30 - omitted)
    expect(ui.frame().locator("img:not([src])")).to_have_count(omitted)
    expect(ui.frame().locator("img:not([src])").first).to_have_attribute(
        "alt", re.compile(r"^banner \d+$")
    )
    assert page.get_by_role("note").filter(has_text="embedded images were left out").count() == 1

    # A message within its budget shows every image and no note.
    ui.open_message("Banner once")
    expect(ui.frame().locator("p")).to_have_text("Banner once")
    expect(ui.frame().locator("img[src^='data:image/png;base64,']")).to_have_count(1)
    expect(note).to_be_hidden()
    assert ui.foreign_requests() == []
