// The instructor page: who talks and for how long, the line of those waiting (grant or skip),
// the policy, the students, and the recordings (played in the page, downloaded or deleted). The
// token comes from the URL the server printed at start (#token=...): the page trades it once for
// an HttpOnly cookie and takes it out of the address bar, so it never sits in the history, a
// Referer or the download list. The WebSocket and the recordings then go with the cookie.
import { Classroom } from './protocol.js';

const params = new URLSearchParams(location.search);
const fragment = new URLSearchParams(location.hash.slice(1));
const $ = (id) => document.getElementById(id);
// Why a turn is not recorded, as the instructor reads it (recording_stopped, docs/protocol.md).
const RECORDING_STOPPED = {
  disk_full: 'the disk of the recordings folder is nearly full',
  quota: 'the recordings folder has reached its size limit',
  student_budget: 'this student has used the recording time allowed per hour',
  address_budget: 'this network address has used the recording time allowed per hour',
  error: 'the recording file could not be written',
};
const REOPEN = 'This page is no longer signed in (the server has another instructor token, or too many wrong ones ' +
               'were tried): open the instructor URL the server printed.';

// The floor policy as the instructor reads it (the wire's words are `deny` and `queue`).
const POLICY_WORDS = {
  deny: 'First come, first served: while someone talks, the others are refused.',
  queue: 'Queue: while someone talks, the others wait their turn in line.',
};
const REFRESH_MS = 4000;   // the recordings list is fetched again this often (under the 5 s keep-alive: one connection)
const ARMED_MS = 4000;     // a Delete button waits this long for its confirming second click

let room = null;
let members = new Map();   // name -> role
let talker = null;
let talkSince = 0;
let ticker = null;
let policy = 'deny';
let queue = [];            // names, head first (floor_queue)
const recordings = new Map();  // file -> { li, when }

// ------------------------------------------------------------------ rendering

function setFloor(look) { document.body.dataset.floor = look; }

function renderMembers() {
  const list = $('members');
  list.replaceChildren();
  let students = 0;
  for (const [name, role] of [...members.entries()].sort()) {
    if (role !== 'student') continue;  // the list is the students'; the instructor is this page
    students++;
    const li = document.createElement('li');
    li.textContent = name === talker ? `${name} (talking)` : name;
    if (name === talker) li.className = 'talking';
    list.append(li);
  }
  $('count').textContent = String(students);
  $('members-empty').hidden = students > 0;
}

function renderTalker() {
  clearInterval(ticker);
  $('revoke').disabled = !talker;
  setFloor(talker ? 'taken' : 'idle');
  if (!talker) {
    $('talker').textContent = 'Nobody is talking.';
  } else {
    const show = () => { $('talker').textContent = `${talker} is talking (${Math.floor((performance.now() - talkSince) / 1000)} s).`; };
    show();
    ticker = setInterval(show, 500);
  }
  renderMembers();
}

function queueButton(label, type, name) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'small';
  b.textContent = label;
  b.setAttribute('aria-label', `${label}: ${name}`);
  b.addEventListener('click', () => room && room.request(type, { name }));
  return b;
}

function renderQueue() {
  const list = $('queue');
  list.replaceChildren();
  queue.forEach((name, i) => {
    const li = document.createElement('li');
    const who = document.createElement('span');
    who.className = 'grow';
    who.textContent = `${i + 1}. ${name}`;
    const actions = document.createElement('div');
    actions.className = 'row';  // the two buttons wrap together on a narrow screen
    actions.append(queueButton('Let talk now', 'grant', name), queueButton('Skip', 'skip', name));
    li.append(who, actions);
    list.append(li);
  });
  $('queue-count').textContent = String(queue.length);
  $('queue-empty').hidden = queue.length > 0;
  $('queue-empty').textContent = policy === 'queue' ? 'Nobody is waiting.'
    : 'Nobody waits under first come, first served: a press while someone talks is refused.';
}

