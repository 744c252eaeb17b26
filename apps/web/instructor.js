// The instructor page: who is connected, who talks and for how long, revoke, the policy, and
// the recordings (played in the page or downloaded). The token comes from the URL the server
// printed at start.
import { Classroom } from './protocol.js';

const params = new URLSearchParams(location.search);
const token = params.get('token') || '';
const $ = (id) => document.getElementById(id);

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
    if (role === 'student') students++;
    const li = document.createElement('li');
    li.textContent = name + (role === 'instructor' ? ' (instructor)' : '') + (name === talker ? ' - talking' : '');
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

async function loadRecordings() {
  const res = await fetch(`/api/recordings?token=${encodeURIComponent(token)}`);
  if (!res.ok) return;
  const rows = $('recordings');
  rows.replaceChildren();
  for (const r of await res.json()) {
    const tr = document.createElement('tr');
    const url = `/recordings/${encodeURIComponent(r.file)}?token=${encodeURIComponent(token)}`;
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
      if ($('room-view').hidden) { $('join-error').textContent = msg.message; room.close(); room = null; }
      else $('status').textContent = `Error: ${msg.message}`;
      break;
    case 'member_joined': members.set(msg.name, msg.role); renderMembers(); break;
    case 'member_left': members.delete(msg.name); renderMembers(); break;
    case 'floor_taken': talker = msg.talker; talkSince = performance.now(); renderTalker(); break;
    case 'floor_idle': talker = null; renderTalker(); setTimeout(loadRecordings, 500); break;
    case 'policy_changed': $('policy').value = msg.policy; $('status').textContent = `Policy: ${msg.policy}.`; break;
    default: break;
  }
}

function onState(s, detail) {
  if (s === 'reconnecting') $('status').textContent = `Connection lost: reconnecting in ${detail.retryMs / 1000} s...`;
}

$('room').value = params.get('room') || $('room').value;
$('join').addEventListener('submit', (e) => {
  e.preventDefault();
  $('join-error').textContent = '';
  room = new Classroom({ name: $('name').value.trim(), room: $('room').value.trim(), role: 'instructor', codec: 'pcm16',
                         sample_rate: 48000, token }, { onMessage, onState });
});
$('revoke').addEventListener('click', () => room && room.request('revoke'));
$('policy').addEventListener('change', () => room && room.request('set_policy', { policy: $('policy').value }));
setInterval(() => { if (room && !$('room-view').hidden) loadRecordings(); }, 5000);
