// The classroom pages in a real browser: Debian's headless chromium driven by playwright-core,
// a fake microphone playing a WAV, HTTPS with the server's self-signed certificate. One test per
// run: `node classroom.test.mjs NAME` (ctest runs each), `--list` prints the names.
// Screenshots of each state go to $HAILER_BROWSER_OUT (default build/browser).
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, mkdirSync, readFileSync, existsSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const here = dirname(fileURLToPath(import.meta.url));
const build = process.env.HAILER_BUILD_DIR || join(here, '..', '..', 'build');
const fixtures = process.env.HAILER_FIXTURES || join(build, 'fixtures');
const out = process.env.HAILER_BROWSER_OUT || join(build, 'browser');
const WAIT_MS = 10000;
const axeSource = readFileSync(join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

// ------------------------------------------------------------------ audio comparison (as tests/e2e)

function readWav(path) {
  const b = readFileSync(path);
  let at = 12, rate = 0, channels = 1;
  while (at + 8 <= b.length) {
    const id = b.toString('ascii', at, at + 4), size = b.readUInt32LE(at + 4);
    if (id === 'fmt ') { channels = b.readUInt16LE(at + 10); rate = b.readUInt32LE(at + 12); }
    if (id === 'data') {
      const n = Math.floor(Math.min(size, b.length - at - 8) / 2 / channels);
      const s = new Int16Array(n);
      for (let i = 0; i < n; i++) s[i] = b.readInt16LE(at + 8 + i * 2 * channels);
      return { samples: s, rate };
    }
    at += 8 + size + (size % 2);
  }
  throw new Error(`no data in ${path}`);
}

function envelope({ samples, rate }) {
  const n = rate / 50, env = [];
  for (let i = 0; i + n <= samples.length; i += n) {
    let sum = 0;
    for (let j = i; j < i + n; j++) sum += samples[j] * samples[j];
    env.push(Math.max(-60, 20 * Math.log10(Math.max(Math.sqrt(sum / n), 1e-9) / 32768)));
  }
  return env;
}

function pearson(a, b) {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) { ma += a[i]; mb += b[i]; }
  ma /= n; mb /= n;
  let va = 0, vb = 0, c = 0;
  for (let i = 0; i < n; i++) { va += (a[i] - ma) ** 2; vb += (b[i] - mb) ** 2; c += (a[i] - ma) * (b[i] - mb); }
  return va === 0 || vb === 0 ? 0 : c / Math.sqrt(va * vb);
}

// Best envelope correlation over every lag, the heard track's silent ends cut (as harness.py).
function bestCorrelation(sent, heard, minOverlap = 50) {
  const loud = heard.map((v, i) => (v > -45 ? i : -1)).filter((i) => i >= 0);
  if (loud.length === 0) return 0;
  heard = heard.slice(loud[0], loud[loud.length - 1] + 1);
  let best = -1;
  for (let lag = -heard.length + minOverlap; lag <= sent.length - minOverlap; lag++) {
    const a0 = Math.max(0, lag), b0 = Math.max(0, -lag);
    const n = Math.min(sent.length - a0, heard.length - b0);
    if (n < minOverlap) continue;
    best = Math.max(best, pearson(sent.slice(a0, a0 + n), heard.slice(b0, b0 + n)));
  }
  return best;
}

// ------------------------------------------------------------------ the server and the browser

async function startServer(tmp, extra = [], httpPort = 0) {
  const recordings = join(tmp, 'recordings');
  const proc = spawn(join(build, 'apps', 'hailer-server'),
    ['--port', '0', '--udp-port', '0', '--http-port', String(httpPort), '--recordings', recordings, '--state-dir', join(tmp, 'state'),
     '--audio-out', 'none', ...extra], { stdio: ['ignore', 'pipe', 'ignore'] });
  let text = '';
  const info = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hailer-server did not start: ${text}`)), WAIT_MS);
    proc.stdout.on('data', (d) => {
      text += d;
      const m = text.match(/classroom: students open (https:\/\/[^ ]+:(\d+)\/) .*token=(\w+)[\s\S]*recordings: /);
      if (m) { clearTimeout(timer); resolve({ url: m[1], port: Number(m[2]), token: m[3] }); }
    });
  });
  const stop = () => new Promise((r) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return r();  // stopped already (a restart)
    proc.once('exit', r);
    proc.kill('SIGTERM');
  });
  return { proc, recordings, ...info, stop };
}

async function launch(tmp, wav) {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
           `--use-file-for-fake-audio-capture=${wav}`, '--autoplay-policy=no-user-gesture-required',
           '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

async function studentPage(browser, server, name) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 420, height: 760 } });
  const page = await context.newPage();
  await page.goto(`${server.url}?room=class`);
  await page.fill('#name', name);
  await page.click('#join button[type=submit]');
  await page.waitForSelector('#class:not([hidden])', { timeout: WAIT_MS });
  return page;
}

async function instructorPage(browser, server) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 900, height: 700 } });
  const page = await context.newPage();
  await page.goto(`${server.url}instructor#token=${server.token}`);
  await page.click('#join button[type=submit]');
  await page.waitForSelector('#room-view:not([hidden])', { timeout: WAIT_MS });
  return page;
}

