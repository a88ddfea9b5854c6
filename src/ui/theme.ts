// The visual language shared by every view: one colour per job state (Okabe–Ito, which stays
// distinguishable with the common colour-vision deficiencies), a glyph per state so colour is never the
// only cue, and the text colour that keeps each fill legible on a washed-out projector.

export type ShownState = 'ready' | 'delayed' | 'reserved' | 'buried' | 'done';

/** In the order a job usually moves through them. */
export const SHOWN_STATES: readonly ShownState[] = ['ready', 'delayed', 'reserved', 'buried', 'done'];

export const STATE_COLOURS: Record<ShownState, string> = {
  ready: '#0072B2',
  delayed: '#E69F00',
  reserved: '#CC79A7',
  buried: '#D55E00',
  done: '#009E73',
};

/** Text on a state fill: each pair has a contrast of at least 4.5:1. */
export const STATE_TEXT: Record<ShownState, string> = {
  ready: '#ffffff',
  delayed: '#1a1a1a',
  reserved: '#1a1a1a',
  buried: '#ffffff',
  done: '#1a1a1a',
};

export const STATE_GLYPHS: Record<ShownState, string> = {
  ready: '●',
  delayed: '◷',
  reserved: '◔',
  buried: '▼',
  done: '✓',
};

export const STATE_MEANING: Record<ShownState, string> = {
  ready: 'waiting in the tube for a worker, most urgent priority first',
  delayed: 'put with a delay or released with one: becomes ready when its countdown ends',
  reserved: 'taken by a worker; goes back to ready if its TTR runs out first',
  buried: 'set aside after a failure; only kick brings it back',
  done: 'deleted by its worker after it finished',
};

/** Colour of a message dot moving along a link: the state its command moves a job into, if any. */
export function messageColour(text: string): string {
  const word = text.split(/[ ⏎]/, 1)[0];
  const delayed = (arg: number) => Number(text.split(/[ ⏎]/)[arg]) > 0;
  switch (word) {
    case 'put':
      return delayed(2) ? STATE_COLOURS.delayed : STATE_COLOURS.ready;
    case 'release':
      return delayed(3) ? STATE_COLOURS.delayed : STATE_COLOURS.ready;
    case 'RESERVED':
      return STATE_COLOURS.reserved;
    case 'delete':
      return STATE_COLOURS.done;
    case 'bury':
      return STATE_COLOURS.buried;
    case 'kick':
    case 'kick-job':
      return STATE_COLOURS.ready;
    default:
      return NEUTRAL.message;
  }
}

export const NEUTRAL = {
  ink: '#1f1d1a',
  muted: '#5c574f',
  paper: '#f4f1ea',
  panel: '#ffffff',
  line: '#cfc8ba',
  link: '#a59d8f',
  message: '#4a4640',
  focus: '#1d4ed8',
  danger: '#9b1c1c',
};
