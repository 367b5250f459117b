/** One challenge of a `WWW-Authenticate` header (RFC 7235): scheme plus parameters. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses `Bearer realm="…",service="…",scope="…", Basic realm="…"` into challenges.
 * Scheme names are lowercased; parameter names too, values are kept as sent.
 */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  const text = Array.isArray(header) ? header.join(', ') : (header ?? '');
  const out: Challenge[] = [];
  const token = /\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*/y;
  let i = 0;
  let current: Challenge | undefined;
  while (i < text.length) {
    token.lastIndex = i;
    const m = token.exec(text);
    if (!m?.[1]) {
      i++;
      continue;
    }
    i = token.lastIndex;
    if (text[i] === '=') {
      i++;
      let value = '';
      if (text[i] === '"') {
        i++;
        while (i < text.length && text[i] !== '"') {
          if (text[i] === '\\') i++;
          value += text[i] ?? '';
          i++;
        }
        i++;
      } else {
        const end = text.indexOf(',', i);
        value = text.slice(i, end === -1 ? text.length : end).trim();
        i = end === -1 ? text.length : end;
      }
      if (current) current.params[m[1].toLowerCase()] = value;
    } else {
      current = { scheme: m[1].toLowerCase(), params: {} };
      out.push(current);
    }
    while (i < text.length && (text[i] === ',' || text[i] === ' ')) i++;
  }
  return out;
}
