// Browser tests of the web UI: a real standin server, Debian's Chromium driven by
// playwright-core. Run with `npm test` in ui/ after `npm run build`.
//
//   STANDIN_BIN     the standin binary (default ../target/debug/standin)
//   STANDIN_UI_DIR  the built UI to serve (default ui/dist)
//   CHROMIUM        the browser (default /usr/bin/chromium)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const uiDir = resolve(here, '..');
const repo = resolve(uiDir, '..');
const BIN = process.env.STANDIN_BIN || join(repo, 'target/debug/standin');
const UI_DIR = process.env.STANDIN_UI_DIR || join(uiDir, 'dist');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const RESULTS = join(uiDir, 'test-results');

const STEP = 15_000; // any single wait in a page
const TEST = 90_000; // any one test

let server;
let dataDir;
let admin;
let mock;
let browser;
const serverLog = [];

// Nothing may hang: the whole file gives up after six minutes.
const watchdog = setTimeout(() => {
  console.error('browser tests: overall timeout, giving up');
  try {
    server?.kill('SIGKILL');
  } catch {}
  process.exit(1);
}, 6 * 60_000);
watchdog.unref();

function startServer() {
  return new Promise((resolvePromise, reject) => {
    dataDir = mkdtempSync(join(tmpdir(), 'standin-ui-test-'));
    const args = ['serve', '--data-dir', dataDir, '--mock-addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0', '--ui-dir', UI_DIR];
    server = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, STANDIN_LOG: 'warn' } });
    const timer = setTimeout(() => reject(new Error(`standin did not announce its listeners in 20 s:\n${serverLog.join('')}`)), 20_000);
    let out = '';
    const onData = (chunk) => {
      const s = chunk.toString();
      serverLog.push(s);
      out += s;
      const a = /admin API on (http:\/\/[^\s]+)/.exec(out);
      const m = /mock listener on (http:\/\/[^\s]+)/.exec(out);
      if (a && m) {
        clearTimeout(timer);
        admin = a[1].replace(/\/$/, '');
        mock = m[1].replace(/\/$/, '');
        resolvePromise();
      }
    };
    server.stdout.on('data', onData);
    server.stderr.on('data', (c) => serverLog.push(c.toString()));
    server.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    server.on('exit', (code) => {
      if (!admin) {
        clearTimeout(timer);
        reject(new Error(`standin exited with ${code}:\n${serverLog.join('')}`));
      }
    });
  });
}

async function api(method, path, body, actor = 'test-api') {
  const ctl = AbortSignal.timeout(STEP);
  const res = await fetch(`${admin}/api/v1${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', 'X-Standin-Actor': actor },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: ctl,
  });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return data;
}

async function callMock(path, init = {}) {
  const res = await fetch(`${mock}${path}`, { ...init, signal: AbortSignal.timeout(STEP) });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) };
}

/**
 * A fresh page (1280x800 unless `viewport` says otherwise) that fails the test on any
 * console error or page error. `allow` lists console errors a test expects (Chromium logs
 * every 4xx answer to fetch as one, so a test of a refused save allows exactly that 412).
 */
async function withPage(fn, { viewport = { width: 1280, height: 800 }, allow = [] } = {}) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP);
  page.setDefaultNavigationTimeout(STEP);
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !allow.some((re) => re.test(msg.text()))) errors.push(`console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  // Nothing may come from the internet: every request goes to this standin.
  page.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith(admin) && !url.startsWith(mock) && !url.startsWith('data:') && url !== 'about:blank') {
      errors.push(`request outside standin: ${url}`);
    }
  });
  try {
    await fn(page);
  } finally {
    await context.close().catch(() => {});
  }
  assert.deepEqual(errors, [], 'the browser reported errors');
}

const shot = (page, name) => page.screenshot({ path: join(RESULTS, name) });

