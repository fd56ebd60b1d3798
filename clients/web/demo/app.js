// The browser demo: the API as a person uses it, in Korean. No framework: fetch for the HTTP
// API, one WebSocket for everything live (chat, read receipts, typing, notifications, the sale's
// status). Served by the local stack at /demo; the WebSocket API's address comes from
// /demo/config.json.

const $ = (sel) => document.querySelector(sel);
const state = { tokens: null, me: null, socket: null, room: null, lastTyping: 0, typingTimer: null, config: null, created: [] };

const STATUS = { SALE: "판매 중", RESERVED: "예약 중", SOLD: "판매 완료" };
const KINDS = {
  LIKE: "좋아요", COMMENT: "댓글", REPLY: "답글", MENTION: "언급", FOLLOW: "팔로우", CHAT: "채팅",
  PAYOUT: "정산", REFUND: "환불", TRADE_SOLD: "거래", HEALTH_REMINDER: "건강 알림", PRESCRIPTION_READ: "처방전",
  ACCOUNT_UNBLOCKED: "계정", CONTENT_REMOVED: "신고 처리", REPORT_DECIDED: "신고 처리", COMMUNITY: "커뮤니티",
  CAMPAIGN: "캠페인", NOTICE: "공지",
};

function toast(text) {
  const t = $("#toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.hidden = true), 4000);
}

/** One API call; a problem+json answer becomes an error with its code and detail. */
async function api(method, path, body) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (state.tokens) headers.authorization = `Bearer ${state.tokens.accessToken}`;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const err = new Error(data?.detail ?? `${res.status}`);
    err.code = data?.code;
    throw err;
  }
  return data;
}

/** Uploads a photo (a presigned PUT to the bucket) for `purpose`: its media key. */
async function upload(file, purpose) {
  const ticket = await api("POST", "/uploads", { purpose, contentType: file.type, contentLength: file.size });
  const res = await fetch(ticket.uploadUrl, { method: ticket.method ?? "PUT", headers: ticket.headers ?? { "content-type": file.type }, body: file });
  if (!res.ok) throw new Error(`사진을 올리지 못했어요 (${res.status})`);
  return ticket.key;
}

function guard(form, run) {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await run(new FormData(form));
    } catch (err) {
      toast(`문제가 생겼어요: ${err.message}`);
    } finally {
      button.disabled = false;
    }
  });
}

// --- Signing up and in ---------------------------------------------------------------------

let pending = null;
guard($("#signup-form"), async (f) => {
  pending = { email: f.get("email"), password: f.get("password") };
  await api("POST", "/auth/signup", { email: pending.email, password: pending.password, name: f.get("name"), nickname: f.get("nickname") });
  $("#signup-form").hidden = true;
  $("#verify-form").hidden = false;
  toast("인증 코드를 메일로 보냈어요.");
});