function renderPolicy(p) {
  policy = p;
  $('policy').value = p;
  $('policy-words').textContent = POLICY_WORDS[p] || '';
  renderQueue();
}

// ------------------------------------------------------------------ recordings, updated in place

function minutes(ms) {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function describe(r) {
  const made = r.modified_ms ? new Date(r.modified_ms).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' }) : '';
  return [r.file, made, `${minutes(r.audio_ms)} long`].filter(Boolean).join(' · ');
}

// One recording's row: made once, so a player that is playing is never replaced.
function recordingRow(r) {
  const url = `/recordings/${encodeURIComponent(r.file)}`;
  const li = document.createElement('li');
  li.className = 'recording';
  const text = document.createElement('div');
  text.className = 'grow';
  const title = document.createElement('strong');
  const m = r.file.match(/^(.*)_(\d+)\.wav$/);
  title.textContent = m ? `${m[1]}, turn ${m[2]}` : r.file;
  const when = document.createElement('div');
  when.className = 'when';
  text.append(title, when);
  const player = document.createElement('audio');
  player.controls = true;
  player.preload = 'none';
  player.src = url;
  player.setAttribute('aria-label', `play ${r.file}`);
  const download = document.createElement('a');
  download.href = url;
  download.download = r.file;
  download.textContent = 'Download';
  download.setAttribute('aria-label', `download ${r.file}`);
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.className = 'small danger';
  remove.textContent = 'Delete';
  remove.setAttribute('aria-label', `delete ${r.file}`);
  remove.addEventListener('click', () => deleteClicked(r.file, remove));
  const actions = document.createElement('div');
  actions.className = 'row';
  actions.append(download, remove);
  li.append(text, player, actions);
  return { li, when };
}

// The first click arms the button, a second within ARMED_MS deletes: no modal dialog.
async function deleteClicked(file, button) {
  if (!button.dataset.armed) {
    button.dataset.armed = '1';
    button.textContent = 'Delete for good?';
    setTimeout(() => { delete button.dataset.armed; button.textContent = 'Delete'; }, ARMED_MS);
    return;
  }
  button.disabled = true;
  const res = await fetch(`/recordings/${encodeURIComponent(file)}`, { method: 'DELETE' }).catch(() => null);
  if (res && (res.status === 204 || res.status === 404)) {
    const item = recordings.get(file);
    if (item) { item.li.remove(); recordings.delete(file); }
    $('recordings-empty').hidden = recordings.size > 0;
    $('status').textContent = `Deleted ${file}.`;
    return;
  }
  if (res && (res.status === 403 || res.status === 429)) return signedOut();
  button.disabled = false;
  $('status').textContent = `Could not delete ${file}: try again.`;
}

async function loadRecordings() {
  let res;
  try {
    res = await fetch('/api/recordings');
  } catch {
    return;  // the server is away: the reconnect says so
  }
  if (res.status === 403 || res.status === 429) return signedOut();
  if (!res.ok) return;
  const list = await res.json();
  const ul = $('recordings');
  const seen = new Set();
  list.forEach((r, i) => {  // newest first, as the server sorts them
    seen.add(r.file);
    let item = recordings.get(r.file);
    if (!item) { item = recordingRow(r); recordings.set(r.file, item); }
    const text = describe(r);
    if (item.when.textContent !== text) item.when.textContent = text;
    if (ul.children[i] !== item.li) ul.insertBefore(item.li, ul.children[i] || null);
  });
  for (const [file, item] of recordings) {
    if (!seen.has(file)) { item.li.remove(); recordings.delete(file); }
  }
  $('recordings-empty').hidden = recordings.size > 0;
}

// ------------------------------------------------------------------ signing in and out

// Trades the token of the URL for the cookie (once), or asks whether the cookie still works.
async function signIn() {
  const token = fragment.get('token') || params.get('token');
  if (token) {
    const keep = params.get('room') ? `?room=${encodeURIComponent(params.get('room'))}` : '';
    history.replaceState(null, '', location.pathname + keep);
    const res = await fetch('/api/instructor/session', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token }),
    });
    return res.ok;
  }
  return (await fetch('/api/instructor/session')).ok;
}

