// Writes corpus files that npm packages hold as code rather than as files:
//   har/<name>.har           every capture of the har-examples package
//   postman/<name>.json      a Postman v2.1 collection made by openapi-to-postmanv2 (Postman's
//                            own converter) from each OpenAPI 3.0 JSON example of
//                            @readme/oas-examples, with example responses
// Usage: node prepare.mjs DEST (DEST holds node_modules/).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const dest = path.resolve(process.argv[2]);
const require = createRequire(path.join(dest, 'package.json'));
const har = await import(require.resolve('har-examples'));
const converter = require('openapi-to-postmanv2');

fs.mkdirSync(path.join(dest, 'har'), { recursive: true });
const captures = har.default || har;
for (const [name, doc] of Object.entries(captures)) {
  if (doc && doc.log) fs.writeFileSync(path.join(dest, 'har', `${name}.har`), JSON.stringify(doc, null, 2));
}

fs.mkdirSync(path.join(dest, 'postman'), { recursive: true });
const specs = path.join(dest, 'node_modules/@readme/oas-examples/3.0/json');
let made = 0;
for (const file of fs.readdirSync(specs).filter((f) => f.endsWith('.json')).sort()) {
  const data = fs.readFileSync(path.join(specs, file), 'utf8');
  const out = await new Promise((resolve) => {
    converter.convert({ type: 'string', data }, { requestParametersResolution: 'Example', exampleParametersResolution: 'Example' }, (err, res) =>
      resolve(!err && res && res.result ? res.output[0].data : null),
    );
  });
  if (out) {
    fs.writeFileSync(path.join(dest, 'postman', file), JSON.stringify(out, null, 2));
    made++;
  }
}
console.error(`corpus: ${Object.keys(captures).length} HAR captures, ${made} Postman collections`);
