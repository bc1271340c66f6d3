"""Keyword tables for code and link detection in 30 languages: en, de, fr, es, pt, it, nl,
ca, pl, cs, sk, hu, ro, tr, sv, da, nb, fi, et, el, ru, uk, bg, ar, fa, he, hi, th, vi, id,
zh, ja, ko.

Terms match inside words, so a stem covers the forms of an inflecting language: "подтвер"
finds "подтверждения" and "подтвердите", "potwierd" "potwierdź" and "potwierdzenia",
"codi" "codice" and "codi", "kod" "kodu", "kodun" and "kode".

Pure data: `codecontext.py` and `links.py` compile the tables into `Vocabulary` matchers, and
`mailtext.py` reads `GENERIC_ANCHORS`.
"""

from __future__ import annotations

# The keyword tables hold Cyrillic and CJK on purpose; ruff would flag their letters as look-alikes.
# ruff: noqa: RUF001

# Words that announce a code. Terms match inside words, so compounds count
# ("Bestätigungscode"); words must stand alone ("PIN", not "shopping").
CODE_TERMS = (
    "code", "passcode", "one-time", "one time", "verification", "verify", "two-factor",
    "token", "authenticat",
    "codi", "kod", "kód", "kood", "κωδικ", "קוד", "رمز", "كود", "کد", "कोड", "รหัส",
    "verifica", "verific", "weryfik", "doğrula", "dogrula", "ověř", "overen", "ellenőr",
    "vahvist", "bekräft", "bekræft", "bekreft", "επαλήθευ", "אימות", "تحقق", "تأیید", "تایید",
    "xác minh", "xác thực", "ยืนยัน", "verifikasi", "सत्यापन", "uwierzytel", "autentica",
    "autentific", "monouso", "eenmalig", "jednorazow", "jednorázov", "tek kullanımlık",
    "engångs", "engangs", "kertakäyttö", "egyszer", "одноразов", "підтвердж", "перевір",
    "аутентиф", "автентиф", "μίας χρήσης", "חד פעמי", "یکبار", "لمرة واحدة", "एक बार",
    "sekali pakai",
    "bestätigungs", "verifizierung", "einmal", "sicherheits", "zugangs",
    "vérification", "usage unique",
    "código", "codigo", "verificación", "verificacion", "un solo uso", "clave",
    "verificação", "verificacao", "uso único", "palavra-passe",
    "验证码", "驗證碼", "校验码", "动态码", "确认码", "安全码", "验证", "驗證", "一次性",
    "コード", "認証", "ワンタイム", "パスコード", "暗証番号", "確認番号", "トークン",
    "인증", "코드", "일회용", "보안",
    "код", "одноразов", "проверочн",
)  # fmt: skip
CODE_WORDS = ("otp", "pin", "tan", "2fa", "mfa", "mã")
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
    "conferm", "bevestig", "potwierd", "onayla", "підтверд", "bekräfta", "vahvista", "potvrd",
    "megerősít", "επιβεβαί", "אישור", "تأكيد", "xác nhận", "konfirmasi", "पुष्टि",
    "accedi", "accesso", "accedere", "inloggen", "aanmelden", "zaloguj", "logowan", "giriş",
    "увійти", "вхід", "تسجيل الدخول", "logga in", "log ind", "logg inn", "kirjaudu", "přihl",
    "bejelentkez", "συνδεθ", "התחבר", "ورود", "đăng nhập", "เข้าสู่ระบบ", "masuk",
    "लॉग इन", "inicia sessió", "iniciar sessão", "logi sisse", "sessió",
    "wachtwoord", "hasło", "hasł", "şifre", "parola", "lösenord", "adgangskode", "passord",
    "salasana", "heslo", "jelszó", "κωδικό", "סיסמ", "كلمة المرور", "رمز عبور", "mật khẩu",
    "รหัสผ่าน", "kata sandi", "पासवर्ड", "contrasenya", "parool",
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
# The same in more languages: orders, invoices, prices, phones, addresses.
NOT_CODE_TERMS_MORE = (
    "comanda", "ordine", "fattura", "prezzo", "bestelling", "factuur", "prijs",
    "zamówieni", "faktur", "cena", "sipariş", "fatura", "fiyat", "замовлен", "рахун", "ціна",
    "طلب", "فاتورة", "سعر", "beställning", "bestilling", "tilaus", "lasku", "hinta",
    "objednáv", "rendelés", "számla", "comandă", "factur", "preț", "παραγγελ", "τιμολόγ",
    "τιμή", "הזמנה", "חשבונית", "מחיר", "سفارش", "فاکتور", "قیمت", "đơn hàng", "hóa đơn",
    "giá", "คำสั่งซื้อ", "ใบแจ้งหนี้", "ราคา", "pesanan", "faktur", "harga", "ऑर्डर",
    "चालान", "कीमत", "quantitat", "preu", "quantità", "aantal", "ilość", "adet",
    "encomenda", "ordre", "tilau", "narudžb", "porudžb", "naročil", "tellimus", "užsakym",
    "pasūtījum", "objedn",
)  # fmt: skip
NOT_CODE_WORDS = (
    "id", "ref", "tel", "nr", "st", "rd", "ave", "rue", "av", "bd", "cep", "cpf", "cnpj",
    "plz", "vat", "sku", "qty", "fax", "call", "case", "item", "ул", "дом", "тел",
)  # fmt: skip

