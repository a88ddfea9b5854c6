// The small part of Markdown a lesson's text uses, parsed into plain data that the lesson pane renders
// as text nodes: paragraphs, sub-headings, lists, code blocks, `code`, **bold**, *italics* and links.
// Nothing in a lesson file ever reaches the page as HTML.

export type Inline =
  | { kind: 'text'; text: string }
  | { kind: 'code'; text: string }
  | { kind: 'strong'; text: string }
  | { kind: 'em'; text: string }
  | { kind: 'link'; text: string; href: string };

export type Block =
  | { kind: 'p'; inlines: Inline[] }
  | { kind: 'h'; inlines: Inline[] }
  | { kind: 'ul' | 'ol'; items: Inline[][] }
  | { kind: 'code'; text: string };

const INLINE = /`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|_([^_\s][^_]*)_|\[([^\]]+)\]\(([^)\s]+)\)/g;

export function parseInline(s: string): Inline[] {
  const out: Inline[] = [];
  let last = 0;
  for (const m of s.matchAll(INLINE)) {
    if (m.index > last) out.push({ kind: 'text', text: s.slice(last, m.index) });
    if (m[1] !== undefined) out.push({ kind: 'code', text: m[1] });
    else if (m[2] !== undefined) out.push({ kind: 'strong', text: m[2] });
    else if (m[3] !== undefined || m[4] !== undefined) out.push({ kind: 'em', text: m[3] ?? m[4] });
    // Only web links: a lesson cannot make a javascript: or data: link.
    else if (/^https?:\/\//.test(m[6])) out.push({ kind: 'link', text: m[5], href: m[6] });
    else out.push({ kind: 'text', text: m[5] });
    last = m.index + m[0].length;
  }
  if (last < s.length) out.push({ kind: 'text', text: s.slice(last) });
  return out;
}

const BULLET = /^\s*[-*+]\s+(.*)$/;
const NUMBERED = /^\s*\d+[.)]\s+(.*)$/;

export function parseMarkdown(src: string): Block[] {
  const lines = src.replace(/\r\n?/g, '\n').split('\n');
  const blocks: Block[] = [];
  let para: string[] = [];
  const flush = () => {
    if (para.length) blocks.push({ kind: 'p', inlines: parseInline(para.join(' ')) });
    para = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = /^\s*(```|~~~)/.exec(line);
    if (fence) {
      flush();
      const code: string[] = [];
      for (i++; i < lines.length && !lines[i].trimStart().startsWith(fence[1]); i++) code.push(lines[i]);
      blocks.push({ kind: 'code', text: code.join('\n') });
      continue;
    }
    if (/^( {4}|\t)/.test(line) && para.length === 0) {
      const code: string[] = [];
      for (; i < lines.length && (/^( {4}|\t)/.test(lines[i]) || (!lines[i].trim() && /^( {4}|\t)/.test(lines[i + 1] ?? ''))); i++) code.push(lines[i].replace(/^( {4}|\t)/, ''));
      i--;
      blocks.push({ kind: 'code', text: code.join('\n') });
      continue;
    }
    if (!line.trim()) {
      flush();
      continue;
    }
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      blocks.push({ kind: 'h', inlines: parseInline(heading[1]) });
      continue;
    }
    const listKind = BULLET.test(line) ? 'ul' : NUMBERED.test(line) ? 'ol' : null;
    if (listKind) {
      flush();
      const re = listKind === 'ul' ? BULLET : NUMBERED;
      const items: string[] = [];
      for (; i < lines.length && lines[i].trim(); i++) {
        const m = re.exec(lines[i]);
        if (m) items.push(m[1]);
        else items[items.length - 1] += ' ' + lines[i].trim();
      }
      blocks.push({ kind: listKind, items: items.map(parseInline) });
      continue;
    }
    para.push(line.trim());
  }
  flush();
  return blocks;
}
