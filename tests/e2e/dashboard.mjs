// Browser test of the hub's dashboard: playwright-core driving Debian's
// Chromium against a real hub (host/app/dashboard_e2e_test.go starts it and
// sets the environment). Every step checks what a person would see; every
// page is photographed at 1280x800 and 390x844 into $HUB_E2E_SCREENSHOTS.
//
//   HUB_URL           the hub, e.g. http://127.0.0.1:41234
//   HUB_ADMIN_KEY     an admin key of the default account (which has credits)
//   HUB_USER_KEY      a user key of another account (team-b, with credits)
//   HUB_USER_CALL     a request id of a call made with HUB_USER_KEY
//   HUB_OTHER_CALL    a request id of a call made with HUB_ADMIN_KEY
//   HUB_E2E_SCREENSHOTS  where the PNGs go
//   CHROMIUM          the browser (default /usr/bin/chromium)
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const env = process.env;
for (const k of ['HUB_URL', 'HUB_ADMIN_KEY', 'HUB_USER_KEY', 'HUB_USER_CALL', 'HUB_OTHER_CALL', 'HUB_E2E_SCREENSHOTS']) {
  if (!env[k]) {
    console.error(`${k} is not set`);
    process.exit(2);
  }
}
const URL = env.HUB_URL.replace(/\/$/, '');
const SHOTS = env.HUB_E2E_SCREENSHOTS;
fs.mkdirSync(SHOTS, { recursive: true });
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const MODEL = 'openai/gpt-4o-mini';
const t0 = Date.now();

let passed = 0;
let failed = 0;
const problems = []; // page errors and console errors (CSP violations among them)

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-e2e-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  viewport: DESKTOP,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});
context.setDefaultTimeout(10_000);
const page = context.pages()[0] ?? (await context.newPage());
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('console', (m) => {
  if (m.type() !== 'error') return;
  const text = m.text();
  // The browser logs every failed fetch; the 401s, 403s and 404s are the
  // test's own refused requests (signed out, revoked key, admin routes);
  // the 409 is the refused rollback of a plugin with no earlier version.
  if (/Failed to load resource: the server responded with a status of (401|403|404|409)/.test(text)) return;
  problems.push(`console error: ${text}`);
});

async function step(name, fn) {
  const s = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok   ${name} (${Date.now() - s} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.stack || e}`);
    await page.screenshot({ path: path.join(SHOTS, `FAIL-${name.replace(/\W+/g, '-')}.png`), fullPage: true }).catch(() => {});
    throw e;
  }
}

/** settle waits until the page has loaded what it shows. */
async function settle() {
  await page.waitForFunction(() => !document.querySelector('.loading'), null, { timeout: 10_000 });
  await page.waitForTimeout(120); // charts measure their width after layout
}

/** shoot photographs the page at both widths (the whole page, scrolled). */
async function shoot(name) {
  await settle();
  await page.screenshot({ path: path.join(SHOTS, `${name}-1280.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  await settle();
  await page.screenshot({ path: path.join(SHOTS, `${name}-390.png`), fullPage: true });
  await page.setViewportSize(DESKTOP);
  await settle();
}

/** go shows a page of the app by its hash route. */
async function go(route) {
  await page.evaluate((h) => { window.location.hash = h; }, '#/' + route);
  await page.waitForSelector('main.content h1');
  await settle();
}

async function signIn(key) {
  await page.waitForSelector('[data-testid=signin]');
  await page.fill('input[name=key]', key);
  await page.click('[data-testid=signin] button[type=submit]');
}

async function signOut() {
  await page.click('[data-testid=signout]');
  await page.waitForSelector('[data-testid=signin]');
}

const navIds = () => page.$$eval('.sidenav a[data-nav]', (as) => as.map((a) => a.getAttribute('data-nav')));
const statCalls = async () => parseInt((await page.textContent('[data-testid=stat-calls] .stat-value')).replace(/[^\d]/g, ''), 10);

