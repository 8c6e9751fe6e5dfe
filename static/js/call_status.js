// A live call's page: its status arrives over a websocket as Twilio reports it, and the
// transcript line by line as the conversation goes (first the lines so far, so a reload
// mid-call shows them all); once the call is over the page reloads to show the cost and the
// feedback form.
(() => {
  const panel = document.querySelector("[data-call-status]");
  if (!panel) return;
  const LABELS = {
    initiated: "Initiated", "in-progress": "In progress", completed: "Completed", failed: "Failed",
  };
  const field = (name) => panel.querySelector(`[data-field="${name}"]`);
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const transcript = document.querySelector("[data-live-transcript]");
  const lines = new Map();  // turn index -> line: a line sent twice as the page joins shows once
  const showLine = (line) => {
    if (!transcript) return;
    const speaker = line.speaker === "persona" ? transcript.dataset.personaName : "You";
    lines.set(line.index, `${speaker}: ${line.text}${line.interrupted ? " …" : ""}`);
    const indexes = [...lines.keys()].sort((a, b) => a - b);
    transcript.textContent = indexes.map((index) => lines.get(index)).join("\n");
  };
  const socket = new WebSocket(`${scheme}://${location.host}${panel.dataset.socketPath}`);
  socket.addEventListener("message", (event) => {
    const update = JSON.parse(event.data);
    if (update.transcript) {
      showLine(update.transcript);
      return;
    }
    const status = field("status");
    status.textContent = LABELS[update.status] || update.status;
    status.className = `badge call-status ${update.status}`;
    if (update.twilio_status) field("twilio_status").textContent = `(${update.twilio_status})`;
    if (update.duration !== null && update.duration !== undefined) field("duration").textContent = `${update.duration} s`;
    if (update.status === "completed" || update.status === "failed") {
      socket.close();
      location.reload();
    }
  });
})();
