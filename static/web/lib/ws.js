// A websocket of an order's live events (the contract's snapshot, then events) that
// reconnects with backoff. What the page shows about the connection is its own: it is told
// through the callbacks.

// openEvents connects to path on this page's host and returns {close}. Callbacks:
//   onEvent(ev)              every parsed frame, the snapshot included;
//   onSynced(again, isOpen)  a snapshot arrived: again is false the first time; isOpen()
//                            tells later whether this very connection is still open;
//   check({opened, attempt}) after a drop, before retrying; resolving false stops;
//   onRetry(attempt, delay)  a retry is scheduled in delay milliseconds.
export function openEvents(path, { onEvent, onSynced = () => {}, check = async () => true, onRetry = () => {} }) {
  let sock = null;
  let attempt = 0;
  let timer = null;
  let everSynced = false;
  let closed = false;

  function connect() {
    clearTimeout(timer);
    if (closed) return;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const s = new WebSocket(`${proto}//${location.host}${path}`);
    sock = s;
    let opened = false;
    s.onopen = () => { opened = true; };
    s.onmessage = (e) => {
      let ev;
      try { ev = JSON.parse(e.data); } catch { return; }
      if (ev.type === 'snapshot') {
        attempt = 0;
        onSynced(everSynced, () => sock === s && s.readyState === WebSocket.OPEN);
        everSynced = true;
      }
      onEvent(ev);
    };
    s.onclose = async () => {
      if (sock !== s || closed) return;
      attempt++;
      if (!(await check({ opened, attempt }))) return;
      const delay = Math.min(15000, 500 * 2 ** Math.min(attempt - 1, 5)) * (0.8 + Math.random() * 0.4);
      onRetry(attempt, delay);
      timer = setTimeout(connect, delay);
    };
  }

  connect();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      if (sock) sock.close();
    },
  };
}