# Link anchor texts and URLs that mean "verify, confirm, activate, reset, sign in by magic link".
LINK_TERMS = (
    "verify", "verification", "confirm", "activate", "activation", "magic link",
    "update your account",
    "magischer link", "lien magique", "enlace mágico", "link mágico",
    "bestätig", "verifizier", "aktivier",
    "vérifi", "confirmer", "activer",
    "verificar", "confirmar", "activar",
    "ativar",
    "验证", "驗證", "确认", "激活",
    "確認", "認証", "有効化",
    "인증", "활성화",
    "подтвер", "активир",
    "verif", "conferm", "attiva", "bevestig", "activeer",
    "potwierd", "aktywuj", "aktywac", "aktywow", "onayla",
    "etkinleştir", "aktifleştir", "підтверд", "активу",
    "تأكيد", "تفعيل", "تحقق", "bekräfta", "aktivera", "bekræft",
    "aktivér", "aktiver", "bekreft", "vahvista", "aktivoi",
    "potvrď", "potvrd", "ověř", "aktivuj", "megerősít", "erősítsd", "aktivál",
    "ellenőriz", "activa", "επιβεβαίω",
    "ενεργοποί", "אמת", "אישור", "הפעל", "تأیید", "تایید", "فعال",
    "xác nhận", "xác minh", "kích hoạt", "ยืนยัน", "เปิดใช้",
    "konfirmasi", "aktifkan", "पुष्टि", "सत्यापित", "सक्रिय",
    "kinnita",
)  # fmt: skip
# Links that reset or set a password: verification links, except in a mail that says the
# password was already changed or the account already exists (`NOTICE_TERMS`).
LINK_RESET_TERMS = (
    "reset", "zurücksetz", "réinitialis", "restablecer", "redefinir", "reimposta", "ripristin",
    "herstel", "opnieuw instellen", "resetuj", "zresetuj", "sıfırla", "скину", "скид",
    "сброс", "восстанов", "відновит", "إعادة تعيين", "återställ", "nulstil", "tilbakestill",
    "nollaa", "obnov", "visszaállít", "reseta", "resetar", "resetov", "επαναφορ", "איפוס",
    "بازنشانی", "đặt lại", "รีเซ็ต", "atur ulang", "रीसेट", "restableix", "lähtesta",
    "重置", "重设", "重設", "再設定", "リセット", "재설정",
    "choose a new password", "set a new password", "change your password",
    "изменения пароля", "изменить пароль", "зміни пароля", "змінити пароль", "new password", "nouveau mot de passe", "neues passwort",
    "nueva contraseña", "nova senha", "nuova password", "nieuw wachtwoord", "nowe hasło",
    "yeni şifre", "yeni parola", "новый пароль", "новий пароль", "nytt lösenord",
    "ny adgangskode", "nytt passord", "uusi salasana", "nové heslo", "új jelszó",
    "parolă nouă", "新しいパスワード", "新密码", "새 비밀번호",
)  # fmt: skip
LINK_HINT_TERMS = (
    "sign in", "sign-in", "log in", "login", "log me in", "continue", "anmelden",
    "anzumelden", "einloggen", "se connecter", "connexion", "iniciar sesión", "ingresar",
    "ingresá", "entrar", "acessar",
    "登录", "ログイン", "로그인", "войти",
    "accedi", "accesso", "inloggen", "aanmelden", "zaloguj", "logowan", "giriş", "увійти",
    "вхід", "تسجيل الدخول", "logga in", "log ind", "logg inn", "kirjaudu", "přihl",
    "bejelentkez", "autentific", "autentica", "authenticat", "authentifi", "συνδεθ", "התחבר", "ورود", "đăng nhập", "เข้าสู่ระบบ",
    "masuk", "लॉग इन", "inicia sessió", "iniciar sessão", "logi sisse", "continu",
    "password", "passwort", "mot de passe", "contraseña", "senha", "wachtwoord", "hasło",
    "şifre", "parola", "пароль", "lösenord", "adgangskode", "passord", "salasana", "heslo",
    "jelszó", "κωδικό", "סיסמ", "كلمة المرور", "رمز عبور", "mật khẩu", "รหัสผ่าน",
    "kata sandi", "पासवर्ड", "contrasenya", "parool", "パスワード", "密码", "비밀번호",
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
    "verif", "confirm", "activat", "activar", "ativar", "aktivier", "bestaetig", "magic",
    "optin", "opt-in", "validat", "validar", "bevestig", "potwierd", "attiva", "conferm",
)  # fmt: skip
URL_RESET_TERMS = (
    "reset", "reinitialis", "redefinir", "restablecer", "recover", "new-password",
    "set-password", "setpassword", "initiali", "firstlogin", "first-login",
)  # fmt: skip
URL_HINT_TERMS = (
    "register", "registration", "signup", "sign-up", "sign_up",
    "auth", "login", "log-in", "signin", "sign-in", "sign_in", "token", "callback",
    "password", "passwort", "mot-de-passe", "senha", "anmeld", "connexion", "ingresar",
    "entrar", "acesso", "vhod",
)  # fmt: skip
URL_NOT_TERMS = (
    "/settings", "/profile/",
    "unsubscribe", "unsub", "optout", "opt-out", "opt_out", "preferences", "email-settings",
    "privacy", "privacidad", "privacidade", "terms", "legal", "impressum", "datenschutz",
    "abmelden", "abbestellen", "desabonnement", "desinscription", "descadastr", "/baja",
    "help", "support", "faq", "docs", "/blog", "/view", "webversion", "web-version",
    "browser", "itunes", "appstore", "app-store", "/store/apps", "/app/",
)  # fmt: skip
# What a mail is for, read in its subject and opening: a notice that something already
# happened ("password changed", "account already exists", "no account for this address").
# Such a mail's "reset your password" link is a remedy, not the verification link.
NOTICE_TERMS = (
    "already exist", "already registered", "already in our system", "already have an account",
    "already associated", "already in use", "no account", "not associated with any account",
    "find an account", "password has been changed", "password was changed",
    "password has been reset", "password was reset", "changed your password",
    "password changed", "password successfully changed", "has been changed", "was changed",
    "have changed", "has changed", "bereits registriert", "existiert bereits", "kein konto",
    "wurde geändert", "geändert wurde", "wurde zurückgesetzt", "hat sich geändert",
    "existe déjà", "déjà inscrit", "aucun compte", "a été modifié", "a été changé",
    "a été réinitialisé", "ya existe", "ya está registrad", "ninguna cuenta", "ha sido cambiad",
    "ha cambiado", "se ha cambiado", "ha sido restablecid", "já existe", "já está registrad",
    "foi alterad", "foi redefinid", "esiste già", "già registrat", "stata modificat",
    "stata cambiat", "stata reimpostat", "bestaat al", "al geregistreerd", "is gewijzigd",
    "is veranderd", "już istnieje", "zostało zmienione", "została zmieniona",
    "został zmieniony", "zostało zresetowane", "zaten mevcut", "zaten kayıtlı",
    "değiştirildi", "sıfırlandı", "уже существует", "уже зарегистрирован", "был изменен",
    "был изменён", "была изменена", "было изменено", "изменён", "изменено", "вже існує", "змінено", "змінений",
    "finns redan", "har ändrats", "har återställts", "findes allerede", "er blevet ændret",
    "er ændret", "finnes allerede", "er endret", "har blitt endret", "on jo olemassa",
    "on vaihdettu", "on muutettu", "již existuje", "bylo změněno", "byla změněna",
    "byl změněn", "már létezik", "megváltozott", "módosult", "există deja",
    "a fost schimbat", "a fost modificat", "υπάρχει ήδη", "άλλαξε", "έχει αλλάξει",
    "موجود بالفعل", "تم تغيير", "כבר קיים", "שונתה", "از قبل وجود دارد",
    "تغییر کرد", "đã tồn tại", "đã được thay đổi", "มีอยู่แล้ว", "ถูกเปลี่ยน", "sudah ada",
    "telah diubah", "sudah terdaftar", "पहले से मौजूद", "बदल दिया गया", "既に存在",
    "すでに存在", "既に登録", "すでに登録", "変更されました", "変更しました", "已存在", "已注册",
    "已更改", "已修改", "已被更改", "已重置", "이미 존재", "이미 등록", "변경되었습니다",
    "ja existeix", "s'ha canviat", "ha estat canviad", "in our system", "in unserem system",
    "dans notre système", "в нашей системе", "nel nostro sistema", "en nuestro sistema",
    "no nosso sistema", "in ons systeem", "w naszym systemie", "sistemimizde",
    "в нашій системі", "i vårt system", "i vores system", "is verander", "al nostre sistema",
    "a rendszerünkben", "gewijzigd", "geändert", "changé", "modifié", "cambiad", "alterad",
    "modificat", "zmienion", "değiştiril", "ändrats", "ændret", "endret", "vaihdettu",
    "změněn", "megváltozott", "schimbat", "змінен", "изменил", "promijenjen", "promjenjen",
    "promenjen", "muudeti", "muutunud", "muudetud", "تغییر یافت", "تغییر داده", "已被",
    "has been updated", "was updated", "has been reset", "was reset", "successfully changed",
    "successfully updated", "no record", "not have an account", "don't have an account",
    "not registered", "not in our database", "not on our database", "not found",
    "wurde aktualisiert", "bereits verwendet", "bereits vergeben", "a été mis à jour",
    "déjà utilisé", "ha sido actualizad", "se ha actualizado", "ya está en uso",
    "stata aggiornat", "già in uso", "nessun account", "is bijgewerkt", "al in gebruik",
    "geen account", "foi atualizad", "já está em uso", "nenhuma conta", "nie ma konta",
    "brak konta", "został zaktualizowan", "zostało zaktualizowan", "już używan",
    "hesap bulunamadı", "güncellendi", "был обновлен", "был обновлён", "успешно изменен",
    "нет учетной записи", "нет учётной записи", "не найден", "уже используется",
    "немає облікового", "оновлено", "アカウントが見つかりません", "存在しません",
    "更新されました", "不存在", "已更新", "계정이 없", "업데이트되었습니다",
    "已更改", "変更され", "spremenjen", "pakeistas", "zmenen", "промењен", "промијењен",
)  # fmt: skip
GENERIC_ANCHORS = frozenset({
    "", "click here", "here", "this link", "link", "click", "button", "hier", "hier klicken",
    "ici", "cliquez ici", "aquí", "haz clic aquí", "aqui", "clique aqui", "здесь", "сюда",
    "这里", "点击这里", "こちら", "ここ", "여기",
})  # fmt: skip
