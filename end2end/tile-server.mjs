// A loopback XYZ tile server for the browser tests: a department's online tile service as
// Beatbook meets it (`BEATBOOK_TILE_URL`). Every /tiles/{z}/{x}/{y}.png answers one small PNG;
// /hits says how many tiles were asked for, so a test can tell the browser really drew them.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const port = Number(process.argv[2] ?? 3110);
const png = readFileSync(fileURLToPath(new URL('../public/icons/icon-192.png', import.meta.url)));
let hits = 0;

http
  .createServer((req, res) => {
    if (req.url === '/hits') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ hits }));
      return;
    }
    if (/^\/tiles\/\d+\/\d+\/\d+\.png$/.test(req.url ?? '')) {
      hits += 1;
      // Tile services commonly allow caching; Beatbook's service worker must store none anyway.
      res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'max-age=86400' });
      res.end(png);
      return;
    }
    res.writeHead(404);
    res.end();
  })
  .listen(port, '127.0.0.1');
