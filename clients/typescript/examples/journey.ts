// The client against a running stack, as an app would use it: two people sign up (the code read
// from the local mailbox), one posts, the other likes it, and the first hears of it live.
//   BASE_URL=http://127.0.0.1:3000 WS_URL=ws://127.0.0.1:3001 npm run example
import WebSocket from "ws";
import { ApiError, openSocket, petPlatform, type PetPlatform } from "../src/index.ts";

const base = process.env.BASE_URL ?? "http://127.0.0.1:3000";
const wsUrl = process.env.WS_URL ?? "ws://127.0.0.1:3001";
const run = Date.now().toString(36);

/** The verification code mailed to `email` (the local stack's mailbox: not part of the API). */
async function mailedCode(email: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const mails = (await (await fetch(`${base}/_local/mail?to=${encodeURIComponent(email)}`)).json()) as { text: string }[];
    const code = mails.map((m) => /\b(\d{6})\b/.exec(m.text)?.[1]).find(Boolean);
    if (code) return code;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no code mailed to ${email}`);
}

async function person(nickname: string): Promise<PetPlatform> {
  const client = petPlatform(base);
  const email = `${nickname}-${run}@example.com`;
  const password = "walks4ever";
  const signUp = await client.api.POST("/auth/signup", { body: { email, password, name: "김민지", nickname: `${nickname}_${run}` } });
  if (!signUp.data) throw new ApiError(signUp.response.status, signUp.error as never);
  const verified = await client.api.POST("/auth/email/verify", { body: { email, code: await mailedCode(email) } });
  if (!verified.response.ok) throw new Error(`verification: ${verified.response.status}`);
  const signedIn = await client.signIn(email, password);
  console.log(`${signedIn.user.nickname} signed in`);
  return client;
}

const mina = await person("mina");
const joon = await person("joon");
const socket = await openSocket(mina, { url: wsUrl, WebSocket: WebSocket as never });

const post = await mina.api.POST("/posts", { body: { title: "한강 산책", content: "오늘은 한강에서 산책했어요", mediaKeys: [] } });
if (!post.data) throw new Error(`post: ${post.response.status}`);
const postId = post.data.id;
console.log(`mina posted ${postId}`);

const heard = socket.next("notification", 15_000);
const liked = await joon.api.PUT("/posts/{id}/like", { params: { path: { id: postId } } });
if (!liked.data) throw new Error(`like: ${liked.response.status}`);
console.log(`joon liked it: ${liked.data.likeCount} like(s)`);
const frame = await heard;
const notification = frame.notification as { type: string; targetId: string };
if (notification.targetId !== postId) throw new Error(`a notification about something else: ${JSON.stringify(frame)}`);
console.log(`mina heard it live: ${notification.type} on ${notification.targetId}`);

const me = await mina.api.GET("/users/me");
console.log(`mina's account: ${me.data?.email}`);
socket.close();
