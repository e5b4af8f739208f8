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

// fetchTicket fetches a ticket for a stream: {ticket, expires}. It rejects
// with the server's message if the status is not 2xx.
async function fetchTicket(url) {
  const res = await fetch(url, { cache: "no-store" });
  if (!res.ok) {
    const text = (await res.text()).trim();
    let msg = text;
    try { msg = JSON.parse(text).error || text; } catch { /* plain text */ }
    throw new Error(`${res.status}: ${msg}`);
  }
  return res.json();
}

// A LiveView shows one event stream read by the browser's own EventSource.
// EventSource reconnects by itself when the connection drops (after the
// retry time the server asked for) and sends the id of the last event it
// received as Last-Event-ID, so that the server resumes where it left off:
// nothing missed, nothing twice. The view shows the connection's state,
// that id, and how often it reconnected, was told it missed events it can
// no longer get ("reset": the server restarted, or the client was away too
// long) or was told how many events it missed ("missed").
//
// Connect after Disconnect resumes too: the page passes the last id in the
// lastEventId parameter, since a new EventSource has none.
//
// A view with a ticketUrl streams a topic that needs a ticket: EventSource
// cannot send headers, so the view first fetches a short-lived ticket
// (from a route that, in a real app, checks the page's session) and puts
// it in the stream's URL. The server ends the stream when the ticket
// expires; the view then fetches a new ticket and opens a new EventSource
// that resumes from the last id. If the server refuses a ticket that the
// view thought still good (its clock is behind the server's, or the
// server restarted with a new key), EventSource gets 401 and closes, and
// the view does the same — once: a fresh ticket refused too ends it.
class LiveView {
  constructor({ form, disconnect, status, lastId, received, reconnects, resets, missed, tickets, output, urlText, url, ticketUrl, key, names, render }) {
    this.connectButton = form.querySelector("button[type=submit]");
    this.disconnectButton = disconnect;
    this.el = { status, lastId, received, reconnects, resets, missed, tickets, output, urlText };
    this.url = url;             // returns the stream's URL, without lastEventId
    this.ticketUrl = ticketUrl; // returns the URL of the stream's ticket; undefined if it needs none
    this.key = key;             // returns what the ids belong to: another key starts afresh
    this.names = names;         // the event types to show besides "message"
    this.render = render;       // returns the element that shows an event
    this.source = null;
    this.attempt = 0;           // counts connects and closes: a ticket fetched for an older one is dropped
    this.ticketExpires = 0;     // when the stream's ticket expires, in ms since 1970
    this.shownKey = null;
    this.lastEventId = "";
    form.addEventListener("submit", (e) => { e.preventDefault(); this.connect(); });
    disconnect.addEventListener("click", () => this.disconnect());
  }

