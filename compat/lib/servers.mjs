// Start and stop the servers the compat suites talk to: a real MockServer (the jar shipped in
// the mockserver-node npm package) and the standin binary.
//
// Every child runs under a small sh guard in its own process group:
//   - stop() kills the whole group (SIGTERM, then SIGKILL after a grace period);
//   - a process 'exit' hook (and SIGINT/SIGTERM/SIGHUP handlers) kill every group still alive;
//   - if this node process dies without running any hook (SIGKILL, OOM), the guard notices that
//     its stdin pipe closed and kills the child itself. So no JVM outlives the test run.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const compatDir = path.resolve(here, '..');
export const repoDir = path.resolve(compatDir, '..');

export const HOST = '127.0.0.1';

// ---------------------------------------------------------------------------------------------
// process bookkeeping

const live = new Set(); // guarded children still running
const tempDirs = new Set(); // removed on exit if stop() did not get to them

function makeTempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

function removeTempDir(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

let hooksInstalled = false;
function installExitHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const child of live) killGroup(child, 'SIGKILL');
    for (const dir of tempDirs) {
      try {
        fs.rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort
      }
    }
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
      for (const child of live) killGroup(child, 'SIGKILL');
      process.exit(128 + (os.constants.signals[sig] || 1));
    });
  }
}

// The guard: run the command in the background with stdin from /dev/null, and kill it when our
// stdin (a pipe from this node process) reaches EOF, i.e. when node is gone.
// (A background job's stdin is /dev/null in a non-interactive sh, hence the copy on fd 3.)
const GUARD = [
  'exec 3<&0',
  '"$@" </dev/null 3<&- &',
  'child=$!',
  '( cat <&3 >/dev/null; kill -9 "$child" 2>/dev/null ) &',
  'exec 3<&-',
  'wait "$child"',
  'exit $?',
].join('\n');

function spawnGuarded(command, args, { cwd, env, name }) {
  installExitHooks();
  const child = spawn('sh', ['-c', GUARD, 'guard', command, ...args], {
    cwd,
    env: env || process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true, // own process group, so we can kill the guard and everything under it
  });
  live.add(child);
  const output = []; // ring buffer of the last lines, for diagnostics
  let outputChars = 0;
  const remember = (chunk) => {
    const text = chunk.toString('utf8');
    output.push(text);
    outputChars += text.length;
    while (outputChars > 20000 && output.length > 1) outputChars -= output.shift().length;
  };
  child.stdout.on('data', remember);
  child.stderr.on('data', remember);
  child.stdin.on('error', () => {});
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      child.exitInfo = { code, signal };
      resolve(child.exitInfo);
    });
  });
  child.exited = exited;
  child.recentOutput = () => output.join('');
  child.label = name;
  // Do not keep the event loop alive just for this child.
  child.unref();
  child.stdout.unref?.();
  child.stderr.unref?.();
  return child;
}

async function stopGuarded(child, graceMs = 5000) {
  if (child.exitInfo) return child.exitInfo;
  killGroup(child, 'SIGTERM');
  const timer = new Promise((resolve) => setTimeout(resolve, graceMs, 'timeout'));
  const result = await Promise.race([child.exited, timer]);
  if (result === 'timeout') {
    killGroup(child, 'SIGKILL');
    await Promise.race([child.exited, new Promise((r) => setTimeout(r, 2000))]);
  }
  // The guard's watcher subshell may still be alive in the group; make sure it is gone too.
  killGroup(child, 'SIGKILL');
  return child.exitInfo;
}

// ---------------------------------------------------------------------------------------------
// small HTTP helper (control-plane calls; the differential runner has its own raw sender)

