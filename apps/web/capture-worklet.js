// Runs on the audio thread: cuts the microphone into 20 ms frames (960 samples at 48 kHz) and
// posts them to the page, clamped to [-1, 1]. Nothing else happens here.
class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.frame = new Float32Array(960);
    this.filled = 0;
  }
  process(inputs) {
    const input = inputs[0] && inputs[0][0];
    if (!input) return true;
    for (let i = 0; i < input.length; i++) {
      const s = input[i];
      this.frame[this.filled++] = s > 1 ? 1 : s < -1 ? -1 : s;
      if (this.filled === this.frame.length) {
        this.port.postMessage(this.frame, [this.frame.buffer]);
        this.frame = new Float32Array(960);
        this.filled = 0;
      }
    }
    return true;
  }
}
registerProcessor('capture', CaptureProcessor);
