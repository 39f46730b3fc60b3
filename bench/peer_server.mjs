// Baseline 2 for bench/bench_server.py: the npm mock `oauth2-mock-server`, over HTTPS with our certificate.
//
//   node bench/peer_server.mjs --modules DIR --cert server.pem --key server-key.pem [--host 127.0.0.1] [--port 0]
//
// DIR is the folder whose node_modules holds the pinned oauth2-mock-server (bench_server.py installs it under
// ~/.cache/sleepwalk/bench). One RS256 signing key, as its README's example; its refresh grant is
// POST /token grant_type=refresh_token, answered with a new access token, id token and refresh token.
// Prints one JSON line (url, port, pid, version) once it listens; stops on SIGTERM or SIGINT.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    modules: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
  },
});
if (!values.modules || !values.cert || !values.key) {
  console.error('usage: node peer_server.mjs --modules DIR --cert CERT --key KEY [--host H] [--port P]');
  process.exit(2);
}

const require = createRequire(join(values.modules, 'package.json'));
const entry = require.resolve('oauth2-mock-server');
const packageJson = JSON.parse(readFileSync(join(values.modules, 'node_modules', 'oauth2-mock-server', 'package.json')));
const { OAuth2Server } = await import(pathToFileURL(entry).href);

// The constructor takes the key and certificate paths and then serves HTTPS (README, "HTTPS").
const server = new OAuth2Server(values.key, values.cert);
await server.issuer.keys.generate('RS256');
await server.start(Number(values.port), values.host);
const { port } = server.address();
console.log(
  JSON.stringify({
    url: `https://${values.host}:${port}`,
    port,
    pid: process.pid,
    version: packageJson.version,
    node: process.version,
    issuer: server.issuer.url,
  }),
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  // Keep-alive sockets from the load generator would hold close() open: the process exits either way.
  setTimeout(() => process.exit(0), 1000).unref();
  try {
    await server.stop();
  } finally {
    process.exit(0);
  }
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
