// Hash routing: #/page/arg?query. No server round trip, no library.
import { useEffect, useState } from 'react';

export interface Route {
  /** parts of the path: "#/calls/abc" → ["calls", "abc"] */
  parts: string[];
  query: URLSearchParams;
}

function parse(): Route {
  const h = window.location.hash.replace(/^#\/?/, '');
  const [path, q = ''] = h.split('?', 2);
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(q) };
}

export function useRoute(): Route {
  const [r, setR] = useState(parse);
  useEffect(() => {
    const on = () => setR(parse());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return r;
}

/** href builds "#/a/b?x=1" from path parts and query values. */
export function href(parts: (string | number)[], query?: Record<string, string | undefined>): string {
  let s = '#/' + parts.map((p) => encodeURIComponent(String(p))).join('/');
  if (query) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v) u.set(k, v);
    const q = u.toString();
    if (q) s += '?' + q;
  }
  return s;
}

export function navigate(to: string) {
  if (window.location.hash !== to) window.location.hash = to;
}
