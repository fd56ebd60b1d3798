// The WebSocket API: a one-use ticket from `POST /realtime/tickets`, then `wss://…?ticket=`.
// Frames a client sends are typed from the server's route table (src/frames.ts); frames it
// receives carry a `type` (`notification`, `chat.message`, `chat.read`, `chat.typing`, …).
import type { ClientFrame } from "./frames.ts";
import type { PetPlatform } from "./index.ts";

/** A frame from the server. */
export interface ServerFrame {
  type: string;
  [field: string]: unknown;
}

export interface SocketOptions {
  /** The WebSocket API's URL (`wss://<api>.execute-api.<region>.amazonaws.com/live`; locally `ws://127.0.0.1:3001`). */
  url: string;
  /** A WebSocket constructor where there is no global one (Node.js 20: the `ws` package). */
  WebSocket?: new (url: string) => WebSocket;
}

export interface Socket {
  send(frame: ClientFrame): void;
  /** Every frame as it comes. */
  onFrame(listener: (frame: ServerFrame) => void): void;
  /** The next frame of `type` (that `matches`, when given), or an error after `timeoutMs`. */
  next(type: string, timeoutMs?: number, matches?: (frame: ServerFrame) => boolean): Promise<ServerFrame>;
  close(): void;
}

/** Opens the signed-in user's connection. */
export async function openSocket(client: PetPlatform, options: SocketOptions): Promise<Socket> {
  const { data, response } = await client.api.POST("/realtime/tickets");
  if (!data) throw new Error(`no ticket: ${response.status}`);
  const Impl = options.WebSocket ?? globalThis.WebSocket;
  const ws = new Impl(`${options.url}?ticket=${encodeURIComponent(data.ticket)}`);
  const listeners: ((f: ServerFrame) => void)[] = [];
  ws.addEventListener("message", (event: MessageEvent) => {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(String(event.data));
    } catch {
      return;
    }
    for (const l of [...listeners]) l(frame);
  });
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("error", () => reject(new Error("the WebSocket did not open")), { once: true });
  });
  return {
    send: (frame) => ws.send(JSON.stringify(frame)),
    onFrame: (l) => void listeners.push(l),
    next(type, timeoutMs = 10_000, matches = () => true) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.splice(listeners.indexOf(listener), 1);
          reject(new Error(`no ${type} frame within ${timeoutMs} ms`));
        }, timeoutMs);
        const listener = (f: ServerFrame) => {
          if (f.type !== type || !matches(f)) return;
          clearTimeout(timer);
          listeners.splice(listeners.indexOf(listener), 1);
          resolve(f);
        };
        listeners.push(listener);
      });
    },
    close: () => ws.close(),
  };
}
