import { Engine } from '../../src/engine/engine.ts';
import { ManualClock, advanceTo } from '../../src/engine/clock.ts';
import { connectLocal } from '../../src/protocol/local.ts';
import { Session } from '../../src/protocol/session.ts';
import { bodyText } from '../../src/protocol/client.ts';

/** An engine on a manual clock, with connections that speak the wire protocol in-process. */
export function lab(opts: { maxJobSize?: number } = {}) {
  const clock = new ManualClock(1_000_000);
  const engine = new Engine({ clock, maxJobSize: opts.maxJobSize, instanceId: '0123456789abcdef' });
  return {
    clock,
    engine,
    /** A client connection: send() resolves with "LINE" or "LINE\nBODY". */
    connect(name = 'client') {
      const conn = connectLocal(engine, name);
      return {
        ...conn,
        get closed() {
          return conn.closed;
        },
        async send(line: string, body?: string): Promise<string> {
          const r = await conn.client.command(line, body);
          return r.body ? `${r.line}\n${bodyText(r)}` : r.line;
        },
      };
    },
    /** A byte-level connection: write() returns what the server sent back so far (latin1 text). */
    raw(name = 'raw') {
      let out = '';
      let closed = false;
      const session = new Session(
        engine,
        {
          write: (b) => {
            out += Buffer.from(b).toString('latin1');
          },
          close: () => {
            closed = true;
          },
        },
        name,
      );
      return {
        session,
        write(text: string | Uint8Array): string {
          session.receive(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
          return this.take();
        },
        take(): string {
          const s = out;
          out = '';
          return s;
        },
        end(): string {
          session.end();
          return this.take();
        },
        get closed() {
          return closed;
        },
      };
    },
    /** Advances virtual time by ms, firing timers at their exact instants. */
    advance(ms: number) {
      advanceTo(engine, clock, clock.now() + ms);
    },
  };
}

export function yamlField(text: string, key: string): string | undefined {
  const m = text.match(new RegExp(`^${key}: (.*)$`, 'm'));
  return m?.[1];
}
