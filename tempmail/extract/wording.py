"""Keyword tables for code and link detection in 30 languages: en, de, fr, es, pt, it, nl,
ca, pl, cs, sk, hu, ro, tr, sv, da, nb, fi, et, el, ru, uk, bg, ar, fa, he, hi, th, vi, id,
zh, ja, ko.

Terms match inside words, so a stem covers the forms of an inflecting language: "подтвер"
finds "подтверждения" and "подтвердите", "potwierd" "potwierdź" and "potwierdzenia",
"codi" "codice" and "codi", "kod" "kodu", "kodun" and "kode".

Pure data: `codecontext.py` and `links.py` compile the tables into `Vocabulary` matchers, and
`links.py` reads `GENERIC_ANCHORS`.
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
    "验证码", "驗證碼", "校验码", "校驗碼", "动态码", "動態碼", "确认码", "確認碼", "安全码",
    "安全碼", "验证", "驗證", "一次性", "代码", "代碼", "登录码", "登錄碼", "登入碼",
    "コード", "認証", "ワンタイム", "パスコード", "暗証番号", "確認番号", "トークン",
    "인증", "코드", "일회용", "보안",
    "код", "одноразов", "проверочн",
    # A generated password mailed to type once ("Your temporary password is 4ApG9bJ+emb4").
    "temporary password", "temporäres passwort", "vorläufiges passwort", "mot de passe temporaire",
    "contraseña temporal", "senha temporária", "password temporanea", "tijdelijk wachtwoord",
    "tymczasowe hasło", "временный пароль", "тимчасовий пароль", "geçici şifre",
    "geçici parola", "tillfälligt lösenord", "midlertidig adgangskode", "midlertidig passord",
    "väliaikainen salasana", "dočasné heslo", "ideiglenes jelszó", "parolă temporară",
    "临时密码", "臨時密碼", "一時パスワード", "仮パスワード", "임시 비밀번호",
)  # fmt: skip
# A password word, and the label of the line a mailed password follows (a credentials block:
# "Username: kim" then "Password: a)0Ro$?6R)").
PASSWORD_TERMS = (
    "password", "passwort", "kennwort", "mot de passe", "contraseña", "senha", "palavra-passe",
    "wachtwoord", "hasło", "пароль", "lösenord", "adgangskode", "passord", "salasana", "heslo",
    "jelszó", "şifre", "parola", "parool", "κωδικός", "סיסמה", "كلمة المرور", "密码", "密碼",
    "パスワード", "비밀번호", "contrasenya", "gesl", "hasł", "lozink", "лозинк", "parole",
    "slaptažod", "sandi", "jelsza", "contrasinal", "pasahitz", "salasõn", "šifr", "lykilorð",
    "fjalëkalim", "cyfrinair",
)  # fmt: skip
# What a password word may be followed by before its value, in languages that put the
# adjective after the noun ("mot de passe temporaire Pxfg0MRm", "contraseña temporal ...").
PASSWORD_ADJECTIVES = (
    "temporaire", "provisoire", "temporal", "provisional", "temporária", "temporário",
    "provisória", "provisório", "temporanea", "provvisoria", "temporaneo", "tijdelijk",
    "tijdelijke", "temporar", "temporară", "temporal", "tymczasowe", "dočasné", "začasno",
    "privremena", "privremenu", "привремена", "временный", "тимчасовий", "temporaria",
)  # fmt: skip
USER_LABELS = frozenset({
    "username", "user name", "user", "login", "e-mail", "email", "account", "benutzername",
    "benutzer", "nom d'utilisateur", "identifiant", "utilisateur", "usuario",
    "nombre de usuario", "utente", "nome utente", "nome de usuário", "usuário",
    "gebruikersnaam", "nazwa użytkownika", "użytkownik", "логин", "имя пользователя",
    "пользователь", "користувач", "ім'я користувача", "kullanıcı adı", "användarnamn",
    "brugernavn", "brukernavn", "käyttäjätunnus", "uživatelské jméno", "felhasználónév",
    "用户名", "使用者名稱", "帳號", "账号", "ユーザー名", "사용자 이름", "아이디",
})  # fmt: skip
CODE_WORDS = ("otp", "pin", "tan", "2fa", "mfa", "mã")
# Verbs that ask the reader to type something in ("Enter 482913 in the app"): hints, whole
# words only ("enter" is in "center").
CODE_HINT_WORDS = (
    # AOSP's notification OTP detector counts these English context words too.
    "secret", "access", "validate", "validation",
    # The key a mail asks to paste when its link fails ("copy/paste this key into the form").
    "key", "paste",
    "enter", "type in", "eingeben", "gib", "geben sie", "entrez", "saisissez", "saisir",
    "introduce", "introduzca", "ingresa", "ingrese", "digite", "insira", "introduza",
    "inserisci", "inserire", "immetti", "voer", "vul", "wpisz", "wprowadź", "введите",
    "введіть", "girin", "giriniz", "ange", "indtast", "skriv inn", "syötä", "zadejte",
    "zadajte", "írja be", "írd be", "adja meg", "introduceți", "εισάγετε", "הזן", "أدخل",
    "ادخل", "وارد کنید", "nhập", "กรอก", "masukkan", "दर्ज करें", "入力", "输入", "輸入",
    "입력",
)  # fmt: skip
# Weaker hints: they also appear in mail that has no code.
CODE_HINT_TERMS = (
    "confirm", "password", "log in", "login", "sign in", "sign-in", "security",
    "bestätig", "passwort", "kennwort", "anmeld",
    "mot de passe", "connexion",
    "contraseña", "iniciar sesión",
    "senha",
    "确认", "密码", "登录", "確認", "密碼", "登錄", "登入", "パスワード", "ログイン",
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
    # Password in more languages, stems where they inflect ("jelszava", "slaptažodis").
    "gesl", "parole", "slaptažod", "sandi", "jelsza", "lozink", "лозинк",
    "contrasinal", "pasahitz", "salasõn", "šifr", "lykilorð", "fjalëkalim", "cyfrinair",
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
    "up to", "over", "about", "approximately", "nearly", "almost", "dial-in", "dial in",
    "meeting id", "meeting code", "conference id", "conference code", "room", "dial-in code",
    "dial in code", "participant code", "meeting passcode",
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
    "订单", "訂單", "发票", "發票", "快递", "快遞", "运单", "運單", "物流", "电话", "電話",
    "热线", "熱線", "客服", "金额", "金額", "价格", "價格", "优惠", "優惠", "地址", "邮编",
    "郵編", "尾号", "尾號", "超过", "超過", "源代码", "源代碼",
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
    # Tracking a parcel: "Seurantakoodi", "Spårningskod" are no codes to type.
    "seuranta", "spårning", "sporing", "sledování", "śledzeni", "sendungsverfolgung",
    "tracciament", "takip", "відстеж", "nyomkövet", "urmărire", "παρακολούθ", "מעקב", "تتبع",
    "پیگیری", "theo dõi", "ติดตาม", "pelacakan", "追踪", "追蹤", "운송장", "배송조회",
)  # fmt: skip
NOT_CODE_WORDS = (
    "id", "ref", "tel", "nr", "st", "rd", "ave", "rue", "av", "bd", "cep", "cpf", "cnpj",
    "plz", "vat", "sku", "qty", "fax", "call", "case", "item", "ул", "дом", "тел",
)  # fmt: skip
# Names of standards, protocols and formats written as a word and a number ("authenticated
# by SAML2", "SHA256 fingerprint", "FIDO2 key"): code-shaped, never a code.
TECHNICAL_NAMES = frozenset({
    "SAML2", "OAUTH2", "OAUTH1", "OIDC1", "FIDO2", "FIDO", "U2F", "X509", "SHA1", "SHA2",
    "SHA256", "SHA384", "SHA512", "SHA3", "MD5", "AES128", "AES256", "RSA2048", "RSA4096",
    "ED25519", "P256", "IPV4", "IPV6", "HTTP2", "HTTP3", "TLS12", "TLS13", "SSLV3", "UTF8",
    "UTF16", "BASE64", "BASE32", "HOTP", "TOTP", "MP3", "MP4", "H264", "H265", "WEBP",
    "IMAP4", "POP3", "SMTP", "DKIM", "ARC", "OPENPGP", "PKCS12", "PKCS7", "PBKDF2",
    "BCRYPT", "ARGON2", "SCRYPT", "CVE", "ISO27001", "SOC2", "GDPR", "HIPAA", "PCI",
    "WIN10", "WIN11", "IOS17", "IOS18", "COVID19", "4G", "5G", "LTE", "1080P", "4K",
})  # fmt: skip

# A subject that invites the reader ("You have been invited to share your expenses for ..."):
# it asks for the mail's only one-use link when that link's clause names signing in.
SUBJECT_INVITE_TERMS = (
    "invited", "invitation", "invites you", "eingeladen", "einladung", "invité", "invitation",
    "invitad", "invitación", "convidad", "convidou", "convite", "invitat", "invito",
    "uitgenodigd", "uitnodiging", "zaprosz", "приглаш", "пригласил", "запрош", "davet",
    "inbjud", "inviter", "invitasjon", "kutsu", "pozván", "pozval", "meghív", "邀请", "邀請",
    "招待", "초대", "запросил", "הוזמנ", "הזמנה", "bjudits in", "bjöd in", "bjuder in",
    "invitert", "دعوة", "دعاك", "دعوت", "προσκ", "lời mời", "diundang", "undangan", "आमंत्रि",
    "誘われ", "gonbidat",
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
    # More languages and forms: Turkish, Polish and Slovak "verify", South Slavic, Baltic,
    # Bulgarian, Belarusian, Bengali, Tamil, Telugu, Malay, Tagalog, Swahili, Icelandic,
    # Basque, Welsh, Irish, Albanian, Georgian, Armenian, Kazakh, Urdu; Traditional Chinese;
    # Japanese "本登録" (finish registering) and katakana loanwords; Korean noun phrases.
    "doğrula", "dogrula", "weryfik", "overiť", "overte", "overenie", "potrd", "patvirtin",
    "apstiprin", "aktivir", "aktyvuo", "aktyvin", "aktivizē", "aktivizet", "aktiveeri",
    "επαληθ", "потвърд", "потврд", "пацвердз", "верифік", "верифиц", "активац", "активір",
    "নিশ্চিত", "যাচাই", "সক্রিয়", "உறுதிப்படுத்", "சரிபார்", "ధృవీకరించ", "sahkan",
    "kumpirm", "thibitisha", "staðfest", "baieztatu", "egiaztatu", "cadarnha", "dilysu",
    "dearbh", "konfirm", "vërteto", "aktivizo", "დაადასტურ", "გაააქტიურ", "հաստատ",
    "ակտիվացն", "растау", "ыраста", "tasdiqla", "təsdiqlə", "баталгаажуул", "тасдиқ", "تصدیق", "تصديق", "認證", "啟用", "啟動", "確定", "本登録",
    "登録を完了", "アクティベート", "アクティベーション", "ベリファイ", "이메일 확인",
    "메일 확인", "주소 확인", "계정 확인", "이메일 인증",
    # "Finish registering": the link that completes a sign-up.
    "complete your registration", "complete registration", "complete your sign", "finish signing up",
    "finish your registration", "registrierung abschließen", "registrierung abzuschließen",
    "finaliser votre inscription", "terminer votre inscription", "finaliser l'inscription",
    "completar el registro", "completar tu registro", "completar su registro",
    "concluir o cadastro", "concluir seu cadastro", "concluir o registo", "completare la registrazione",
    "registratie te voltooien", "registratie voltooien", "dokończ rejestrac",
    "dokończyć rejestrac", "kaydı tamamla", "kaydınızı tamamla", "завершить регистрац",
    "завершения регистрац", "закончить регистрац", "завершити реєстрац", "завершення реєстрац",
    "完成注册", "完成註冊", "가입을 완료", "가입 완료하기", "slutför registreringen",
    "fuldfør registreringen", "fullfør registreringen", "viimeistele rekisteröity",
    "dokončit registraci", "dokončete registraci", "hoàn tất đăng ký", "selesaikan pendaftaran",
    "إكمال التسجيل", "لإكمال التسجيل", "להשלמת ההרשמה", "ολοκληρώστε την εγγραφή",
    # An invitation's one action: joining the team, which sets up the account.
    "join your team", "join the team", "join your teammates", "join your organization",
    "join the organization", "join your organisation", "join the organisation",
    "join your workspace", "join the workspace", "accept invitation", "accept the invitation",
    "accept your invitation", "accept invite", "accept the invite", "einladung annehmen",
    "einladung akzeptieren", "dem team beitreten", "team beitreten", "accepter l'invitation",
    "rejoindre l'équipe", "rejoindre votre équipe", "aceptar la invitación",
    "aceptar invitación", "unirse al equipo", "únete a tu equipo", "aceitar o convite",
    "aceitar convite", "juntar-se à equipe", "accetta l'invito", "accettare l'invito",
    "unisciti al team", "uitnodiging accepteren", "uitnodiging aannemen",
    "zaakceptuj zaproszenie", "przyjmij zaproszenie", "dołącz do zespołu",
    "принять приглашение", "присоединиться к команде", "прийняти запрошення",
    "приєднатися до команди", "daveti kabul et", "ekibe katıl", "acceptera inbjudan",
    "accepter invitationen", "godta invitasjonen", "hyväksy kutsu", "přijmout pozvánku",
    "elfogadom a meghívást", "meghívás elfogadása", "接受邀请", "加入团队", "接受邀請",
    "加入團隊", "招待を承諾", "招待を受け入れ", "チームに参加", "초대 수락", "팀에 참여",
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
    "zurückzusetzen", "opnieuw in te stellen", "freischalt", "freizuschalt",
    # Choosing or setting a password, for a new account or a renewed one.
    "choose your password", "choose a password", "set your password", "set a password",
    "create your password", "create a password", "define your password",
    "passwort festzulegen", "passwort festlegen", "passwort zu wählen", "passwort wählen",
    "passwort zu setzen", "choisir votre mot de passe", "choisir un mot de passe",
    "définir votre mot de passe", "définir un mot de passe", "elegir su contraseña",
    "elegir tu contraseña", "establecer su contraseña", "establecer tu contraseña",
    "definir sua senha", "definir a sua senha", "escolher sua senha", "escolher a sua senha",
    "scegliere la password", "scegliere la tua password", "impostare la password",
    "wachtwoord te kiezen", "wachtwoord kiezen", "wachtwoord in te stellen",
    "wybrać hasło", "ustawić hasło", "ustaw hasło", "выбрать пароль", "задать пароль",
    "установить пароль", "обрати пароль", "встановити пароль", "şifrenizi belirle",
    "parolanızı belirle", "välja ditt lösenord", "välja lösenord", "vælge din adgangskode",
    "velge passord", "valita salasana", "zvolit heslo", "nastavit heslo", "zvoliť heslo",
    "jelszót választ", "alege parola", "επιλέξετε κωδικό", "בחירת סיסמה", "اختيار كلمة المرور",
    "انتخاب رمز عبور", "chọn mật khẩu", "pilih kata sandi", "パスワードを設定", "パスワードを選",
    "设置密码", "设置您的密码", "設定密碼", "設定您的密碼", "設置密碼", "设定密码", "비밀번호를 설정", "비밀번호 설정",
    "renew your password", "escollir la vostra contrasenya", "triar la contrasenya",
    "triar una contrasenya", "επιλέξετε τον κωδικό", "επιλέξτε κωδικό", "valida endale parool",
    "valida parool", "pasahitza aukeratu", "valitaksesi salasana", "valitse salasana",
    "elixir o teu contrasinal", "elixir un contrasinal", "causir vòstre senhal",
    "zmienić hasło", "zmień hasło", "změnit heslo", "zmeniť heslo", "промени лозинку",
    "смяна на паролата", "промяна на паролата",
    "изменения пароля", "изменить пароль", "зміни пароля", "змінити пароль", "new password", "nouveau mot de passe", "neues passwort",
    "nueva contraseña", "nova senha", "nuova password", "nieuw wachtwoord", "nowe hasło",
    "yeni şifre", "yeni parola", "новый пароль", "новий пароль", "nytt lösenord",
    "ny adgangskode", "nytt passord", "uusi salasana", "nové heslo", "új jelszó",
    "parolă nouă", "新しいパスワード", "新密码", "새 비밀번호",
    "palauta", "atkurti", "atkur", "atiestat", "atjaunot", "ponastav", "възстанов", "нулир",
    "ресет", "endurstill", "berrezarri", "ailosod", "rivendos", "पुनः सेट", "রিসেট",
    "மீட்டமை", "重新設定", "重新设置", "重新設置", "khôi phục", "pulihkan",
    "setel ulang", "tetapkan semula", "weka upya", "新密碼", "nova lozinka", "nova palavra-passe",
    # Setting a password, where the noun is also the one for an account's settings page.
    "nastavení hesla", "nastavení nového hesla", "nastavenie hesla", "nastavenie nového hesla",
)  # fmt: skip
LINK_HINT_TERMS = (
    "sign in", "sign-in", "log in", "login", "log me in", "continue", "anmelden",
    "anzumelden", "einloggen", "se connecter", "vous connecter", "te connecter", "connexion", "iniciar sesión", "ingresar",
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
    "サインイン", "登入", "登錄", "密碼", "암호", "prihlás", "prijav", "пријав", "влез",
    "pieteikties", "prisijung", "innskrá", "saioa hasi", "mewngofnodi", "лозинк", "парол",
    "geslo", "lozink", "slaptažod", "parole", "lykilorð", "pasahitz", "cyfrinair",
    "fjalëkalim", "পাসওয়ার্ড",
)  # fmt: skip
# Never the verification link, whatever else the link says.
LINK_NOT_TERMS = (
    "unsubscribe", "opt out", "opt-out", "preferences", "email settings", "manage email",
    "privacy", "terms", "legal", "help", "support", "faq", "app store", "google play",
    "download", "view in browser", "view this email", "view online", "view email",
    "web version", "online version", "settings", "einstellungen", "paramètres",
    "configuración", "configurações", "impostazioni", "instellingen", "ustawienia", "настройки",
    "налаштування", "ayarlar", "inställningar", "indstillinger", "innstillinger", "asetukset",
    "nastavení", "beállítások", "setări", "ρυθμίσεις", "הגדרות", "الإعدادات", "تنظیمات",
    "cài đặt", "การตั้งค่า", "pengaturan", "follow us", "folge uns", "folgen sie uns",
    "suivez-nous", "síguenos", "siga-nos", "seguici", "volg ons", "obserwuj nas",
    "impressum", "datenschutz", "abmelden", "abbestellen", "hilfe", "im browser",
    "désabonn", "désinscri", "desinscri", "confidentialité", "aide", "version en ligne",
    "darse de baja", "dar de baja", "cancelar suscripción", "privacidad", "ayuda",
    "descadastr", "cancelar inscrição", "privacidade", "ajuda",
    "退订", "取消订阅", "隐私", "帮助", "浏览器中查看", "退訂", "取消訂閱", "隱私", "幫助",
    "瀏覽器中查看",
    "配信停止", "購読解除", "プライバシー", "ヘルプ", "ブラウザで",
    "수신거부", "수신 거부", "구독 취소", "개인정보", "도움말", "웹에서 보기",
    "отпис", "конфиденциальн", "помощь", "в браузере",
)  # fmt: skip
# A notification's actions as a link's own text: view or answer what someone wrote. (Not in
# the clauses around a link: "copy it into your browser to view it" leads to many a link.)
# Of those, the names of information pages: in the sentence around a link with a one-use
# value they are more often a site's name ("...with Support, please visit the following
# URL:") than the link's purpose, as help and policy pages carry no one-use value.
LINK_INFO_TERMS = frozenset({
    "privacy", "terms", "legal", "help", "support", "faq", "impressum", "datenschutz",
    "hilfe", "confidentialité", "aide", "privacidad", "ayuda", "privacidade", "ajuda", "隐私",
    "帮助", "隱私", "幫助", "プライバシー", "ヘルプ", "개인정보", "도움말", "конфиденциальн",
    "помощь",
})  # fmt: skip
LINK_ACTION_TERMS = (
    "view ", "reply", "ansehen", "anzeigen", "antworten", "voir ", "répondre", "ver ",
    "responder", "visualizza", "rispondi", "bekijk", "beantwoord", "zobacz", "odpowiedz",
    "посмотреть", "ответить", "görüntüle", "yanıtla", "visa ", "svara", "vis ", "svar ",
    "näytä", "vastaa", "zobrazit", "odpovědět", "返信", "回复", "回覆", "查看", "답장", "보기",
    "manage", "verwalten", "gérer", "gestionar", "gerenciar", "gerir", "gestisci", "beheren",
    "zarządzaj", "управлять", "керувати", "yönet", "hantera", "administrer", "hallinnoi",
    "spravovat", "kezelés", "gestionați", "管理",
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
    # An invitation to join carries a one-use key to accept it ("/invitations/accept-invite/...").
    "invit",
)  # fmt: skip
URL_NOT_TERMS = (
    "/settings", "/profile/",
    "unsubscribe", "unsub", "optout", "opt-out", "opt_out", "preferences", "email-settings",
    "privacy", "privacidad", "privacidade", "terms", "legal", "impressum", "datenschutz",
    "abmelden", "abbestellen", "desabonnement", "desinscription", "descadastr", "/baja",
    "help", "support", "faq", "docs", "/blog", "/view", "webversion", "web-version",
    "browser", "itunes", "appstore", "app-store", "/store/apps",
)  # fmt: skip
# (Not "/app/": a site served under that path, "https://example.org/app/users/confirmation?...",
# sends its confirm links there; an app store's link has no one-use value and says "App Store".)
# Links to an order, a booking, a ticket or an invoice: a shop's "view or change your order"
# link carries a secret too, and "確認" (check) or "confirm your order" sit next to it, but
# it verifies no address. Whole phrases where the bare word has another sense ("in order
# to", Spanish "pedido" = asked).
LINK_ORDER_TERMS = (
    "your order", "the order", "order #", "order number", "order details", "view order",
    "my order", "invoice", "booking", "reservation", "bestellung", "rechnung", "buchung",
    "commande", "facture", "réservation", "tu pedido", "su pedido", "del pedido",
    "el pedido", "seu pedido", "do pedido", "encomenda", "factura", "fatura", "reserva",
    "ordine", "fattura", "prenotazion", "bestelling", "factuur", "boeking", "zamówieni",
    "faktur", "rezerwacj", "objednáv", "rendelés", "számla", "comanda", "comandă",
    "sipariş", "fatura", "rezervasyon", "beställning", "bestilling", "tilaus", "varaus",
    "заказ", "счёт", "бронир", "замовлен", "рахун", "παραγγελ", "τιμολόγ", "הזמנה",
    "חשבונית", "طلبك", "الطلب", "فاتورة", "سفارش", "فاکتور", "đơn hàng", "hóa đơn",
    "คำสั่งซื้อ", "pesanan", "ऑर्डर", "注文", "予約", "請求書", "订单", "訂單", "预订", "預訂",
    "發票", "发票", "주문", "예약", "송장",
)  # fmt: skip
# Path segments of the same.
URL_ORDER_TERMS = ("/order", "/invoice", "/booking", "/reservation", "/bestellung", "/commande")
# Said before a reset link, but as a link's own text the login form's "Forgot password?".
LINK_LEAD_TERMS = (
    "forgot your password", "forgotten your password", "forgot password", "lost your password",
    "passwort vergessen", "mot de passe oublié", "olvidaste tu contraseña",
    "olvidó su contraseña", "esqueceu sua senha", "esqueceu a sua senha",
    "esqueceu-se da sua palavra-passe", "password dimenticata", "dimenticato la password",
    "wachtwoord vergeten", "nie pamiętasz hasła", "zapomniałeś hasła", "zapomniane hasło",
    "забыли пароль", "забыли свой пароль", "забули пароль", "şifrenizi mi unuttunuz",
    "şifrenizi unuttuysanız", "parolanızı mı unuttunuz", "glömt ditt lösenord",
    "glemt din adgangskode", "glemt passordet", "unohditko salasanasi", "zapomněli jste heslo",
    "elfelejtette a jelszavát", "ai uitat parola", "ξεχάσατε τον κωδικό", "שכחת את הסיסמה",
    "نسيت كلمة المرور", "رمز عبور خود را فراموش", "quên mật khẩu", "ลืมรหัสผ่าน",
    "lupa kata sandi", "पासवर्ड भूल गए", "忘记密码", "忘記密碼", "パスワードをお忘れ",
    "비밀번호를 잊", "sign-in link", "sign in link", "login link", "log-in link",
    "link to sign in", "link to log in", "anmeldelink", "anmelde-link", "lien de connexion",
    "enlace de inicio de sesión", "enlace para iniciar sesión", "link de acesso",
    "link di accesso", "inloglink", "link do logowania", "ссылка для входа",
    "посилання для входу", "giriş bağlantısı", "inloggningslänk", "登录链接", "登入連結",
    "ログインリンク", "로그인 링크",
)  # fmt: skip
# What tells the reader to do nothing: a clause that says "if you did not ask, ignore this"
# leads to no remedy.
LINK_IGNORE_TERMS = (
    "ignore", "disregard", "no action", "no further action", "ignorieren", "ignorer",
    "ignorez", "ignora", "ignore este", "negeer", "zignoruj", "zignorować", "игнорир",
    "проигнорир", "ігнор", "проігнор", "görmezden", "dikkate almay", "ignorera", "ohita",
    "ignoruj", "ignorujte", "figyelmen kívül", "αγνοήστε", "התעלם", "تجاهل", "نادیده",
    "bỏ qua", "เพิกเฉย", "abaikan", "अनदेखा", "忽略", "無視", "무시",
    # Nothing further to do: the same advice.
    "nothing further", "nothing else to do", "don't need to do anything",
    "do not need to do anything", "no need to do anything", "keine weiteren schritte",
    "nichts weiter tun", "nichts zu tun", "rien d'autre à faire", "rien à faire",
    "aucune action", "no es necesario hacer nada", "no tienes que hacer nada",
    "não é necessário fazer nada", "não precisa fazer nada", "non è necessario fare nulla",
    "non devi fare nulla", "hoeft u niets", "hoef je niets", "nie musisz nic",
    "nie trzeba nic", "ничего делать не нужно", "не нужно ничего", "нічого робити не потрібно",
    "не потрібно нічого", "herhangi bir işlem yapmanız gerek", "behöver inte göra något",
    "behøver ikke gøre noget", "trenger ikke gjøre noe", "ei tarvitse tehdä mitään",
    "nemusíte nic", "nincs további teendő", "nincs teendő", "nu trebuie să faceți nimic",
    "δεν χρειάζεται να κάνετε τίποτα", "אין צורך לעשות", "لا حاجة", "لا داعي",
    "không cần làm gì", "ไม่ต้องดำเนินการ", "tidak perlu melakukan", "无需任何操作", "無需任何操作",
    "无需进行任何操作", "何もする必要はありません", "조치를 취할 필요가 없", "zanemarite",
    "занемарите", "ne morate ništa", "не морате ништа",
)  # fmt: skip
# Links that undo or refuse something: cancel a request, invalidate an address, revoke a
# session, "this wasn't me". Never the verification link, even in a sentence about
# confirming ("follow this link to cancel the e-mail address confirmation").
LINK_UNDO_TERMS = (
    "cancel", "invalidat", "invalider", "invalidez", "invalidar", "invalida ", "revoke", "revoca", "deactivat", "disavow", "not me", "wasn't me",
    "wasn’t me", "was not me", "not my", "abbrechen", "stornier", "widerruf", "rückgängig",
    "ungültig machen", "für ungültig", "deaktivier", "annullier", "nicht ich", "annuler", "annulez", "annulation",
    "révoqu", "désactiv", "pas moi", "anular", "anule", "revocar", "deshacer", "desactivar",
    "no fui yo", "revogar", "desfazer", "desativar", "não fui eu", "annulla", "disattiva",
    "non sono stato io", "non ero io", "annuleer", "annuleren", "intrekken", "ongeldig maken",
    "ongedaan", "deactiveer", "was ik niet", "anuluj", "anulow", "unieważn", "cofnij",
    "dezaktyw", "to nie ja", "zrušit", "zrušte", "zrušiť", "zneplatn", "deaktiv",
    "nebyl jsem", "отмен", "аннулир", "отозва", "деактив", "это был не я", "это не я",
    "скасу", "анулю", "відкли", "це був не я", "це не я", "iptal", "geri al", "ben değildim",
    "ben degildim", "avbryt", "ångra", "återkalla", "inte jag", "annuller", "tilbagekald",
    "fortryd", "ikke mig", "ikke meg", "peruuta", "peruut", "mitätöi", "en ollut minä",
    "visszavon", "érvénytelenít", "mégse", "nem én", "anulea", "anulați", "revocă", "nu am fost eu",
    "ακύρωσ", "ακυρώσ", "ανάκλη", "δεν ήμουν εγώ", "ביטול", "לבטל", "בטל", "לא אני",
    "إلغاء", "الغاء", "ألغ", "لم أكن أنا", "ليس أنا", "لغو", "من نبودم", "रद्द", "मैं नहीं",
    "hủy", "huỷ", "không phải tôi", "ยกเลิก", "ไม่ใช่ฉัน", "batalkan", "bukan saya",
    "取消", "撤销", "撤銷", "作废", "作廢", "使无效", "使無效", "不是我", "キャンセル", "取り消",
    "無効化", "無効にする", "私ではありません", "취소", "무효화", "제가 아닙니다", "본인이 아닙니다",
    "cancel·l", "anul·l", "revoc",
)  # fmt: skip
# What leads to a remedy link in a notice: "if this wasn't you, reset your password: ...".
# Read in the clause just before a link; such a link is never the verification link.
LINK_REMEDY_TERMS = (
    "if you did not", "if you didn't", "if you didn’t", "if this wasn't", "if this wasn’t",
    "if this was not", "if it wasn't", "if it wasn’t", "if it was not", "if that wasn't",
    "if that was not", "wasn't you", "wasn’t you", "not you?",
    "wenn sie das nicht", "falls sie das nicht", "wenn sie dies nicht", "falls sie dies nicht",
    "wenn du das nicht", "falls du das nicht", "wenn du dies nicht", "falls du dies nicht",
    "waren sie das nicht", "warst du das nicht", "nicht von ihnen", "nicht von dir",
    "si ce n'était pas vous", "si ce n’était pas vous", "si ce n'est pas vous",
    "si ce n’est pas vous", "si vous n'êtes pas à l", "si vous n’êtes pas à l",
    "si vous n'avez pas", "si vous n’avez pas", "si tu n'as pas", "si tu n’as pas",
    "si no fuiste", "si no has sido", "si no fue usted", "si no has ", "si usted no",
    "si tú no", "si no realizaste", "si no solicitaste",
    "se não foi você", "se não foi voce", "se você não", "se voce não", "caso não tenha",
    "se non sei stato", "se non sei stata", "se non è stato lei", "se non hai ",
    "als je dit niet", "als u dit niet", "als jij dit niet", "indien u dit niet",
    "was jij dit niet", "was u dit niet", "jeśli to nie ty", "jeżeli to nie ty",
    "jeśli nie ty", "jeśli nie prosiłeś", "jeśli nie zmieniałeś",
    "если это были не вы", "если это не вы", "если вы не", "якщо це були не ви",
    "якщо це не ви", "якщо ви не", "siz değilseniz", "sen değilsen", "yapmadıysanız",
    "etmediyseniz", "om det inte var du", "om du inte", "hvis det ikke var dig",
    "hvis det ikke var deg", "hvis du ikke", "jos et itse", "jos et ollut",
    "pokud jste to nebyl", "pokud jste to nebyla", "ha nem ön", "ha nem te",
    "dacă nu ați fost", "dacă nu ai fost", "αν δεν ήσασταν", "αν δεν ήσουν", "εάν δεν",
    "إذا لم تكن أنت", "إذا لم تقم", "אם זה לא היית", "אם לא אתה", "אם לא ביקשת",
    "اگر شما نبودید", "nếu không phải bạn", "nếu bạn không", "หากไม่ใช่คุณ", "ถ้าไม่ใช่คุณ",
    "หากคุณไม่ได้", "jika bukan anda", "jika anda tidak", "यदि यह आप नहीं", "अगर यह आप नहीं",
    "如果不是你", "如果不是您", "若不是您", "若非本人", "如非本人", "不是本人", "如果这不是", "如果這不是",
    "如果您没有", "如果您沒有", "如果你没有", "如果你沒有", "心当たりがない", "身に覚えがない",
    "ご本人でない", "본인이 아닌", "요청하지 않으셨다면", "si no has estat",
    "ef þú breyttir ekki", "ef þetta varst ekki þú", "ef þú gerðir þetta ekki",
    "ef þú baðst ekki", "ako niste vi", "ako to niste", "ako vi niste", "ukoliko niste",
    "ukoliko vi niste", "ukoliko je niste", "ukoliko to niste", "ако ви нисте", "уколико нисте",
    "уколико ви нисте", "уколико то нисте", "če to niste bili", "če niste",
    "jei tai buvote ne jūs", "jei tai ne jūs", "ja tas nebijāt jūs", "kui see polnud",
    "kui te ei", "ако това не сте", "ако не сте", "ако то нисте", "nëse nuk ishit",
    "kama si wewe", "kung hindi ikaw",
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
    "すでに存在", "既に登録", "すでに登録", "変更されました", "変更しました", "已存在", "已注册", "已註冊",
    "已更改", "已修改", "已被更改", "已被修改", "已重置", "이미 존재", "이미 등록", "변경되었습니다",
    "ja existeix", "s'ha canviat", "ha estat canviad", "in our system", "in unserem system",
    "dans notre système", "в нашей системе", "nel nostro sistema", "en nuestro sistema",
    "no nosso sistema", "in ons systeem", "w naszym systemie", "sistemimizde",
    "в нашій системі", "i vårt system", "i vores system", "is verander", "al nostre sistema",
    "a rendszerünkben", "gewijzigd", "geändert", "changé", "modifié", "cambiad", "alterad",
    "modificat ", "modificat.", "modificat,", "modificată", "zmienion", "değiştiril", "ändrats", "ændret", "endret", "vaihdettu",
    "změněn", "megváltozott", "schimbat ", "schimbat.", "schimbat,", "schimbată", "змінен", "изменил", "je promijenjen", "uspješno promijenjen", "promijenjena je", "je promjenjen", "promjenjena je",
    "uspešno promenjen", "promenjena je", "је промењен", "успешно промењен", "промењена је", "muudeti", "muutunud", "muudetud", "تغییر یافت", "تغییر داده",
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
    "已更改", "変更され", "spremenjen", "pakeistas", "zmenen", "је промијењен",
    # Changed, in forms the stems above miss.
    "изменен ", "изменен.", "è cambiat", "stato cambiat", "è stata cambiat", "è stato modificat",
    "беше променен", "е променен", "вече съществува", "već postoji", "že obstaja",
    "jau egzistuoja", "jau eksistē", "ir mainīt", "ir nomainīt", "արդեն մեր համակարգում",
    "արդեն գրանցված", "արդեն գոյություն", "փոխվել է", "უკვე არსებობს", "შეიცვალა",
    "verið breytt", "er þegar til", "je spremenjen", "je promijenjen", "je promenjen",
    "buvo pakeistas", "tika mainīta", "u ndryshua", "imebadilishwa", "ay binago",
    # Deactivated: "activate" inside it asks for nothing.
    "deactivated", "autodeactivated", "deaktiviert", "désactivé", "desactivad", "desativad",
    "disattivat", "gedeactiveerd", "dezaktywowan", "деактивирован", "деактивовано",
    # A new sign-in to the account: its links are "change your password" remedies.
    "new sign-in to", "new sign-in from", "new sign-in on", "new sign-in detected",
    "new login to", "new login from", "new login on", "new login detected",
    "signed in from", "logged in from", "signed in on a new", "logged in on a new",
    "signed in to your account from", "unrecognized device", "unrecognised device",
    "unusual sign-in", "unusual login", "suspicious sign-in", "suspicious login",
    "neue anmeldung", "neuen anmeldung", "neues gerät", "nouvelle connexion",
    "nouvel appareil", "nuevo inicio de sesión", "nuevo dispositivo", "novo login",
    "novo acesso", "novo dispositivo", "nuovo accesso", "nuovo dispositivo",
    "nieuwe aanmelding", "nieuwe login", "nieuw apparaat", "nowe logowanie",
    "nowe urządzenie", "новый вход", "новое устройство", "новий вхід", "новий пристрій",
    "yeni oturum açma", "yeni giriş", "yeni cihaz", "ny inloggning", "ny enhet", "nyt login",
    "ny pålogging", "uusi kirjautuminen", "nové přihlášení", "új bejelentkezés",
    "autentificare nouă", "νέα σύνδεση", "כניסה חדשה", "تسجيل دخول جديد", "ورود جدید",
    "đăng nhập mới", "การเข้าสู่ระบบใหม่", "login baru", "नया लॉगिन", "新登录", "新登入", "新登錄",
    "新しいログイン", "新しいデバイス", "새로운 로그인", "새 로그인", "새 기기",
    # Already done: an account activated or confirmed, two-step sign-in turned on or off.
    "has been activated", "was activated", "is now active", "has been approved",
    "is confirmed", "is now confirmed", "is verified", "is now verified", "are confirmed",
    "was approved", "has been verified", "was verified", "successfully verified",
    "has been confirmed", "was confirmed", "successfully confirmed", "has been enabled",
    "was enabled", "has been disabled", "was disabled", "has been deleted", "was deleted",
    "wurde aktiviert", "ist jetzt aktiv", "wurde bestätigt", "wurde freigeschaltet",
    "wurde deaktiviert", "wurde gelöscht", "a été activé", "a été activée",
    "est maintenant actif", "a été confirmé", "a été confirmée", "a été vérifié",
    "a été désactivé", "a été supprimé", "ha sido activad", "ha sido confirmad",
    "ha sido verificad", "ha sido desactivad", "ha sido eliminad", "foi ativad",
    "foi confirmad", "foi verificad", "foi desativad", "foi excluíd", "stato attivat",
    "stata attivat", "stato confermat", "stata confermat", "stato disattivat",
    "stata disattivat", "is geactiveerd", "is bevestigd", "is geverifieerd",
    "is uitgeschakeld", "is verwijderd", "zostało aktywowan", "zostało potwierdzon",
    "zostało zweryfikowan", "została aktywowan", "został aktywowan", "został potwierdzon",
    "был активирован", "была активирована", "было активировано", "активирован",
    "подтверждён", "был подтвержден", "была подтверждена", "активовано", "активований",
    "etkinleştirildi", "aktifleştirildi", "onaylandı", "doğrulandı", "har aktiverats",
    "har bekräftats", "har verifierats", "er aktiveret", "er blevet aktiveret", "er bekræftet",
    "er aktivert", "har blitt aktivert", "er bekreftet", "on aktivoitu", "on vahvistettu",
    "byl aktivován", "byla aktivována", "bylo aktivováno", "byl ověřen", "byla ověřena",
    "aktiválva", "aktiválódott", "a fost activat", "a fost confirmat", "ενεργοποιήθηκε",
    "επιβεβαιώθηκε", "הופעל", "אומת", "تم تفعيل", "تم تأكيد", "فعال شد", "تأیید شد",
    "đã được kích hoạt", "đã được xác nhận", "เปิดใช้งานแล้ว", "ยืนยันแล้ว", "telah diaktifkan",
    "sudah diaktifkan", "telah dikonfirmasi", "telah diverifikasi", "सक्रिय कर दिया गया",
    "सक्रिय हो गया", "已激活", "已启用", "已啟用", "已验证", "已驗證", "已确认", "已確認",
    "有効化されました", "有効になりました", "確認されました", "登録が完了", "활성화되었습니다",
    "인증되었습니다", "확인되었습니다",
)  # fmt: skip
# A change that can be made is none that was made: "Su clave puede ser cambiada siguiendo el
# siguiente enlace" asks the reader to change it. Matched over the participles above, as the
# longer term that starts first.
NOTICE_MODAL_TERMS = (
    "can be changed", "can be reset", "may be changed", "can be updated",
    "kann geändert", "können geändert", "kann zurückgesetzt", "können zurückgesetzt",
    "peut être changé", "peut être modifié", "pourra être changé", "pourra être modifié",
    "peut être réinitialisé", "puede ser cambiad", "pueden ser cambiad", "podrá ser cambiad",
    "puede ser modificad", "puede ser restablecid", "puede cambiar", "pode ser alterad",
    "pode ser modificad", "pode ser redefinid", "poderá ser alterad", "può essere cambiat",
    "può essere modificat", "può essere reimpostat", "potrà essere cambiat",
    "kan worden gewijzigd", "kan gewijzigd", "może zostać zmienion", "może być zmienion",
    "pot ser canviad", "poate fi schimbat", "poate fi modificat", "kan ändras", "kan ændres",
    "kan endres", "může být změněn", "môže byť zmenen", "može biti promijenjen",
    "može biti promenjen", "может быть изменен", "может быть изменён", "може бути змінен",
    "değiştirilebilir", "voidaan vaihtaa", "megváltoztatható", "μπορεί να αλλάξει",
)  # fmt: skip
# A link whose whole text names a social network or a messenger is a profile link.
SOCIAL_ANCHORS = frozenset({
    "facebook", "twitter", "x", "instagram", "linkedin", "youtube", "tiktok", "pinterest",
    "github", "gitlab", "discord", "mastodon", "telegram", "whatsapp", "reddit", "threads",
    "bluesky", "snapchat", "vk", "vkontakte", "weibo", "wechat", "line", "kakaotalk",
    "xing", "slack", "twitch", "medium", "dribbble", "behance",
})  # fmt: skip
GENERIC_ANCHORS = frozenset({
    "", "click here", "here", "this link", "link", "click", "button", "hier", "hier klicken",
    "ici", "cliquez ici", "aquí", "haz clic aquí", "aqui", "clique aqui", "здесь", "сюда",
    "这里", "点击这里", "こちら", "ここ", "여기",
})  # fmt: skip
