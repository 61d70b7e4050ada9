// Build DOM nodes from data without innerHTML, so text from the server is never parsed as HTML.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}

/**
 * A scrollable data table; `numeric` says which columns hold numbers (default: all after the
 * first). `rows` are rows or a tbody. The caption is for screen readers unless `showCaption`.
 */
export function table(
  caption,
  head,
  rows,
  { id, className, showCaption = false, numeric = (i) => i > 0 } = {},
) {
  return el(
    'div',
    // Focusable and named: a table wider than a phone scrolls, and keyboards must reach it (WCAG 2.1.1).
    { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': caption || null },
    el(
      'table',
      { id, class: className },
      caption ? el('caption', { class: showCaption ? null : 'visually-hidden', text: caption }) : null,
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          head.map((h, i) => el('th', { scope: 'col', class: numeric(i) ? 'num' : null, text: h })),
        ),
      ),
      // A body the caller keeps (to refill it) goes in as it is.
      rows instanceof HTMLTableSectionElement ? rows : el('tbody', {}, rows),
    ),
  );
}

/** GET or POST JSON on our own origin; the session cookie goes along, never a token. */
export async function api(path, { method = 'GET', body } = {}) {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, headers: res.headers, body: json };
}
