// Where a student is in the lessons, as a joiner's page shares it with the room's host: read from the
// progress the lesson pane saves in this browser (localStorage, the same for every tab of the site), so
// the join tab knows the lesson the student has open in another tab.

/** The localStorage key of the lesson pane's saved progress. */
export const LESSON_PROGRESS_KEY = 'beanlab-lessons';

/** The open lesson's id and its step (0-based) in saved progress (its JSON text), or null: none open, or unreadable. */
export function openLessonAt(saved: string | null): { lesson: string; step: number } | null {
  try {
    const p = JSON.parse(saved ?? 'null') as { current?: unknown; lessons?: Record<string, { step?: unknown }> } | null;
    if (!p || typeof p.current !== 'string' || !p.current) return null;
    const step = p.lessons?.[p.current]?.step ?? 0;
    return { lesson: p.current, step: typeof step === 'number' && Number.isInteger(step) && step >= 0 ? step : 0 };
  } catch {
    return null;
  }
}
