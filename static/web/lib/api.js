// The API client of the pages: JSON requests in the contract's error envelope, file uploads
// with progress, and the server's clock. Authorization is the page's cookie (same-origin);
// no token passes through here.

const NETWORK_ERROR = '网络连接失败，请检查网络后重试。';

// newClient returns {request, sendFile, now}. message rewrites each error's message_zh for
// the page's reader (the desktop drops "在电脑端"); by default it is kept as it is. headers
// are sent with every request (a page that authorizes otherwise than by its cookie).
export function newClient({ message = (t) => t, headers = {} } = {}) {
  let clockOffset = 0; // server clock − local clock, when they differ noticeably

  // noteServerClock keeps countdowns honest on a computer whose clock is off: the Date
  // header has a one-second resolution, so only a larger difference is taken.
  function noteServerClock(date) {
    const t = Date.parse(date || '');
    if (isNaN(t)) return;
    const off = t - Date.now();
    clockOffset = Math.abs(off) > 3000 ? off : 0;
  }

  // request sends a request and returns {ok, status, data, error}; error is the contract's
  // error object, or one made up for a network failure.
  async function request(method, path, body) {
    const init = { method, credentials: 'same-origin', headers: { ...headers } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch {
      return { ok: false, status: 0, error: { code: 'network', message_zh: NETWORK_ERROR } };
    }
    noteServerClock(res.headers.get('Date'));
    let data = null;
    if (res.status !== 204) {
      try { data = await res.json(); } catch { data = null; }
    }
    if (res.ok) return { ok: true, status: res.status, data };
    const error = (data && data.error) || { code: 'http_' + res.status };
    error.message_zh = error.message_zh ? message(error.message_zh) : `请求失败（HTTP ${res.status}），请稍后重试。`;
    return { ok: false, status: res.status, error };
  }

  // sendFile sends a body with XMLHttpRequest, which (unlike fetch) reports the upload's
  // progress to onProgress as a fraction, and resolves to {ok, status, data}: ok means 201
  // Created, data is the parsed JSON answer (null if there is none), status 0 a network
  // failure.
  function sendFile(method, path, body, contentType, onProgress) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open(method, path);
      for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
      if (contentType) xhr.setRequestHeader('Content-Type', contentType);
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
      xhr.onload = () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch { data = null; }
        resolve({ ok: xhr.status === 201, status: xhr.status, data });
      };
      xhr.onerror = () => resolve({ ok: false, status: 0, data: null });
      xhr.send(body);
    });
  }

  return { request, sendFile, now: () => Date.now() + clockOffset };
}