$("#fetch-code").addEventListener("click", async () => {
  // The local stack's mailbox (not part of the API): in a deployment the code arrives by email.
  for (let i = 0; i < 50; i++) {
    const mails = await (await fetch(`/_local/mail?to=${encodeURIComponent(pending.email)}`)).json();
    const code = mails.map((m) => /\b(\d{6})\b/.exec(m.text)?.[1]).find(Boolean);
    if (code) {
      $("#verify-form [name=code]").value = code;
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  toast("메일을 찾지 못했어요.");
});

guard($("#verify-form"), async (f) => {
  await api("POST", "/auth/email/verify", { email: pending.email, code: f.get("code") });
  await signIn(pending.email, pending.password);
});

guard($("#login-form"), async (f) => signIn(f.get("email"), f.get("password")));

async function signIn(email, password) {
  const pair = await api("POST", "/auth/login", { email, password });
  state.tokens = { accessToken: pair.accessToken, refreshToken: pair.refreshToken };
  state.me = pair.user;
  $("#me-name").textContent = state.me.nickname;
  $("#auth").hidden = true;
  $("#app").hidden = false;
  $("#whoami").hidden = false;
  await connect();
  await Promise.all([showFeed(), loadSpecies(), showPets(), showListings(), showRooms(), showInbox()]);
}

$("#sign-out").addEventListener("click", async () => {
  try {
    await api("POST", "/auth/logout", { refreshToken: state.tokens.refreshToken });
  } finally {
    location.reload();
  }
});

// --- Tabs ----------------------------------------------------------------------------------

for (const b of document.querySelectorAll("nav button")) {
  b.addEventListener("click", () => openTab(b.dataset.tab));
}
$("#bell").addEventListener("click", () => openTab("inbox"));

// Lists others add to (the market, my rooms) are read again every few seconds while shown.
setInterval(() => {
  if (!state.me) return;
  if (!$("#tab-market").hidden) showListings().catch(() => {});
  if (!$("#tab-chat").hidden) showRooms().catch(() => {});
}, 2500);

function openTab(name) {
  for (const b of document.querySelectorAll("nav button")) b.classList.toggle("active", b.dataset.tab === name);
  for (const t of document.querySelectorAll(".tab")) t.hidden = t.id !== `tab-${name}`;
  ({ feed: showFeed, pets: showPets, market: showListings, chat: showRooms, inbox: showInbox })[name]?.();
}

// --- The feed ------------------------------------------------------------------------------

guard($("#post-form"), async (f) => {
  const photo = f.get("photo");
  const mediaKeys = photo && photo.size ? [await upload(photo, "post")] : [];
  await api("POST", "/posts", { content: f.get("content"), mediaKeys });
  $("#post-form").reset();
  toast("글을 올렸어요.");
  await showFeed();
});

async function showFeed() {
  const [feed, mine] = await Promise.all([api("GET", "/feed"), api("GET", `/users/${state.me.id}/posts`)]);
  const seen = new Set();
  const posts = [...mine.items, ...feed.items].filter((p) => !seen.has(p.id) && seen.add(p.id));
  $("#feed").replaceChildren(
    ...posts.map((p) => {
      const li = document.createElement("li");
      li.innerHTML = `<strong></strong> <span class="muted"></span><p></p>`;
      li.querySelector("strong").textContent = p.author?.nickname ?? "(알 수 없음)";
      li.querySelector(".muted").textContent = `♥ ${p.likeCount}`;
      li.querySelector("p").textContent = p.content;
      for (const m of p.media ?? []) {
        const img = document.createElement("img");
        img.src = m.url;
        img.alt = "첨부 사진";
        li.append(img);
      }
      return li;
    }),
  );
  if (!posts.length) $("#feed").innerHTML = `<li class="muted">아직 글이 없어요.</li>`;
}

// --- Pets ----------------------------------------------------------------------------------

async function loadSpecies() {
  const list = await api("GET", "/species");
  $("#species").replaceChildren(
    ...list.items.map((s) => Object.assign(document.createElement("option"), { value: s.id, textContent: s.nameKo })),
  );
}

guard($("#pet-form"), async (f) => {
  await api("POST", "/pets", { name: f.get("name"), speciesId: f.get("speciesId"), gender: f.get("gender") });
  $("#pet-form").reset();
  toast("반려동물을 등록했어요.");
  await showPets();
});

async function showPets() {
  const pets = await api("GET", "/pets");
  $("#pets").replaceChildren(
    ...pets.items.map((p) => {
      const li = document.createElement("li");
      li.textContent = `${p.name} · ${p.species?.nameKo ?? ""} · ${p.gender === "MALE" ? "남아" : "여아"}${p.isMain ? " · 대표" : ""}`;
      return li;
    }),
  );
}

// --- The market ----------------------------------------------------------------------------

guard($("#listing-form"), async (f) => {
  const key = await upload(f.get("photo"), "market");
  const created = await api("POST", "/market/posts", {
    title: f.get("title"),
    description: f.get("description"),
    price: Number(f.get("price")),
    category: f.get("category"),
    imageKeys: [key],
    location: { lat: 37.5665, lng: 126.978, address: "서울 중구" },
  });
  $("#listing-form").reset();
  toast("판매글을 올렸어요.");
  state.created.unshift(created);
  await showListings();
});

async function showListings() {
  const list = await api("GET", "/market/posts");
  // The list is an index, which takes a moment to show a new listing: mine are shown at once.
  const listed = new Set(list.items.map((l) => l.id));
  const items = [...state.created.filter((l) => !listed.has(l.id)), ...list.items];
  $("#listings").replaceChildren(
    ...items.map((l) => {
      const li = document.createElement("li");
      li.dataset.listing = l.id;
      li.innerHTML = `<strong></strong> <span class="price"></span> <span class="muted status"></span><p></p>`;
      li.querySelector("strong").textContent = l.title;
      li.querySelector(".price").textContent = `${l.price.toLocaleString("ko-KR")}원`;
      li.querySelector(".status").textContent = STATUS[l.status] ?? l.status;
      li.querySelector("p").textContent = `${l.seller?.nickname ?? ""} · ${l.description}`;
      if (l.imageUrls?.[0]) li.append(Object.assign(document.createElement("img"), { src: l.imageUrls[0], alt: l.title }));
      if (l.seller?.id !== state.me.id && l.status !== "SOLD") {
        const ask = Object.assign(document.createElement("button"), { textContent: "채팅으로 문의하기" });
        ask.addEventListener("click", async () => {
          const room = await api("POST", "/chat/rooms", { marketPostId: l.id });
          openTab("chat");
          await openRoom(room.id);
        });
        li.append(ask);
      }
      return li;
    }),
  );
}

// --- Chat ----------------------------------------------------------------------------------

async function showRooms() {
  const rooms = await api("GET", "/chat/rooms");
  $("#rooms").replaceChildren(
    ...rooms.items.map((r) => {
      const li = document.createElement("li");
      li.dataset.room = r.id;
      const others = r.participants.filter((p) => p.id !== state.me.id).map((p) => p.nickname).join(", ");
      li.textContent = `${r.marketPost ? `[${r.marketPost.title}] ` : ""}${others}${r.unreadCount ? ` · 안 읽음 ${r.unreadCount}` : ""}`;
      li.addEventListener("click", () => openRoom(r.id));
      return li;
    }),
  );
}

async function openRoom(id) {
  if (state.room && state.room.id !== id) state.socket.send(JSON.stringify({ action: "leaveRoom", roomId: state.room.id }));
  const [room, page, members] = await Promise.all([
    api("GET", `/chat/rooms/${id}`),
    api("GET", `/chat/rooms/${id}/messages?limit=50`),
    api("GET", `/chat/rooms/${id}/participants`),
  ]);
  const listing = room.marketPost;
  // Who sells: the listing's seller (the room names the listing, not its seller).
  const sellerId = listing ? (await api("GET", `/market/posts/${listing.id}`)).seller?.id : null;
  state.room = { ...room, sellerId, readBy: {} };
  for (const p of members.items ?? members ?? []) {
    if (p.user?.id !== state.me.id && p.lastReadMessageId) state.room.readBy[p.user.id] = p.lastReadMessageId;
  }
  $("#room").hidden = false;
  $("#room-title").textContent = listing ? `${listing.title} · ${listing.price.toLocaleString("ko-KR")}원` : room.name ?? "채팅";
  $("#sale").hidden = !listing;
  $("#sale-status").textContent = listing ? STATUS[listing.status] ?? listing.status : "";
  const selling = Boolean(listing) && sellerId === state.me.id;
  $("#approve").hidden = !selling;
  $("#approve").disabled = room.purchaseApproved || listing?.status === "SOLD";
  $("#pay").hidden = !listing || selling;
  $("#pay").disabled = !room.purchaseApproved || listing?.status === "SOLD";
  $("#pay-result").textContent = "";
  $("#messages").replaceChildren();
  for (const m of [...page.items].reverse()) addMessage(m);
  // Read first (the others see "읽음"), then in the room (later messages count as read at once).
  const last = lastFromOthers();
  if (last) await api("PUT", `/chat/rooms/${id}/read`, { messageId: last }).catch(() => {});
  state.socket.send(JSON.stringify({ action: "enterRoom", roomId: id }));
  showReceipts();
}

function addMessage(m) {
  const li = document.createElement("li");
  li.dataset.message = m.id;
  li.classList.toggle("mine", m.senderId === state.me.id);
  li.textContent = m.deleted ? "(삭제된 메시지)" : m.content;
  if (m.senderId === state.me.id) li.append(Object.assign(document.createElement("span"), { className: "receipt" }));
  $("#messages").append(li);
  $("#messages").scrollTop = $("#messages").scrollHeight;
}

/** "읽음" on each of my messages another member has read up to. */
function showReceipts() {
  const reads = Object.values(state.room?.readBy ?? {});
  for (const li of document.querySelectorAll("#messages li.mine")) {
    const read = reads.some((upTo) => upTo >= li.dataset.message);
    li.querySelector(".receipt").textContent = read ? "읽음" : "";
  }
}

/** The newest message in the open room that someone else sent. */
function lastFromOthers() {
  return [...document.querySelectorAll("#messages li")].filter((li) => !li.classList.contains("mine")).pop()?.dataset.message;
}

function markRead() {
  const last = lastFromOthers();
  if (last) state.socket.send(JSON.stringify({ action: "read", roomId: state.room.id, messageId: last }));
}

$("#message-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = $("#message-form [name=content]");
  const content = input.value.trim();
  if (!content || !state.room) return;
  state.socket.send(JSON.stringify({ action: "sendMessage", roomId: state.room.id, clientMessageId: crypto.randomUUID(), content }));
  input.value = "";
});

$("#message-form [name=content]").addEventListener("input", () => {
  // The server passes typing on at most once every 3 seconds.
  if (!state.room || Date.now() - state.lastTyping < 3000) return;
  state.lastTyping = Date.now();
  state.socket.send(JSON.stringify({ action: "typing", roomId: state.room.id }));
});

$("#approve").addEventListener("click", async () => {
  await api("PUT", `/chat/rooms/${state.room.id}/purchase-approval`, { approved: true });
  $("#approve").disabled = true;
  toast("구매를 승인했어요.");
});

$("#pay").addEventListener("click", async () => {
  const listing = state.room.marketPost;
  try {
    const order = await api("POST", `/market/posts/${listing.id}/orders`, {});
    // Toss Payments' checkout widget, as the local sandbox stands in for it: the buyer approves
    // the payment there and comes back with a payment key.
    const widget = await fetch("/_local/toss/checkout", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ orderId: order.orderId, amount: order.amount, outcome: "APPROVE" }),
    }).then((r) => r.json());
    const done = await api("POST", "/payments/confirm", { paymentKey: widget.paymentKey, orderId: order.orderId, amount: order.amount });
    $("#pay-result").textContent = done.order?.status === "DONE" ? "결제 완료" : "결제 요청됨";
    $("#pay").disabled = true;
  } catch (err) {
    $("#pay-result").textContent = `결제하지 못했어요: ${err.message}`;
  }
});