  async connect() {
    this.close();
    const attempt = this.attempt;
    const key = this.key();
    if (key !== this.shownKey) {
      this.shownKey = key;
      this.lastEventId = "";
      this.counts = { received: 0, reconnects: 0, resets: 0, missed: 0 };
      if (this.ticketUrl) this.counts.tickets = 0;
      this.el.output.replaceChildren();
      this.showCounts();
    }
    setStatus(this.el.status, "connecting");
    this.connectButton.disabled = true;
    this.disconnectButton.disabled = false;
    let url = this.url();
    let shownUrl = url;
    if (this.ticketUrl) {
      let t;
      try {
        t = await fetchTicket(this.ticketUrl());
      } catch (err) {
        if (this.attempt === attempt) {
          this.close();
          setStatus(this.el.status, "error", `no ticket: ${err.message}`);
        }
        return;
      }
      if (this.attempt !== attempt) return; // disconnected, or connected again, meanwhile
      this.ticketExpires = Date.parse(t.expires);
      this.counts.tickets++;
      this.showCounts();
      url += `&${new URLSearchParams({ ticket: t.ticket })}`;
      shownUrl += `&ticket=${t.ticket.slice(0, 8)}…`; // a credential: not all of it on screen
    }
    if (this.lastEventId !== "") {
      const resume = `&${new URLSearchParams({ lastEventId: this.lastEventId })}`;
      url += resume;
      shownUrl += resume;
    }
    this.el.urlText.textContent = `EventSource ${shownUrl}`;
    const es = new EventSource(url);
    this.source = es;
    let opened = false;

    const mine = (f) => (e) => { if (this.source === es) f(e); };
    es.addEventListener("open", mine(() => {
      if (opened) {
        this.counts.reconnects++;
        this.showCounts();
      }
      opened = true;
      setStatus(this.el.status, "open");
    }));
    for (const name of ["message", ...this.names]) {
      es.addEventListener(name, mine((e) => this.receive(e)));
    }
    es.addEventListener("reset", mine((e) => {
      this.counts.resets++;
      const div = this.mark("reset", `reset (${e.data}): events were missed and cannot be sent again — the server restarted, or this page was away too long`);
      div.dataset.id = e.lastEventId; // the newest event's: the stream goes on from there
      this.setLastId(e.lastEventId);
    }));
    es.addEventListener("missed", mine((e) => {
      this.counts.missed += Number(e.data) || 0;
      this.mark("missed", `${e.data} events missed: this page fell behind`);
      this.showCounts();
    }));
    es.addEventListener("shutdown", mine(() => {
      this.mark("shutdown", "the server is shutting down: reconnecting when it is back");
    }));
    es.addEventListener("error", mine((e) => {
      if (e instanceof MessageEvent) {
        // An "error" event sent by the server: the stream failed (its
        // source, such as a message broker, went away). The server sent a
        // retry time with it; EventSource reconnects after that and
        // resumes from the last id.
        this.mark("failed", `the stream failed: ${e.data} — reconnecting`);
        setStatus(this.el.status, "reconnecting");
      } else if (es.readyState === EventSource.CLOSED) {
        // A status other than 200, or not an event stream: no retry. A
        // ticket that worked before was refused: the view gets a new one,
        // once.
        if (this.ticketUrl && opened) {
          this.renew("the ticket was refused: getting a new one and resuming");
          return;
        }
        this.close();
        setStatus(this.el.status, "error", "closed");
      } else if (this.ticketUrl && Date.now() >= this.ticketExpires) {
        // The stream ended with its ticket: rather than reconnect with
        // it, to be refused, get a new one at once.
        this.renew("the ticket expired: getting a new one and resuming");
      } else {
        setStatus(this.el.status, "reconnecting");
      }
    }));
  }

  // renew closes the stream, whose ticket has expired or was refused, and
  // connects with a new ticket, resuming from the last id.
  renew(why) {
    this.mark("ticket", why);
    this.connect();
  }

  receive(e) {
    const el = this.render(e);
    el.dataset.id = e.lastEventId;
    const out = this.el.output;
    const atBottom = out.scrollHeight - out.scrollTop - out.clientHeight < 24;
    out.append(el);
    trim(out);
    if (atBottom) out.scrollTop = out.scrollHeight;
    this.counts.received++;
    this.setLastId(e.lastEventId);
  }

  setLastId(id) {
    this.lastEventId = id;
    this.showCounts();
  }

  showCounts() {
    this.el.lastId.textContent = this.lastEventId || "–";
    for (const [name, n] of Object.entries(this.counts)) {
      this.el[name].textContent = n.toLocaleString("en");
    }
  }

  // mark shows a note about the stream among its events.
  mark(kind, text) {
    const div = document.createElement("div");
    div.className = `marker ${kind}`;
    div.textContent = text;
    this.el.output.append(div);
    trim(this.el.output);
    this.el.output.scrollTop = this.el.output.scrollHeight;
    return div;
  }

  close() {
    this.attempt++;
    if (this.source) {
      this.source.close();
      this.source = null;
    }
    this.connectButton.disabled = false;
    this.disconnectButton.disabled = true;
  }

  disconnect() {
    this.close();
    setStatus(this.el.status, "stopped", "disconnected");
  }
}

