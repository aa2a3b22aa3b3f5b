/**
 * Checks a HAR the way its readers do: the HAR 1.2 JSON schema (har-schema, compiled by ajv with
 * the draft-06 meta-schema it is written in), and the checks Chrome DevTools' HAR importer makes on
 * WebSocket entries before it shows their messages.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { isIPv4, isIPv6 } from 'node:net';
import Ajv from 'ajv';
import type { Har } from 'har-format';

const require = createRequire(import.meta.url);
const schemas = require('har-schema') as Record<string, object>;
const draft06 = require('ajv/dist/refs/json-schema-draft-06.json') as object;

type Validate = ((data: unknown) => boolean) & { errors?: unknown };
let validate: Validate | null = null;

export function assertValidHar(har: unknown): asserts har is Har {
  if (validate === null) {
    // har-schema uses keywords ajv's strict mode rejects ("optional", "min"), hence strict: false.
    const ajv = new Ajv.default({ strict: false, allErrors: true });
    // The formats the HAR schema names, checked (ajv knows none of its own, and would print a
    // warning for each one it ignores).
    ajv.addFormat('date-time', (s: string) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(s) && !Number.isNaN(Date.parse(s)));
    ajv.addFormat('uri', (s: string) => URL.canParse(s));
    ajv.addFormat('ipv4', (s: string) => isIPv4(s));
    ajv.addFormat('ipv6', (s: string) => isIPv6(s));
    ajv.addMetaSchema(draft06);
    for (const schema of Object.values(schemas)) ajv.addSchema(schema);
    validate = ajv.getSchema('har.json#') as unknown as Validate;
  }
  const ok = validate!(har);
  assert.ok(ok, `HAR schema errors: ${JSON.stringify(validate!.errors, null, 1)}`);
}

/** What Chrome's importer needs of a WebSocket entry and each of its messages. */
export function assertChromeImportable(har: Har): void {
  for (const entry of har.log.entries) {
    assert.equal(entry._resourceType, 'websocket');
    assert.ok(Array.isArray(entry._webSocketMessages), '_webSocketMessages is an array');
    assert.match(entry.request.url, /^wss?:\/\//);
    assert.ok(!Number.isNaN(Date.parse(entry.startedDateTime)));
    for (const m of entry._webSocketMessages!) {
      assert.ok(m.type === 'send' || m.type === 'receive', `type ${String(m.type)}`);
      assert.equal(typeof m.time, 'number');
      assert.ok(m.time > 1e9 && m.time < 1e11, 'time is epoch seconds');
      assert.equal(typeof m.opcode, 'number');
      assert.equal(typeof m.data, 'string');
    }
  }
}