before(async () => {
  if (!existsSync(CHROMIUM)) {
    const r = spawnSync('sh', [join(here, 'ensure-chromium.sh')], { stdio: 'inherit', timeout: 300_000 });
    if (r.status !== 0 || !existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}; run tests/ensure-chromium.sh as root`);
  }
  if (!existsSync(join(UI_DIR, 'index.html'))) throw new Error(`no built UI at ${UI_DIR}: run \`npm run build\` first`);
  if (!existsSync(BIN)) throw new Error(`no standin binary at ${BIN}: build it, or set STANDIN_BIN`);
  mkdirSync(RESULTS, { recursive: true });
  await startServer();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close().catch(() => {});
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => {
      const t = setTimeout(() => {
        server.kill('SIGKILL');
        r();
      }, 5000);
      server.on('exit', () => {
        clearTimeout(t);
        r();
      });
    });
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  clearTimeout(watchdog);
});

const TEAM = 'payments-qa';
const SVC = 'cards';
const ROUTE = 'get-card';

test('creates a team, a service and a route through the forms', { timeout: TEST }, async () => {
  await withPage(async (page) => {
    await page.goto(`${admin}/`);
    await page.getByTestId('home-page').waitFor();
    await page.getByTestId('stat-requests-today').waitFor();
    await shot(page, 'home-empty.png');

    await page.getByTestId('new-team-button').click();
    await page.getByTestId('team-name-input').fill('Payments QA');
    assert.equal(await page.getByTestId('team-slug-input').inputValue(), TEAM);
    await page.getByTestId('team-create-submit').click();
    await page.getByTestId('team-page').waitFor();
    assert.equal(await page.getByTestId('team-title').textContent(), 'Payments QA');

    await page.getByTestId('new-service-button').click();
    await page.getByTestId('service-name-input').fill('Cards');
    await page.getByTestId('service-create-submit').click();
    await page.getByTestId('service-page').waitFor();
    assert.equal(await page.getByTestId('service-title').textContent(), 'Cards');
    const base = await page.getByTestId('base-url-value').textContent();
    assert.equal(base, `${mock}/${TEAM}/${SVC}`);

    await page.getByTestId('new-route-button').click();
    await page.getByTestId('route-editor').waitFor();
    await page.getByTestId('route-name').fill('Get a card');
    await page.getByTestId('route-id').fill(ROUTE);
    await page.getByTestId('req-method').selectOption('GET');
    await page.getByTestId('req-path').fill('/cards/{id}');
    await page.getByTestId('resp-status').fill('200');
    const body = page.getByTestId('response-body-editor').locator('.cm-content');
    await body.click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.insertText('{"id": 1, "brand": "visa"}');
    await page.getByTestId('response-body-editor').getByText('valid JSON').waitFor();
    await page.getByTestId('route-save').click();
    await page.getByTestId('route-id-value').waitFor();
    assert.equal(await page.getByTestId('route-id-value').textContent(), ROUTE);
  });

  const saved = await api('GET', `/teams/${TEAM}/services/${SVC}/routes/${ROUTE}`);
  assert.equal(saved.name, 'Get a card');
  assert.deepEqual(saved.http.request, { method: 'GET', path: '/cards/{id}' });
  assert.deepEqual(saved.http.response.body, { json: { id: 1, brand: 'visa' } });
  assert.equal(saved.meta.updatedBy, 'web-ui');

  const r = await callMock(`/${TEAM}/${SVC}/cards/7`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), { id: 1, brand: 'visa' });

  // The team and service pages show what was made.
  await withPage(async (page) => {
    await page.goto(`${admin}/#/teams/${TEAM}`);
    await page.getByTestId('team-services').waitFor();
    await shot(page, 'team.png');
    await page.goto(`${admin}/#/teams/${TEAM}/services/${SVC}`);
    await page.locator(`[data-testid=route-row][data-route-id="${ROUTE}"]`).waitFor();
    await shot(page, 'service.png');
  });
});

