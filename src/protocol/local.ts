// An in-process pipe between a client and the engine: no bytes leave the page, but every byte still
// goes through the same codec as over TCP. Used by the console, tests and the in-process benchmark.
import type { Engine } from '../engine/engine.ts';
import { Session } from './session.ts';
import { Client } from './client.ts';

export interface LocalConnection {
  client: Client;
  session: Session;
  /** True once the server closed the connection (quit). */
  readonly closed: boolean;
}

export function connectLocal(engine: Engine, name: string): LocalConnection {
  let closed = false;
  let client: Client | null = null;
  const session = new Session(
    engine,
    {
      write: (bytes) => client?.receive(bytes),
      close: () => {
        closed = true;
      },
    },
    name,
  );
  client = new Client({ write: (bytes) => session.receive(bytes) });
  return {
    client,
    session,
    get closed() {
      return closed;
    },
  };
}
