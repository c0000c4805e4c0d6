// A deliberately small HTTP/1.1 client over a raw TCP socket.
//
// node's http module always adds a Connection header (and picks chunked encoding for some
// methods), which would make the request differ from what the case describes. Here the request
// is written byte for byte: the request line, Host (unless the case gives one), the case's own
// headers in order, Content-Length when there is a body (or for POST/PUT/PATCH, unless the case
// sets Content-Length or Transfer-Encoding itself), then the body. Nothing else.
//
// The answer is always resolved, never rejected: transport failures (connection closed without a
// response, reset, timeout) come back as {error: "..."} so they can be compared like answers.

import net from 'node:net';

const BODYLESS_STATUS = (s) => (s >= 100 && s < 200) || s === 204 || s === 304;

/**
 * @param {object} o
 * @param {string} o.host
 * @param {number} o.port
 * @param {string} o.method
 * @param {string} o.path          request target, sent as is (may hold a query string)
 * @param {object|Array} [o.headers]  {name: value | [values]} or [[name, value], ...]
 * @param {Buffer|string} [o.body]
 * @param {number} [o.timeoutMs]
 * @returns {Promise<{status:number, reason:string, headers:Object<string,string[]>, rawHeaders:Array, body:Buffer} | {error:string}>}
 */
export function rawRequest({ host, port, method = 'GET', path = '/', headers = {}, body = '', timeoutMs = 30000 }) {
  const bodyBuf = Buffer.isBuffer(body) ? body : Buffer.from(body ?? '', 'utf8');
  const pairs = Array.isArray(headers)
    ? headers.map(([n, v]) => [String(n), String(v)])
    : Object.entries(headers || {}).flatMap(([n, v]) => (Array.isArray(v) ? v.map((x) => [n, String(x)]) : [[n, String(v)]]));
  const has = (name) => pairs.some(([n]) => n.toLowerCase() === name);
  const lines = [`${method} ${path} HTTP/1.1`];
  if (!has('host')) lines.push(`Host: ${host}:${port}`);
  for (const [n, v] of pairs) lines.push(`${n}: ${v}`);
  if (!has('content-length') && !has('transfer-encoding') && (bodyBuf.length > 0 || ['POST', 'PUT', 'PATCH'].includes(method.toUpperCase()))) {
    lines.push(`Content-Length: ${bodyBuf.length}`);
  }
  const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');

  return new Promise((resolve) => {
    let settled = false;
    let buf = Buffer.alloc(0);
    let parsed = null; // {status, reason, headers, rawHeaders, bodyStart}
    const socket = net.connect({ host, port });

    const finish = (value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => finish({ error: `no complete response within ${timeoutMs} ms` }), timeoutMs);

    const tryParse = (ended) => {
      if (!parsed) {
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return false;
        const headText = buf.subarray(0, end).toString('latin1');
        const [statusLine, ...headerLines] = headText.split('\r\n');
        const m = /^HTTP\/\d\.\d (\d{3})(?: (.*))?$/.exec(statusLine);
        if (!m) {
          finish({ error: `malformed status line: ${JSON.stringify(statusLine)}` });
          return true;
        }
        const status = Number(m[1]);
        const rawHeaders = [];
        const hdrs = {};
        for (const line of headerLines) {
          const i = line.indexOf(':');
          if (i <= 0) continue;
          const n = line.slice(0, i).trim();
          const v = line.slice(i + 1).trim();
          rawHeaders.push([n, v]);
          (hdrs[n.toLowerCase()] ||= []).push(v);
        }
        if (status >= 100 && status < 200 && status !== 101) {
          // interim answer (100 Continue): drop it and keep reading
          buf = buf.subarray(end + 4);
          return tryParse(ended);
        }
        parsed = { status, reason: m[2] ?? '', headers: hdrs, rawHeaders, bodyStart: end + 4 };
      }
      const { status, headers: hdrs, bodyStart } = parsed;
      const done = (body) => {
        finish({ status, reason: parsed.reason, headers: hdrs, rawHeaders: parsed.rawHeaders, body });
        return true;
      };
      if (method.toUpperCase() === 'HEAD' || BODYLESS_STATUS(status)) return done(Buffer.alloc(0));
      const rest = buf.subarray(bodyStart);
      const te = (hdrs['transfer-encoding'] || []).join(',').toLowerCase();
      if (te.includes('chunked')) {
        const out = [];
        let pos = 0;
        for (;;) {
          const eol = rest.indexOf('\r\n', pos);
          if (eol === -1) break;
          const size = parseInt(rest.subarray(pos, eol).toString('latin1').split(';')[0].trim(), 16);
          if (Number.isNaN(size)) {
            finish({ error: 'malformed chunked body' });
            return true;
          }
          if (size === 0) {
            // trailers end with an empty line; accept a bare end too
            const trailerEnd = rest.indexOf('\r\n\r\n', eol);
            if (trailerEnd !== -1 || rest.length >= eol + 4 || ended) return done(Buffer.concat(out));
            break;
          }
          if (rest.length < eol + 2 + size + 2) break;
          out.push(rest.subarray(eol + 2, eol + 2 + size));
          pos = eol + 2 + size + 2;
        }
        if (ended) {
          finish({ error: 'connection closed inside a chunked body', status, headers: hdrs });
          return true;
        }
        return false;
      }
      const cl = hdrs['content-length'];
      if (cl) {
        const n = Number(cl[0]);
        if (rest.length >= n) return done(rest.subarray(0, n));
        if (ended) {
          finish({ error: `connection closed after ${rest.length} of ${n} body bytes`, status, headers: hdrs });
          return true;
        }
        return false;
      }
      // no framing: the body runs until the server closes the connection
      if (ended) return done(rest);
      return false;
    };

    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      tryParse(false);
    });
    socket.on('end', () => {
      if (settled) return;
      if (buf.length === 0) return finish({ error: 'connection closed without a response' });
      if (!tryParse(true)) finish({ error: 'connection closed inside the response head' });
    });
    socket.on('error', (err) => {
      if (settled) return;
      if (buf.length === 0) {
        finish({ error: err.code === 'ECONNRESET' ? 'connection closed without a response' : `socket error: ${err.code || err.message}` });
      } else if (!tryParse(true)) {
        finish({ error: `socket error inside the response: ${err.code || err.message}` });
      }
    });
    socket.on('connect', () => {
      socket.write(head);
      if (bodyBuf.length) socket.write(bodyBuf);
    });
  });
}