test('a call to the mock appears in the live log', { timeout: TEST }, async () => {
  await withPage(async (page) => {
    await page.goto(`${admin}/#/teams/${TEAM}/services/${SVC}/log`);
    await page.getByTestId('log-page').waitFor();
    await page.getByTestId('log-connection').getByText('live').waitFor();
    const r = await callMock(`/${TEAM}/${SVC}/cards/42?expand=owner`);
    assert.equal(r.status, 200);
    const row = page.getByTestId('log-row').filter({ hasText: '/cards/42' });
    await row.waitFor({ timeout: 10_000 });
    assert.match(await row.textContent(), /expand=owner/);
    assert.match(await row.textContent(), /get-card/);
    await row.click();
    await page.getByTestId('entry-matched').waitFor();
    await shot(page, 'log.png');
    // The home page now shows the team, its service and its last use.
    await page.goto(`${admin}/#/`);
    await page.getByTestId(`team-card-${TEAM}`).getByTestId('service-link').filter({ hasText: 'Cards' }).waitFor();
    assert.equal(await page.getByTestId('stat-teams').textContent(), '1');
    assert.equal(await page.getByTestId('stat-routes').textContent(), '1');
    assert.notEqual(await page.getByTestId('stat-requests-today').textContent(), '0');
    // Calls over 30 days come from the stored usage; a service nobody called says so.
    await api('POST', `/teams/${TEAM}/services`, { slug: 'idle', name: 'Idle' });
    await page.reload();
    const card = page.getByTestId(`team-card-${TEAM}`);
    const cards = card.locator('tr').filter({ has: page.getByTestId('service-link').filter({ hasText: 'Cards' }) });
    await cards.waitFor();
    assert.ok(Number(await cards.getByTestId('service-calls').textContent()) >= 1);
    assert.doesNotMatch(await cards.getByTestId('service-last-used').textContent(), /unused/);
    const idle = card.locator('tr').filter({ has: page.getByTestId('service-link').filter({ hasText: 'Idle' }) });
    assert.equal((await idle.getByTestId('service-last-used').textContent()).trim(), 'unused');
    assert.equal(await idle.getByTestId('service-calls').textContent(), '0');
    await api('DELETE', `/teams/${TEAM}/services/idle`);
    await shot(page, 'home.png');
  });
});

test('try it answers from the unsaved draft, beside the editor, and saves nothing', { timeout: TEST }, async () => {
  await withPage(async (page) => {
    await page.goto(`${admin}/#/teams/${TEAM}/services/${SVC}/routes/${ROUTE}`);
    const editor = page.getByTestId('response-body-editor');
    await editor.locator('.cm-content').click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.insertText('{"id": 1, "brand": "draft-brand"}');
    await page.getByTestId('resp-status').fill('203');
    await page.getByTestId('try-path').fill('/cards/5');
    await page.getByTestId('try-send').click();
    const result = page.getByTestId('try-result');
    await result.waitFor();
    await page.getByTestId('try-matched').waitFor();
    assert.match(await result.textContent(), /203/);
    assert.match(await page.getByTestId('try-response-body').textContent(), /draft-brand/);
    await shot(page, 'try-it.png');
  }, { viewport: { width: 1920, height: 1080 } });
  // Nothing was saved: the mock and the API still have the saved route.
  const r = await callMock(`/${TEAM}/${SVC}/cards/5`);
  assert.equal(r.status, 200);
  assert.equal(r.json().brand, 'visa');
});

test('a save over someone else\'s newer edit is refused and shown, not applied', { timeout: TEST }, async () => {
  await withPage(async (page) => {
    await page.goto(`${admin}/#/teams/${TEAM}/services/${SVC}/routes/${ROUTE}`);
    await page.getByTestId('route-id-value').waitFor();
    // Meanwhile someone else changes the route through the API.
    const cur = await api('GET', `/teams/${TEAM}/services/${SVC}/routes/${ROUTE}`);
    const { team: _t, service: _s, meta: _m, ...doc } = cur;
    doc.name = 'Renamed by Mina';
    await api('PUT', `/teams/${TEAM}/services/${SVC}/routes/${ROUTE}`, doc, 'mina');
    // This editor still has the old revision open; its save must not overwrite Mina's.
    await page.getByTestId('resp-status').fill('418');
    await page.getByTestId('route-save').click();
    await page.getByTestId('conflict-banner').waitFor();
    assert.match(await page.getByTestId('conflict-actor').textContent(), /mina/);
    await shot(page, 'conflict.png');
  }, { allow: [/status of 412/] });
  const after = await api('GET', `/teams/${TEAM}/services/${SVC}/routes/${ROUTE}`);
  assert.equal(after.name, 'Renamed by Mina');
  assert.equal(after.http.response.status, 200, 'the stale save changed nothing');
});