// describeEvent turns an event of /events into words.
function describeEvent(e) {
  try {
    const v = JSON.parse(e.data);
    if (e.type === "tick") return `tick ${v.n} at ${v.time.slice(11, 23)}`;
    if (e.type === "order") return `order ${v.order}: ${v.items} items, ${v.total}, for ${v.user}`;
    if (e.type === "balance") return `balance ${v.n}: ${v.balance}`;
  } catch { /* not JSON: shown as it is */ }
  return `${e.type}: ${e.data}`;
}

const liveEvents = new LiveView({
  form: $("events-form"),
  disconnect: $("events-disconnect"),
  status: $("events-status"),
  lastId: $("events-last-id"),
  received: $("events-received"),
  reconnects: $("events-reconnects"),
  resets: $("events-resets"),
  missed: $("events-missed"),
  output: $("events-output"),
  urlText: $("events-url"),
  url: () => `/events?${new URLSearchParams({ topic: $("events-topic").value })}`,
  key: () => $("events-topic").value,
  names: ["tick", "order", "shipped"],
  render(e) {
    const div = document.createElement("div");
    div.className = `event ${e.type}`;
    const id = document.createElement("span");
    id.className = "id";
    id.textContent = `#${e.lastEventId.slice(-4)}`;
    id.title = `event id ${e.lastEventId}`;
    const text = document.createElement("span");
    text.textContent = describeEvent(e);
    div.append(id, text);
    return div;
  },
});
$("events-topic").addEventListener("change", () => liveEvents.connect());

const liveLog = new LiveView({
  form: $("live-log-form"),
  disconnect: $("live-log-disconnect"),
  status: $("live-log-status"),
  lastId: $("live-log-last-id"),
  received: $("live-log-received"),
  reconnects: $("live-log-reconnects"),
  resets: $("live-log-resets"),
  missed: $("live-log-missed"),
  output: $("live-log-output"),
  urlText: $("live-log-url"),
  url: () => `/stream/logs?${new URLSearchParams({ lines: $("live-log-lines").value })}`,
  key: () => "logs",
  names: [],
  render(e) {
    const div = document.createElement("div");
    div.className = "line " + (/\bERROR\b/.test(e.data) ? "error" : /\bWARN\b/.test(e.data) ? "warn" : "");
    div.textContent = e.data;
    return div;
  },
});

// The private topic needs a ticket. It connects when asked to, not with
// the page: over HTTP/1.1 a browser opens at most six connections to a
// server, and the page's other streams take up to four.
const livePrivate = new LiveView({
  form: $("private-form"),
  disconnect: $("private-disconnect"),
  status: $("private-status"),
  lastId: $("private-last-id"),
  received: $("private-received"),
  reconnects: $("private-reconnects"),
  resets: $("private-resets"),
  missed: $("private-missed"),
  tickets: $("private-tickets"),
  output: $("private-output"),
  urlText: $("private-url"),
  url: () => `/events?${new URLSearchParams({ topic: "private" })}`,
  ticketUrl: () => `/events/ticket?${new URLSearchParams({ topic: "private" })}`,
  key: () => "private",
  names: ["balance"],
  render: liveEvents.render,
});

