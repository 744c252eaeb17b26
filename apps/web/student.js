// The student page: join, then hold the button (mouse, touch or space bar) to talk. Audio is
// captured by an AudioWorklet in 20 ms frames and sent only between floor_granted and the end
// of the turn, with a ~300 ms tail after the button is let go so the last word is kept.
import { Classroom, audioFrame, levelDbfs, pcm16 } from './protocol.js';

const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
const TAIL_MS = 300;

let room = null;          // the Classroom connection
let state = 'idle';       // idle | requesting | talking | finishing | denied | queued | reconnecting
let holding = false;      // the button is held down
let audio = null;         // { context, node, encoder } once the first press made them
let sequence = 0;
let talkEnds = 0;
let countdown = null;
let tailTimer = null;
let me = '';

const codecWanted = params.get('codec');  // 'pcm16' forces PCM; otherwise Opus where WebCodecs has it

async function opusSupported() {
  if (codecWanted === 'pcm16' || typeof AudioEncoder === 'undefined') return false;
  try {
    const r = await AudioEncoder.isConfigSupported({ codec: 'opus', sampleRate: 48000, numberOfChannels: 1, bitrate: 32000 });
    return r.supported === true;
  } catch {
    return false;
  }
}

// What the button says in each state: it is the biggest thing on the page.
const LABELS = {
  idle: 'Hold to talk', denied: 'Hold to talk', requesting: 'Asking for the floor...',
  talking: 'Talking: let go to stop', finishing: 'Finishing...', queued: 'In line: keep holding',
  reconnecting: 'Reconnecting...',
};
const QUICK_TAP_MS = 400;  // let go sooner than this before the floor came: a tap, not a hold
let pressedAt = 0;

function setState(next, text) {
  state = next;
  document.body.dataset.state = next;
  $('talk').setAttribute('aria-pressed', String(next === 'talking' || next === 'requesting' || next === 'finishing'));
  $('talk-label').textContent = LABELS[next] || LABELS.idle;
  $('state').textContent = text;
}

function showWho(talker) {
  $('who').textContent = talker ? (talker === me ? 'You are talking.' : `${talker} is talking.`) : 'Nobody is talking.';
}

// ------------------------------------------------------------------ audio (made on the first press)

async function ensureAudio(codec) {
  if (audio) {
    if (audio.context.state === 'suspended') await audio.context.resume();
    return audio;
  }
  // Created inside the press gesture; the microphone then stays open between presses.
  const context = new AudioContext({ sampleRate: 48000 });
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1 },
  });
  await context.audioWorklet.addModule('capture-worklet.js');
  const source = context.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(context, 'capture');
  source.connect(node);
  let encoder = null;
  if (codec === 'opus') {
    encoder = new AudioEncoder({
      // Outputs come in the order of encode() calls, possibly later and in bursts: each takes
      // the "last frame" flag its input was encoded with.
      output: (chunk) => {
        const bytes = new Uint8Array(chunk.byteLength);
        chunk.copyTo(bytes);
        sendFrame(bytes, audio.lastFlags.shift() === true);
      },
      error: (e) => console.error('opus encoder', e),
    });
    encoder.configure({ codec: 'opus', sampleRate: 48000, numberOfChannels: 1, bitrate: 32000, opus: { frameDuration: 20000 } });
  }
  node.port.onmessage = (e) => onFrame(e.data);
  audio = { context, node, encoder, timestamp: 0, lastFlags: [] };
  return audio;
}

function sending() {
  return state === 'talking' || state === 'finishing';
}

function onFrame(frame) {
  const db = levelDbfs(frame);
  $('level').style.width = sending() ? `${Math.max(0, Math.min(100, (db + 60) * (100 / 60)))}%` : '0';
  if (!sending() || audio.ended) return;  // never any audio before the grant, nothing after the last frame
  const last = state === 'finishing' && performance.now() >= audio.tailEnds;
  if (audio.encoder) {
    const data = new AudioData({ format: 'f32', sampleRate: 48000, numberOfFrames: frame.length, numberOfChannels: 1,
                                 timestamp: audio.timestamp, data: frame });
    audio.timestamp += 20000;
    audio.lastFlags.push(last);
    audio.encoder.encode(data);
    data.close();
  } else {
    sendFrame(pcm16(frame), last);
  }
  if (last) {
    // The release goes after the last frame: Opus output is asynchronous, so wait for it.
    audio.ended = true;
    if (audio.encoder) audio.encoder.flush().then(endTurn, endTurn);
    else endTurn();
  }
}

function sendFrame(payload, last) {
  room.sendAudio(audioFrame(sequence, last, payload));
  sequence = (sequence + 1) & 0xffff;
}

// ------------------------------------------------------------------ the button

async function press() {
  if (holding || !room) return;
  holding = true;
  pressedAt = performance.now();
  if (state === 'reconnecting') return;
  clearTimeout(tailTimer);
  try {
    await ensureAudio(room.join.codec);
  } catch (e) {
    holding = false;
    setState('idle', `No microphone: ${e.message}`);
    return;
  }
  if (!holding) return;  // let go while the microphone was being opened
  setState('requesting', 'Asking for the floor...');
  room.request('press');
}

