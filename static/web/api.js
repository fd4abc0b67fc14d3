// api sends a JSON request to the server and returns {ok, status, data, error}; error is the
// contract's error object, or one made up for a network failure. Cookies authorize.

export async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    return { ok: false, status: 0, error: { code: 'network', message_zh: '网络连接失败，请检查网络后重试。' } };
  }
  let data = null;
  if (res.status !== 204) {
    try { data = await res.json(); } catch { data = null; }
  }
  if (res.ok) return { ok: true, status: res.status, data, headers: res.headers };
  const error = (data && data.error) || { code: 'http_' + res.status };
  if (!error.message_zh) error.message_zh = `请求失败（HTTP ${res.status}），请稍后重试。`;
  return { ok: false, status: res.status, error, headers: res.headers };
}
