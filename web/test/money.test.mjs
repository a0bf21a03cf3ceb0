// Unit tests of web/src/money.ts (exact credits arithmetic), run with
// node's test runner: `node --test web/test/` (host/app's
// TestDashboardMoney runs it in `make test`). The TypeScript module is
// compiled with the project's own typescript package, no bundler.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const here = path.dirname(fileURLToPath(import.meta.url));
const src = fs.readFileSync(path.join(here, '../src/money.ts'), 'utf8');
const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-money-'));
fs.writeFileSync(path.join(tmp, 'money.mjs'), js);
const { formatMicro, parseCredits, formatCreditsString, jsonInt, toBig } = await import(pathToFileURL(path.join(tmp, 'money.mjs')).href);
fs.rmSync(tmp, { recursive: true, force: true });

test('formatMicro shows micro-credits as exact decimal credits', () => {
  const cases = [
    [0, '0'], [1, '0.000001'], [-1, '-0.000001'], [1_500_000, '1.5'], [12_500_000, '12.5'],
    [1_000_000, '1'], [1_234_567_890, '1,234.56789'], [34, '0.000034'],
    ['9223372036854775807', '9,223,372,036,854.775807'], ['-9223372036854775808', '-9,223,372,036,854.775808'],
    [Number.MAX_SAFE_INTEGER, '9,007,199,254.740991'],
  ];
  for (const [v, want] of cases) assert.equal(formatMicro(v), want, `formatMicro(${v})`);
  assert.throws(() => formatMicro(0.5), /not an integer/);
});

test('parseCredits reads decimals exactly, never through a float', () => {
  const cases = [
    ['12.5', 12_500_000n], ['0.000001', 1n], ['1,000', 1_000_000_000n], [' 3 ', 3_000_000n], ['.5', 500_000n], ['7.', 7_000_000n],
    ['0.1', 100_000n], ['0.3', 300_000n], ['9223372036854.775807', 9223372036854775807n],
    ['0.29', 290_000n], ['1.005', 1_005_000n], // 0.29 and 1.005 are not exact as floats
  ];
  for (const [s, want] of cases) assert.equal(parseCredits(s), want, `parseCredits(${s})`);
  assert.equal(parseCredits('-2.5', true), -2_500_000n);
  for (const bad of ['', '.', 'abc', '1.0000001', '1e6', '0x10', '9223372036854.775808', '1.2.3', '--1']) {
    assert.throws(() => parseCredits(bad, true), undefined, `parseCredits(${JSON.stringify(bad)})`);
  }
  assert.throws(() => parseCredits('-1'), /negative/);
});

test('parse and format round-trip', () => {
  for (const s of ['0', '0.000001', '1.5', '12345.678901', '999999999']) {
    assert.equal(formatMicro(parseCredits(s)).replace(/,/g, ''), s);
  }
});

test('formatCreditsString groups the API\'s decimal strings', () => {
  assert.equal(formatCreditsString('12345.5'), '12,345.5');
  assert.equal(formatCreditsString('-1000'), '-1,000');
  assert.equal(formatCreditsString('0.000001'), '0.000001');
  assert.equal(formatCreditsString(''), '0');
});

test('jsonInt refuses what a JSON number cannot hold exactly', () => {
  assert.equal(jsonInt(9_007_199_254_740_991n), Number.MAX_SAFE_INTEGER);
  assert.throws(() => jsonInt(9_007_199_254_740_992n), /range/);
  assert.equal(toBig('42'), 42n);
});