function release() {
  if (!holding) return;
  holding = false;
  if (state === 'talking') {
    // Keep sending a little after the button is let go: the last word is still in the air.
    setState('finishing', 'Finishing...');
    audio.tailEnds = performance.now() + TAIL_MS;
    tailTimer = setTimeout(() => { if (state === 'finishing' && !audio.ended) endTurn(); }, TAIL_MS + 200);
    return;
  }
  // Let go before any answer, and at once: a tap (the microphone may not even be open yet).
  const tapped = (state === 'requesting' || state === 'idle') && performance.now() - pressedAt < QUICK_TAP_MS;
  room.request('release');  // a queued or pending press is withdrawn; after a deny it does nothing
  if (tapped) setState('idle', 'Hold the button down (or the space bar) for as long as you talk: a tap is too short.');
  else if (state !== 'reconnecting') setState('idle', 'Ready.');
}

function endTurn() {
  if (state !== 'finishing' && state !== 'talking') return;  // already ended (tail timer and flush both fire)
  clearTimeout(tailTimer);
  clearInterval(countdown);
  room.request('release');
  setState('idle', 'Ready.');
}

function onMessage(msg) {
  switch (msg.type) {
    case 'ok':
      if (msg.room !== undefined) {  // the join (or re-join) reply: the room as it is
        $('join').hidden = true;
        $('class').hidden = false;
        $('me').textContent = `You are ${me}, in room ${msg.room}.`;
        showWho(msg.talker);
        if (state === 'reconnecting') setState('idle', 'Ready.');
      }
      break;
    case 'error':
      if (!$('class').hidden) setState(state, `Error: ${msg.message}`);
      else { $('join-error').textContent = msg.message; room.close(); room = null; }
      break;
    case 'floor_granted':
      if (!holding && state !== 'requesting') { room.request('release'); break; }  // let go before the grant
      talkEnds = performance.now() + msg.remaining_ms;
      audio.ended = false;
      setState('talking', `Talking: ${Math.ceil(msg.remaining_ms / 1000)} s left`);
      showWho(me);
      clearInterval(countdown);
      countdown = setInterval(() => {
        if (state !== 'talking') return clearInterval(countdown);
        $('state').textContent = `Talking: ${Math.max(0, Math.ceil((talkEnds - performance.now()) / 1000))} s left`;
      }, 250);
      break;
    case 'floor_denied':
      setState('denied', msg.reason === 'floor_taken' ? `Denied: ${msg.talker} is talking. Try again when they finish.`
        : msg.reason === 'queue_full' ? 'Denied: the line is full.' : 'Denied: instructors listen, they do not talk here.');
      break;
    case 'floor_queued':
      setState('queued', `Queued: you are number ${msg.position}. Keep holding; you will talk when it is your turn.`);
      break;
    case 'floor_dequeued':
      if (msg.reason !== 'released') holding = false;  // letting go later must not hide why
      setState('idle', msg.reason === 'policy_changed' ? 'The instructor switched to first come first served: press again.'
        : msg.reason === 'skipped' ? 'The instructor took you out of the line: press again to ask to talk.' : 'Ready.');
      break;
    case 'floor_revoked':
      clearInterval(countdown);
      holding = false;
      setState('idle', msg.reason === 'max_talk_time' ? 'Your time is up.' : msg.reason === 'silence' ? 'Stopped: we heard nothing for a while.'
        : 'The instructor ended your turn.');
      break;
    case 'floor_taken': showWho(msg.talker); break;
    case 'floor_idle': showWho(null); break;
    case 'server_closing':
      clearInterval(countdown);
      $('who').textContent = 'Reconnecting to the class...';
      setState('reconnecting', 'The server is restarting...');
      break;
    default: break;
  }
}

function onState(s, detail) {
  if (s === 'reconnecting') {
    clearInterval(countdown);
    $('who').textContent = 'Reconnecting to the class...';  // not "You are talking" from before the drop
    setState('reconnecting', `Connection lost: reconnecting in ${Math.round(detail.retryMs / 100) / 10} s...`);
  }
}

// ------------------------------------------------------------------ wiring

$('room').value = params.get('room') || $('room').value;
if (params.get('name')) $('name').value = params.get('name');
if (!window.isSecureContext) $('secure').hidden = false;

$('join').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('join-error').textContent = '';
  me = $('name').value.trim();
  const codec = (await opusSupported()) ? 'opus' : 'pcm16';
  room = new Classroom({ name: me, room: $('room').value.trim(), role: 'student', codec, sample_rate: 48000 },
                       { onMessage, onState });
});

const talk = $('talk');
talk.addEventListener('pointerdown', (e) => { talk.setPointerCapture(e.pointerId); press(); });
talk.addEventListener('pointerup', release);
talk.addEventListener('pointercancel', release);
talk.addEventListener('contextmenu', (e) => e.preventDefault());
document.addEventListener('keydown', (e) => {
  if (e.code !== 'Space' || e.repeat || $('class').hidden || e.target.tagName === 'INPUT') return;
  e.preventDefault();
  press();
});
document.addEventListener('keyup', (e) => {
  if (e.code !== 'Space' || $('class').hidden || e.target.tagName === 'INPUT') return;
  e.preventDefault();
  release();
});
window.addEventListener('blur', release);  // the key-up would never come
