// The Node.js side of the cold-start comparison: what `GET /health` does (one GetItem of a key
// that need not exist), written as a Node.js 20 Lambda handler would be, with the client built
// at module load as AWS recommends.
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";

const client = new DynamoDBClient({});
const table = process.env.TABLE_NAME;

export const handler = async () => {
  const started = performance.now();
  let reachable = true;
  try {
    await client.send(new GetItemCommand({ TableName: table, Key: { PK: { S: "HEALTH" }, SK: { S: "PROBE" } } }));
  } catch (e) {
    reachable = false;
  }
  const body = { status: reachable ? "ok" : "degraded", table: { reachable, latencyMs: performance.now() - started } };
  return { statusCode: reachable ? 200 : 503, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
};