/** chat sends one message in the playground and returns what the reply looked like while it streamed. */
async function chat(text) {
  await page.waitForSelector('[data-testid=pg-model] option', { state: 'attached' });
  await page.selectOption('[data-testid=pg-model]', MODEL);
  const before = await page.$$eval('[data-testid=assistant-msg]', (e) => e.length);
  // Record the reply's length at every change of the DOM: a streamed reply grows in steps.
  await page.evaluate(() => {
    window.__lengths = [];
    const box = document.querySelector('[data-testid=messages]');
    new MutationObserver(() => {
      const msgs = box.querySelectorAll('[data-testid=assistant-msg] .msg-body');
      const last = msgs[msgs.length - 1];
      if (last) window.__lengths.push(last.textContent.replace('●●●', '').length);
    }).observe(box, { childList: true, subtree: true, characterData: true });
  });
  await page.fill('[data-testid=pg-input]', text);
  await page.click('[data-testid=pg-send]');
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=assistant-msg] [data-testid=cost]').length > n, before, { timeout: 15_000 });
  const lengths = await page.evaluate(() => window.__lengths);
  const growing = [...new Set(lengths.filter((l) => l > 0))];
  const reply = await page.$$eval('[data-testid=assistant-msg] .msg-body', (e) => e[e.length - 1].textContent);
  const meta = await page.$$eval('[data-testid=turn-info]', (e) => e[e.length - 1].textContent);
  const link = await page.$$eval('[data-testid=turn-info] a', (e) => e[e.length - 1].getAttribute('href'));
  const requestId = decodeURIComponent(link.replace(/^#\/calls\//, ''));
  return { growing, reply, meta, requestId };
}

let newKey = '';
let adminChat;
let callsBefore = 0;

try {
  await step('the sign-in page loads, with no session', async () => {
    await page.goto(URL + '/');
    await page.waitForSelector('[data-testid=signin]');
    check((await page.title()) === 'AIGNE Hub', 'title');
    await shoot('01-signin');
  });

  await step('a wrong key is refused', async () => {
    await signIn('sk-hub-not-a-real-key-0000000000');
    await page.waitForSelector('[data-testid=signin] .alert-error');
  });

  await step('the admin signs in; the key is kept by no storage', async () => {
    await signIn(env.HUB_ADMIN_KEY);
    await page.waitForSelector('.sidenav');
    const ids = await navIds();
    check(JSON.stringify(ids) === JSON.stringify(['overview', 'calls', 'providers', 'rates', 'keys', 'accounts', 'plugins', 'playground']), `admin nav: ${ids}`);
    const cookies = await context.cookies(URL);
    const c = cookies.find((c) => c.name === 'hub_session');
    check(c && c.httpOnly && c.sameSite === 'Strict', `session cookie: ${JSON.stringify(cookies)}`);
    check(!c.value.includes(env.HUB_ADMIN_KEY), 'the cookie holds the key');
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
    check(!stored.includes(env.HUB_ADMIN_KEY.slice(8)), 'the key is in web storage or a script-readable cookie');
    check((await page.$('input[name=key]')) === null, 'the sign-in form is gone');
  });

  await step('the overview shows the calls made before', async () => {
    await go('overview');
    await page.waitForSelector('[data-testid=stat-calls]');
    callsBefore = await statCalls();
    check(callsBefore >= 2, `calls before: ${callsBefore}`);
    check((await page.$$('.chart svg')).length === 4, 'four charts');
    await shoot('02-overview');
    // the phone layout: the navigation is a drawer behind the menu button
    await page.setViewportSize(PHONE);
    await page.waitForSelector('.sidenav a[data-nav=calls]', { state: 'hidden' });
    await page.click('.menu-btn');
    await page.waitForSelector('.sidenav a[data-nav=calls]', { state: 'visible' });
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(SHOTS, '02-overview-menu-390.png') });
    await page.click('.sidenav a[data-nav=calls]');
    await page.waitForSelector('main.content h1:has-text("Calls")');
    await page.waitForSelector('.sidenav a[data-nav=calls]', { state: 'hidden' });
    await page.setViewportSize(DESKTOP);
    await page.waitForSelector('.sidenav a[data-nav=calls]', { state: 'visible' });
  });

  await step('the admin creates an account and a user key; the key is shown once', async () => {
    await go('keys');
    await page.click('[data-testid=new-key-btn]');
    await page.fill('[data-testid=key-form] input[name=name]', 'e2e-user');
    await page.selectOption('[data-testid=key-form] select[name=account]', 'new');
    await page.fill('[data-testid=key-form] input[name=new-account]', 'team-a');
    await page.fill('[data-testid=key-form] input[name=allowed]', MODEL);
    await page.click('[data-testid=key-submit]');
    await page.waitForSelector('[data-testid=new-key]');
    newKey = (await page.textContent('[data-testid=new-key]')).trim();
    check(/^sk-hub-\S{20,}$/.test(newKey), `new key: ${newKey.slice(0, 10)}…`);
    check(await page.isVisible('.shown-once button:has-text("Copy")'), 'copy button');
    const row = page.locator('tr', { hasText: 'e2e-user' });
    await row.waitFor();
    check((await row.textContent()).includes('team-a'), 'the key row names its account');
    check(!(await page.textContent('main')).includes(newKey) || (await page.locator(`text=${newKey}`).count()) === 1, 'the key is shown once');
    await shoot('03-keys-created');
    await page.click('.shown-once button:has-text("I have saved it")');
    check((await page.locator('[data-testid=new-key]').count()) === 0, 'the box goes');
    check(!(await page.textContent('main')).includes(newKey), 'the key is not shown again');
  });

  await step('the admin grants 12.5 credits to team-a and sees its ledger', async () => {
    await go('accounts');
    const row = page.locator('tr', { hasText: 'team-a' });
    await row.locator('button', { hasText: 'Credits' }).click();
    await page.fill('input[name=amount]', '12.5');
    check((await page.textContent('.field-hint')).includes('12500000'), 'the amount preview is exact');
    await page.click('form button[type=submit]:has-text("Grant")');
    await page.waitForFunction(() => [...document.querySelectorAll('tr')].some((r) => r.textContent.includes('team-a') && r.textContent.includes('12.5')));
    await shoot('04-accounts');
    await row.locator('a', { hasText: 'team-a' }).click();
    await page.waitForSelector('text=+12.5');
    await shoot('05-account-ledger');
  });

  await step('the playground streams a reply and shows its usage and cost', async () => {
    await go('playground');
    await shoot('06-playground-empty');
    adminChat = await chat('Hello hub, please answer in a few words.');
    check(adminChat.reply.trim().length > 0, 'an answer');
    check(adminChat.growing.length >= 3, `the reply grew in steps while streaming: ${JSON.stringify(adminChat.growing)}`);
    check(/\d+ in · \d+ out tokens/.test(adminChat.meta), `usage: ${adminChat.meta}`);
    check(/Cost: [\d.,]+ credits/.test(adminChat.meta), `cost: ${adminChat.meta}`);
    check(/^req_/.test(adminChat.requestId), `request id ${adminChat.requestId}`);
    console.log(`     the reply grew through ${adminChat.growing.length} lengths: ${adminChat.growing.join(', ')}`);
    await shoot('07-playground-chat');
  });

  await step('the call is in Calls, with its details', async () => {
    await go('calls');
    const tail = adminChat.requestId.slice(-10);
    await page.waitForSelector(`a:has-text("${tail}")`);
    check((await page.locator('tr', { hasText: tail }).textContent()).includes('gpt-4o-mini'), 'the row names the model');
    check(await page.isVisible(`a:has-text("${env.HUB_USER_CALL.slice(-10)}")`), 'the admin sees other accounts\' calls');
    const csv = await page.getAttribute('[data-testid=csv]', 'href');
    check(csv.startsWith('/api/admin/calls?') && csv.includes('format=csv'), `csv link ${csv}`);
    const res = await page.evaluate(async (u) => { const r = await fetch(u); return [r.status, r.headers.get('content-type'), (await r.text()).slice(0, 4000)]; }, csv);
    check(res[0] === 200 && res[1].startsWith('text/csv') && res[2].includes(adminChat.requestId), `csv export: ${res[0]} ${res[1]}`);
    await shoot('08-calls');
    await page.click(`a:has-text("${tail}")`);
    await page.waitForSelector('[data-testid=call-detail] [data-testid=call-credits]');
    const detail = await page.textContent('[data-testid=call-detail]');
    check(detail.includes(adminChat.requestId) && detail.includes('OK') && detail.includes('Upstream attempts (1)'), 'detail');
    const cost = adminChat.meta.match(/Cost: ([\d.,]+) credits/)[1];
    check((await page.textContent('[data-testid=call-credits] strong')) === cost, 'the detail\'s credits are the playground\'s cost');
    check(!detail.includes('sk-upstream-secret'), 'no secret in the detail');
    await shoot('09-call-detail');
    // the filters: a status that matches nothing
    await go('calls');
    await page.selectOption('.filters select', 'aborted');
    await page.click('.filters button[type=submit]');
    await page.waitForSelector('text=No calls match.');
  });

  await step('the overview counts the call', async () => {
    await go('overview');
    await page.click('.segmented button[title=Refresh]');
    await page.waitForFunction((n) => {
      const v = document.querySelector('[data-testid=stat-calls] .stat-value');
      return v && parseInt(v.textContent.replace(/[^\d]/g, ''), 10) >= n + 1;
    }, callsBefore);
    const credits = await page.textContent('[data-testid=stat-credits] .stat-value');
    check(credits !== '0', `credits charged: ${credits}`);
    check((await page.textContent('.hbars')).includes('gpt-4o-mini'), 'top models');
    await shoot('10-overview-after');
    await page.click('.segmented button:has-text("7 days")');
    await settle();
    await shoot('11-overview-7d');
  });

  await step('providers show live status, and a connection test answers', async () => {
    await go('providers');
    const card = page.locator('.card.provider', { hasText: 'openai' });
    check((await card.textContent()).includes('Healthy'), 'openai is healthy');
    check(!(await card.textContent()).includes('sk-upstream-secret-1234'), 'no secret shown');
    await card.locator('button', { hasText: 'Test connection' }).first().click();
    await page.waitForSelector('[data-testid=test-result]', { timeout: 15_000 });
    await shoot('12-providers');
    await page.click('button:has-text("Add provider")');
    await page.waitForSelector('text=Base URL');
    await shoot('13-providers-add');
    await page.click('form button:has-text("Cancel")');
  });

  await step('rates: exact amounts, the unpriced model, a bulk margin', async () => {
    await go('rates');
    const row = page.locator('tr', { hasText: 'gpt-4o-mini' });
    check((await row.textContent()).includes('gpt-4o-mini'), 'the configured rate');
    await page.waitForSelector('.chip-action:has-text("openai/gpt-4o")');
    await row.locator('input[type=checkbox]').check();
    await page.fill('input[inputmode=decimal]', '10');
    await page.click('button:has-text("Apply to selected (1)")');
    await page.waitForSelector('text=Rates multiplied by 1.1');
    await page.waitForFunction(() => {
      const r = [...document.querySelectorAll('tr')].find((r) => r.textContent.includes('gpt-4o-mini'));
      const cells = r ? [...r.querySelectorAll('td')].map((td) => td.textContent) : [];
      return cells.includes('1.1') && cells.includes('2.2') && cells.includes('0.55');
    });
    await shoot('14-rates');
    await row.locator('button', { hasText: 'Edit' }).click();
    await page.waitForSelector('text=Edit rate of');
    await shoot('15-rates-edit');
    await page.click('form button:has-text("Cancel")');
  });

  await step('plugins show their pool and call counts', async () => {
    await go('plugins');
    const card = page.locator('section.plugin', { has: page.locator('[data-testid=plugin-openai]') });
    const calls = await card.locator('[data-counter=calls]').textContent();
    check(parseInt(calls.replace(/[^\d]/g, ''), 10) >= 3, `openai plugin calls: ${calls}`);
    const state = await card.locator('[data-testid=plugin-reload-state]').textContent();
    check(state.includes('Watched') && /Rollback to\s*none/.test(state) && /Draining\s*0/.test(state), `reload state: ${state}`);
    await shoot('16-plugins');
  });

  await step('reloading a builtin plugin finds it unchanged; there is nothing to roll back to', async () => {
    const card = page.locator('section.plugin', { has: page.locator('[data-testid=plugin-openai]') });
    const loadedBefore = await card.locator('[data-testid=plugin-reload-state] dd').first().textContent();
    await card.locator('[data-testid=plugin-reload]').click();
    const answer = card.locator('[data-testid=reload-answer]');
    await answer.waitFor();
    const said = await answer.textContent();
    check(said.startsWith('Unchanged') && said.includes('0.1.0'), `the reload's answer: ${said}`);
    // the list is read again: the outcome is the plugin's last reload, the serving version stays
    await card.locator('[data-testid=plugin-last-reload]:has-text("unchanged")').waitFor();
    const last = await card.locator('[data-testid=plugin-last-reload]').textContent();
    check(last.includes('Reload') && last.includes('by the API'), `last reload: ${last}`);
    check(await card.locator('[data-testid=plugin-reload-state] dd').first().textContent() === loadedBefore, 'loaded time unchanged');
    const audit = await page.evaluate(async () => (await fetch('/api/admin/audit?action=plugin.reload')).json());
    check(audit.data.some((e) => e.target === 'openai'), `audited: ${JSON.stringify(audit)}`);
    await shoot('16b-plugins-reloaded');
    await card.locator('[data-testid=plugin-rollback]').click();
    await card.locator('[data-testid=reload-answer]:has-text("Nothing to roll back to")').waitFor();
    check((await answer.textContent()).includes('no earlier version of openai'), 'the rollback\'s answer');
    check(await card.locator('[data-testid=plugin-rollback]').isEnabled(), 'the buttons are usable again');
    await shoot('16c-plugins-no-rollback');
  });

  await step('the Chinese switch translates the page and is remembered', async () => {
    await go('overview');
    await page.selectOption('[data-testid=lang]', 'zh');
    await page.waitForSelector('.sidenav a[data-nav=overview]:has-text("概览")');
    check((await page.textContent('main h1')) === '概览', 'the title');
    check(await page.evaluate(() => document.documentElement.lang === 'zh-CN'), 'lang attribute');
    await shoot('17-overview-zh');
    await go('keys');
    await shoot('18-keys-zh');
    await go('plugins');
    await page.waitForSelector('[data-testid=plugin-last-reload]:has-text("未变化")');
    await shoot('18b-plugins-zh');
    await page.reload(); // the session and the language survive a reload
    await page.waitForSelector('.sidenav a[data-nav=keys]:has-text("密钥")');
    await page.selectOption('[data-testid=lang]', 'en');
    await page.waitForSelector('.sidenav a[data-nav=keys]:has-text("Keys")');
  });

  await step('the new user key signs in and sees only its account', async () => {
    await signOut();
    await signIn(newKey);
    await page.waitForSelector('.sidenav');
    const ids = await navIds();
    check(JSON.stringify(ids) === JSON.stringify(['overview', 'calls', 'keys', 'playground']), `user nav: ${ids}`);
    await page.waitForSelector('[data-testid=balance]:has-text("12.5")');
  });

  await step('the admin revokes the key; it is refused', async () => {
    await signOut();
    await signIn(env.HUB_ADMIN_KEY);
    await page.waitForSelector('.sidenav');
    await go('keys');
    const row = page.locator('tr', { hasText: 'e2e-user' });
    await row.locator('button', { hasText: 'Revoke' }).click();
    await row.locator('button', { hasText: 'Really revoke' }).click();
    await page.waitForFunction(() => ![...document.querySelectorAll('tr')].some((r) => r.textContent.includes('e2e-user')));
    await page.check('text=Show revoked and expired');
    await page.waitForSelector('tr:has-text("e2e-user") .badge:has-text("Revoked")');
    const api = await fetch(URL + '/v1/models', { headers: { Authorization: 'Bearer ' + newKey } });
    check(api.status === 401, `the revoked key on the API: ${api.status}`);
    await signOut();
    await signIn(newKey);
    await page.waitForSelector('[data-testid=signin] .alert-error');
    check((await page.textContent('[data-testid=signin] .alert-error')).includes('401'), 'a 401');
  });

  await step('a second user sees only their own data', async () => {
    await page.fill('input[name=key]', '');
    await signIn(env.HUB_USER_KEY);
    await page.waitForSelector('.sidenav');
    const ids = await navIds();
    check(JSON.stringify(ids) === JSON.stringify(['overview', 'calls', 'keys', 'playground']), `user nav: ${ids}`);
    check((await page.textContent('.who')).includes('team-b'), 'the account name');
    await page.waitForSelector('[data-testid=balance]');
    await go('overview');
    await page.waitForSelector('[data-testid=stat-calls]');
    check((await statCalls()) === 1, `the user's calls: ${await statCalls()}`);
    await shoot('20-user-overview');
    // admin pages are not there, and the admin API refuses the session
    await page.evaluate(() => { window.location.hash = '#/providers'; });
    await page.waitForFunction(() => window.location.hash === '#/overview');
    const status = await page.evaluate(async () => (await fetch('/api/admin/providers')).status);
    check(status === 403, `admin API for a user session: ${status}`);
    await go('calls');
    await page.waitForSelector(`a:has-text("${env.HUB_USER_CALL.slice(-10)}")`);
    const text = await page.textContent('main');
    check(!text.includes(env.HUB_OTHER_CALL.slice(-10)) && !text.includes(adminChat.requestId.slice(-10)), 'other accounts\' calls are absent');
    check((await page.getAttribute('[data-testid=csv]', 'href')).startsWith('/api/calls?'), 'the user CSV link');
    await shoot('21-user-calls');
    await page.click(`a:has-text("${env.HUB_USER_CALL.slice(-10)}")`);
    await page.waitForSelector('[data-testid=call-credits]');
    await shoot('22-user-call-detail');
    const other = await page.evaluate(async (id) => (await fetch('/api/calls/' + id)).status, env.HUB_OTHER_CALL);
    check(other === 404 || other === 403, `another account's call: ${other}`);
  });

  await step('the user creates a key of their own and chats', async () => {
    await go('keys');
    check(!(await page.textContent('main')).includes('e2e-user'), 'other accounts\' keys are absent');
    await page.click('[data-testid=new-key-btn]');
    await page.fill('[data-testid=key-form] input[name=name]', 'b-second');
    await page.click('[data-testid=key-submit]');
    await page.waitForSelector('[data-testid=new-key]');
    await shoot('23-user-keys');
    await go('playground');
    const before = await page.textContent('[data-testid=balance] strong');
    const c = await chat('Hi from team b');
    check(c.growing.length >= 3, `streamed: ${JSON.stringify(c.growing)}`);
    check(/Cost: [\d.,]+ credits/.test(c.meta), `cost: ${c.meta}`);
    await page.waitForFunction((b) => document.querySelector('[data-testid=balance] strong').textContent !== b, before);
    await shoot('24-user-playground');
  });

  await step('signing out ends the session', async () => {
    await signOut();
    const status = await page.evaluate(async () => (await fetch('/api/session')).status);
    check(status === 401, `the session after sign-out: ${status}`);
    await page.reload();
    await page.waitForSelector('[data-testid=signin]');
  });

  await step('no page error, no CSP violation, no unexpected console error', async () => {
    check(problems.length === 0, problems.join('\n'));
  });
} catch {
  // reported by step
} finally {
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
console.log(`dashboard e2e: ${((Date.now() - t0) / 1000).toFixed(1)} s, screenshots in ${SHOTS}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