// The two screens every state is checked on (the phone is touch-only, without hover).
const SCREENS = {
  phone: { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true },
  desktop: { viewport: { width: 1280, height: 800 } },
};

async function pageOn(browser, screen) {
  // bypassCSP: axe-core is injected as a script of its own; the pages' code is the same either way.
  const context = await browser.newContext({ ignoreHTTPSErrors: true, bypassCSP: true, ...SCREENS[screen] });
  return context.newPage();
}

async function joinAs(page, server, name) {
  await page.goto(`${server.url}?room=class`);
  await page.fill('#name', name);
  await page.click('#join button[type=submit]');
  await page.waitForSelector('#class:not([hidden])', { timeout: WAIT_MS });
}

// One state, in light and in dark: a screenshot kept under build/, nothing wider than the
// screen, and no serious or critical axe-core violation.
async function inspect(page, t, label) {
  for (const colorScheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme, reducedMotion: 'reduce' });
    await shot(page, t.name, `${label}-${colorScheme}`);
    const { content, screen } = await page.evaluate(() => ({ content: document.documentElement.scrollWidth, screen: window.innerWidth }));
    assert.ok(content <= screen, `${label} (${colorScheme}): ${content} px of content on a ${screen} px screen`);
    if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.addScriptTag({ content: axeSource });
    const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    assert.deepEqual(bad, [], `${label} (${colorScheme})`);
    t.checked.push(`${label}-${colorScheme}`);
  }
  await page.emulateMedia({ colorScheme: 'light', reducedMotion: 'no-preference' });
}

// A finger on the button (CDP touch events: the page sees a touch pointer); returns the lift.
async function touchHold(page) {
  const box = await page.locator('#talk').boundingBox();
  const cdp = await page.context().newCDPSession(page);
  const point = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [point] });
  return () => cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
}

async function hold(page) {
  const box = await page.locator('#talk').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
}

// Polls a predicate in the page through page.evaluate: the pages' Content-Security-Policy forbids
// eval, which page.waitForFunction needs.
async function waitFor(page, predicate, arg = null, { timeout = WAIT_MS } = {}) {
  const until = Date.now() + timeout;
  for (;;) {
    if (await page.evaluate(predicate, arg)) return;
    if (Date.now() > until) throw new Error(`waited ${timeout} ms for ${predicate}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const stateOf = (page) => page.evaluate(() => document.body.dataset.state || 'idle');

async function waitState(page, state, timeout = WAIT_MS) {
  await waitFor(page, (s) => document.body.dataset.state === s, state, { timeout });
}

async function shot(page, testName, label) {
  const dir = join(out, testName);
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${label}.png`), fullPage: true });
}