// newKey returns a fresh Idempotency-Key: 128 random bits in hex
// (crypto.getRandomValues works on plain http too, randomUUID does not).
function newKey() {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// answerError turns a response that is not 2xx into an Error with the
// server's message.
async function answerError(res) {
  const text = (await res.text()).trim();
  let msg = text;
  try { msg = JSON.parse(text).error || text; } catch { /* plain text */ }
  return new Error(`${res.status}: ${msg || res.statusText}`);
}

// A RunView starts runs and shows one: a run is owned by the server, not
// by the page, so the page keeps its id in its URL (#run=ID) and a reload,
// or the same URL in another tab, attaches to it again. An EventSource on
// a new page sends no Last-Event-ID, so the server sends the run's events
// from the first: the view starts from nothing each time it attaches, and
// shows each word once. When the connection drops, EventSource resumes
// after the last id it had: nothing twice there either. The run's final
// "end" event (its Info: state, message) closes the EventSource.
//
// Start sends an Idempotency-Key made for that click and kept until the
// server answers: if the request fails on the way (the network, a
// restarting server), Start again sends the same key, and the server
// returns the run it may have started already instead of a second one.
class RunView {
  constructor() {
    this.source = null;
    this.id = "";
    this.pending = null; // {kind, key} of a start not answered yet
    this.attempt = 0;    // counts attaches: an answer for an older one is dropped
    $("runs-form").addEventListener("submit", (e) => { e.preventDefault(); this.start(); });
    $("runs-cancel").addEventListener("click", () => this.cancel());
    $("runs-kind").addEventListener("change", () => { this.pending = null; });
    window.addEventListener("hashchange", () => this.attachFromURL());
  }

  // attachFromURL attaches to the run named in the page's URL, if any.
  attachFromURL() {
    const id = new URLSearchParams(location.hash.slice(1)).get("run") || "";
    if (id !== "" && id !== this.id) this.attach(id);
  }

  async start() {
    const kind = $("runs-kind").value;
    if (!this.pending || this.pending.kind !== kind) this.pending = { kind, key: newKey() };
    const pending = this.pending;
    // The report is paced so that the bar can be watched filling.
    const params = kind === "report" ? { kind, pause: 20 } : { kind };
    const url = `/runs?${new URLSearchParams(params)}`;
    $("runs-url").textContent = `POST ${url}  Idempotency-Key: ${pending.key.slice(0, 8)}…`;
    $("runs-start").disabled = true;
    setStatus($("runs-status"), "starting");
    let res;
    try {
      res = await fetch(url, { method: "POST", headers: { "Idempotency-Key": pending.key }, cache: "no-store" });
    } catch (err) {
      // Not answered: the run may or may not have started. The key is
      // kept, so that Start again cannot start it twice.
      $("runs-start").disabled = false;
      setStatus($("runs-status"), "error", `start failed (${err.message}): Start again retries it`);
      return;
    } finally {
      $("runs-start").disabled = false;
    }
    if (this.pending === pending) this.pending = null; // answered
    if (res.status !== 201) {
      setStatus($("runs-status"), "error", (await answerError(res)).message);
      return;
    }
    const where = res.headers.get("Location") || "";
    const id = decodeURIComponent(where.slice(where.lastIndexOf("/") + 1));
    history.replaceState(null, "", `#${new URLSearchParams({ run: id })}`);
    this.attach(id);
  }

  // attach shows run id from its first event.
  attach(id) {
    this.close();
    const attempt = this.attempt;
    this.id = id;
    this.text = "";
    this.counts = { received: 0, reconnects: 0 };
    this.lastEventId = "";
    $("runs-id").textContent = id;
    $("runs-shown-kind").textContent = "–";
    $("runs-text").replaceChildren();
    $("runs-text").hidden = false;
    $("runs-report").hidden = true;
    $("runs-link").hidden = true;
    $("runs-progress").value = 0;
    $("runs-done").textContent = "0";
    $("runs-total").textContent = "?";
    $("runs-notes").replaceChildren();
    this.showCounts();
    this.setState("starting", "attaching");
    $("runs-cancel").disabled = false;
    const url = `/runs/${encodeURIComponent(id)}`;
    $("runs-url").textContent = `EventSource ${url}`;
    const es = new EventSource(url);
    this.source = es;
    let opened = false;
    const mine = (f) => (e) => { if (this.source === es) f(e); };
    const counted = (f) => mine((e) => {
      this.counts.received++;
      this.lastEventId = e.lastEventId;
      f(e);
      this.showCounts();
    });
    es.addEventListener("open", mine(() => {
      if (opened) this.counts.reconnects++;
      opened = true;
      this.showCounts();
      this.setState("running");
    }));
    es.addEventListener("token", counted((e) => {
      $("runs-shown-kind").textContent = "tokens";
      const out = $("runs-text");
      const atBottom = out.scrollHeight - out.scrollTop - out.clientHeight < 24;
      out.append(e.data); // a text node: the words' own spaces join them
      this.text += e.data;
      if (atBottom) out.scrollTop = out.scrollHeight;
    }));
    es.addEventListener("progress", counted((e) => {
      const p = JSON.parse(e.data);
      this.showReport();
      $("runs-progress").max = p.total || 1;
      $("runs-progress").value = p.total ? p.done : 0;
      $("runs-done").textContent = p.done.toLocaleString("en");
      $("runs-total").textContent = p.total ? p.total.toLocaleString("en") : "?";
    }));
    es.addEventListener("result", counted((e) => {
      this.showReport();
      const link = $("runs-link");
      link.href = e.data;
      link.textContent = `Download ${e.data.slice(e.data.lastIndexOf("/") + 1)}`;
      link.hidden = false;
    }));
    es.addEventListener("number", counted((e) => {
      $("runs-shown-kind").textContent = "count";
      $("runs-text").append(`${this.text === "" ? "" : " "}${e.data}`);
      this.text += `${this.text === "" ? "" : " "}${e.data}`;
    }));
    es.addEventListener("end", mine((e) => {
      // The run ended: its Info says how. No more events will come, so
      // EventSource must not reconnect.
      this.close();
      let info = {};
      try { info = JSON.parse(e.data); } catch { /* shown as it is */ }
      if (info.kind) $("runs-shown-kind").textContent = info.kind;
      this.setState(info.state || "error", info.state);
      if (info.message) this.note(info.state === "failed" ? "failed" : "shutdown", `${info.state}: ${info.message}`);
    }));
    es.addEventListener("error", mine((e) => {
      if (e instanceof MessageEvent) {
        // The server's "error" event: the stream failed, not the run.
        // EventSource reconnects after the retry time it was sent and
        // resumes after the last id.
        this.note("failed", `the stream failed: ${e.data} — reconnecting`);
        this.setState("reconnecting");
      } else if (es.readyState === EventSource.CLOSED) {
        // Not an event stream (404, 410, 429 …): ask why.
        this.close();
        this.explain(id, attempt);
      } else {
        this.setState("reconnecting");
      }
    }));
  }

  // explain asks the server why run id could not be attached, and says so.
  async explain(id, attempt) {
    const controller = new AbortController();
    let why = "closed";
    try {
      const res = await fetch(`/runs/${encodeURIComponent(id)}`, { signal: controller.signal, cache: "no-store" });
      controller.abort(); // the status is all it wants
      if (res.status === 404) why = "no such run: the server does not know it (restarted?)";
      else if (res.status === 410) why = "gone: the run ended too long ago to be shown again";
      else if (!res.ok) why = (await answerError(res)).message;
    } catch { /* the server cannot be reached */ }
    if (this.attempt !== attempt) return;
    this.setState("error", why);
  }

  // cancel asks the server to cancel the run; the run's "end" event says
  // when it has.
  async cancel() {
    if (this.id === "") return;
    $("runs-cancel").disabled = true;
    try {
      const res = await fetch(`/runs/${encodeURIComponent(this.id)}`, { method: "DELETE", cache: "no-store" });
      if (!res.ok) this.note("failed", `cancel: ${(await answerError(res)).message}`);
    } catch (err) {
      this.note("failed", `cancel: ${err.message}`);
      $("runs-cancel").disabled = false;
    }
  }

  showReport() {
    $("runs-shown-kind").textContent = "report";
    $("runs-report").hidden = false;
    if (this.text === "") $("runs-text").hidden = true;
  }

  setState(state, text) {
    setStatus($("runs-status"), state, text);
    $("runs-text").dataset.state = state;
    if (state !== "running" && state !== "starting" && state !== "reconnecting") $("runs-cancel").disabled = true;
  }

  showCounts() {
    $("runs-received").textContent = this.counts.received.toLocaleString("en");
    $("runs-reconnects").textContent = this.counts.reconnects.toLocaleString("en");
    $("runs-last-id").textContent = this.lastEventId || "–";
  }

  // note shows a line about the run below its output.
  note(kind, text) {
    const div = document.createElement("div");
    div.className = `marker ${kind}`;
    div.textContent = text;
    $("runs-notes").append(div);
  }

  close() {
    this.attempt++;
    if (this.source) {
      this.source.close();
      this.source = null;
    }
  }
}

const runView = new RunView();

liveEvents.connect();
liveLog.connect();
runView.attachFromURL();