export function httpCall({ host = HOST, port, method = 'PUT', path: reqPath, body = '', headers = {}, timeoutMs = 30000 }) {
  return new Promise((resolve, reject) => {
    const data = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
    const req = http.request(
      { host, port, method, path: reqPath, agent: false, headers: { ...headers, 'Content-Length': data.length } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${method} ${reqPath}`)));
    req.on('error', reject);
    req.end(data);
  });
}

function makeReset(port) {
  return async () => {
    const res = await httpCall({ port, method: 'PUT', path: '/mockserver/reset', body: '' });
    if (res.status !== 200) {
      throw new Error(`PUT /mockserver/reset on port ${port} answered ${res.status}: ${res.body}`);
    }
    return res;
  };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// MockServer

export function mockServerJar() {
  if (process.env.MOCKSERVER_JAR) return process.env.MOCKSERVER_JAR;
  const dir = path.join(compatDir, 'node_modules', 'mockserver-node');
  let names = [];
  try {
    names = fs.readdirSync(dir).filter((n) => /^mockserver-netty-.*-jar-with-dependencies\.jar$/.test(n));
  } catch {
    // reported below
  }
  if (names.length !== 1) {
    throw new Error(
      `expected exactly one mockserver-netty-*-jar-with-dependencies.jar in ${dir}, found ${JSON.stringify(names)}; ` +
        'run `npm ci` in compat/ (or set MOCKSERVER_JAR)',
    );
  }
  return path.join(dir, names[0]);
}

/**
 * Start a real MockServer. Resolves to {name, url, host, port, reset(), stop(), output()} once
 * `PUT /mockserver/status` answers 200.
 */
export async function startMockServer({ timeoutMs = 90000, logLevel = process.env.MOCKSERVER_LOG_LEVEL || 'WARN' } = {}) {
  const jar = mockServerJar();
  const java = process.env.JAVA || 'java';
  const tmp = makeTempDir('compat-mockserver-');
  // Retry a couple of times in case the port we picked got taken in between.
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const args = [
      '-Dfile.encoding=UTF-8',
      '-Xmx512m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-jar',
      jar,
      '-serverPort',
      String(port),
      '-logLevel',
      logLevel,
    ];
    // MockServer writes mockserver-ca.pem etc. into its working directory: keep that in tmp.
    const child = spawnGuarded(java, args, { cwd: tmp, name: 'mockserver' });
    const deadline = Date.now() + timeoutMs;
    let ready = false;
    let status;
    while (Date.now() < deadline && !child.exitInfo) {
      try {
        const res = await httpCall({ port, method: 'PUT', path: '/mockserver/status', timeoutMs: 5000 });
        if (res.status === 200) {
          status = JSON.parse(res.body);
          if (Array.isArray(status.ports) && status.ports.includes(port)) {
            ready = true;
            break;
          }
        }
      } catch {
        // not listening yet
      }
      await sleep(250);
    }
    if (ready) {
      const server = {
        name: 'mockserver',
        version: status.version,
        host: HOST,
        port,
        url: `http://${HOST}:${port}`,
        pid: child.pid,
        reset: makeReset(port),
        output: () => child.recentOutput(),
        stop: async () => {
          await stopGuarded(child);
          removeTempDir(tmp);
        },
      };
      return server;
    }
    const out = child.recentOutput();
    await stopGuarded(child);
    lastError = new Error(
      child.exitInfo && !/BindException|Address already in use/.test(out)
        ? `MockServer exited before it was ready (${JSON.stringify(child.exitInfo)}):\n${out}`
        : `MockServer did not answer PUT /mockserver/status on port ${port} within ${timeoutMs} ms:\n${out}`,
    );
    if (!/BindException|Address already in use/.test(out)) break;
  }
  removeTempDir(tmp);
  throw lastError;
}

// ---------------------------------------------------------------------------------------------
// standin

export function standinBin() {
  return process.env.STANDIN_BIN || path.join(repoDir, 'target', 'debug', 'standin');
}

/**
 * Start standin with a fresh data dir and OS-chosen ports. Resolves to
 * {name, url, host, port, adminUrl, reset(), stop(), output()} once both listener lines are read.
 * MockServer's API lives on standin's mock listener, so `url`/`port` are the mock listener.
 */
export async function startStandin({ timeoutMs = 30000, log = process.env.STANDIN_LOG_FILTER || 'warn' } = {}) {
  const bin = standinBin();
  if (!fs.existsSync(bin)) {
    throw new Error(`standin binary not found at ${bin}; build it (cargo build -p standin) or set STANDIN_BIN`);
  }
  const dataDir = makeTempDir('compat-standin-');
  const args = ['serve', '--data-dir', dataDir, '--mock-addr', `${HOST}:0`, '--admin-addr', `${HOST}:0`, '--log', log];
  const child = spawnGuarded(bin, args, { cwd: dataDir, name: 'standin' });

  const found = await new Promise((resolve) => {
    let buffered = '';
    const addrs = {};
    const done = (value) => {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', onExit);
      resolve(value);
    };
    const onData = (chunk) => {
      buffered += chunk.toString('utf8');
      let nl;
      while ((nl = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        let m;
        if ((m = /^standin: mock listener on (http:\/\/\S+)$/.exec(line))) addrs.mock = m[1];
        if ((m = /^standin: admin API on (http:\/\/\S+)$/.exec(line))) addrs.admin = m[1];
        if (addrs.mock && addrs.admin) return done(addrs);
      }
    };
    const onExit = () => done(null);
    const timer = setTimeout(() => done(null), timeoutMs);
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });

  if (!found) {
    const out = child.recentOutput();
    await stopGuarded(child);
    removeTempDir(dataDir);
    throw new Error(
      child.exitInfo
        ? `standin exited before announcing its listeners (${JSON.stringify(child.exitInfo)}):\n${out}`
        : `standin did not announce its listeners within ${timeoutMs} ms:\n${out}`,
    );
  }
  const mockUrl = new URL(found.mock);
  const port = Number(mockUrl.port);
  return {
    name: 'standin',
    host: mockUrl.hostname,
    port,
    url: `http://${mockUrl.host}`,
    adminUrl: found.admin,
    pid: child.pid,
    reset: makeReset(port),
    output: () => child.recentOutput(),
    stop: async () => {
      await stopGuarded(child);
      removeTempDir(dataDir);
    },
  };
}

/**
 * Use a server somebody else started (MOCKSERVER_URL / STANDIN_URL, e.g. http://127.0.0.1:1080).
 * stop() leaves it running.
 */
export function existingServer(name, url) {
  const u = new URL(url);
  const port = Number(u.port || 80);
  return {
    name,
    host: u.hostname,
    port,
    url: `http://${u.hostname}:${port}`,
    reset: makeReset(port),
    output: () => '',
    stop: async () => {},
  };
}

/**
 * Start a server by target name ("mockserver" or "standin"), or attach to one already running
 * when MOCKSERVER_URL / STANDIN_URL is set.
 */
export function startTarget(name, opts) {
  if (name === 'mockserver') return process.env.MOCKSERVER_URL ? existingServer(name, process.env.MOCKSERVER_URL) : startMockServer(opts);
  if (name === 'standin') return process.env.STANDIN_URL ? existingServer(name, process.env.STANDIN_URL) : startStandin(opts);
  throw new Error(`unknown target ${JSON.stringify(name)} (expected "mockserver" or "standin")`);
}

// ---------------------------------------------------------------------------------------------
// WireMock

export function wireMockJar() {
  if (process.env.WIREMOCK_JAR) return process.env.WIREMOCK_JAR;
  const dir = path.join(compatDir, 'node_modules', 'wiremock', 'build');
  let names = [];
  try {
    names = fs.readdirSync(dir).filter((n) => /^wiremock-standalone-.*\.jar$/.test(n));
  } catch {
    // reported below
  }
  if (names.length !== 1) {
    throw new Error(`expected one wiremock-standalone-*.jar in ${dir}, found ${JSON.stringify(names)}; run \`npm ci\` in compat/ (or set WIREMOCK_JAR)`);
  }
  return path.join(dir, names[0]);
}

/**
 * Start a real WireMock (the standalone jar shipped in the wiremock npm package). Resolves to
 * {name, url, host, port, reset(), stop(), output()} once GET /__admin/mappings answers 200.
 */
export async function startWireMock({ timeoutMs = 90000 } = {}) {
  const jar = wireMockJar();
  const java = process.env.JAVA || 'java';
  const tmp = makeTempDir('compat-wiremock-');
  const port = await freePort();
  const args = ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-jar', jar, '--port', String(port), '--bind-address', HOST, '--root-dir', tmp, '--disable-banner'];
  const child = spawnGuarded(java, args, { cwd: tmp, name: 'wiremock' });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !child.exitInfo) {
    try {
      const res = await httpCall({ port, method: 'GET', path: '/__admin/mappings', timeoutMs: 5000 });
      if (res.status === 200) {
        return {
          name: 'wiremock',
          host: HOST,
          port,
          url: `http://${HOST}:${port}`,
          reset: async () => {
            const r = await httpCall({ port, method: 'POST', path: '/__admin/reset' });
            if (r.status !== 200) throw new Error(`POST /__admin/reset answered ${r.status}: ${r.body}`);
          },
          output: () => child.recentOutput(),
          stop: async () => {
            await stopGuarded(child);
            removeTempDir(tmp);
          },
        };
      }
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  const out = child.recentOutput();
  await stopGuarded(child);
  removeTempDir(tmp);
  throw new Error(`WireMock did not answer on port ${port} within ${timeoutMs} ms:\n${out}`);
}
