"""Finding the one-time code and the verification link in a message: pure functions over strings.

Codes are found by scoring. Every number-like token is a candidate; it gains points for the
shapes codes take and for words such as "code", "Bestätigungscode", "验证码" or "код" nearby
(more in the same sentence), and loses them next to prices, dates, times, phone numbers, order
numbers, addresses and quantities. What reaches `CODE_THRESHOLD` is kept. A link is judged the
same way from its anchor text, its URL and, for bare URLs and "click here" anchors, the text
just before it; unsubscribe, privacy, help, social and "view in browser" links never count.

Digit codes shown in groups ("482 913", "482-913", one digit per table cell) come back joined
("482913"): the separators are typography and forms want the digits. Codes with letters keep
their hyphen as shown ("A7K-29Q").

Work is bounded, because a disposable-mail server receives hostile mail on purpose: each part
is cut to `MAX_SCAN` characters, at most `MAX_TOKENS` tokens, `MAX_CANDIDATES` candidates,
`MAX_TAGS` tags and `MAX_RAW_LINKS` links are looked at, and every pattern is linear
(possessive quantifiers, bounded windows). HTML is read by a small tag scanner, not
`html.parser` or nh3: on 200 KB of crafted markup the first takes minutes (`"<a " * n`) and
the second seconds (deeply nested elements).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeAlias

import msgspec

# The keyword tables hold Cyrillic and CJK on purpose; ruff would flag their letters as look-alikes.
# ruff: noqa: RUF001, RUF003

MAX_SCAN = 200_000
MAX_CODES = 5
MAX_LINKS = 50
MAX_LINK_TEXT = 200
MAX_URL = 2048
MAX_TOKENS = 2_000
MAX_CANDIDATES = 100
MAX_TAGS = 20_000
MAX_RAW_LINKS = 500
CODE_THRESHOLD = 5.0
LINK_THRESHOLD = 3

# Words that announce a code, in en, de, fr, es, pt, zh, ja, ko and ru. Terms match inside
# words, so compounds count ("Bestätigungscode"); words must stand alone ("PIN", not "shopping").
CODE_TERMS = (
    "code", "passcode", "one-time", "one time", "verification", "verify", "two-factor",
    "bestätigungs", "verifizierung", "einmal", "sicherheits", "zugangs",
    "vérification", "usage unique",
    "código", "codigo", "verificación", "verificacion", "un solo uso", "clave",
    "verificação", "verificacao", "uso único", "palavra-passe",
    "验证码", "驗證碼", "校验码", "动态码", "确认码", "安全码", "验证", "驗證", "一次性",
    "コード", "認証", "ワンタイム", "パスコード", "暗証番号", "確認番号",
    "인증", "코드", "일회용", "보안",
    "код", "одноразов", "проверочн",
)  # fmt: skip
CODE_WORDS = ("otp", "pin", "tan", "2fa", "mfa")
# Weaker hints: they also appear in mail that has no code.
CODE_HINT_TERMS = (
    "confirm", "password", "log in", "login", "sign in", "sign-in", "security",
    "bestätig", "passwort", "kennwort", "anmeld",
    "mot de passe", "connexion",
    "contraseña", "iniciar sesión",
    "senha",
    "确认", "密码", "登录", "確認", "パスワード", "ログイン",
    "확인", "비밀번호", "로그인",
    "подтвер", "пароль", "вход",
)  # fmt: skip
# Words that make a nearby number something other than a code: orders, money, phones,
# addresses, promotions, quantities. The longest term wins, so "zip code" is not read as "code".
NOT_CODE_TERMS = (
    "zip code", "postal code", "area code", "country code", "promo code", "discount code",
    "coupon code", "voucher code", "gift code", "referral code", "source code", "qr code",
    "barcode", "bar code", "order", "invoice", "tracking", "shipment", "phone", "hotline",
    "ticket", "account number", "account no", "customer", "reference", "transaction",
    "receipt", "booking", "reservation", "flight", "card", "ending in", "iban", "postcode",
    "street", "avenue", "road", "suite", "floor", "blvd", "p.o. box", "promo", "coupon",
    "discount", "voucher", "checkout", "model", "version", "serial", "license", "total",
    "amount", "price", "subtotal", "quantity", "request id", "more than", "less than",
    "up to", "over", "about", "approximately", "nearly", "almost",
    "bestellbestätigung", "bestell", "rechnung", "sendung", "telefon", "kunden", "auftrag",
    "vertrag", "straße", "strasse", "postleitzahl", "gutschein", "rabatt", "betrag", "summe",
    "konto", "artikel", "karte", "endet auf", "mehr als", "über", "bis zu",
    "code postal", "code promo", "commande", "facture", "suivi", "colis", "téléphone", "client",
    "avenue", "boulevard", "montant", "réduction", "référence", "carte", "se terminant",
    "plus de", "moins de",
    "código postal", "codigo postal", "código promocional", "pedido", "factura", "seguimiento",
    "envío", "teléfono", "llám", "cliente", "calle", "avenida", "cupón", "descuento",
    "importe", "referencia", "tarjeta", "terminación", "terminada en", "más de",
    "menos de",
    "fatura", "nota fiscal", "rastreamento", "rastreio", "ligue", "cupom", "desconto",
    "valor", "linha de apoio", "cartão", "final", "mais de", "menos de",
    "订单", "訂單", "发票", "快递", "运单", "物流", "电话", "電話", "热线", "客服", "金额",
    "价格", "优惠", "地址", "邮编", "尾号", "超过",
    "注文", "請求", "追跡", "配送", "お問い合わせ", "金額", "合計", "郵便", "住所", "割引",
    "クーポン",
    "주문", "송장", "배송", "전화", "고객센터", "문의", "금액", "결제", "우편", "주소", "할인",
    "쿠폰",
    "промокод", "заказ", "счёт", "счет", "трек", "отслеж", "телефон", "звон", "поддержк",
    "сумма", "итого", "адрес", "индекс", "скидк", "улица", "доставк", "карт", "более",
    "свыше", "больше",
)  # fmt: skip
NOT_CODE_WORDS = (
    "id", "ref", "tel", "nr", "st", "rd", "ave", "rue", "av", "bd", "cep", "cpf", "cnpj",
    "plz", "vat", "sku", "qty", "fax", "call", "case", "item", "ул", "дом", "тел",
)  # fmt: skip

# Link anchor texts and URLs that mean "verify, confirm, activate, reset, sign in by magic link".
LINK_TERMS = (
    "verify", "verification", "confirm", "activate", "activation", "reset", "magic link",
    "magischer link", "lien magique", "enlace mágico", "link mágico",
    "bestätig", "verifizier", "aktivier", "zurücksetz",
    "vérifi", "confirmer", "activer", "réinitialis",
    "verificar", "confirmar", "activar", "restablecer",
    "ativar", "redefinir",
    "验证", "驗證", "确认", "激活", "重置",
    "確認", "認証", "有効化", "再設定",
    "인증", "활성화", "재설정",
    "подтверд", "активир", "сброс", "восстанов",
)  # fmt: skip
LINK_HINT_TERMS = (
    "sign in", "sign-in", "log in", "login", "log me in", "continue", "anmelden",
    "anzumelden", "einloggen", "se connecter", "connexion", "iniciar sesión", "ingresar",
    "ingresá", "entrar", "acessar",
    "登录", "ログイン", "로그인", "войти",
)  # fmt: skip
# Never the verification link, whatever else the link says.
LINK_NOT_TERMS = (
    "unsubscribe", "opt out", "opt-out", "preferences", "email settings", "manage email",
    "privacy", "terms", "legal", "help", "support", "faq", "app store", "google play",
    "download", "view in browser", "view this email", "view online", "view email",
    "web version", "online version",
    "impressum", "datenschutz", "abmelden", "abbestellen", "hilfe", "im browser",
    "désabonn", "désinscri", "desinscri", "confidentialité", "aide", "version en ligne",
    "darse de baja", "dar de baja", "cancelar suscripción", "privacidad", "ayuda",
    "descadastr", "cancelar inscrição", "privacidade", "ajuda",
    "退订", "取消订阅", "隐私", "帮助", "浏览器中查看",
    "配信停止", "購読解除", "プライバシー", "ヘルプ", "ブラウザで",
    "수신거부", "수신 거부", "구독 취소", "개인정보", "도움말", "웹에서 보기",
    "отпис", "конфиденциальн", "помощь", "в браузере",
)  # fmt: skip
URL_TERMS = (
    "verif", "confirm", "activat", "activar", "ativar", "aktivier", "bestaetig", "reset",
    "reinitialis", "redefinir", "restablecer", "recover", "magic", "optin", "opt-in",
    "validat", "validar",
)  # fmt: skip
URL_HINT_TERMS = (
    "auth", "login", "log-in", "signin", "sign-in", "sign_in", "token", "callback",
    "password", "passwort", "mot-de-passe", "senha", "anmeld", "connexion", "ingresar",
    "entrar", "acesso", "vhod",
)  # fmt: skip
URL_NOT_TERMS = (
    "unsubscribe", "unsub", "optout", "opt-out", "opt_out", "preferences", "email-settings",
    "privacy", "privacidad", "privacidade", "terms", "legal", "impressum", "datenschutz",
    "abmelden", "abbestellen", "desabonnement", "desinscription", "descadastr", "/baja",
    "help", "support", "faq", "docs", "/blog", "/view", "webversion", "web-version",
    "browser", "itunes", "appstore", "app-store", "/store/apps", "/app/",
)  # fmt: skip
SOCIAL_HOSTS = frozenset({
    "facebook", "twitter", "x", "instagram", "linkedin", "youtube", "tiktok", "pinterest",
    "github", "discord", "reddit", "threads", "mastodon", "weibo", "vk", "line", "kakao",
})  # fmt: skip
GENERIC_ANCHORS = frozenset({
    "", "click here", "here", "this link", "link", "click", "button", "hier", "hier klicken",
    "ici", "cliquez ici", "aquí", "haz clic aquí", "aqui", "clique aqui", "здесь", "сюда",
    "这里", "点击这里", "こちら", "ここ", "여기",
})  # fmt: skip

_BLOCK_TAGS = frozenset({
    "p", "div", "br", "tr", "table", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "blockquote", "section", "article", "header", "footer", "center", "pre", "dl",
    "dt", "dd", "tbody", "thead", "tfoot", "body", "html", "form",
})  # fmt: skip
_CELL_TAGS = frozenset({"td", "th"})
_HIDDEN_TAGS = ("script", "style", "title", "template", "xml", "noscript")
# Stands for a block boundary in raw HTML text until whitespace is collapsed into lines.
_BLOCK_MARK = "\ue000"

_TAG = re.compile(r"<(?:(!--)|[!?][^<>]*+>|(/?)([A-Za-z][A-Za-z0-9]*+)([^<>]*+)>)")
_HIDDEN_END = {name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in _HIDDEN_TAGS}
_ATTRIBUTE = re.compile(r"""(?i)\b(href|alt)\s*+=\s*+(?:"([^"]*+)"|'([^']*+)'|([^\s"'>]++))""")
_SPACES = re.compile(r"\s++")
_BLOCKS = re.compile(f" ?+(?:{_BLOCK_MARK} ?+)++")
_URL = re.compile(r"(?i)\bhttps?://[!#-;=?-\[\]-~]++")
_URL_TRAILER = ".,;:!?'\"*>]}"
_URL_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,}+")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}+@[\w-]{1,63}+(?:\.[\w-]{1,63}+)++")
_TOKEN = re.compile(r"(?<![A-Za-z0-9])(?=[A-Za-z-]{0,12}\d)[A-Za-z0-9]++(?:-[A-Za-z0-9]++)*+")
_LEADING_LETTERS = re.compile(r"[A-Z]*+")
_SENTENCE_END = re.compile(r"[.!?。]\s|\n")
_STRIP_AROUND_CODE = " \t[](){}<>\"'*_.:|-"
# Right after a number: an amount, a size, a date part or a year, not a code.
_AFTER_NUMBER = re.compile(
    r"\s?(?:%|px\b|kb\b|mb\b|gb\b|mm\b|cm\b|km\b|kg\b|ml\b|[x×]\s?\d|[$€£¥₹₽₩円元원년월일年月日時分秒号]"
    r"|eur\b|usd\b|gbp\b|chf\b|jpy\b|cny\b|rmb\b|krw\b|rub\b|brl\b|руб|г\.)"
)
# A few words after a number: a street ("2200 Mission Street") or a promotion ("at checkout").
_AFTER_NOT_CODE = re.compile(
    r" (?:\w+ ){0,3}?(?:street|st|avenue|ave|road|rd|lane|blvd|drive|suite|checkout|off)\b"
)
# Right before a number: money, "No.", "#", a phone's "+" or area code, a postal mark, a size.
_BEFORE_NUMBER = re.compile(
    r"(?:[$€£¥₹₽₩#№〒+)]|\b(?:usd|eur|gbp|chf|jpy|cny|rmb|krw|rub|brl|r\$|us\$|nr\.?|no\.|n[°º]\.?)"
    r"|\d\s?[x×])\s?$"
)
_STATE_ZIP = re.compile(r"\b[A-Z]{2} $")