async function waitFile(path, timeout = WAIT_MS) {
  const until = Date.now() + timeout;
  while (!existsSync(path)) {
    if (Date.now() > until) throw new Error(`${path} never appeared`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// A page served from another origin (another port of 127.0.0.1): it tries to join the class
// over the server's WebSocket, as a student and as an instructor with a stolen token, and says
// what happened in body[data-result].
function foreignSite(wsUrl, token) {
  const page = `<!doctype html><meta charset="utf-8"><title>not the classroom</title><body>
<script>
const results = [];
function attempt(role) {
  return new Promise((resolve) => {
    const ws = new WebSocket(${JSON.stringify(wsUrl)});
    let opened = false;
    ws.onopen = () => { opened = true; ws.send(JSON.stringify({ type: 'join', id: 1, version: 1, name: 'eve' + role.length,
      room: 'class', role, codec: 'pcm16', sample_rate: 48000, token: ${JSON.stringify(token)} })); };
    ws.onmessage = (e) => { const m = JSON.parse(e.data); resolve(m.type === 'ok' ? 'joined' : 'error ' + m.code); ws.close(); };
    ws.onclose = (e) => { if (!opened) resolve('refused ' + e.code); };
  });
}
(async () => {
  results.push(await attempt('student'));
  results.push(await attempt('instructor'));
  document.body.dataset.result = results.join(',');
})();
</script></body>`;
  const server = createServer((req, res) => { res.writeHead(200, { 'Content-Type': 'text/html' }); res.end(page); });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// Every state of both pages on one screen: the instructor opens the room, three students join,
// one talks, one is refused, two wait in line, the instructor skips one and lets the other talk
// now, the recordings are listed, the server restarts and both pages come back by themselves.
async function everyState(t, screen) {
  t.allowNetworkErrors = true;  // the server restarts mid-test: the browser logs the refused connections
  const browser = t.use(await launch(t.tmp, join(fixtures, 'ann.wav')));
  let server = t.server(await startServer(t.tmp));
  const holdOn = async (page) => {
    if (screen === 'phone') return touchHold(page);
    await hold(page);
    return () => page.mouse.up();
  };
  const teacher = await pageOn(browser, screen);
  await teacher.goto(`${server.url}instructor#token=${server.token}`);
  await inspect(teacher, t, `${screen}-instructor-1-open`);
  await teacher.click('#join button[type=submit]');
  await teacher.waitForSelector('#room-view:not([hidden])', { timeout: WAIT_MS });
  await inspect(teacher, t, `${screen}-instructor-2-empty-room`);

  const ann = await pageOn(browser, screen);
  await ann.goto(`${server.url}?room=class`);
  await inspect(ann, t, `${screen}-student-1-join`);
  await joinAs(ann, server, 'ann');
  await inspect(ann, t, `${screen}-student-2-idle`);
  const ben = await pageOn(browser, screen);
  await joinAs(ben, server, 'ben');
  const cat = await pageOn(browser, screen);
  await joinAs(cat, server, 'cat');
  await waitFor(teacher, () => document.getElementById('count').textContent === '3');

  const liftAnn = await holdOn(ann);
  await waitState(ann, 'talking');
  await inspect(ann, t, `${screen}-student-3-talking`);
  let liftBen = await holdOn(ben);
  await waitState(ben, 'denied');
  await inspect(ben, t, `${screen}-student-4-denied`);
  await liftBen();

  await teacher.selectOption('#policy', 'queue');
  await waitFor(teacher, () => document.getElementById('policy-words').textContent.startsWith('Queue'));
  liftBen = await holdOn(ben);
  await waitState(ben, 'queued');
  const liftCat = await holdOn(cat);
  await waitState(cat, 'queued');
  await waitFor(teacher, () => document.getElementById('queue-count').textContent === '2');
  assert.match(await teacher.textContent('#queue'), /1\. ben.*2\. cat/);
  await inspect(ben, t, `${screen}-student-5-queued`);
  await inspect(teacher, t, `${screen}-instructor-3-talking-and-line`);

  await teacher.click('button[aria-label="Skip: cat"]');
  await waitFor(cat, () => document.getElementById('state').textContent.includes('took you out of the line'));
  await waitFor(teacher, () => document.getElementById('queue-count').textContent === '1');
  await teacher.click('button[aria-label="Let talk now: ben"]');
  await waitState(ben, 'talking');
  await waitFor(ann, () => document.getElementById('state').textContent === 'The instructor ended your turn.');
  await waitFor(teacher, () => document.getElementById('talker').textContent.startsWith('ben is talking'));
  assert.equal(await teacher.textContent('#queue-count'), '0');
  await liftAnn();
  await liftCat();
  await ben.waitForTimeout(800);
  await liftBen();
  await waitState(ben, 'idle');
  await waitFor(teacher, () => document.querySelectorAll('#recordings li').length === 2);
  assert.match(await teacher.textContent('#recordings li:first-child'), /ben_2\.wav/);  // newest first
  await inspect(teacher, t, `${screen}-instructor-4-recordings`);

  await server.stop();
  await waitState(ann, 'reconnecting');
  await waitFor(teacher, () => document.body.dataset.floor === 'reconnecting');
  assert.equal(await teacher.textContent('#talker'), 'Reconnecting to the class...');
  assert.equal(await teacher.isDisabled('#revoke'), true);
  await inspect(ann, t, `${screen}-student-6-reconnecting`);
  await inspect(teacher, t, `${screen}-instructor-5-reconnecting`);
  server = t.server(await startServer(t.tmp, [], server.port));
  await waitState(ann, 'idle', 15000);
  await waitFor(teacher, () => document.body.dataset.floor === 'idle' &&
    document.getElementById('count').textContent === '3', null, { timeout: 15000 });
  // A restart starts afresh (policies are kept while the server runs): the page shows what the server says.
  assert.equal(await teacher.inputValue('#policy'), 'deny');
  assert.equal(await teacher.evaluate(() => document.querySelectorAll('#recordings li').length), 2);
  // Delete: the first click asks, the second deletes; the file goes from the folder and the list.
  await teacher.click('button[aria-label="delete ben_2.wav"]');
  assert.equal(await teacher.textContent('button[aria-label="delete ben_2.wav"]'), 'Delete for good?');
  assert.ok(existsSync(join(server.recordings, 'ben_2.wav')));
  await teacher.click('button[aria-label="delete ben_2.wav"]');
  await waitFor(teacher, () => document.querySelectorAll('#recordings li').length === 1);
  assert.ok(!existsSync(join(server.recordings, 'ben_2.wav')));
  assert.ok(existsSync(join(server.recordings, 'ann_1.wav')));
  assert.match(await teacher.textContent('#status'), /Deleted ben_2\.wav/);
  console.error(`${t.checked.length} states checked: ${t.checked.join(', ')}`);
}

// ------------------------------------------------------------------ the tests

const tests = {
  async every_state_on_a_phone_fits_the_screen_and_passes_axe(t) {
    await everyState(t, 'phone');
  },

  async every_state_on_a_desktop_fits_the_screen_and_passes_axe(t) {
    await everyState(t, 'desktop');
  },

  async holding_the_space_bar_a_finger_or_the_mouse_each_give_a_turn(t) {
    const browser = t.use(await launch(t.tmp, join(fixtures, 'ann.wav')));
    const server = t.server(await startServer(t.tmp));
    const byMouse = await pageOn(browser, 'desktop');
    await joinAs(byMouse, server, 'ann');
    await hold(byMouse);
    await waitState(byMouse, 'talking');
    await byMouse.waitForTimeout(1000);
    await byMouse.mouse.up();
    await waitState(byMouse, 'idle');

    const byKey = await pageOn(browser, 'desktop');
    await byKey.goto(`${server.url}?room=class`);
    await byKey.fill('#name', 'ben');
    await byKey.keyboard.press('Space');  // typed into the name field: a space there, never a press
    assert.equal(await byKey.inputValue('#name'), 'ben ');
    await byKey.fill('#name', 'ben');
    await byKey.click('#join button[type=submit]');
    await byKey.waitForSelector('#class:not([hidden])', { timeout: WAIT_MS });
    await byKey.keyboard.down('Space');
    await waitState(byKey, 'talking');
    await byKey.waitForTimeout(1000);
    await byKey.keyboard.up('Space');
    await waitState(byKey, 'idle');

    const byFinger = await pageOn(browser, 'phone');
    await joinAs(byFinger, server, 'cat');
    const lift = await touchHold(byFinger);
    await waitState(byFinger, 'talking');
    await byFinger.waitForTimeout(1000);
    await lift();
    await waitState(byFinger, 'idle');

    for (const file of ['ann_1.wav', 'ben_2.wav', 'cat_3.wav']) {
      const path = join(server.recordings, file);
      await waitFile(path);
      await new Promise((r) => setTimeout(r, 500));
      const { samples, rate } = readWav(path);
      console.error(`${file}: ${(samples.length / rate).toFixed(2)} s`);
      assert.ok(samples.length / rate > 0.8, `${file} is ${samples.length / rate} s`);
    }
  },

  async a_recording_plays_for_10_s_without_a_break(t) {
    const browser = t.use(await launch(t.tmp, join(fixtures, 'ann.wav')));
    const server = t.server(await startServer(t.tmp));
    const ann = await studentPage(browser, server, 'ann');
    await hold(ann);
    await waitState(ann, 'talking');
    await ann.waitForTimeout(12000);
    await ann.mouse.up();
    await waitState(ann, 'idle');
    const teacher = await instructorPage(browser, server);
    await teacher.waitForSelector('#recordings li audio', { timeout: WAIT_MS });
    await teacher.evaluate(() => {
      const a = document.querySelector('#recordings audio');
      window.breaks = [];
      for (const e of ['emptied', 'abort', 'pause', 'ended', 'error']) a.addEventListener(e, () => window.breaks.push(e));
      window.player = a;
      return a.play();
    });
    // Two refreshes of the list (every 5 s) happen while it plays: the player must survive them.
    await teacher.waitForTimeout(10500);
    const heard = await teacher.evaluate(() => ({
      connected: window.player.isConnected && document.querySelector('#recordings audio') === window.player,
      paused: window.player.paused, breaks: window.breaks, at: window.player.currentTime,
      spans: window.player.played.length, duration: window.player.duration,
    }));
    console.error(`played ${heard.at.toFixed(2)} s of ${heard.duration.toFixed(2)} s, breaks: ${heard.breaks.join(',') || 'none'}`);
    assert.ok(heard.connected, 'the player was replaced');
    assert.equal(heard.paused, false);
    assert.deepEqual(heard.breaks, []);
    assert.equal(heard.spans, 1, 'playback jumped');
    assert.ok(heard.at >= 10, `only ${heard.at} s played`);
  },

  async a_held_button_is_recorded_and_correlates_with_the_microphone(t) {
    const wav = join(fixtures, 'ann.wav');
    const browser = t.use(await launch(t.tmp, wav));
    const server = t.server(await startServer(t.tmp));
    const page = await studentPage(browser, server, 'ann');
    await shot(page, t.name, '1-student-idle');
    await hold(page);
    await waitState(page, 'talking');
    await page.waitForTimeout(1500);
    await shot(page, t.name, '2-student-talking');
    await page.waitForTimeout(1500);  // held for 3 s
    await page.mouse.up();
    await waitState(page, 'idle');
    await shot(page, t.name, '3-student-after');
    const file = join(server.recordings, 'ann_1.wav');
    await waitFile(file);
    await new Promise((r) => setTimeout(r, 700));  // the speaker plays the tail
    const heard = readWav(file);
    const seconds = heard.samples.length / heard.rate;
    const c = bestCorrelation(envelope(readWav(wav)), envelope(heard));
    const codec = await page.evaluate(() => (typeof AudioEncoder !== 'undefined' ? 'opus (WebCodecs)' : 'pcm16'));
    console.error(`ann_1.wav: ${seconds.toFixed(2)} s, envelope correlation ${c.toFixed(3)}, codec ${codec}`);
    assert.ok(seconds > 2.5 && seconds < 4.5, `recording length ${seconds}`);
    assert.ok(c > 0.8, `correlation ${c}`);
    const instructor = await instructorPage(browser, server);
    await instructor.waitForSelector('#recordings li', { timeout: WAIT_MS });
    assert.match(await instructor.textContent('#recordings'), /ann_1\.wav/);
    await shot(instructor, t.name, '4-instructor-recordings');
  },

  async the_student_page_says_who_and_where_labels_the_button_and_explains_a_tap(t) {
    t.allowNetworkErrors = true;  // the server stops at the end
    const browser = t.use(await launch(t.tmp, join(fixtures, 'ann.wav')));
    const server = t.server(await startServer(t.tmp));
    const ann = await studentPage(browser, server, 'ann');
    assert.equal(await ann.textContent('#me'), 'You are ann, in room class.');
    assert.equal(await ann.textContent('#talk-label'), 'Hold to talk');
    await hold(ann);
    await waitState(ann, 'talking');
    assert.equal(await ann.textContent('#talk-label'), 'Talking: let go to stop');
    assert.equal(await ann.textContent('#who'), 'You are talking.');
    await ann.mouse.up();
    await waitState(ann, 'idle');
    assert.equal(await ann.textContent('#talk-label'), 'Hold to talk');
    // A tap: down and up at once, before the floor can come.
    await ann.click('#talk');
    await waitFor(ann, () => document.getElementById('state').textContent.includes('a tap is too short'));
    assert.equal(await ann.evaluate(() => document.body.dataset.state), 'idle');
    // On a phone (no hover, a coarse pointer) the space bar hint is not shown.
    const phone = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 390, height: 844 },
                                             hasTouch: true, isMobile: true });
    const page = await phone.newPage();
    await page.goto(`${server.url}?room=class`);
    await page.fill('#name', 'bea');
    await page.click('#join button[type=submit]');
    await page.waitForSelector('#class:not([hidden])', { timeout: WAIT_MS });
    assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('.talk .hint')).display), 'none');
    assert.notEqual(await ann.evaluate(() => getComputedStyle(document.querySelector('.talk .hint')).display), 'none');
    // While the page reconnects it does not say "You are talking".
    await hold(ann);
    await waitState(ann, 'talking');
    await server.stop();
    await waitState(ann, 'reconnecting');
    assert.equal(await ann.textContent('#who'), 'Reconnecting to the class...');
    assert.equal(await ann.textContent('#talk-label'), 'Reconnecting...');
    await ann.mouse.up();
  },

  async two_presses_one_talker_deny_then_queue(t) {
    const browser = t.use(await launch(t.tmp, join(fixtures, 'ben.wav')));
    const server = t.server(await startServer(t.tmp));
    const ann = await studentPage(browser, server, 'ann');
    const ben = await studentPage(browser, server, 'ben');
    // The microphone is opened on the first press: open both first, so the race is the press itself.
    for (const p of [ann, ben]) { await hold(p); await waitFor(p, () => ['talking', 'denied'].includes(document.body.dataset.state)); await p.mouse.up(); await waitState(p, 'idle'); }
    await Promise.all([hold(ann), hold(ben)]);
    await waitFor(ann, () => ['talking', 'denied'].includes(document.body.dataset.state));
    await waitFor(ben, () => ['talking', 'denied'].includes(document.body.dataset.state));
    const states = [await stateOf(ann), await stateOf(ben)].sort();
    assert.deepEqual(states, ['denied', 'talking'], 'exactly one talks');
    const denied = (await stateOf(ann)) === 'denied' ? ann : ben;
    const talker = denied === ann ? ben : ann;
    assert.match(await denied.textContent('#state'), /Denied: (ann|ben) is talking/);
    await shot(denied, t.name, '1-student-denied');
    await talker.mouse.up();
    await denied.mouse.up();
    await waitState(talker, 'idle');
    const instructor = await instructorPage(browser, server);
    await instructor.selectOption('#policy', 'queue');
    await waitFor(instructor, () => document.getElementById('policy-words').textContent.includes('Queue'));
    assert.equal(await instructor.textContent('#policy-words'), 'Queue: while someone talks, the others wait their turn in line.');
    assert.equal(await instructor.textContent('#count'), '2');  // ann and ben: the instructor is not a student
    assert.doesNotMatch(await instructor.textContent('#members'), /instructor/);
    await hold(ann);
    await waitState(ann, 'talking');
    await hold(ben);
    await waitState(ben, 'queued');
    assert.match(await ben.textContent('#state'), /number 1/);
    await shot(ben, t.name, '2-student-queued');
    await shot(instructor, t.name, '3-instructor-talking');
    await ann.mouse.up();
    await waitState(ben, 'talking');  // granted on release, still holding
    await ben.mouse.up();
  },

  async closing_the_talkers_tab_frees_the_floor_within_a_second(t) {
    const browser = t.use(await launch(t.tmp, join(fixtures, 'ann.wav')));
    const server = t.server(await startServer(t.tmp));
    const ann = await studentPage(browser, server, 'ann');
    const ben = await studentPage(browser, server, 'ben');
    await hold(ann);
    await waitState(ann, 'talking');
    await waitFor(ben, () => document.getElementById('who').textContent === 'ann is talking.');
    const start = Date.now();
    await ann.context().close();
    await waitFor(ben, () => document.getElementById('who').textContent === 'Nobody is talking.', null, { timeout: 1000 });
    console.error(`floor free ${Date.now() - start} ms after the tab closed`);
    await shot(ben, t.name, 'student-after-talker-left');
  },

  async the_instructor_revokes_a_talker(t) {
    const browser = t.use(await launch(t.tmp, join(fixtures, 'ann.wav')));
    const server = t.server(await startServer(t.tmp));
    const instructor = await instructorPage(browser, server);
    const ann = await studentPage(browser, server, 'ann');
    await waitFor(instructor, () => document.getElementById('count').textContent === '1');
    await hold(ann);
    await waitState(ann, 'talking');
    await waitFor(instructor, () => document.getElementById('talker').textContent.startsWith('ann is talking'));
    await shot(instructor, t.name, '1-instructor-sees-talker');
    await instructor.click('#revoke');
    await waitFor(ann, () => document.getElementById('state').textContent === 'The instructor ended your turn.');
    await shot(ann, t.name, '2-student-revoked');
    await waitFor(instructor, () => document.getElementById('talker').textContent === 'Nobody is talking.');
    await ann.mouse.up();
  },

  async a_second_instructor_tab_is_told_what_is_wrong(t) {
    t.allowNetworkErrors = true;  // the wrong token's 403 is logged by the browser
    const browser = t.use(await launch(t.tmp, join(fixtures, 'ann.wav')));
    const server = t.server(await startServer(t.tmp));
    const first = await instructorPage(browser, server);
    // Another browser profile with an old token: the token is what is wrong, whatever the name.
    const stale = await pageOn(browser, 'desktop');
    await stale.goto(`${server.url}instructor#token=an_old_token_from_last_term`);
    await waitFor(stale, () => document.getElementById('join-error').textContent.includes('open the instructor URL'));
    assert.equal(await stale.isDisabled('#join button[type=submit]'), true);
    // The right token and the same name: that name is in use (the first tab keeps the room).
    const twin = await pageOn(browser, 'desktop');
    await twin.goto(`${server.url}instructor#token=${server.token}`);
    await twin.click('#join button[type=submit]');
    await waitFor(twin, () => document.getElementById('join-error').textContent.includes('teacher'));
    assert.match(await twin.textContent('#join-error'), /in use/);
    assert.equal(await first.isHidden('#room-view'), false);
    await shot(twin, t.name, 'second-tab-same-name');
  },

  async a_page_from_another_origin_can_neither_join_nor_talk(t) {
    t.allowNetworkErrors = true;  // the refused WebSockets
    const browser = t.use(await launch(t.tmp, join(fixtures, 'ann.wav')));
    let server = t.server(await startServer(t.tmp));
    const wsUrl = `wss://127.0.0.1:${server.port}/ws`;
    const site = await foreignSite(wsUrl, server.token);
    const siteUrl = `http://127.0.0.1:${site.address().port}/`;
    try {
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      await page.goto(siteUrl);
      await waitFor(page, () => document.body.dataset.result, null, { timeout: WAIT_MS });
      const refused = await page.evaluate(() => document.body.dataset.result);
      console.error(`from ${siteUrl}: ${refused}`);
      assert.match(refused, /^refused \d+,refused \d+$/, 'the foreign page got a WebSocket');
      // Nobody joined: the instructor sees an empty class, and no turn was recorded.
      const instructor = await instructorPage(browser, server);
      assert.equal(await instructor.textContent('#count'), '0');
      await shot(page, t.name, '1-foreign-page-refused');
      // The same page from an origin the server was told to allow does get in: what refused it was the origin.
      await server.stop();
      server = t.server(await startServer(t.tmp, ['--allowed-origin', siteUrl], server.port));
      await page.reload();
      await waitFor(page, () => document.body.dataset.result, null, { timeout: WAIT_MS });
      const allowed = await page.evaluate(() => document.body.dataset.result);
      console.error(`from ${siteUrl}, allowed: ${allowed}`);
      assert.equal(allowed, 'joined,joined');
      assert.deepEqual(readdirSync(server.recordings).filter((f) => f.endsWith('.wav')), []);
    } finally {
      site.closeAllConnections();
      site.close();
    }
  },

  async the_instructor_page_goes_on_working_across_a_server_restart(t) {
    t.allowNetworkErrors = true;  // the restarts
    const browser = t.use(await launch(t.tmp, join(fixtures, 'ann.wav')));
    let server = t.server(await startServer(t.tmp));
    const instructor = await instructorPage(browser, server);
    // The token left the address bar and lives in a cookie no script can read.
    assert.ok(!instructor.url().includes(server.token), instructor.url());
    assert.ok(!(await instructor.evaluate(() => document.cookie)).includes('hailer_instructor'));
    const [cookie] = (await instructor.context().cookies()).filter((c) => c.name === 'hailer_instructor');
    assert.ok(cookie && cookie.httpOnly && cookie.secure && cookie.sameSite === 'Strict', JSON.stringify(cookie));
    assert.ok(!cookie.value.includes(server.token));
    const ann = await studentPage(browser, server, 'ann');
    await waitFor(instructor, () => document.getElementById('count').textContent === '1');
    await hold(ann);
    await waitState(ann, 'talking');
    await ann.waitForTimeout(1000);
    await ann.mouse.up();
    await instructor.waitForSelector('#recordings li', { timeout: WAIT_MS });

    // The server restarts on the same port and state folder: both pages come back by themselves.
    await server.stop();
    server = t.server(await startServer(t.tmp, [], server.port));
    await waitFor(instructor, () => !document.getElementById('room-view').hidden &&
      document.getElementById('count').textContent === '1', null, { timeout: 15000 });
    await instructor.evaluate(() => document.getElementById('recordings').replaceChildren());
    await instructor.waitForSelector('#recordings li', { timeout: WAIT_MS });  // listed again, with the cookie
    assert.match(await instructor.textContent('#recordings'), /ann_1\.wav/);
    // The instructor may see ann back before ann's page has read its own join's answer; a press
    // while the page still says reconnecting is ignored by design.
    await waitState(ann, 'idle');
    await hold(ann);
    await waitState(ann, 'talking');
    await waitFor(instructor, () => document.getElementById('talker').textContent.startsWith('ann is talking'));
    await instructor.click('#revoke');
    await waitFor(ann, () => document.getElementById('state').textContent === 'The instructor ended your turn.');
    await ann.mouse.up();
    await shot(instructor, t.name, '1-instructor-after-restart');

    // Restarted with another token: the page says to reopen the printed URL and shows nothing of the class.
    await server.stop();
    server = t.server(await startServer(t.tmp, ['--instructor-token', 'a_new_term_token_0123'], server.port));
    await waitFor(instructor, () => document.getElementById('join-error').textContent.includes('open the instructor URL'),
      null, { timeout: 15000 });
    assert.equal(await instructor.isHidden('#room-view'), true);
    assert.equal(await instructor.textContent('#members'), '');
    assert.equal(await instructor.textContent('#recordings'), '');
    await shot(instructor, t.name, '2-instructor-token-changed');
  },
};

