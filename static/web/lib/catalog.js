// The catalogue (GET /api/v1/catalog): the tables the server defines once — provinces,
// ID document types, material slots with their advice, the image limits, the texts of the
// quality warnings, the review reasons, the organization certificate types and the order
// states. A page reads them from here and writes none of
// them again. The answer is fetched once per page; the browser revalidates it by its ETag.

let pending = null;

// loadCatalog resolves to the Catalog; a failed load is not kept, so a later call tries again.
export function loadCatalog() {
  if (!pending) {
    pending = fetch('/api/v1/catalog', { credentials: 'same-origin' })
      .then((res) => {
        if (!res.ok) throw new Error(`catalog: HTTP ${res.status}`);
        return res.json();
      })
      .then((data) => new Catalog(data))
      .catch((err) => { pending = null; throw err; });
  }
  return pending;
}

// Catalog wraps the answer with look-ups; the arrays keep the server's order.
export class Catalog {
  constructor(data) {
    this.provinces = data.provinces || [];
    this.idTypes = data.id_types || [];
    this.slots = data.slots || [];
    this.limits = data.limits || {};
    this.warnings = data.warnings || [];
    this.reasons = data.reasons || [];
    this.orgCertificateTypes = data.organization_certificate_types || [];
    this.states = data.states || [];
    this._province = new Map(this.provinces.map((p) => [p.code, p]));
    this._idType = new Map(this.idTypes.map((t) => [t.id_type, t]));
    this._slot = new Map(this.slots.map((s) => [s.slot, s]));
    this._warning = new Map(this.warnings.map((w) => [w.code, w]));
    this._reason = new Map(this.reasons.map((r) => [r.code, r]));
    this._orgCert = new Map(this.orgCertificateTypes.map((t) => [t.type, t]));
    this._state = new Map(this.states.map((s) => [s.state, s]));
  }

  // provinceName is the province's Chinese name, or its code when unknown.
  provinceName(code) { const p = this._province.get(code); return p ? p.name_zh : code; }

  idTypeLabel(t) { const x = this._idType.get(t); return x ? x.label_zh : t; }

  // slot is the slot's entry ({slot, label_zh, guidance_zh, app_allowed}), or undefined.
  slot(s) { return this._slot.get(s); }

  warningText(code) { const w = this._warning.get(code); return w ? w.message_zh : code; }

  reason(code) { return this._reason.get(code); }

  orgCertLabel(t) { const x = this._orgCert.get(t); return x ? x.label_zh : (t || ''); }

  stateLabel(s) { const x = this._state.get(s); return x ? x.label_zh : s; }

  // withdrawable: the owner may withdraw an order in state s (back to a draft).
  withdrawable(s) { const x = this._state.get(s); return !!x && x.withdrawable; }
}

// mb writes a byte limit in whole megabytes, as the limits are stated to people.
export function mb(bytes) {
  return `${Math.round(bytes / 1024 / 1024)} MB`;
}
