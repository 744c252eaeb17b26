// The instructor page: who is connected, who talks and for how long, revoke, the policy, and
// the recordings (played in the page or downloaded). The token comes from the URL the server
// printed at start (#token=...): the page trades it once for an HttpOnly cookie and takes it out
// of the address bar, so it never sits in the history, a Referer or the download list. The
// WebSocket and the recordings then go with the cookie.
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

let room = null;
let members = new Map();   // name -> role
let talker = null;
let talkSince = 0;
let ticker = null;

function renderMembers() {
  const list = $('members');
  list.replaceChildren();
  let students = 0;
  for (const [name, role] of [...members.entries()].sort()) {
    if (role !== 'student') continue;  // the list is the students'; the instructor is this page
    students++;
    const li = document.createElement('li');
    li.textContent = name + (name === talker ? ' - talking' : '');
    list.append(li);
  }
  $('count').textContent = String(students);
}

function renderTalker() {
  clearInterval(ticker);
  $('revoke').disabled = !talker;
  if (!talker) {
    $('talker').textContent = 'Nobody is talking.';
  } else {
    const show = () => { $('talker').textContent = `${talker} is talking (${Math.floor((performance.now() - talkSince) / 1000)} s).`; };
    show();
    ticker = setInterval(show, 500);
  }
  renderMembers();
}

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
  clearInterval(ticker);
  $('members').replaceChildren();
  $('recordings').replaceChildren();
  $('count').textContent = '0';
  $('room-view').hidden = true;
  $('join').hidden = false;
  $('join').querySelector('button').disabled = true;
  $('join-error').textContent = REOPEN;
}

async function loadRecordings() {
  const res = await fetch('/api/recordings');
  if (res.status === 403 || res.status === 429) return signedOut();
  if (!res.ok) return;
  const rows = $('recordings');
  rows.replaceChildren();
  for (const r of await res.json()) {
    const tr = document.createElement('tr');
    const url = `/recordings/${encodeURIComponent(r.file)}`;
    const name = document.createElement('td');
    name.textContent = r.file;
    const length = document.createElement('td');
    length.textContent = `${(r.audio_ms / 1000).toFixed(1)} s`;
    const play = document.createElement('td');
    const player = document.createElement('audio');
    player.controls = true;
    player.preload = 'none';
    player.src = url;
    player.setAttribute('aria-label', `play ${r.file}`);
    play.append(player);
    const dl = document.createElement('td');
    const a = document.createElement('a');
    a.href = url;
    a.download = r.file;
    a.textContent = 'download';
    dl.append(a);
    tr.append(name, length, play, dl);
    rows.append(tr);
  }
}

function onMessage(msg) {
  switch (msg.type) {
    case 'ok':
      if (msg.room !== undefined) {
        $('join').hidden = true;
        $('room-view').hidden = false;
        members = new Map(msg.members.map((m) => [m.name, m.role]));
        $('policy').value = msg.policy;
        if (msg.talker !== talker) { talker = msg.talker; talkSince = performance.now(); }
        renderTalker();
        loadRecordings();
      }
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
    case 'policy_changed': $('policy').value = msg.policy; $('status').textContent = POLICY_WORDS[msg.policy] || ''; break;
    case 'recording_stopped': $('status').textContent = `${msg.talker}'s turn is not being recorded: ${RECORDING_STOPPED[msg.reason] || msg.reason}. The turn goes on and you still hear it.`; break;
    default: break;
  }
}

function onState(s, detail) {
  if (s === 'reconnecting') $('status').textContent = `Connection lost: reconnecting in ${detail.retryMs / 1000} s...`;
}

$('room').value = params.get('room') || $('room').value;
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
setInterval(() => { if (room && !$('room-view').hidden) loadRecordings(); }, 5000);
