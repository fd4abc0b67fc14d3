// Domains as people type them: one per line (or separated by commas), and the commonest
// slip — a web address instead of a domain — told before the server refuses it.

// parseDomains splits what was typed into domains.
export function parseDomains(text) {
  return String(text || '').split(/[\s,，、;；]+/).map((d) => d.trim()).filter(Boolean);
}

// domainHint says how to write a domain that was typed as an address
// ("http://www.example.com/" → "www.example.com"), or '' when none was.
export function domainHint(domains) {
  for (const d of domains) {
    const m = /^([a-z][a-z0-9+.-]*:\/\/)?([^/?#]+)([/?#].*)?$/i.exec(d);
    if (!m || (!m[1] && !m[3])) continue;
    const host = m[2];
    const drop = [m[1] && m[1].toLowerCase(), m[3] && m[3] !== '/' ? '后面的路径' : m[3] ? '末尾的“/”' : ''].filter(Boolean).join('和');
    return `请只填写域名：去掉 ${drop}。例如“${d}”应填写为“${host}”。`;
  }
  return '';
}
