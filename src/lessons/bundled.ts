// The lessons in lessons/, read at build time: the built site carries them, so it works from any host.
import { loadLessons } from './loader.ts';

const files = import.meta.glob('/lessons/*/index.md', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

/** Bundled lessons by their path in the repository (lessons/01-first-contact/index.md). */
export const BUNDLED = loadLessons(Object.fromEntries(Object.entries(files).map(([path, text]) => [path.replace(/^\//, ''), text])));
