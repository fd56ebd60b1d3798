// The runtime loop of Lambda's managed Node.js runtime, reduced to what it does per invocation:
// ask the Runtime API for the next event, call the handler, post its answer (or its error). The
// handler module is imported first, as the managed runtime does during init.
import http from "node:http";

const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const { handler } = await import(new URL("./index.mjs", import.meta.url));

function request(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path: `/2018-06-01/runtime${path}`, agent }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    if (body !== undefined) req.setHeader("content-type", "application/json");
    req.end(body);
  });
}

for (;;) {
  const next = await request("GET", "/invocation/next");
  const id = next.headers["lambda-runtime-aws-request-id"];
  try {
    const result = await handler(JSON.parse(next.body));
    await request("POST", `/invocation/${id}/response`, JSON.stringify(result));
  } catch (e) {
    await request("POST", `/invocation/${id}/error`, JSON.stringify({ errorMessage: String(e), errorType: "Error" }));
  }
}
