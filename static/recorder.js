/* Record a voice in the browser into the form's audio file input (templates/includes/
   recorder.html), so that sending the form uploads the take exactly as a chosen file:
   a WAV, 16 kHz, mono, 16-bit, what Coze accepts. The microphone's samples come from an
   AudioWorklet (recorder-worklet.js) at the device's rate and are low-pass filtered and
   resampled here. Without a way to record, the recorder says why and the upload stays.
   The page's words come in data- attributes: the Content-Security-Policy allows no
   inline script. */
"use strict";
(function () {
  var box = document.getElementById("recorder");
  var input = box && document.getElementById(box.dataset.input);
  if (!input) {
    return;
  }
  var RATE = 16000; // what Coze takes
  var LIMIT_SECONDS = 60;
  var button = box.querySelector(".recorder-toggle");
  var meter = box.querySelector("meter");
  var timer = box.querySelector(".recorder-timer");
  var status = box.querySelector(".recorder-status");
  var playback = box.querySelector(".recorder-playback");
  var take = null; // the recording under way
  var attached = null; // the File this recorder put into the input
  var attaching = false; // while it tells the page so with a change event
  var submitAfter = null; // a form sent while recording: {submitter}, sent again once attached

  function say(text) {
    status.textContent = text;
  }

  function clock(seconds) {
    var whole = Math.floor(seconds);
    return String(Math.floor(whole / 60)).padStart(2, "0") + ":" + String(whole % 60).padStart(2, "0");
  }

  function level(peak) {
    // Decibels below full scale, -60 dB to 0 dB shown as 0 to 1 on the meter.
    var db = 20 * Math.log10(Math.max(peak, 1e-6));
    return Math.min(1, Math.max(0, (db + 60) / 60));
  }

  function canRecord() {
    try {
      new DataTransfer(); // older browsers cannot set a file input's files
    } catch (error) {
      return false;
    }
    return Boolean(
      window.isSecureContext &&
        navigator.mediaDevices &&
        navigator.mediaDevices.getUserMedia &&
        window.AudioContext &&
        window.AudioWorkletNode
    );
  }

  function unavailable(error) {
    var name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError") {
      return box.dataset.sayDenied;
    }
    if (name === "NotFoundError" || name === "OverconstrainedError") {
      return box.dataset.sayNoDevice;
    }
    return box.dataset.sayFailed;
  }

  function start() {
    var context = new AudioContext(); // here, in the click, so that it may start playing
    var current = { context: context, stream: null, node: null, chunks: [], frames: 0, peak: 0 };
    take = current;
    button.disabled = true;
    say(box.dataset.sayAsking);
    navigator.mediaDevices
      .getUserMedia({
        // The voice as it is: Coze compares voices, and these filters change them.
        audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      })
      .then(function (stream) {
        current.stream = stream;
        return context.audioWorklet.addModule(box.dataset.worklet);
      })
      .then(function () {
        var node = new AudioWorkletNode(context, "recorder-capture", {
          numberOfOutputs: 1,
          outputChannelCount: [1],
          channelCount: 1, // a stereo microphone is mixed down to mono before the worklet
          channelCountMode: "explicit",
          channelInterpretation: "speakers",
        });
        node.port.onmessage = function (event) {
          heard(current, event.data);
        };
        context.createMediaStreamSource(current.stream).connect(node);
        node.connect(context.destination); // silent, but a node nobody listens to is not run
        current.node = node;
        current.stream.getAudioTracks().forEach(function (track) {
          track.addEventListener("ended", function () {
            if (take === current) {
              stop(false); // the microphone was unplugged, or the browser took it back
            }
          });
        });
        return context.resume();
      })
      .then(function () {
        button.textContent = box.dataset.labelStop;
        button.disabled = false;
        meter.value = 0;
        timer.textContent = clock(0);
        say(box.dataset.sayRecording);
      })
      .catch(function (error) {
        release(current);
        take = null;
        submitAfter = null;
        button.disabled = false;
        say(unavailable(error));
      });
  }

  function heard(current, data) {
    if (take !== current) {
      return;
    }
    if (data.done) {
      finish(current);
      return;
    }
    var rate = current.context.sampleRate;
    current.chunks.push(data.samples);
    current.frames += data.samples.length;
    current.peak = Math.max(current.peak, data.peak);
    meter.value = level(data.peak);
    timer.textContent = clock(current.frames / rate);
    if (current.frames >= LIMIT_SECONDS * rate) {
      stop(true);
    }
  }

  function stop(atLimit) {
    if (!take || take.stopping) {
      return;
    }
    take.stopping = true;
    take.atLimit = atLimit;
    button.disabled = true;
    take.node.port.postMessage("stop"); // the worklet sends what it holds, then "done"
  }

  function release(ended) {
    if (ended.stream) {
      ended.stream.getTracks().forEach(function (track) {
        track.stop();
      });
    }
    if (ended.context.state !== "closed") {
      ended.context.close();
    }
  }

  function finish(ended) {
    take = null;
    release(ended);
    var rate = ended.context.sampleRate;
    var samples = joined(ended.chunks, Math.min(ended.frames, LIMIT_SECONDS * rate));
    var voice = resampled(samples, rate);
    attach(new File([wav(voice)], "recording.wav", { type: "audio/wav" }));
    meter.value = 0;
    timer.textContent = clock(voice.length / RATE);
    button.textContent = box.dataset.labelAgain;
    button.disabled = false;
    if (ended.peak < 0.01) {
      say(box.dataset.saySilent); // below -40 dB: nothing Coze could enroll
    } else if (ended.atLimit) {
      say(box.dataset.sayLimit);
    } else {
      say(box.dataset.sayRecorded.replace("{time}", clock(voice.length / RATE)));
    }
    if (submitAfter) {
      var submitter = submitAfter.submitter;
      submitAfter = null;
      input.form.requestSubmit(submitter);
    }
  }

  function attach(file) {
    var files = new DataTransfer();
    files.items.add(file);
    attached = file;
    input.files = files.files;
    attaching = true;
    input.dispatchEvent(new Event("change", { bubbles: true }));
    attaching = false;
    if (playback.src) {
      URL.revokeObjectURL(playback.src);
    }
    playback.src = URL.createObjectURL(file); // a blob: address, allowed by media-src
    playback.hidden = false;
  }

  function joined(chunks, frames) {
    var all = new Float32Array(frames);
    var at = 0;
    for (var i = 0; i < chunks.length && at < frames; i++) {
      var chunk = chunks[i].subarray(0, frames - at);
      all.set(chunk, at);
      at += chunk.length;
    }
    return all;
  }

  // Resampling to 16 kHz: each output sample is a weighted average of the input around
  // it, the weights a windowed sinc (Blackman) cutting off at 7 kHz, below the new
  // Nyquist frequency, so that nothing above 8 kHz folds back into the voice as noise.
  // The weights are worked out once for each 1/64 of an input sample where an output
  // sample can fall, and sum to 1, so that a steady level stays the same level.
  function resampled(samples, from) {
    if (from === RATE) {
      return samples;
    }
    var ratio = from / RATE;
    var cutoff = (0.4375 * Math.min(from, RATE)) / from; // 7 kHz, in cycles per input sample
    var half = Math.ceil(16 * Math.max(ratio, 1)); // the kernel's reach, in input samples
    var steps = 64;
    var phases = [];
    for (var phase = 0; phase <= steps; phase++) {
      var weights = new Float32Array(2 * half);
      var total = 0;
      for (var t = 0; t < weights.length; t++) {
        var x = t + 1 - half - phase / steps; // from the output sample's place, in samples
        var sinc = x === 0 ? 1 : Math.sin(2 * Math.PI * cutoff * x) / (2 * Math.PI * cutoff * x);
        var w = (Math.PI * (x + half)) / half;
        weights[t] = sinc * (0.42 - 0.5 * Math.cos(w) + 0.08 * Math.cos(2 * w));
        total += weights[t];
      }
      phases.push(weights.map(function (weight) {
        return weight / total;
      }));
    }
    var padded = new Float32Array(samples.length + 2 * half); // silence before and after
    padded.set(samples, half);
    var out = new Float32Array(Math.floor(samples.length / ratio));
    for (var n = 0; n < out.length; n++) {
      var center = n * ratio;
      var base = Math.floor(center);
      var taps = phases[Math.round((center - base) * steps)];
      var sum = 0;
      for (var k = 0; k < taps.length; k++) {
        sum += padded[base + 1 + k] * taps[k]; // input sample base + 1 - half + k
      }
      out[n] = sum;
    }
    return out;
  }

  function wav(samples) {
    var view = new DataView(new ArrayBuffer(44 + samples.length * 2));
    function text(at, word) {
      for (var i = 0; i < word.length; i++) {
        view.setUint8(at + i, word.charCodeAt(i));
      }
    }
    text(0, "RIFF");
    view.setUint32(4, 36 + samples.length * 2, true);
    text(8, "WAVE");
    text(12, "fmt ");
    view.setUint32(16, 16, true); // the format chunk's size
    view.setUint16(20, 1, true); // PCM
    view.setUint16(22, 1, true); // mono
    view.setUint32(24, RATE, true);
    view.setUint32(28, RATE * 2, true); // bytes a second
    view.setUint16(32, 2, true); // bytes a frame
    view.setUint16(34, 16, true); // bits a sample
    text(36, "data");
    view.setUint32(40, samples.length * 2, true);
    for (var i = 0; i < samples.length; i++) {
      var sample = Math.max(-1, Math.min(1, samples[i]));
      view.setInt16(44 + i * 2, Math.round(sample < 0 ? sample * 0x8000 : sample * 0x7fff), true);
    }
    return view.buffer;
  }

  function checkMicrophone() {
    // Told before Record is pressed where the browser lets us know (pressing it still
    // tries): a refusal first, then no microphone at all, the stronger reason.
    var asked = navigator.permissions
      ? navigator.permissions.query({ name: "microphone" }).then(function (permission) {
          if (permission.state === "denied") {
            say(box.dataset.sayDenied);
          }
        })
      : Promise.resolve();
    asked
      .catch(function () {}) // a browser that does not name the microphone's permission
      .then(function () {
        return navigator.mediaDevices.enumerateDevices();
      })
      .then(function (devices) {
        var found = devices.some(function (device) {
          return device.kind === "audioinput";
        });
        if (!found && !take) {
          say(box.dataset.sayNoDevice);
        }
      })
      .catch(function () {});
  }

  box.hidden = false;
  if (!canRecord()) {
    say(box.dataset.sayUnsupported);
    return;
  }
  button.disabled = false;
  button.addEventListener("click", function () {
    if (take) {
      stop(false);
    } else {
      start();
    }
  });
  function forgetPlayback() {
    if (playback.src) {
      URL.revokeObjectURL(playback.src);
      playback.removeAttribute("src");
    }
    playback.hidden = true;
  }
  input.addEventListener("change", function () {
    if (attached && !attaching) {
      attached = null; // a file chosen after the take goes instead of it
      forgetPlayback();
      if (input.files.length) {
        say(box.dataset.sayReplaced);
      }
    }
  });
  window.addEventListener("pagehide", forgetPlayback);
  if (input.form) {
    input.form.addEventListener("submit", function (event) {
      if (take && take.node) {
        // Sent while recording: the take is finished first, then the form goes with it.
        event.preventDefault();
        submitAfter = { submitter: event.submitter || null };
        stop(false);
      }
    });
  }
  checkMicrophone();
})();
