// Drives @cemalgnlts/mailjs, unchanged but for its two base URLs, through a whole mail.tm flow
// against tempmail. Prints one JSON line per step; tests/test_mailtm.py reads them and sends
// the mail over SMTP when it sees {"step": "listening"}.
import Mailjs from "@cemalgnlts/mailjs";

const [base, address, password] = process.argv.slice(2);
const mailjs = new Mailjs();
mailjs.baseUrl = base;
mailjs.baseMercure = `${base}/.well-known/mercure`;

const say = (step, data) => console.log(JSON.stringify({ step, data }));
const fail = (step, result) => {
  say("failed", { step, result });
  process.exit(1);
};

const domains = await mailjs.getDomains();
if (!domains.status) fail("domains", domains);
say("domains", domains.data.map((item) => item.domain));

const registered = await mailjs.register(address, password);
if (!registered.status) fail("register", registered);
say("register", { statusCode: registered.statusCode, address: registered.data.address });

const again = await mailjs.register(address, password);
say("register-again", { statusCode: again.statusCode, message: again.message });

const wrong = await mailjs.login(address, password + "x");
say("login-wrong", { status: wrong.status, statusCode: wrong.statusCode, message: wrong.message });

const login = await mailjs.login(address, password);
if (!login.status) fail("login", login);
const me = await mailjs.me();
say("me", { id: me.data.id, address: me.data.address, loginId: login.data.id });

// mailjs takes the "open" callback only when it opens the stream, i.e. on the first `on`.
mailjs.on("open", () => say("listening", null));
const arrived = new Promise((resolve) => mailjs.on("arrive", resolve));
mailjs.on("error", (error) => say("sse-error", String(error?.message ?? error)));
const message = await arrived;
say("arrive", { id: message.id, subject: message.subject, from: message.from });

const detail = await mailjs.getMessage(message.id);
if (!detail.status) fail("message", detail);
say("message", {
  subject: detail.data.subject,
  text: detail.data.text,
  html: detail.data.html,
  attachments: detail.data.attachments.map((item) => item.filename),
  msgid: detail.data.msgid,
});
const source = await mailjs.getSource(message.id);
if (!source.status) fail("source", source);
say("source", { data: source.data.data, downloadUrl: source.data.downloadUrl });

const seen = await mailjs.setMessageSeen(message.id);
say("seen", { status: seen.status, seen: seen.data.seen });
const listed = await mailjs.getMessages();
say("messages", listed.data.map((item) => ({ id: item.id, seen: item.seen })));

const deleted = await mailjs.deleteMessage(message.id);
say("delete-message", { statusCode: deleted.statusCode });
const missing = await mailjs.getMessage(message.id);
say("message-gone", { statusCode: missing.statusCode, message: missing.message });

mailjs.off();
const gone = await mailjs.deleteMe();
say("delete-account", { statusCode: gone.statusCode });
const after = await mailjs.loginWithToken(login.data.token);
say("token-after-delete", { statusCode: after.statusCode });
