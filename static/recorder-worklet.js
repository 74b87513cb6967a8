/* The recorder's audio thread (an AudioWorklet module, loaded by recorder.js): it passes
   the microphone's samples, mono, to the page in blocks of about 85 ms, each with its
   peak, so the page can keep the take and move its level meter. A static file, since the
   Content-Security-Policy allows no inline script; worklets load under script-src 'self'. */
"use strict";

var BLOCK = 4096; // frames: about 85 ms at 48 kHz, few enough messages for the page

class RecorderCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.block = new Float32Array(BLOCK);
    this.filled = 0;
    this.peak = 0;
    this.recording = true;
    this.port.onmessage = (event) => {
      if (event.data === "stop") {
        this.flush();
        this.recording = false;
        this.port.postMessage({ done: true });
      }
    };
  }

  flush() {
    if (this.filled) {
      var samples = this.block.slice(0, this.filled);
      this.port.postMessage({ samples: samples, peak: this.peak }, [samples.buffer]);
    }
    this.filled = 0;
    this.peak = 0;
  }

  process(inputs) {
    // The node takes one channel ("explicit", "speakers"): Web Audio mixes stereo to mono.
    var channel = inputs[0] && inputs[0][0];
    if (!this.recording) {
      return false;
    }
    if (channel) {
      for (var i = 0; i < channel.length; i++) {
        var sample = channel[i];
        this.block[this.filled++] = sample;
        this.peak = Math.max(this.peak, Math.abs(sample));
        if (this.filled === BLOCK) {
          this.flush();
        }
      }
    }
    return true;
  }
}

registerProcessor("recorder-capture", RecorderCapture);