_Tree: TypeAlias = dict[str, "_Tree"]


@dataclass(frozen=True)
class _Vocabulary:
    """Negative, positive and hint terms compiled into one prefix-tree pattern.

    re tries the branches of a flat alternation one after another at every position; with
    hundreds of terms a tree of shared prefixes is about seven times faster. At any position
    the longest term wins, so "zip code" is found as itself and not as "code".
    """

    pattern: re.Pattern[str]
    negative: frozenset[str]
    positive: frozenset[str]
    whole_words: frozenset[str]

    @classmethod
    def build(
        cls,
        negative: Iterable[str],
        positive: Iterable[str],
        hints: Iterable[str],
        whole_words: Iterable[str] = (),
    ) -> _Vocabulary:
        negative, positive, hints = frozenset(negative), frozenset(positive), frozenset(hints)
        tree: _Tree = {}
        for term in negative | positive | hints:
            node = tree
            for char in term:
                node = node.setdefault(char, {})
            node[""] = {}  # the end of a term
        return cls(re.compile(_tree_pattern(tree)), negative, positive, frozenset(whole_words))

    def find(self, text: str) -> Iterator[tuple[str, int, int]]:
        """(kind, start, end) of each term in text, kind being "no", "yes" or "hint"."""
        for match in self.pattern.finditer(text):
            term, start, end = match.group(), match.start(), match.end()
            if term in self.whole_words and not _stands_alone(text, start, end):
                continue
            kind = "no" if term in self.negative else "yes" if term in self.positive else "hint"
            yield kind, start, end

    def kinds(self, text: str) -> frozenset[str]:
        """The kinds of term text holds."""
        if self.whole_words:
            return frozenset(kind for kind, _, _ in self.find(text))
        terms = set(self.pattern.findall(text))
        return frozenset(
            kind
            for kind, present in (
                ("no", not terms.isdisjoint(self.negative)),
                ("yes", not terms.isdisjoint(self.positive)),
                ("hint", not terms <= self.negative | self.positive),
            )
            if present
        )


