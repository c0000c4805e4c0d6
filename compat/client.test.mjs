// Drive a server with the OFFICIAL mockserver-client npm package and check, with plain HTTP
// requests, that it behaves as a real MockServer does.
//
//   COMPAT_CLIENT_TARGET=mockserver|standin   (default standin)
//   node --test compat/client.test.mjs
//
// Every expected value below was read from a real MockServer (the jar shipped in
// mockserver-node, see package.json); each test resets the server first and does not depend on
// any other test.

import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

import { startTarget } from './lib/servers.mjs';

const require = createRequire(import.meta.url);
const { mockServerClient } = require('mockserver-client');

const TARGET = (process.env.COMPAT_CLIENT_TARGET || 'standin').toLowerCase();
const TEST_TIMEOUT = Number(process.env.COMPAT_CLIENT_TEST_TIMEOUT_MS || 30000);

let server;
let client;

/** Plain HTTP request with node's http module; Content-Length only when there is a body. */
function send(method, path, { headers = {}, body, timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(body, 'utf8');
    const req = http.request(
      {
        host: server.host,
        port: server.port,
        method,
        path,
        agent: false,
        headers: data ? { ...headers, 'Content-Length': data.length } : headers,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout: ${method} ${path}`)));
    req.on('error', reject);
    req.end(data || undefined);
  });
}

/** Assert status, body and content-type (undefined = header absent) of one answer. */
async function expectAnswer(method, path, { status, body, contentType }, opts) {
  const res = await send(method, path, opts);
  const where = `${method} ${path}`;
  assert.equal(res.status, status, `${where}: status (body was ${JSON.stringify(res.body)})`);
  if (body !== undefined) assert.equal(res.body, body, `${where}: body`);
  assert.equal(res.headers['content-type'], contentType, `${where}: content-type`);
  return res;
}

const notFound = { status: 404, body: '', contentType: undefined };

/** assert.rejects for the client's string rejections: the message must be exactly `message`. */
async function rejectsWith(promise, message) {
  await assert.rejects(
    (async () => {
      await promise;
    })(),
    (err) => {
      assert.equal(typeof err === 'string' ? err : err?.message ?? String(err), message);
      return true;
    },
  );
}

/** The client's retrieve* functions return thenables; turn them into real promises. */
const settle = (thenable) => new Promise((resolve, reject) => thenable.then(resolve, reject));

// --- object callbacks (mockWithCallback & co) ------------------------------------------------
//
// The client's callback functions open a websocket to /_mockserver_callback_websocket (the
// `websocket` npm package), PUT an expectation naming the client id the server sends first, then
// answer each HttpRequest the server sends. They return no handle to close that websocket, and
// when the server closes it (expectation used up, reset) the client reconnects after 2-8 s and
// PUTs the expectation AGAIN. So every callback socket is tracked here and closed without a
// reconnect after each test (before the next reset), which also lets node exit.
const CALLBACK_STEP_TIMEOUT = Number(process.env.COMPAT_CLIENT_CALLBACK_TIMEOUT_MS || 5000);
const CALLBACK_TEST_TIMEOUT = 3 * CALLBACK_STEP_TIMEOUT;
const WsClient = require('websocket').client;
const callbackSockets = new Set(); // WebSocketClient instances (one per mockWith*Callback .then)
const CONNS = Symbol('connections');
const DISPOSED = Symbol('disposed');
// The client resolves its websocket promise before the handshake, so a refused handshake (e.g. a
// 404 for the upgrade) never reaches the mockWith*Callback error callback: report it here.
const handshakeFailureListeners = new Set();
const realWsConnect = WsClient.prototype.connect;
WsClient.prototype.connect = function connect(url, ...rest) {
  if (this[DISPOSED]) return undefined; // a reconnect scheduled before the test ended
  if (String(url).includes('/_mockserver_callback_websocket') && !this[CONNS]) {
    this[CONNS] = [];
    callbackSockets.add(this);
    this.on('connectFailed', (error) => {
      for (const listener of handshakeFailureListeners) listener(error);
    });
    this.on('connect', (conn) => {
      this[CONNS].push(conn);
      if (this[DISPOSED]) {
        conn.removeAllListeners('close');
        conn.close();
      }
    });
  }
  return realWsConnect.call(this, url, ...rest);
};

/** Close every callback websocket opened so far, so that the client does not reconnect. */
async function closeCallbackSockets() {
  const closing = [];
  for (const wsClient of callbackSockets) {
    wsClient[DISPOSED] = true;
    try {
      wsClient.abort(); // a handshake still under way
    } catch {
      // nothing to abort
    }
    for (const conn of wsClient[CONNS]) {
      if (!conn.connected) continue;
      conn.removeAllListeners('close'); // the client's listener schedules the reconnect
      closing.push(
        new Promise((resolve) => {
          const timer = setTimeout(() => {
            conn.drop();
            resolve();
          }, 1000);
          conn.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          conn.close();
        }),
      );
    }
  }
  callbackSockets.clear();
  await Promise.all(closing);
}

/**
 * A client callback thenable as a promise that rejects (with an Error) after `ms`, or as soon as
 * a callback websocket handshake fails.
 */
function within(thenable, what, ms = CALLBACK_STEP_TIMEOUT) {
  let timer;
  let onFailure;
  return Promise.race([
    new Promise((resolve, reject) =>
      thenable.then(resolve, (e) => reject(e instanceof Error ? e : new Error(`${what}: ${typeof e === 'string' ? e : JSON.stringify(e)}`))),
    ),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
      onFailure = (error) => reject(new Error(`${what}: websocket handshake to /_mockserver_callback_websocket failed: ${error?.message ?? error}`));
      handshakeFailureListeners.add(onFailure);
    }),
  ]).finally(() => {
    clearTimeout(timer);
    handshakeFailureListeners.delete(onFailure);
  });
}

/** Register a callback expectation; check the PUT answer and return the created expectation. */
async function registerCallback(thenable, what) {
  const res = await within(thenable, what);
  assert.equal(res.statusCode, 201, `${what}: PUT /mockserver/expectation status`);
  const created = JSON.parse(res.body);
  assert.ok(Array.isArray(created) && created.length === 1, `${what}: ${res.body}`);
  return created[0];
}

/** A header of a request/response the server sent over the websocket (map or array form). */
function headerOf(message, name) {
  const headers = message.headers || {};
  const lower = name.toLowerCase();
  if (Array.isArray(headers)) return headers.find((h) => h.name.toLowerCase() === lower)?.values;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : headers[key];
}

/** The text of a request body as the server sends it over the websocket. */
const bodyText = (body) => (body === undefined || typeof body === 'string' ? body : body.string);

describe(`mockserver-client against ${TARGET}`, { timeout: 10 * 60 * 1000 }, () => {
  let startupError = null;
  before(async () => {
    try {
      server = await startTarget(TARGET);
      client = mockServerClient(server.host, server.port);
    } catch (e) {
      startupError = e;
    }
  }, { timeout: 150000 });

  after(async () => {
    if (server) await server.stop();
  });

  beforeEach(async () => {
    if (startupError) assert.fail(`${TARGET} did not start: ${startupError.message}`);
    const res = await client.reset();
    assert.equal(res.statusCode, 200, 'reset status');
  });

  test('mockAnyResponse: a single expectation with id, priority and times', { timeout: TEST_TIMEOUT }, async () => {
    const res = await client.mockAnyResponse({
      id: 'any-one',
      priority: 5,
      times: { remainingTimes: 2, unlimited: false },
      httpRequest: { method: 'GET', path: '/any/one' },
      httpResponse: { statusCode: 203, headers: { 'Content-Type': ['application/json'] }, body: '{"a":1}' },
    });
    assert.equal(res.statusCode, 201);
    const created = JSON.parse(res.body);
    assert.ok(Array.isArray(created), 'PUT /mockserver/expectation answers a JSON array');
    assert.equal(created.length, 1);
    assert.equal(created[0].id, 'any-one');
    assert.equal(created[0].priority, 5);
    assert.equal(created[0].times.remainingTimes, 2);
    assert.deepEqual(created[0].httpRequest, { method: 'GET', path: '/any/one' });
    assert.equal(created[0].httpResponse.statusCode, 203);
    assert.deepEqual(created[0].timeToLive, { unlimited: true });

    const ok = { status: 203, body: '{"a":1}', contentType: 'application/json' };
    await expectAnswer('POST', '/any/one', notFound, { body: 'x' }); // method must match; does not use up a time
    await expectAnswer('GET', '/any/one', ok);
    await expectAnswer('GET', '/any/one', ok);
    await expectAnswer('GET', '/any/one', notFound); // times used up
  });

  test('mockAnyResponse: an array; higher priority wins; same id replaces', { timeout: TEST_TIMEOUT }, async () => {
    const res = await client.mockAnyResponse([
      { id: 'low', priority: 0, httpRequest: { path: '/prio' }, httpResponse: { statusCode: 200, body: 'low' } },
      { id: 'high', priority: 10, httpRequest: { path: '/prio' }, httpResponse: { statusCode: 200, body: 'high' } },
    ]);
    assert.equal(res.statusCode, 201);
    assert.deepEqual(
      JSON.parse(res.body).map((e) => [e.id, e.priority]),
      [
        ['low', 0],
        ['high', 10],
      ],
    );
    await expectAnswer('GET', '/prio', { status: 200, body: 'high', contentType: undefined });

    const upsert = await client.mockAnyResponse({ id: 'high', priority: 10, httpRequest: { path: '/prio' }, httpResponse: { statusCode: 202, body: 'high-2' } });
    assert.equal(upsert.statusCode, 201);
    await expectAnswer('GET', '/prio', { status: 202, body: 'high-2', contentType: undefined });
    const active = await settle(client.retrieveActiveExpectations());
    assert.deepEqual(
      active.map((e) => e.id),
      ['high', 'low'],
      'an upsert by id replaces the expectation instead of adding one',
    );

    await client.clearById('high');
    await expectAnswer('GET', '/prio', { status: 200, body: 'low', contentType: undefined });
  });

  test('mockAnyResponse: a JSON object body is served as application/json', { timeout: TEST_TIMEOUT }, async () => {
    await client.mockAnyResponse({ httpRequest: { path: '/json' }, httpResponse: { statusCode: 200, body: { token: 'abc', n: 1 } } });
    const res = await expectAnswer('GET', '/json', { status: 200, contentType: 'application/json; charset=utf-8' });
    assert.deepEqual(JSON.parse(res.body), { token: 'abc', n: 1 });
  });

  test('mockSimpleResponse: JSON-stringified body, given status, any method, matches once', { timeout: TEST_TIMEOUT }, async () => {
    const res = await client.mockSimpleResponse('/simple', { name: 'value' }, 203);
    assert.equal(res.statusCode, 201);
    const [created] = JSON.parse(res.body);
    assert.equal(created.httpRequest.path, '/simple');
    assert.equal(created.httpResponse.statusCode, 203);
    assert.equal(created.httpResponse.body, '{"name":"value"}');
    assert.equal(created.times.remainingTimes, 1);
    assert.equal(typeof created.id, 'string');
    assert.ok(created.id.length > 0);

    // the body is a plain string (the client JSON.stringifies it), so no content-type is added
    await expectAnswer('POST', '/simple', { status: 203, body: '{"name":"value"}', contentType: undefined }, { body: 'anything' });
    await expectAnswer('GET', '/simple', notFound);

    await client.mockSimpleResponse('/simple2', 'text');
    await expectAnswer('GET', '/simple2', { status: 200, body: '"text"', contentType: undefined });
  });

  test('verify: atLeast, atMost and exactly (atLeast == atMost) pass', { timeout: TEST_TIMEOUT }, async () => {
    await client.mockAnyResponse({ httpRequest: { path: '/v' }, httpResponse: { statusCode: 200, body: 'v' } });
    for (let i = 0; i < 3; i++) await expectAnswer('GET', '/v', { status: 200, body: 'v', contentType: undefined });
    await send('GET', '/unmatched'); // unmatched requests are recorded too

    await client.verify({ path: '/v' }); // at least once
    await client.verify({ method: 'GET', path: '/v' }, 3); // at least 3
    await client.verify({ path: '/v' }, 3, 3); // exactly 3
    await client.verify({ path: '/v' }, 2, 5); // between
    await client.verify({ path: '/v' }, undefined, 3); // at most 3
    await client.verify({ path: '/unmatched' }, 1, 1);
    await client.verify({ path: '/never' }, 0, 0); // never
  });

  test('verify: failures reject with MockServer\'s message', { timeout: TEST_TIMEOUT }, async () => {
    for (let i = 0; i < 3; i++) await send('GET', '/vf');
    await rejectsWith(client.verify({ path: '/missing' }), 'Request not found at least once');
    await rejectsWith(client.verify({ path: '/vf' }, 4), 'Request not found at least 4 times');
    await rejectsWith(client.verify({ path: '/vf' }, 2, 2), 'Request not found exactly 2 times');
    await rejectsWith(client.verify({ path: '/missing' }, 1, 1), 'Request not found exactly once');
    await rejectsWith(client.verify({ path: '/vf' }, 1, 2), 'Request not found between 1 and 2 times');
    await rejectsWith(client.verify({ path: '/vf' }, undefined, 1), 'Request not found at most once');
    await rejectsWith(client.verify({ path: '/vf' }, 0, 0), 'Request not found exactly 0 times');
    await rejectsWith(client.verify({ method: 'POST', path: '/vf' }), 'Request not found at least once');
  });

  test('verify: the raw failure is 406 text/plain with expected and actual requests', { timeout: TEST_TIMEOUT }, async () => {
    await send('GET', '/raw-verify');
    const res = await send('PUT', '/mockserver/verify', {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ httpRequest: { path: '/other' }, times: { atLeast: 1 } }),
    });
    assert.equal(res.status, 406);
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    assert.ok(res.body.startsWith('Request not found at least once, expected:<{'), res.body);
    assert.ok(res.body.includes('"path" : "/other"'), res.body);
    // one recorded request is printed as an object, several as an array
    assert.ok(res.body.includes('}> but was:<{'), res.body);
    assert.ok(res.body.includes('"path" : "/raw-verify"'), res.body);

    const okRes = await send('PUT', '/mockserver/verify', {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ httpRequest: { path: '/raw-verify' }, times: { atLeast: 1, atMost: 1 } }),
    });
    assert.equal(okRes.status, 202);
    assert.equal(okRes.body, '');
  });

  test('verifyById: counts the requests an expectation matched', { timeout: TEST_TIMEOUT }, async () => {
    await client.mockAnyResponse({ id: 'vid', httpRequest: { path: '/vid' }, httpResponse: { statusCode: 200, body: 'ok' } });
    await expectAnswer('GET', '/vid', { status: 200, body: 'ok', contentType: undefined });
    await expectAnswer('GET', '/vid', { status: 200, body: 'ok', contentType: undefined });
    await client.verifyById({ id: 'vid' }, 2, 2);
    await rejectsWith(client.verifyById({ id: 'vid' }, 3), 'Request not found at least 3 times');
  });

  test('verifySequence: in order passes; out of order or missing fails', { timeout: TEST_TIMEOUT }, async () => {
    await send('POST', '/s1', { headers: { 'Content-Type': 'application/json' }, body: '{"k":"v"}' });
    await send('GET', '/s2');
    await send('GET', '/s3');
    await client.verifySequence({ path: '/s1' }, { path: '/s2' }, { path: '/s3' });
    await client.verifySequence({ method: 'POST', path: '/s1' }, { path: '/s3' });
    await rejectsWith(client.verifySequence({ path: '/s3' }, { path: '/s1' }), 'Request sequence not found');
    await rejectsWith(client.verifySequence({ path: '/s1' }, { path: '/nope' }), 'Request sequence not found');
    await rejectsWith(client.verifySequence({ method: 'GET', path: '/s1' }), 'Request sequence not found');
  });

  test('retrieveRecordedRequests: all, filtered by path regex, and the recorded shape', { timeout: TEST_TIMEOUT }, async () => {
    await client.mockAnyResponse({ httpRequest: { path: '/r/b' }, httpResponse: { statusCode: 200, body: 'b' } });
    await send('GET', '/r/a?q=1&q=2', { headers: { 'X-Trace': 't1' } });
    await send('POST', '/r/b', { headers: { 'Content-Type': 'text/plain' }, body: 'hello' });
    await send('GET', '/other');

    const all = await settle(client.retrieveRecordedRequests());
    assert.deepEqual(
      all.map((r) => `${r.method} ${r.path}`),
      ['GET /r/a', 'POST /r/b', 'GET /other'],
    );

    const filtered = await settle(client.retrieveRecordedRequests('/r/.*'));
    assert.equal(filtered.length, 2, JSON.stringify(filtered));
    const [a, b] = filtered;
    assert.equal(a.method, 'GET');
    assert.equal(a.path, '/r/a');
    assert.deepEqual(a.queryStringParameters, { q: ['1', '2'] });
    assert.deepEqual(a.headers['X-Trace'], ['t1']);
    // node's http with agent:false sends Connection: close, so MockServer records keepAlive false
    assert.equal(a.keepAlive, false, `keepAlive of ${JSON.stringify(a)}`);
    assert.equal(a.secure, false, `secure of ${JSON.stringify(a)}`);
    assert.equal(a.body, undefined, `a GET without a body records no body: ${JSON.stringify(a)}`);

    assert.equal(b.method, 'POST');
    assert.equal(b.path, '/r/b');
    assert.equal(b.body?.type, 'STRING', `recorded body ${JSON.stringify(b.body)}`);
    assert.equal(b.body.string, 'hello', `recorded body ${JSON.stringify(b.body)}`);
    assert.equal(b.body.contentType, 'text/plain', `recorded body ${JSON.stringify(b.body)}`);
    assert.deepEqual(b.headers['Content-Type'], ['text/plain']);

    const posts = await settle(client.retrieveRecordedRequests({ method: 'POST' }));
    assert.deepEqual(
      posts.map((r) => r.path),
      ['/r/b'],
    );
    const none = await settle(client.retrieveRecordedRequests('/nothing'));
    assert.deepEqual(none, []);
  });

  test('retrieveActiveExpectations: match order, path filter, used-up expectations gone', { timeout: TEST_TIMEOUT }, async () => {
    await client.mockAnyResponse([
      { id: 'e1', httpRequest: { path: '/ae/a' }, httpResponse: { statusCode: 200, body: 'a' } },
      { id: 'e2', priority: 10, httpRequest: { path: '/ae/b' }, httpResponse: { statusCode: 200, body: 'b' } },
      { id: 'e3', httpRequest: { path: '/ae/c' }, httpResponse: { statusCode: 200, body: 'c' } },
      { id: 'e4', times: { remainingTimes: 1, unlimited: false }, httpRequest: { path: '/ae/d' }, httpResponse: { statusCode: 200, body: 'd' } },
    ]);
    const active = await settle(client.retrieveActiveExpectations());
    assert.deepEqual(
      active.map((e) => e.id),
      ['e2', 'e1', 'e3', 'e4'],
      'priority desc, then creation order',
    );
    const e1 = active.find((e) => e.id === 'e1');
    assert.deepEqual(e1.httpRequest, { path: '/ae/a' });
    assert.deepEqual(e1.httpResponse, { statusCode: 200, body: 'a' });
    assert.deepEqual(e1.times, { unlimited: true });
    assert.deepEqual(e1.timeToLive, { unlimited: true });
    assert.equal(e1.priority, 0);

    const filtered = await settle(client.retrieveActiveExpectations('/ae/b'));
    assert.deepEqual(
      filtered.map((e) => e.id),
      ['e2'],
    );

    await expectAnswer('GET', '/ae/d', { status: 200, body: 'd', contentType: undefined });
    // MockServer drops a used-up expectation just after answering (on a cold JVM it can still be
    // listed for a moment), so allow up to 2 s for it to go.
    let ids;
    for (const deadline = Date.now() + 2000; ; ) {
      ids = (await settle(client.retrieveActiveExpectations())).map((e) => e.id);
      if (!ids.includes('e4') || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(ids, ['e2', 'e1', 'e3']);
    await expectAnswer('GET', '/ae/d', notFound);
  });

  test('clear by path, type EXPECTATIONS: the expectation goes, the log stays', { timeout: TEST_TIMEOUT }, async () => {
    await client.mockAnyResponse([
      { id: 'ca', httpRequest: { path: '/c/a' }, httpResponse: { statusCode: 200, body: 'a' } },
      { id: 'cb', httpRequest: { path: '/c/b' }, httpResponse: { statusCode: 200, body: 'b' } },
    ]);
    await expectAnswer('GET', '/c/a', { status: 200, body: 'a', contentType: undefined });
    const res = await client.clear('/c/a', 'EXPECTATIONS');
    assert.equal(res.statusCode, 200);
    await expectAnswer('GET', '/c/a', notFound);
    await expectAnswer('GET', '/c/b', { status: 200, body: 'b', contentType: undefined });
    const recorded = await settle(client.retrieveRecordedRequests('/c/a'));
    assert.equal(recorded.length, 2, 'both requests to /c/a are still recorded');
    await client.verify({ path: '/c/a' }, 2, 2);
  });

  test('clear by path, type LOG: the requests go, the expectation stays', { timeout: TEST_TIMEOUT }, async () => {
    await client.mockAnyResponse({ id: 'cl', httpRequest: { path: '/c/l' }, httpResponse: { statusCode: 200, body: 'l' } });
    await expectAnswer('GET', '/c/l', { status: 200, body: 'l', contentType: undefined });
    await send('GET', '/c/other');
    const res = await client.clear('/c/l', 'LOG');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(await settle(client.retrieveRecordedRequests('/c/l')), []);
    assert.equal((await settle(client.retrieveRecordedRequests('/c/other'))).length, 1, 'other requests stay recorded');
    await rejectsWith(client.verify({ path: '/c/l' }), 'Request not found at least once');
    await expectAnswer('GET', '/c/l', { status: 200, body: 'l', contentType: undefined });
    assert.deepEqual(
      (await settle(client.retrieveActiveExpectations())).map((e) => e.id),
      ['cl'],
    );
  });

  test('clear by path, type ALL and with no type: both go, others stay', { timeout: TEST_TIMEOUT }, async () => {
    await client.mockAnyResponse([
      { id: 'x', httpRequest: { path: '/c/x' }, httpResponse: { statusCode: 200, body: 'x' } },
      { id: 'y', httpRequest: { path: '/c/y' }, httpResponse: { statusCode: 200, body: 'y' } },
      { id: 'z', httpRequest: { path: '/c/z' }, httpResponse: { statusCode: 200, body: 'z' } },
    ]);
    for (const p of ['/c/x', '/c/y', '/c/z']) await send('GET', p);

    assert.equal((await client.clear('/c/x', 'ALL')).statusCode, 200);
    await expectAnswer('GET', '/c/x', notFound);
    // the 404 above is a new request, recorded after the clear
    assert.deepEqual(
      (await settle(client.retrieveRecordedRequests('/c/x'))).length,
      1,
    );

    assert.equal((await client.clear('/c/y')).statusCode, 200);
    assert.deepEqual(await settle(client.retrieveRecordedRequests('/c/y')), []);
    await expectAnswer('GET', '/c/y', notFound);

    await expectAnswer('GET', '/c/z', { status: 200, body: 'z', contentType: undefined });
    assert.deepEqual(
      (await settle(client.retrieveActiveExpectations())).map((e) => e.id),
      ['z'],
    );
    assert.equal((await settle(client.retrieveRecordedRequests('/c/z'))).length, 2);

    // no matcher at all clears everything
    assert.equal((await client.clear()).statusCode, 200);
    assert.deepEqual(await settle(client.retrieveActiveExpectations()), []);
    assert.deepEqual(await settle(client.retrieveRecordedRequests()), []);
  });

  test('clearById: removes only that expectation (and with LOG only its requests)', { timeout: TEST_TIMEOUT }, async () => {
    await client.mockAnyResponse([
      { id: 'k1', httpRequest: { path: '/k/1' }, httpResponse: { statusCode: 200, body: '1' } },
      { id: 'k2', httpRequest: { path: '/k/2' }, httpResponse: { statusCode: 200, body: '2' } },
    ]);
    await send('GET', '/k/1');
    await send('GET', '/k/2');
    const res = await client.clearById('k1', 'EXPECTATIONS');
    assert.equal(res.statusCode, 200);
    await expectAnswer('GET', '/k/1', notFound);
    await expectAnswer('GET', '/k/2', { status: 200, body: '2', contentType: undefined });
    assert.deepEqual(
      (await settle(client.retrieveActiveExpectations())).map((e) => e.id),
      ['k2'],
    );
    assert.equal((await settle(client.retrieveRecordedRequests('/k/1'))).length, 2);

    assert.equal((await client.clearById('k2', 'LOG')).statusCode, 200);
    assert.deepEqual(await settle(client.retrieveRecordedRequests('/k/2')), [], 'requests matched by k2 are gone');
    await expectAnswer('GET', '/k/2', { status: 200, body: '2', contentType: undefined });
  });

  test('reset: removes every expectation and recorded request', { timeout: TEST_TIMEOUT }, async () => {
    await client.mockAnyResponse({ httpRequest: { path: '/reset/me' }, httpResponse: { statusCode: 200, body: 'here' } });
    await expectAnswer('GET', '/reset/me', { status: 200, body: 'here', contentType: undefined });
    assert.equal((await settle(client.retrieveRecordedRequests())).length, 1);

    const res = await client.reset();
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, '');
    assert.deepEqual(await settle(client.retrieveActiveExpectations()), []);
    assert.deepEqual(await settle(client.retrieveRecordedRequests()), []);
    await expectAnswer('GET', '/reset/me', notFound);
  });
  describe('object callbacks over /_mockserver_callback_websocket', () => {
    // The client's websocket code looks for ./CertificateAuthorityCertificate.pem even without TLS,
    // and downloads it from raw.githubusercontent.com when it is missing (the promise never
    // settles without internet). Run these tests from a scratch directory holding an empty one.
    const cwd = process.cwd();
    let scratch;
    before(() => {
      scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'compat-client-callbacks-'));
      fs.writeFileSync(path.join(scratch, 'CertificateAuthorityCertificate.pem'), '');
      process.chdir(scratch);
    });
    after(async () => {
      await closeCallbackSockets();
      process.chdir(cwd);
      if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
    });
    afterEach(closeCallbackSockets);

    const quick = { timeoutMs: CALLBACK_STEP_TIMEOUT };

    test('mockWithCallback: the response is built from each request', { timeout: CALLBACK_TEST_TIMEOUT }, async () => {
      const seen = [];
      const created = await registerCallback(
        client.mockWithCallback(
          { path: '/cb/echo/.*' },
          (request) => {
            seen.push(request);
            const n = Number(request.queryStringParameters?.n?.[0]);
            return {
              statusCode: 200 + n,
              headers: { 'X-Echo-Method': [request.method], 'X-Echo-In': headerOf(request, 'X-In') },
              body: `${request.method} ${request.path} n=${n} in=${headerOf(request, 'X-In')?.[0]} body=${bodyText(request.body)}`,
            };
          },
          { unlimited: true },
        ),
        'mockWithCallback',
      );
      assert.deepEqual(created.httpRequest, { path: '/cb/echo/.*' });
      assert.equal(typeof created.httpResponseObjectCallback?.clientId, 'string', JSON.stringify(created));
      assert.deepEqual(created.times, { unlimited: true });

      const one = await expectAnswer(
        'POST',
        '/cb/echo/one?n=1',
        { status: 201, body: 'POST /cb/echo/one n=1 in=first body=hello', contentType: undefined },
        { headers: { 'X-In': 'first', 'Content-Type': 'text/plain' }, body: 'hello', ...quick },
      );
      assert.equal(one.headers['x-echo-method'], 'POST');
      assert.equal(one.headers['x-echo-in'], 'first');
      assert.equal(one.headers['websocketcorrelationid'], undefined, 'the correlation header is not returned');

      const two = await expectAnswer(
        'PUT',
        '/cb/echo/two?n=2',
        { status: 202, body: 'PUT /cb/echo/two n=2 in=second body=world', contentType: undefined },
        { headers: { 'X-In': 'second', 'Content-Type': 'text/plain' }, body: 'world', ...quick },
      );
      assert.equal(two.headers['x-echo-method'], 'PUT');
      assert.equal(two.headers['x-echo-in'], 'second');
      assert.equal(two.headers['websocketcorrelationid'], undefined);

      // what the handler was given: MockServer's HttpRequest JSON
      assert.equal(seen.length, 2);
      assert.equal(seen[0].method, 'POST');
      assert.equal(seen[0].path, '/cb/echo/one');
      assert.deepEqual(seen[0].queryStringParameters, { n: ['1'] });
      assert.equal(seen[0].body?.type, 'STRING', JSON.stringify(seen[0].body));
      assert.equal(seen[0].body.string, 'hello');
      assert.ok(!Array.isArray(seen[0].headers), 'request headers come as a map');
      for (const r of seen) {
        const correlation = r.headers.WebSocketCorrelationId;
        assert.ok(Array.isArray(correlation) && correlation.length === 1, `WebSocketCorrelationId in ${JSON.stringify(r.headers)}`);
      }
      assert.notEqual(seen[0].headers.WebSocketCorrelationId[0], seen[1].headers.WebSocketCorrelationId[0]);
    });

    test('mockWithCallback: a JSON object body and a delay', { timeout: CALLBACK_TEST_TIMEOUT }, async () => {
      await registerCallback(
        client.mockWithCallback(
          { method: 'GET', path: '/cb/json' },
          (request) => ({
            statusCode: 200,
            body: { path: request.path, list: [1, 'two'], nested: { ok: true } },
            delay: { timeUnit: 'MILLISECONDS', value: 400 },
          }),
          5,
        ),
        'mockWithCallback',
      );
      const started = Date.now();
      const res = await expectAnswer('GET', '/cb/json', { status: 200, contentType: 'application/json; charset=utf-8' }, quick);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 350, `the 400 ms delay is applied (answered after ${elapsed} ms)`);
      assert.deepEqual(JSON.parse(res.body), { path: '/cb/json', list: [1, 'two'], nested: { ok: true } });
      await expectAnswer('POST', '/cb/json', notFound, { body: 'x', ...quick });
    });

    test('mockWithCallback: once the callback socket is closed the expectation answers 404', { timeout: CALLBACK_TEST_TIMEOUT }, async () => {
      const created = await registerCallback(
        client.mockWithCallback({ path: '/cb/gone' }, () => ({ statusCode: 200, body: 'here' }), { unlimited: true }),
        'mockWithCallback',
      );
      await expectAnswer('GET', '/cb/gone', { status: 200, body: 'here', contentType: undefined }, quick);
      await closeCallbackSockets();
      // the server notices the close asynchronously: allow it up to 2 s
      let res;
      for (const deadline = Date.now() + 2000; ; ) {
        res = await send('GET', '/cb/gone', quick);
        if (res.status !== 200 || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(res.status, 404, `body ${JSON.stringify(res.body)}`);
      assert.equal(res.body, '');
      // MockServer keeps the expectation (it still names the closed client)
      const active = await settle(client.retrieveActiveExpectations());
      assert.deepEqual(
        active.map((e) => e.id),
        [created.id],
      );
      assert.deepEqual(active[0].httpResponseObjectCallback, created.httpResponseObjectCallback);
    });

    test('mockWithForwardCallback: the handler rewrites the request forwarded to the same server', { timeout: CALLBACK_TEST_TIMEOUT }, async () => {
      // the plain expectation answers only the request the handler produces (it needs X-Added)
      await client.mockAnyResponse({
        httpRequest: { method: 'GET', path: '/fw/upstream', headers: { 'X-Added': ['yes'] } },
        httpResponse: { statusCode: 202, headers: { 'X-Up': ['u'] }, body: 'upstream body' },
      });
      const seen = [];
      const created = await registerCallback(
        client.mockWithForwardCallback(
          { path: '/fw/entry' },
          (request) => {
            seen.push(request);
            return {
              method: 'GET',
              path: '/fw/upstream',
              queryStringParameters: request.queryStringParameters,
              headers: { Host: [`${server.host}:${server.port}`], 'X-Added': ['yes'], 'X-Original-Path': [request.path] },
              socketAddress: { host: server.host, port: server.port, scheme: 'HTTP' },
            };
          },
          { unlimited: true },
        ),
        'mockWithForwardCallback',
      );
      assert.equal(typeof created.httpForwardObjectCallback?.clientId, 'string', JSON.stringify(created));
      assert.equal(created.httpForwardObjectCallback.responseCallback, undefined, JSON.stringify(created));

      await expectAnswer('GET', '/fw/upstream', notFound, quick); // without the handler's header
      for (const q of ['a', 'b']) {
        const res = await expectAnswer('POST', `/fw/entry?q=${q}`, { status: 202, body: 'upstream body', contentType: undefined }, { body: 'in', ...quick });
        assert.equal(res.headers['x-up'], 'u');
        assert.equal(res.headers['websocketcorrelationid'], undefined);
      }
      assert.deepEqual(
        seen.map((r) => `${r.method} ${r.path} ${bodyText(r.body)}`),
        ['POST /fw/entry in', 'POST /fw/entry in'],
      );

      const forwarded = await settle(client.retrieveRecordedRequests({ path: '/fw/upstream', headers: { 'X-Added': ['yes'] } }));
      assert.equal(forwarded.length, 2, JSON.stringify(forwarded));
      assert.deepEqual(
        forwarded.map((r) => r.queryStringParameters),
        [{ q: ['a'] }, { q: ['b'] }],
      );
      for (const r of forwarded) {
        assert.equal(r.method, 'GET');
        assert.deepEqual(headerOf(r, 'X-Original-Path'), ['/fw/entry']);
        assert.equal(headerOf(r, 'WebSocketCorrelationId'), undefined, `the correlation header is not forwarded: ${JSON.stringify(r.headers)}`);
      }
    });

    test('mockWithForwardAndResponseCallback: the response handler rewrites the upstream answer', { timeout: CALLBACK_TEST_TIMEOUT }, async () => {
      await client.mockAnyResponse({
        httpRequest: { method: 'GET', path: '/fwr/upstream', headers: { 'X-Added': ['yes'] } },
        httpResponse: { statusCode: 202, headers: { 'X-Up': ['u'] }, body: 'upstream body' },
      });
      const seen = [];
      const created = await registerCallback(
        client.mockWithForwardAndResponseCallback(
          { path: '/fwr/entry' },
          (request) => ({
            method: 'GET',
            path: '/fwr/upstream',
            headers: { Host: [`${server.host}:${server.port}`], 'X-Added': ['yes'], 'X-Original-Path': [request.path] },
            socketAddress: { host: server.host, port: server.port, scheme: 'HTTP' },
          }),
          (request, response) => {
            seen.push({ request, response });
            return {
              statusCode: response.statusCode + 1,
              headers: { 'X-Up': headerOf(response, 'X-Up'), 'X-Forwarded-Path': [request.path] },
              body: `changed: ${bodyText(response.body)}`,
            };
          },
          { unlimited: true },
        ),
        'mockWithForwardAndResponseCallback',
      );
      assert.equal(typeof created.httpForwardObjectCallback?.clientId, 'string', JSON.stringify(created));
      assert.equal(created.httpForwardObjectCallback.responseCallback, true, JSON.stringify(created));

      for (let i = 0; i < 2; i++) {
        const res = await expectAnswer('GET', '/fwr/entry', { status: 203, body: 'changed: upstream body', contentType: undefined }, quick);
        assert.equal(res.headers['x-up'], 'u');
        assert.equal(res.headers['x-forwarded-path'], '/fwr/upstream');
        assert.equal(res.headers['websocketcorrelationid'], undefined);
      }
      // the response handler gets the request that was forwarded and the upstream's response
      assert.equal(seen.length, 2);
      const { request, response } = seen[0];
      assert.equal(request.path, '/fwr/upstream');
      assert.deepEqual(headerOf(request, 'X-Original-Path'), ['/fwr/entry']);
      assert.equal(response.statusCode, 202);
      assert.deepEqual(headerOf(response, 'X-Up'), ['u']);
      assert.equal(bodyText(response.body), 'upstream body');
      const forwarded = await settle(client.retrieveRecordedRequests({ path: '/fwr/upstream' }));
      assert.equal(forwarded.length, 2, JSON.stringify(forwarded));
    });

    test('two callbacks at once: two sockets, each answers its own path', { timeout: CALLBACK_TEST_TIMEOUT }, async () => {
      const calls = [];
      const a = await registerCallback(
        client.mockWithCallback(
          { path: '/two/a' },
          (request) => {
            calls.push(`a ${request.path}`);
            return { statusCode: 200, body: 'from a' };
          },
          { unlimited: true },
        ),
        'mockWithCallback a',
      );
      const b = await registerCallback(
        client.mockWithCallback(
          { path: '/two/b' },
          (request) => {
            calls.push(`b ${request.path}`);
            return { statusCode: 201, headers: { 'X-From': ['b'] }, body: 'from b' };
          },
          { unlimited: true },
        ),
        'mockWithCallback b',
      );
      assert.notEqual(a.httpResponseObjectCallback.clientId, b.httpResponseObjectCallback.clientId, 'one client id per socket');

      for (let i = 0; i < 2; i++) {
        await expectAnswer('GET', '/two/a', { status: 200, body: 'from a', contentType: undefined }, quick);
        const resB = await expectAnswer('GET', '/two/b', { status: 201, body: 'from b', contentType: undefined }, quick);
        assert.equal(resB.headers['x-from'], 'b');
      }
      await expectAnswer('GET', '/two/c', notFound, quick);
      assert.deepEqual(calls, ['a /two/a', 'b /two/b', 'a /two/a', 'b /two/b']);
    });
  });
});