// Wrong token: nothing of the class stays on the screen, and the page says what to do.
function signedOut() {
  if (room) { room.close(); room = null; }
  members = new Map();
  talker = null;
  queue = [];
  clearInterval(ticker);
  setFloor('idle');
  $('members').replaceChildren();
  $('queue').replaceChildren();
  $('recordings').replaceChildren();
  recordings.clear();
  $('count').textContent = '0';
  $('room-view').hidden = true;
  $('join').hidden = false;
  $('join').querySelector('button').disabled = true;
  $('join-error').textContent = REOPEN;
}

// The connection is gone for now: nothing stale is shown as live, and nothing can be clicked that
// would go nowhere. The rejoin's answer puts everything back.
function away(text) {
  clearInterval(ticker);
  talker = null;
  queue = [];
  $('revoke').disabled = true;
  $('talker').textContent = 'Reconnecting to the class...';
  setFloor('reconnecting');
  renderQueue();
  $('status').textContent = text;
}

// ------------------------------------------------------------------ messages

function joined(msg) {
  $('join').hidden = true;
  $('room-view').hidden = false;
  $('subtitle').textContent = `Room ${msg.room}, as ${$('name').value.trim()}`;
  members = new Map(msg.members.map((m) => [m.name, m.role]));
  queue = [];  // floor_queue follows the join when someone waits
  renderPolicy(msg.policy);
  if (msg.talker !== talker) { talker = msg.talker; talkSince = performance.now(); }
  if (document.body.dataset.floor === 'reconnecting') $('status').textContent = '';
  renderTalker();
  loadRecordings();
}

function onMessage(msg) {
  switch (msg.type) {
    case 'ok':
      if (msg.room !== undefined) joined(msg);
      break;
    case 'error':
      if (msg.code === 'bad_token' || msg.code === 'too_many_attempts') { signedOut(); break; }
      if ($('room-view').hidden) { $('join-error').textContent = msg.message; room.close(); room = null; }
      else $('status').textContent = `Error: ${msg.message}`;
      break;
    case 'member_joined': members.set(msg.name, msg.role); renderMembers(); break;
    case 'member_left': members.delete(msg.name); renderMembers(); break;
    case 'floor_taken': talker = msg.talker; talkSince = performance.now(); renderTalker(); break;
    case 'floor_idle': talker = null; renderTalker(); setTimeout(loadRecordings, 500); break;
    case 'floor_queue': queue = msg.queue.map((q) => q.name); renderQueue(); break;
    case 'policy_changed': renderPolicy(msg.policy); break;
    case 'recording_stopped': $('status').textContent = `${msg.talker}'s turn is not being recorded: ${RECORDING_STOPPED[msg.reason] || msg.reason}. The turn goes on and you still hear it.`; break;
    case 'server_closing': away('The server is restarting...'); break;
    default: break;
  }
}

function onState(s, detail) {
  if (s === 'reconnecting') away(`Connection lost: reconnecting in ${Math.round(detail.retryMs / 100) / 10} s...`);
}

// ------------------------------------------------------------------ wiring

$('room').value = params.get('room') || $('room').value;
renderPolicy('deny');
const signedIn = signIn().catch(() => false);
$('join').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('join-error').textContent = '';
  if (!(await signedIn)) return signedOut();
  room = new Classroom({ name: $('name').value.trim(), room: $('room').value.trim(), role: 'instructor', codec: 'pcm16',
                         sample_rate: 48000 }, { onMessage, onState });
});
signedIn.then((ok) => { if (!ok) signedOut(); });
$('revoke').addEventListener('click', () => room && room.request('revoke'));
$('policy').addEventListener('change', () => room && room.request('set_policy', { policy: $('policy').value }));
setInterval(() => {
  if (room && !$('room-view').hidden && document.body.dataset.floor !== 'reconnecting') loadRecordings();
}, REFRESH_MS);
