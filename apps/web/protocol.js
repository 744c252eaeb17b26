// The classroom's WebSocket client: JSON requests in text frames, audio in binary frames
// (docs/protocol.md), reconnecting by itself. Shared by the student and instructor pages.

/** One audio frame: [version 1][flags: bit 0 = last][sequence u16 big-endian][payload]. */
export function audioFrame(sequence, last, payload) {
  const bytes = new Uint8Array(4 + payload.byteLength);
  bytes[0] = 1;
  bytes[1] = last ? 1 : 0;
  bytes[2] = (sequence >> 8) & 0xff;
  bytes[3] = sequence & 0xff;
  bytes.set(payload instanceof Uint8Array ? payload : new Uint8Array(payload), 4);
  return bytes;
}

/** 20 ms of float samples as 16-bit little-endian PCM. */
export function pcm16(frame) {
  const out = new Int16Array(frame.length);
  for (let i = 0; i < frame.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(frame[i] * 32767)));
  return new Uint8Array(out.buffer);
}

/** The level of a frame in dBFS (for the meter). */
export function levelDbfs(frame) {
  let sum = 0;
  for (let i = 0; i < frame.length; i++) sum += frame[i] * frame[i];
  const rms = Math.sqrt(sum / frame.length);
  return rms > 0 ? 20 * Math.log10(rms) : -100;
}

/** A connection that joins a room, reconnects with backoff, and hands every message to onMessage. */
export class Classroom {
  constructor(join, handlers) {
    this.join = join;          // the join request's fields (name, room, role, codec, sample_rate, token)
    this.handlers = handlers;  // onMessage(msg), onState(state, detail)
    this.nextId = 1;
    this.backoffMs = 0;
    this.closedByUser = false;
    this.connect();
  }

  url() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}/ws`;
  }

  connect() {
    this.handlers.onState('connecting');
    const ws = new WebSocket(this.url());
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => this.request('join', { version: 1, ...this.join });
    ws.onmessage = (e) => {
      if (typeof e.data !== 'string') return;
      const msg = JSON.parse(e.data);
      if (msg.type === 'ok' && msg.room !== undefined) this.backoffMs = 0;
      this.handlers.onMessage(msg);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      if (this.closedByUser) return this.handlers.onState('closed');
      this.backoffMs = this.backoffMs === 0 ? 500 : Math.min(this.backoffMs * 2, 10000);
      this.handlers.onState('reconnecting', { code: e.code, retryMs: this.backoffMs });
      setTimeout(() => this.connect(), this.backoffMs);
    };
  }

  request(type, fields = {}) {
    const id = this.nextId++;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type, id, ...fields }));
    return id;
  }

  sendAudio(bytes) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(bytes);
  }

  close() {
    this.closedByUser = true;
    if (this.ws) this.ws.close(1000);
  }
}
