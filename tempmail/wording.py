"""Keyword tables for code and link detection, in en, de, fr, es, pt, zh, ja, ko and ru.

Pure data: `codecontext.py` and `links.py` compile the tables into `Vocabulary` matchers, and
`mailtext.py` reads `GENERIC_ANCHORS`.
"""

from __future__ import annotations

# The keyword tables hold Cyrillic and CJK on purpose; ruff would flag their letters as look-alikes.
# ruff: noqa: RUF001

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