def _tree_pattern(node: _Tree) -> str:
    branches = [
        re.escape(char) + _tree_pattern(child) for char, child in sorted(node.items()) if char
    ]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
    return f"(?:{body})?" if "" in node else body


def _stands_alone(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (before.isalnum() or after.isalnum())


_CODE_WORDS = _Vocabulary.build(
    [*NOT_CODE_TERMS, *NOT_CODE_WORDS],
    [*CODE_TERMS, *CODE_WORDS],
    CODE_HINT_TERMS,
    whole_words=[*NOT_CODE_WORDS, *CODE_WORDS],
)
_LINK_WORDS = _Vocabulary.build(LINK_NOT_TERMS, LINK_TERMS, LINK_HINT_TERMS)
_URL_WORDS = _Vocabulary.build(URL_NOT_TERMS, URL_TERMS, URL_HINT_TERMS)


class Link(msgspec.Struct, frozen=True):
    """An http(s) link in the message; `verification` marks the likely verify/confirm link."""

    url: str
    text: str
    verification: bool


class Extracted(msgspec.Struct, frozen=True):
    """Likely one-time codes (best first) and the message's links (verification links first)."""

    codes: list[str]
    links: list[Link]


def extract(subject: str, text: str, html: str) -> Extracted:
    """Find one-time codes and links in a message's subject, text part and HTML part."""
    subject, text, markup = _bounded(subject), _bounded(text), _bounded(html)
    visible, html_links = _read_html(markup)
    codes = _codes([subject, text, visible])
    links = _links([*html_links, *_bare_links(text)])
    return Extracted(codes=codes, links=links)


def _bounded(value: str) -> str:
    """The first `MAX_SCAN` characters, lone surrogates replaced so that results encode."""
    value = value[:MAX_SCAN]
    if not value.isascii():
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


# Reading HTML


@dataclass
class _RawLink:
    """One occurrence of a URL: an anchor, or a URL written out in text (`text` is "")."""

    url: str
    text: str
    context: str
    position: int
    anchor: bool


@dataclass
class _Anchor:
    href: str
    start: int
    first_piece: int
    alts: list[str] = field(default_factory=list)


def _read_html(markup: str) -> tuple[str, list[_RawLink]]:
    """The visible text of HTML (blocks on their own lines, cells apart) and its links,
    anchors and written-out URLs alike, in document order."""
    pieces: list[str] = []
    length = 0
    anchors: list[_RawLink] = []
    anchor: _Anchor | None = None
    position = 0
    for _ in range(MAX_TAGS if markup else 0):
        match = _TAG.search(markup, position)
        piece = markup[position : len(markup) if match is None else match.start()]
        if piece:
            pieces.append(html.unescape(piece) if "&" in piece else piece)
            length += len(pieces[-1])
        if match is None:
            break
        comment, closing, name, attributes = match.groups()
        position = match.end()
        name = (name or "").lower()
        if comment:
            close = markup.find("-->", position)
            position = len(markup) if close < 0 else close + 3
        elif name in _HIDDEN_END and not closing:
            hidden_end = _HIDDEN_END[name].search(markup, position)
            position = len(markup) if hidden_end is None else hidden_end.end()
        elif name == "a":
            if anchor is not None:
                anchors.append(_finish_anchor(anchor, pieces))
                anchor = None
            if not closing:
                anchor = _Anchor(_attribute(attributes, "href"), length, len(pieces))
        elif name == "img" and anchor is not None:
            anchor.alts.append(_attribute(attributes, "alt"))
        elif name in _BLOCK_TAGS or name in _CELL_TAGS:
            pieces.append(_BLOCK_MARK if name in _BLOCK_TAGS else " ")
            length += 1
    if anchor is not None:
        anchors.append(_finish_anchor(anchor, pieces))
    raw = "".join(pieces)
    links = [link for link in anchors if link.url] + list(_bare_links(raw))
    links.sort(key=lambda link: (link.position, not link.anchor))
    visible = _BLOCKS.sub("\n", _SPACES.sub(" ", raw)).strip()
    return visible, links


def _attribute(attributes: str, name: str) -> str:
    for match in _ATTRIBUTE.finditer(attributes):
        if match.group(1).lower() == name:
            value = match.group(2) or match.group(3) or match.group(4) or ""
            return html.unescape(value).strip()
    return ""


def _finish_anchor(anchor: _Anchor, pieces: list[str]) -> _RawLink:
    text = _collapse("".join(pieces[anchor.first_piece :]))
    if not text:
        text = " ".join(alt for alt in anchor.alts if alt)
    text = text[:MAX_LINK_TEXT]
    context = ""
    if _is_generic(text):
        before = "".join(pieces[max(0, anchor.first_piece - 50) : anchor.first_piece])
        context = _collapse(before[-400:])[-120:]
    url = anchor.href if _is_web_url(anchor.href) else ""
    return _RawLink(url, text, context, anchor.start, anchor=True)


def _collapse(text: str) -> str:
    return _SPACES.sub(" ", text.replace(_BLOCK_MARK, " ")).strip()


# Links


def _bare_links(text: str) -> Iterator[_RawLink]:
    """URLs written out in text, trailing punctuation removed."""
    for match in _URL.finditer(text):
        url = _trim_url(match.group())
        if _is_web_url(url):
            context = _collapse(text[max(0, match.start() - 400) : match.start()])[-120:]
            yield _RawLink(url, "", context, match.start(), anchor=False)


def _trim_url(url: str) -> str:
    while url and (url[-1] in _URL_TRAILER or (url[-1] == ")" and url.count("(") < url.count(")"))):
        url = url[:-1]
    return url


def _is_web_url(url: str) -> bool:
    return (
        url[:8].lower().startswith(("http://", "https://"))
        and len(url) <= MAX_URL
        and url.isprintable()
        and " " not in url
    )


def _links(occurrences: Iterable[_RawLink]) -> list[Link]:
    """Links deduplicated by URL, verification links first, each group in document order.

    A URL counts as verification if any of its occurrences does (a button and the same URL
    written out below it); its text is the first non-empty anchor text.
    """
    texts: dict[str, str] = {}
    verified: dict[str, bool] = {}
    for count, occurrence in enumerate(occurrences):
        if count >= MAX_RAW_LINKS:
            break
        url = occurrence.url
        if not texts.get(url):
            texts[url] = occurrence.text
        if not verified.get(url):
            verified[url] = _is_verification(occurrence)
    links = [Link(url=url, text=texts[url], verification=verified[url]) for url in texts]
    links.sort(key=lambda link: not link.verification)
    return links[:MAX_LINKS]


def _is_verification(link: _RawLink) -> bool:
    """Whether one occurrence of a link looks like the verify/confirm/reset/magic link."""
    if _is_social_or_asset(link.url):
        return False
    url_kinds = _URL_WORDS.kinds(link.url[link.url.find("//") + 2 :].lower())
    text_kinds = _LINK_WORDS.kinds(link.text.lower())
    if "no" in url_kinds or "no" in text_kinds:
        return False
    score = 3 if "yes" in text_kinds else 1 if "hint" in text_kinds else 0
    score += 2 if "yes" in url_kinds else 1 if "hint" in url_kinds else 0
    if _is_generic(link.text):
        context = link.context.lower()
        if "no" in _LINK_WORDS.kinds(context[-40:]):
            return False
        context_kinds = _LINK_WORDS.kinds(context[-100:])
        score += 2 if "yes" in context_kinds else 1 if "hint" in context_kinds else 0
    if _has_token(link.url):
        score += 1
    return score >= LINK_THRESHOLD


def _is_generic(anchor_text: str) -> bool:
    """Anchor text that says nothing of its own ("click here", the URL itself, nothing)."""
    text = anchor_text.lower().strip(" .:!>»→")
    return text in GENERIC_ANCHORS or _URL.match(text) is not None


def _has_token(url: str) -> bool:
    """Whether the path or query carries a long random-looking value, as one-use links do."""
    rest = url[url.find("//") + 2 :]
    slash = rest.find("/")
    for match in _URL_TOKEN.finditer(rest[slash:] if slash >= 0 else ""):
        value = match.group()
        if any(char.isdigit() for char in value) and any(char.isalpha() for char in value):
            return True
    return False


def _is_social_or_asset(url: str) -> bool:
    rest = url[url.find("//") + 2 :]
    host = re.split(r"[/?#:]", rest, maxsplit=1)[0].lower()
    if any(label in SOCIAL_HOSTS for label in host.split(".")[:-1]):
        return True
    path = rest[len(host) :].split("?", 1)[0].lower()
    return path.endswith((".png", ".gif", ".jpg", ".jpeg", ".webp", ".svg", ".css", ".js"))


# Codes


@dataclass
class _Candidate:
    code: str
    start: int
    end: int
    shape: float


def _codes(texts: Iterable[str]) -> list[str]:
    """Codes scoring at least `CODE_THRESHOLD`, best first, deduplicated; a code seen in
    several places (subject and body) gains a little."""
    best: dict[str, float] = {}
    seen: dict[str, int] = {}
    for text in texts:
        if not text:
            continue
        prepared = _prepare(text)
        lowered = prepared.lower()
        if len(lowered) != len(prepared):
            lowered = prepared
        for count, candidate in enumerate(_candidates(prepared)):
            if count >= MAX_CANDIDATES:
                break
            score = _score(prepared, lowered, candidate)
            seen[candidate.code] = seen.get(candidate.code, 0) + 1
            best[candidate.code] = max(best.get(candidate.code, score), score)
    scored = {code: score + 0.5 * min(seen[code] - 1, 2) for code, score in best.items()}
    kept = [code for code, score in scored.items() if score >= CODE_THRESHOLD]
    kept.sort(key=lambda code: -scored[code])
    return kept[:MAX_CODES]


def _prepare(text: str) -> str:
    """Text with URLs and email addresses masked and width variants folded (fullwidth digits become ASCII)."""
    # NFKC would turn the ideographic comma in "628491，5分钟" into a decimal comma.
    if not text.isascii():
        text = text.replace("\uff0c", "\u3001").replace("\u0130", "I")
        text = unicodedata.normalize("NFKC", text)
    text = _URL.sub(" | ", text)
    return _EMAIL.sub(" | ", text) if "@" in text else text


def _candidates(text: str) -> Iterator[_Candidate]:
    """Code-shaped tokens; a run of digit groups ("482 913") is one candidate and a run that
    is no code ("+1 212 555 0147", "DE89 3704 0044") yields none."""
    run: list[re.Match[str]] = []
    for count, match in enumerate(_TOKEN.finditer(text)):
        if count >= MAX_TOKENS:
            break
        if run and text[run[-1].end() : match.start()] != " ":
            yield from _run_candidates(run)
            run = []
        run.append(match)
    yield from _run_candidates(run)


def _run_candidates(run: list[re.Match[str]]) -> Iterator[_Candidate]:
    if len(run) == 1:
        shaped = _shape(run[0].group())
        if shaped is not None:
            yield _Candidate(shaped[0], run[0].start(), run[0].end(), shaped[1])
        return
    groups = [match.group() for match in run]
    if not all(group.isdigit() for group in groups):
        return
    joined = "".join(groups)
    lengths = {len(group) for group in groups}
    grouped = lengths <= {2, 3, 4} and not any(_is_year(group) for group in groups)
    spelled = lengths == {1}
    if (grouped or spelled) and 4 <= len(joined) <= 8:
        yield _Candidate(joined, run[0].start(), run[-1].end(), _digit_shape(joined))


def _shape(token: str) -> tuple[str, float] | None:
    """The code a token stands for and how code-like its shape is, or None for no code."""
    parts = token.split("-")
    joined = "".join(parts)
    if len(parts) == 1:
        if token.isdigit():
            return (token, _digit_shape(token)) if 4 <= len(token) <= 8 else None
        if _is_upper_alnum(token) and 4 <= len(token) <= 10:
            return token, _alnum_shape(token)
        return None
    if len(parts) > 4:
        return None
    if joined.isdigit():
        if not all(2 <= len(part) <= 4 for part in parts) or not 4 <= len(joined) <= 8:
            return None
        if any(_is_year(part) for part in parts):
            return None
        phone_like = [len(part) for part in parts] in ([3, 4], [4, 4])
        return joined, _digit_shape(joined) - (1.5 if phone_like else 0.0)
    # A word then a number ("INV-2025-0193", "SKU-4821") is a reference, not a code.
    if (
        _is_upper_alnum(joined)
        and all(2 <= len(part) <= 5 for part in parts)
        and 5 <= len(joined) <= 12
        and not (parts[0].isalpha() and "".join(parts[1:]).isdigit())
    ):
        return token, 1.0
    return None


def _digit_shape(digits: str) -> float:
    return {4: 0.5, 6: 1.5}.get(len(digits), 1.0) - (4.0 if _is_year(digits) else 0.0)


def _alnum_shape(token: str) -> float:
    # A word then digits ("SPRING30", "WELCOME10") is how promotions are spelled.
    letters = _LEADING_LETTERS.match(token)
    wordy = letters is not None and len(letters.group()) >= 4
    return (1.0 if 6 <= len(token) <= 8 else 0.5) - (2.0 if wordy else 0.0)


def _is_upper_alnum(token: str) -> bool:
    return (
        token.isascii()
        and token.isalnum()
        and token.upper() == token
        and any(char.isdigit() for char in token)
        and any(char.isalpha() for char in token)
    )


def _is_year(digits: str) -> bool:
    return len(digits) == 4 and digits[:2] in ("19", "20")


def _score(text: str, lowered: str, candidate: _Candidate) -> float:
    """How likely the candidate is the message's one-time code."""
    start, end = candidate.start, candidate.end
    if _is_excluded(text, lowered, start, end):
        return float("-inf")
    score = candidate.shape + _context_score(lowered, start, end)
    if _alone_on_line(text, start, end):
        score += 1.5
    return score


def _is_excluded(text: str, lowered: str, start: int, end: int) -> bool:
    """Part of a date, time, decimal, IP, price, size, phone, numbered reference or address."""
    before, after = text[max(0, start - 2) : start], text[end : end + 2]
    if len(before) == 2 and before[1] in "./:,_@" and before[0].isdigit():
        return True
    if len(after) == 2 and after[0] in "./:,_@" and after[1].isdigit():
        return True
    if _AFTER_NUMBER.match(lowered, end):
        return True
    if _BEFORE_NUMBER.search(lowered[max(0, start - 6) : start]):
        return True
    return end - start == 5 and _STATE_ZIP.search(text[max(0, start - 4) : start]) is not None


def _context_score(lowered: str, start: int, end: int) -> float:
    """Points for code words nearby (more in the same sentence), minus points for order,
    money, phone, address and quantity words when they are nearer than any code word."""
    window = lowered[max(0, start - 160) : start]
    nearest: dict[str, tuple[int, bool]] = {}
    for kind, _, word_end in _CODE_WORDS.find(window):
        in_sentence = _SENTENCE_END.search(window, word_end) is None
        nearest[kind] = (len(window) - word_end, in_sentence)
    before = max(
        _near(
            nearest.get("yes"),
            same=((40, 5.0), (100, 4.5), (160, 3.5)),
            other=((40, 4.0), (100, 3.0), (160, 2.0)),
        ),
        _near(nearest.get("hint"), same=((60, 2.5), (160, 1.5)), other=((60, 1.5), (160, 1.0))),
    )
    after, after_penalty = _after_context(lowered, end)
    closest_yes = min(
        (nearest[kind][0] for kind in ("yes", "hint") if kind in nearest), default=None
    )
    penalty = 0.0
    if "no" in nearest and (closest_yes is None or nearest["no"][0] <= closest_yes):
        penalty = _near(nearest["no"], same=((30, 6.0), (60, 3.0)), other=((30, 6.0), (60, 3.0)))
    bonus = max(before, after) + (0.5 if before and after else 0.0)
    return bonus - penalty - after_penalty


def _after_context(lowered: str, end: int) -> tuple[float, float]:
    """Points for a code word just after ("482913 is your code"), and a penalty for a street
    or a promotion just after ("2200 Mission Street", "SPRING30 at checkout")."""
    window = lowered[end : end + 60]
    bonus = 0.0
    for kind, word_start, _ in _CODE_WORDS.find(window):
        if kind == "no":
            break
        if kind == "yes":
            bonus = 4.0 if word_start <= 40 else 3.0
            break
        bonus = 2.0
    return bonus, 4.0 if _AFTER_NOT_CODE.match(window) else 0.0


def _near(
    found: tuple[int, bool] | None,
    same: tuple[tuple[int, float], ...],
    other: tuple[tuple[int, float], ...],
) -> float:
    """Points for a word found at (distance, in the same sentence), by distance steps."""
    if found is None:
        return 0.0
    distance, in_sentence = found
    for limit, points in same if in_sentence else other:
        if distance <= limit:
            return points
    return 0.0


def _alone_on_line(text: str, start: int, end: int) -> bool:
    """The token fills its line, as codes shown large on their own do."""
    line_start = text.rfind("\n", max(0, start - 40), start)
    if line_start < 0 and start > 40:
        return False
    line_end = text.find("\n", end, end + 40)
    if line_end < 0 and end + 40 < len(text):
        return False
    line = text[line_start + 1 : line_end if line_end >= 0 else len(text)]
    return line.strip(_STRIP_AROUND_CODE) == text[start:end].strip(_STRIP_AROUND_CODE)
