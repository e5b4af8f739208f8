// The ginstream demo page: reads streams with fetch and a ReadableStream
// reader, and shows each line the moment it arrives.
"use strict";

const MAX_SHOWN = 500; // lines kept on screen; older ones are dropped

// streamLines fetches url and calls onLines with each chunk's complete
// lines as they arrive. It resolves when the response ends cleanly, and
// rejects if the request fails, the status is not 2xx, the transfer is cut
// short by the server (a failed stream), or signal aborts it.
async function streamLines(url, signal, onLines) {
  const res = await fetch(url, { signal, cache: "no-store" });
  if (!res.ok) {
    const text = (await res.text()).trim();
    let msg = text;
    try { msg = JSON.parse(text).error || text; } catch { /* plain text */ }
    throw new Error(`${res.status}: ${msg}`);
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    pending += decoder.decode(value, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop(); // an incomplete last line waits for its newline
    if (lines.length > 0) onLines(lines);
  }
  pending += decoder.decode();
  if (pending !== "") onLines([pending]);
}

// setStatus shows a stream's state in its badge.
function setStatus(el, state, text) {
  el.dataset.state = state;
  el.textContent = text || state;
}

// trim drops the oldest children of el beyond MAX_SHOWN.
function trim(el) {
  while (el.childElementCount > MAX_SHOWN) el.firstElementChild.remove();
}

// describe turns a stream's failure into words.
function describe(err) {
  if (err.name === "AbortError") return ["stopped", "stopped"];
  if (err instanceof TypeError) return ["error", "transfer failed"]; // network error or truncated stream
  return ["error", err.message];
}

// A Streamer runs one stream at a time for one card, with start and stop
// buttons wired to an AbortController.
class Streamer {
  constructor({ form, stop, status, onStart, onLines }) {
    this.stopButton = stop;
    this.startButton = form.querySelector("button[type=submit]");
    this.status = status;
    this.onStart = onStart;
    this.onLines = onLines;
    this.controller = null;
    form.addEventListener("submit", (e) => { e.preventDefault(); this.start(); });
    stop.addEventListener("click", () => this.stop());
  }

  async start() {
    this.stop();
    const controller = new AbortController();
    this.controller = controller;
    const url = this.onStart();
    this.startButton.disabled = true;
    this.stopButton.disabled = false;
    setStatus(this.status, "streaming");
    try {
      await streamLines(url, controller.signal, this.onLines);
      if (this.controller === controller) setStatus(this.status, "done");
    } catch (err) {
      if (this.controller === controller || err.name !== "AbortError") {
        setStatus(this.status, ...describe(err));
      }
    } finally {
      if (this.controller === controller) {
        this.controller = null;
        this.startButton.disabled = false;
        this.stopButton.disabled = true;
      }
    }
  }

  // stop aborts the running stream: the browser closes the connection, and
  // the server cancels the stream's producers.
  stop() {
    if (this.controller) this.controller.abort();
  }
}

function $(id) { return document.getElementById(id); }

// Numbers: a progress bar against the known count, a chip per number.
const numbers = {
  received: 0,
  total: 0,
};

new Streamer({
  form: $("numbers-form"),
  stop: $("numbers-stop"),
  status: $("numbers-status"),
  onStart() {
    const count = Number($("numbers-count").value);
    const interval = Number($("numbers-interval").value);
    const source = $("numbers-source").value;
    const url = source === "/proxy/numbers" ? source : `${source}?${new URLSearchParams({ count, interval })}`;
    numbers.received = 0;
    numbers.total = count;
    $("numbers-output").replaceChildren();
    $("numbers-progress").max = count;
    $("numbers-progress").value = 0;
    $("numbers-received").textContent = "0";
    $("numbers-total").textContent = count.toLocaleString("en");
    $("numbers-latest").textContent = "–";
    $("numbers-url").textContent = `GET ${url}`;
    return url;
  },
  onLines(lines) {
    const out = $("numbers-output");
    const frag = document.createDocumentFragment();
    for (const line of lines) {
      const chip = document.createElement("span");
      chip.className = "chip";
      chip.textContent = line;
      frag.append(chip);
    }
    out.append(frag);
    trim(out);
    numbers.received += lines.length;
    $("numbers-progress").value = numbers.received;
    $("numbers-received").textContent = numbers.received.toLocaleString("en");
    $("numbers-latest").textContent = lines[lines.length - 1];
  },
});

// Logs: a terminal-like pane that keeps the newest lines in view.
let logsReceived = 0;

new Streamer({
  form: $("logs-form"),
  stop: $("logs-stop"),
  status: $("logs-status"),
  onStart() {
    logsReceived = 0;
    $("logs-output").replaceChildren();
    $("logs-received").textContent = "0";
    const url = `/stream/logs?${new URLSearchParams({ lines: $("logs-lines").value })}`;
    $("logs-url").textContent = `GET ${url}`;
    return url;
  },
  onLines(lines) {
    const out = $("logs-output");
    const atBottom = out.scrollHeight - out.scrollTop - out.clientHeight < 24;
    const frag = document.createDocumentFragment();
    for (const line of lines) {
      const div = document.createElement("div");
      div.className = "line " + (/\bERROR\b/.test(line) ? "error" : /\bWARN\b/.test(line) ? "warn" : "");
      div.textContent = line;
      frag.append(div);
    }
    out.append(frag);
    trim(out);
    logsReceived += lines.length;
    $("logs-received").textContent = logsReceived.toLocaleString("en");
    if (atBottom) out.scrollTop = out.scrollHeight;
  },
});

// The proxy streams its configured upstream, /stream/numbers with its
// defaults: the request's query never reaches the upstream.
$("numbers-source").addEventListener("change", (e) => {
  const proxied = e.target.value === "/proxy/numbers";
  for (const [id, fixed] of [["numbers-count", 100], ["numbers-interval", 20]]) {
    const input = $(id);
    if (proxied) {
      input.dataset.saved = input.value;
      input.value = fixed;
    } else if (input.dataset.saved) {
      input.value = input.dataset.saved;
    }
    input.disabled = proxied;
  }
});

$("curl-example").textContent =
  `curl -N '${location.origin}/stream/numbers?count=10&interval=500'`;
