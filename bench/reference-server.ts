/**
 * The reference of the service benchmark: the least a Node process can do to give the same answers.
 * A bare `node:http` server that serves fixed bodies (captured from Safehold in the same run) by
 * path, and `/api/v1/health`. No framework, no database, no checks: its numbers are the floor that
 * Node itself sets on this machine.
 *
 *   node dist/bench/reference-server.js BODIES.json PORT
 *
 * BODIES.json: `{ "/api/v1/drives": "<body text>", … }`. Listens on 127.0.0.1; SIGTERM stops it.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [bodiesFile, portText] = process.argv.slice(2);
if (!bodiesFile || !portText) {
  process.stderr.write('usage: reference-server BODIES.json PORT\n');
  process.exit(2);
}
const bodies = new Map<string, Buffer>(
  Object.entries(JSON.parse(readFileSync(bodiesFile, 'utf8')) as Record<string, string>).map(([path, text]) => [path, Buffer.from(text)]),
);
const startedAt = Date.now();

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0]!;
  const body =
    path === '/api/v1/health'
      ? Buffer.from(JSON.stringify({ status: 'ok', version: 'reference', uptimeSeconds: Math.floor((Date.now() - startedAt) / 1000) }))
      : bodies.get(path);
  if (!body) {
    res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' }).end('{"error":{"code":"not_found","message":"no such route"}}');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length, 'cache-control': 'no-store' }).end(body);
});
server.listen(Number(portText), '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
