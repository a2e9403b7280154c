// A small Node.js service, as they are run in containers (`node server.js`, not through npm): it
// reads its configuration, appends to its log file, keeps a little state in memory and answers
// JSON over HTTP.
'use strict';
const fs = require('fs');
const http = require('http');
const os = require('os');

const config = JSON.parse(fs.readFileSync('/app/config.json', 'utf8'));
fs.mkdirSync(config.logDirectory, { recursive: true });
const log = fs.createWriteStream(`${config.logDirectory}/service.log`, { flags: 'a' });
const stock = new Map([['tea', 12], ['coffee', 7], ['cocoa', 3]]);

function reply(response, status, body) {
  const data = JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) });
  response.end(data);
}

const server = http.createServer((request, response) => {
  log.write(`${new Date().toISOString()} ${request.method} ${request.url}\n`);
  const url = new URL(request.url, 'http://localhost');
  if (url.pathname === '/api/status') {
    return reply(response, 200, { host: os.hostname(), uptime: process.uptime(), load: os.loadavg() });
  }
  if (url.pathname === '/api/stock') {
    const item = url.searchParams.get('item');
    return reply(response, 200, item ? { item, count: stock.get(item) ?? 0 } : Object.fromEntries(stock));
  }
  if (url.pathname === '/api/reserve' && request.method === 'POST') {
    let body = '';
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', () => {
      const { item } = JSON.parse(body || '{}');
      stock.set(item, Math.max(0, (stock.get(item) ?? 0) - 1));
      reply(response, 200, { item, left: stock.get(item) });
    });
    return undefined;
  }
  return reply(response, 404, { error: 'not found' });
});

server.listen(config.port, '0.0.0.0', () => log.write(`listening on ${config.port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
