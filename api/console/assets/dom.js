// A few DOM helpers: elements are built with textContent only, so nothing from the API is ever
// parsed as HTML.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

export function toast(text) {
  const t = $('#toast');
  t.textContent = text;
  t.classList.add('shown');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove('shown'), 4000);
}

// Roles as the API writes them, {"support": ["admin"]}, as "support: admin".
export function roles_text(roles) {
  const parts = Object.entries(roles || {}).filter(([, r]) => r.length).map(([p, r]) => `${p}: ${r.join(', ')}`);
  return parts.length ? parts.join(' · ') : 'no roles';
}

export const portals = { support: ['admin', 'contributor', 'viewer'], impact: ['admin', 'member'], learning: ['admin', 'learner'] };

// A <fieldset> with one <select> per portal; read back with roles_of(fieldset).
export function roles_picker(current = {}, prefix = 'role') {
  return h('fieldset', { class: 'roles' }, h('legend', {}, 'Roles per portal'),
    Object.entries(portals).map(([p, names]) => {
      const id = `${prefix}-${p}`;
      const held = (current[p] || [])[0] || '';
      return h('label', { for: id }, p,
        h('select', { id, 'data-portal': p },
          h('option', { value: '' }, 'none'),
          names.map((n) => h('option', { value: n, selected: n === held }, n))));
    }));
}

export function roles_of(fieldset) {
  const out = {};
  for (const s of fieldset.querySelectorAll('select[data-portal]')) if (s.value) out[s.dataset.portal] = [s.value];
  return out;
}

export function when(rfc3339) {
  const d = new Date(rfc3339);
  return isNaN(d) ? rfc3339 : d.toLocaleString();
}