// --- Everything live -----------------------------------------------------------------------

async function connect() {
  state.config ??= await (await fetch("/demo/config.json")).json();
  const { ticket } = await api("POST", "/realtime/tickets");
  const socket = new WebSocket(`${state.config.websocketUrl}?ticket=${encodeURIComponent(ticket)}`);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = () => reject(new Error("실시간 연결에 실패했어요"));
  });
  socket.onmessage = (e) => onFrame(JSON.parse(e.data));
  socket.onclose = () => setTimeout(() => connect().catch(() => {}), 2000);
  state.socket = socket;
}

function onFrame(f) {
  const here = state.room && f.roomId === state.room.id;
  switch (f.type) {
    case "notification":
      $("#unread").textContent = f.unreadCount;
      toast(f.notification.title ?? f.notification.body ?? "새 알림");
      if (!$("#tab-inbox").hidden) showInbox();
      break;
    case "chat.message":
      if (here) {
        addMessage(f.message);
        if (f.message.senderId !== state.me.id) markRead();
        showReceipts();
      } else if (!$("#tab-chat").hidden) {
        showRooms();
      }
      break;
    case "chat.read":
      if (here && f.userId !== state.me.id) {
        state.room.readBy[f.userId] = f.messageId;
        showReceipts();
      }
      break;
    case "chat.typing":
      if (here && f.userId !== state.me.id) {
        $("#typing").hidden = false;
        clearTimeout(state.typingTimer);
        state.typingTimer = setTimeout(() => ($("#typing").hidden = true), 3500);
      }
      break;
    case "market.approval":
      if (here) {
        state.room.purchaseApproved = f.approved;
        $("#pay").disabled = !f.approved;
        if (f.approved) toast("판매자가 구매를 승인했어요.");
      }
      break;
    case "market.saleStatus":
      if (state.room?.marketPost?.id === f.marketPostId) {
        state.room.marketPost.status = f.status;
        $("#sale-status").textContent = STATUS[f.status] ?? f.status;
      }
      if (!$("#tab-market").hidden) showListings();
      break;
    case "error":
      toast(`실시간 오류: ${f.message ?? f.code}`);
      break;
  }
}

// --- The inbox -----------------------------------------------------------------------------

async function showInbox() {
  const list = await api("GET", "/notifications");
  $("#unread").textContent = list.items.filter((n) => !n.read).length;
  $("#notifications").replaceChildren(
    ...list.items.map((n) => {
      const li = document.createElement("li");
      li.textContent = `[${KINDS[n.type] ?? n.type}] ${n.title ?? ""} ${n.body ?? ""}`;
      return li;
    }),
  );
}
