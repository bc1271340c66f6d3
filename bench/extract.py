"""How long code and link extraction takes on a 20 KB message, in this process.

    .venv/bin/python bench/extract.py            # 2,000 rounds per message kind
    .venv/bin/python bench/extract.py --rounds 200

Three messages, each about 20 KB of text and HTML as a mail client receives them:

- `verification`: a sign-up mail as e-mail service providers send it: a 6 KB style sheet,
  table layout with inline styles, the code in a large-font cell, a confirm button, a
  tracked view-in-browser link, social, app-store and legal links, and a text part;
- `newsletter`: a long HTML newsletter with 60 links, prices, dates and no code;
- `dense`: 20 KB of visible text packed with codes, numbers and written-out links, far
  more than any real mail carries (the work bounds' side of the figure).

Reported per kind: mean, p50 and p99 of one `extract()` call, in milliseconds. The machine's
speed is printed before and after (`sum(range(10000))`, best of 5, as `python -m timeit`
reports it): on a shared box, read the figures against it.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import timeit

from tempmail.extract import extract

TARGET = 20_000
_VOCABULARY = (
    "account", "team", "update", "new", "features", "weekly", "digest", "your", "we", "our",
    "the", "and", "for", "with", "more", "project", "share", "settings", "workspace",
    "members", "invite", "calendar", "storage", "plan", "upgrade", "today", "this", "week",
    "from", "about", "help", "guide", "product", "release", "notes",
)  # fmt: skip


def _words(draw: random.Random, count: int) -> str:
    vocabulary = _VOCABULARY
    return " ".join(draw.choice(vocabulary) for _ in range(count))


def verification_message() -> tuple[str, str, str]:
    draw = random.Random(17)
    css = "".join(
        f".c{n} {{ font-family: Helvetica, Arial, sans-serif; font-size: {12 + n % 6}px; "
        f"line-height: 1.{n % 9}; color: #{n * 40503 % 0xFFFFFF:06x}; padding: {n % 5}px; }}\n"
        for n in range(70)
    )
    rows = "".join(
        f'<tr><td class="c{n}" style="padding:8px 24px;font-size:14px;color:#51545e">'
        f"{_words(draw, 22)}</td></tr>\n"
        for n in range(18)
    )
    social = "".join(
        f'<a href="https://{name}.example.com/acme"><img src="https://cdn.acme.example/{name}.png"'
        f' alt="{name.title()}" width="24"></a> '
        for name in ("facebook", "twitter", "instagram", "linkedin", "youtube")
    )
    html = (
        f"<!doctype html><html><head><style>{css}</style></head><body>"
        '<table width="100%" cellpadding="0" cellspacing="0"><tr><td align="center">'
        '<p style="font-size:11px"><a href="https://click.acme.example/view?m=8812&amp;s=Qw81">'
        "View this email in your browser</a></p>"
        '<img src="https://cdn.acme.example/logo.png" alt="Acme" width="120">'
        '<table width="600"><tr><td style="font-size:22px;font-weight:bold">Confirm your '
        "email address</td></tr><tr><td>Hi Eva, enter this verification code in the app to "
        "finish creating your Acme account:</td></tr>"
        '<tr><td style="font-size:32px;letter-spacing:6px;font-weight:bold">482913</td></tr>'
        '<tr><td>Or <a href="https://click.acme.example/ls/click?upn=u001.Xk3jd9Qw8LmZ2pRt-2Fv'
        'B7nY4sE1&amp;id=8812" style="background:#22bc66;color:#fff;padding:10px 18px">'
        "Confirm email address</a></td></tr>"
        f"{rows}</table>"
        f"<p>{social}</p>"
        '<p><a href="https://apps.example.com/app/acme/id1234567890">App Store</a> | '
        '<a href="https://play.example.com/store/apps/details?id=com.acme">Google Play</a></p>'
        '<p style="font-size:11px;color:#a8aaaf">Acme Inc., 2200 Mission Street, San Francisco,'
        " CA 94110. Questions? Call +1 415 555 0132 or visit "
        '<a href="https://acme.example/help">our help centre</a>. '
        '<a href="https://acme.example/privacy">Privacy</a> | '
        '<a href="https://acme.example/terms">Terms</a> | '
        '<a href="https://click.acme.example/unsub?m=8812&amp;s=Qw81">Unsubscribe</a></p>'
        "</td></tr></table></body></html>"
    )
    text = (
        "Confirm your email address\n\nHi Eva, enter this verification code in the app to "
        "finish creating your Acme account:\n\n482913\n\nOr open "
        "https://click.acme.example/ls/click?upn=u001.Xk3jd9Qw8LmZ2pRt-2FvB7nY4sE1&id=8812\n\n"
    )
    while len(text) + len(html) < TARGET:
        text += _words(draw, 16) + ".\n"
    return "482913 is your Acme verification code", text, html


def newsletter_message() -> tuple[str, str, str]:
    draw = random.Random(18)
    items = []
    while sum(map(len, items)) < TARGET - 800:
        number = len(items)
        items.append(
            f'<tr><td style="padding:12px"><img src="https://cdn.shop.example/p/{number}.jpg" '
            f'alt=""><h3><a href="https://shop.example/p/{4000 + number}?utm_source=news">'
            f"{_words(draw, 4).title()}</a></h3><p>{_words(draw, 18)}. Now {19 + number}.99 EUR, "
            f"until 12.{1 + number % 12:02d}.2026.</p></td></tr>\n"
        )
    html = (
        "<html><body><table>"
        + "".join(items)
        + '</table><p><a href="https://shop.example/unsubscribe?u=77">Unsubscribe</a></p>'
        "</body></html>"
    )
    return "This week's picks", "", html


def dense_message() -> tuple[str, str, str]:
    draw = random.Random(19)
    lines = []
    while sum(map(len, lines)) < TARGET:
        lines.append(
            f"Order {draw.randrange(10**6, 10**7)} confirmed, code {draw.randrange(10**6):06d} "
            f"valid until 14:{draw.randrange(60):02d}; verify at "
            f"https://example.com/verify/{draw.randrange(10**9)}?t=Ab12Cd34Ef56Gh78.\n"
        )
    return "Your verification code", "".join(lines), ""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2_000)
    rounds = parser.parse_args(argv).rounds
    kinds = {
        "verification": verification_message(),
        "newsletter": newsletter_message(),
        "dense": dense_message(),
    }
    print(f"machine: sum(range(10000)) takes {_machine():.0f} us")
    print(f"{'message':>12} {'KB':>5} {'mean ms':>8} {'p50 ms':>7} {'p99 ms':>7}")
    for name, (subject, text, html) in kinds.items():
        extract(subject, text, html)
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            extract(subject, text, html)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        size = (len(subject) + len(text) + len(html)) / 1000
        print(
            f"{name:>12} {size:5.1f} {statistics.fmean(times):8.3f} "
            f"{times[len(times) // 2]:7.3f} {times[int(len(times) * 0.99)]:7.3f}"
        )
    print(f"machine: sum(range(10000)) takes {_machine():.0f} us")


def _machine() -> float:
    """Microseconds for `sum(range(10000))`, best of 5 runs of 200."""
    return min(timeit.repeat("sum(range(10000))", number=200, repeat=5)) / 200 * 1e6


if __name__ == "__main__":
    main()