test('invalid JSON in the response body shows a lint message at its line', { timeout: TEST }, async () => {
  await withPage(async (page) => {
    await page.goto(`${admin}/#/teams/${TEAM}/services/${SVC}/routes/${ROUTE}`);
    const editor = page.getByTestId('response-body-editor');
    await editor.locator('.cm-content').click();
    await page.keyboard.press('ControlOrMeta+a');
    // Line 3 lacks its comma, so the error is where line 4 starts its property.
    await page.keyboard.insertText('{\n  "id": 1,\n  "brand": "visa"\n  "expired": false\n}');
    const msg = editor.getByTestId('lint-message');
    await msg.waitFor();
    const text = (await msg.textContent()).replace('✕', '').trim();
    assert.match(text, /^Line 4, column 3: Expected ',' or '}'/);
    // CodeMirror marks the same place in the editor.
    await editor.locator('.cm-lintRange-error').first().waitFor();
    await shot(page, 'route-editor.png');
    // Saving is refused while the body is not JSON.
    await page.getByTestId('route-save').click();
    await page.getByTestId('save-error').waitFor();
    assert.match(await page.getByTestId('save-error').textContent(), /Line 4, column 3/);
  });
  const still = await api('GET', `/teams/${TEAM}/services/${SVC}/routes/${ROUTE}`);
  assert.deepEqual(still.http.response.body, { json: { id: 1, brand: 'visa' } });
});

test('an unmatched request in the log shows its near misses', { timeout: TEST }, async () => {
  const r = await callMock(`/${TEAM}/${SVC}/no-such-thing`, { method: 'DELETE' });
  assert.equal(r.status, 404);
  await withPage(async (page) => {
    await page.goto(`${admin}/#/teams/${TEAM}/services/${SVC}/log`);
    await page.getByTestId('log-page').waitFor();
    await page.getByTestId('log-filter-matched').selectOption('unmatched');
    const row = page.getByTestId('log-row').filter({ hasText: '/no-such-thing' });
    await row.waitFor();
    await row.click();
    await page.getByTestId('entry-unmatched').waitFor();
    const miss = page.getByTestId('near-miss').filter({ hasText: ROUTE });
    await miss.waitFor();
    const failed = await miss.getByTestId('failed-condition').allTextContents();
    assert.ok(failed.length >= 2, `every failed condition is listed: ${failed.join(' | ')}`);
    assert.ok(failed.some((f) => /path/.test(f)), `the path condition failed: ${failed.join(' | ')}`);
    assert.ok(failed.some((f) => /method/i.test(f)), `the method condition failed: ${failed.join(' | ')}`);
  });
});

