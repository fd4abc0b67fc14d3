// The catalogue (GET /api/v1/catalog): provinces, ID types, slots, limits, warnings and
// review reasons, from the one place that defines them. Loaded once per page.

let loading = null;

export function loadCatalog() {
  if (!loading) {
    loading = fetch('/api/v1/catalog', { credentials: 'same-origin' })
      .then((r) => (r.ok ? r.json() : {}))
      .catch(() => ({}));
  }
  return loading;
}