// ------------------------------------------------------------------ runner

// Every page of every context of `browser` reports uncaught exceptions and console errors into
// `problems`: a test with any fails. A test whose server stops on purpose allows the browser's
// own lines about the refused connections (t.allowNetworkErrors), never a script's.
function watchConsole(browser, t, problems) {
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (...args) => {
    const context = await newContext(...args);
    context.on('page', (page) => {
      page.on('pageerror', (e) => problems.push(`uncaught in ${page.url()}: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() !== 'error') return;
        if (t.allowNetworkErrors && /^(Failed to load resource|WebSocket connection to .* failed)/.test(m.text())) return;
        problems.push(`console error in ${page.url()}: ${m.text()}`);
      });
    });
    return context;
  };
}

async function run(name) {
  const test = tests[name];
  if (!test) {
    console.error(`no test named ${name}; --list shows them`);
    process.exit(2);
  }
  const tmp = mkdtempSync(join(tmpdir(), 'hailer-browser-'));
  const browsers = [], servers = [], problems = [];
  const t = { name, tmp, checked: [], allowNetworkErrors: false, server: (s) => (servers.push(s), s) };
  t.use = (b) => (watchConsole(b, t, problems), browsers.push(b), b);
  const watchdog = setTimeout(() => { console.error('timed out'); process.exit(1); }, 110000);
  let failed = null;
  try {
    await test(t);
    if (problems.length) throw new Error(`the pages logged errors:\n${problems.join('\n')}`);
  } catch (e) {
    failed = e;
  } finally {
    for (const b of browsers) await b.close().catch(() => {});
    for (const s of servers) await s.stop().catch(() => {});
    rmSync(tmp, { recursive: true, force: true });
    clearTimeout(watchdog);
  }
  if (failed) {
    console.error(`FAIL ${name}: ${failed.stack || failed}`);
    process.exit(1);
  }
  console.error(`ok ${name} (screenshots in ${join(out, name)})`);
}

if (process.argv[2] === '--list') console.log(Object.keys(tests).join('\n'));
else await run(process.argv[2]);