test('restoring an earlier version from the history serves it again', { timeout: TEST }, async () => {
  // Someone changes the route.
  const cur = await api('GET', `/teams/${TEAM}/services/${SVC}/routes/${ROUTE}`);
  const { team: _t, service: _s, meta: _m, ...doc } = cur;
  doc.http.response.body = { json: { id: 1, brand: 'mastercard' } };
  await api('PUT', `/teams/${TEAM}/services/${SVC}/routes/${ROUTE}`, doc, 'someone-else');
  assert.equal((await callMock(`/${TEAM}/${SVC}/cards/1`)).json().brand, 'mastercard');

  await withPage(async (page) => {
    await page.goto(`${admin}/#/teams/${TEAM}/services/${SVC}/history`);
    await page.getByTestId('history-page').waitFor();
    const events = page.getByTestId('history-event').filter({ hasText: `route ${TEAM}/${SVC}/${ROUTE}` });
    await events.first().waitFor();
    assert.match(await events.first().textContent(), /someone-else/);
    // The earlier version is the route as created in the UI.
    const created = events.and(page.locator('[data-kind=create]'));
    await created.click();
    await page.getByTestId('diff').waitFor();
    await shot(page, 'history.png');
    await page.getByTestId('restore-version').click();
    await page.getByTestId('confirm-ok').click();
    await page.getByTestId('toast-ok').filter({ hasText: 'Restored' }).waitFor();
    // The restore is a new change at the top of the timeline.
    await page.getByTestId('history-event').first().filter({ hasText: 'web-ui' }).waitFor();
  });

  const r = await callMock(`/${TEAM}/${SVC}/cards/1`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), { id: 1, brand: 'visa' });
  const hist = await api('GET', `/history?key=${TEAM}/${SVC}/${ROUTE}&entity=route&limit=1`);
  assert.equal(hist[0].actor, 'web-ui');
  assert.equal(hist[0].kind, 'update');
});

test('load time with 50 services of 100 routes each', { timeout: 180_000 }, async () => {
  const team = 'perf';
  await api('POST', '/teams', { slug: team, name: 'Performance' });
  const methods = ['GET', 'POST', 'PUT', 'DELETE'];
  const t0 = Date.now();
  for (let s = 0; s < 50; s++) {
    const svc = `svc-${String(s).padStart(2, '0')}`;
    await api('POST', `/teams/${team}/services`, { slug: svc, name: `Service ${s}`, tags: ['perf'] });
    const routes = [];
    for (let r = 0; r < 100; r++) {
      routes.push({
        id: `r-${String(r).padStart(3, '0')}`,
        name: `Route ${r} of service ${s}`,
        tags: [`group-${r % 5}`],
        http: {
          request: { method: methods[r % 4], path: `/items-${r}/{id}` },
          response: { status: 200, body: { json: { service: s, route: r } } },
        },
      });
    }
    await api('PUT', `/teams/${team}/services/${svc}/routes`, routes);
  }
  console.log(`seeded 50 services x 100 routes in ${Date.now() - t0} ms`);

  await withPage(async (page) => {
    let t = Date.now();
    await page.goto(`${admin}/`);
    await page.getByTestId(`team-card-${team}`).getByText('Service 49').waitFor();
    const home = Date.now() - t;

    // A full load, not a hash change within the loaded page.
    await page.goto('about:blank');
    t = Date.now();
    await page.goto(`${admin}/#/teams/${team}/services/svc-25`);
    await page.locator('[data-testid=route-row][data-route-id="r-099"]').waitFor();
    const service = Date.now() - t;
    assert.equal(await page.getByTestId('route-row').count(), 100);

    console.log(`first load of the home page (5,000 routes): ${home} ms`);
    console.log(`first load of a service page (100 routes): ${service} ms`);
  });
});

// `make ui-test` builds the binary after the UI, so its embedded copy is this build's.
test('the binary serves the UI built into it, without --ui-dir', { timeout: TEST, skip: !process.env.STANDIN_EXPECT_EMBEDDED }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'standin-ui-embedded-'));
  const child = spawn(BIN, ['serve', '--data-dir', dir, '--mock-addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await new Promise((ok, fail) => {
      const t = setTimeout(() => fail(new Error('no admin address in 20 s')), 20_000);
      let out = '';
      child.stdout.on('data', (c) => {
        out += c;
        const m = /admin API on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(t);
          ok(m[1]);
        }
      });
    });
    const served = await (await fetch(`${url}/`, { signal: AbortSignal.timeout(STEP) })).text();
    assert.equal(served, readFileSync(join(UI_DIR, 'index.html'), 'utf8'));
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(served)[1];
    const js = await fetch(`${url}${script}`, { signal: AbortSignal.timeout(STEP) });
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type'), /javascript/);
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
