// A lesson carried in a link: its Markdown, compressed (deflate-raw) and written in base64url, in the
// link's #fragment (browsers never send the fragment to a server, and it has no length limit of its
// own). The shipped lessons (3.4–5.8 KB of Markdown) make 2.1–3.2 KB of link, 0.5–0.65 of their
// size: fine in a chat message or a learning platform, too long to type (a lesson file served next
// to the site, ?lesson=URL, is the short form).
// Works wherever CompressionStream does (browsers; Node 18+).

/** The name a lesson from a link is known by in its error messages (file:line: problem). */
export const LESSON_IN_LINK_FILE = 'lesson-in-link.md';

/** A decoded lesson larger than this is refused: a link that inflates without end is no lesson. */
export const MAX_LESSON_BYTES = 1024 * 1024;

/** The text of a lesson as the fragment's value (base64url, no padding). */
export async function encodeLessonText(markdown: string): Promise<string> {
  const stream = new Blob([new TextEncoder().encode(markdown)]).stream().pipeThrough(new CompressionStream('deflate-raw'));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The lesson's Markdown back from a fragment's value; throws an Error saying what is wrong with the link. */
export async function decodeLessonText(code: string): Promise<string> {
  if (!/^[A-Za-z0-9_-]+$/.test(code)) throw new Error('the lesson in this link holds characters a lesson link never has (was it cut or changed when copied?)');
  let binary: string;
  try {
    binary = atob(code.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    throw new Error('the lesson in this link is cut short (copy the whole link)');
  }
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  const reader = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate-raw')).getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > MAX_LESSON_BYTES) {
        await reader.cancel();
        throw new RangeError(`the lesson in this link is larger than ${MAX_LESSON_BYTES / 1024 / 1024} MiB`);
      }
      parts.push(value);
    }
  } catch (e) {
    if (e instanceof RangeError) throw new Error(e.message);
    throw new Error('the lesson in this link is damaged or cut short (copy the whole link)');
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(concat(parts, size));
  } catch {
    throw new Error('the lesson in this link is not text');
  }
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A short, stable name for a lesson's text (FNV-1a, 32 bits): its saved progress is kept under it. */
export function textKey(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}
