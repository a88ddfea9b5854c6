// The console: a connection of its own to the queue server, as `telnet localhost 11300` would be.
// What the student types goes to the server as `line\r\n`; what the server writes back is shown byte
// for byte (latin1). It lives in the Lab, not in the Console component, so the connection (its watched
// tubes, its reservations) survives switching tabs. A line starting with `rq ` is an rq command
// (src/history/rq-commands.ts), answered from the job history and run on rq's own connection.
// Each line remembers where in the run it was written: after a seek the console shows the lines up to
// that event only (console-lines.ts).
import type { Engine } from '../engine/engine.ts';
import type { Cluster } from '../sim/cluster.ts';
import { Session } from '../protocol/session.ts';
import { latin1, latin1Bytes } from '../protocol/wire.ts';
import { RqShell } from '../history/rq-commands.ts';
import { writtenBy, type BranchPath, type LinePlace } from './console-lines.ts';

export interface ConsoleLine {
  kind: 'in' | 'out' | 'note' | 'error';
  text: string;
}

const MAX_LINES = 1000;
const MAX_HISTORY = 200;

/** Where the run on screen is: which run, branch and event, and the run's branches. */
export interface RunPlace {
  at: LinePlace;
  branches: readonly BranchPath[];
}

export class ConsoleConnection {
  /** The lines the run on screen has written: those written up to the event shown, on its branch's path. */
  lines: ConsoleLine[] = $state.raw([]);
  /** Every line kept, and where it was written. */
  private log: { line: ConsoleLine; at: LinePlace }[] = [];
  private shownAt: LinePlace | null = null;
  /** Body bytes the server waits for after a `put` header (the next line typed is the body). */
  awaitingBody: number | null = $state(null);
  /** A multi-line `rq submit` is being typed: the next lines are jobs. */
  rqCollecting = $state(false);
  readonly history: string[] = [];
  private session: Session | null = null;
  private engine: Engine | null = null;
  private cluster: Cluster | null = null;
  /** The server crashed under this connection (so its return is worth a note). */
  private crashed = false;
  private readonly rq: RqShell;

  constructor(
    private readonly getCluster: () => Cluster,
    /** Called after the console changed the queue, so the views redraw. */
    private readonly changed: () => void,
    private readonly place: () => RunPlace = () => ({ at: { run: null, branch: 0, n: 0 }, branches: [] }),
  ) {
    this.rq = new RqShell(getCluster);
  }

  /** Follows the cluster: a new run (`newRun` says how it came), a crashed server, a restarted one; and the event it is at. */
  sync(newRun = 'New run: a new queue server.'): void {
    this.follow(newRun);
    this.show();
  }

  private follow(newRun: string): void {
    const cluster = this.getCluster();
    if (cluster !== this.cluster) {
      if (this.cluster) this.note(newRun);
      this.cluster = cluster;
      this.engine = null;
      this.session = null;
      this.crashed = false;
    }
    const engine = cluster.engine;
    if (engine === this.engine) return;
    if (!engine) {
      this.note('Connection closed: the queue server crashed. The console reconnects when it is restarted.');
      this.crashed = true;
    } else {
      if (this.crashed) this.note('The queue server is back: connected again (a new connection, using and watching default).');
      this.crashed = false;
      this.connect(engine);
    }
    this.engine = engine;
  }

  /** Shows the lines written up to where the run is (again, if it moved). */
  private show(): void {
    const { at, branches } = this.place();
    const was = this.shownAt;
    if (was && was.run === at.run && was.branch === at.branch && was.n === at.n) return;
    this.shownAt = at;
    const lines = this.log.filter((l) => writtenBy(l.at, at, branches)).map((l) => l.line);
    if (lines.length !== this.lines.length || lines.some((l, i) => l !== this.lines[i])) this.lines = lines;
  }

  private connect(engine: Engine): void {
    this.awaitingBody = null;
    const session: Session = new Session(
      engine,
      {
        write: (bytes) => this.output(latin1(bytes)),
        close: () => {
          if (this.session !== session) return;
          this.session = null;
          this.note('Connection closed by the server. Type a command to connect again.');
        },
      },
      'console',
    );
    this.session = session;
  }

  /** Sends one typed line (a command, or the body of a put) to the server. */
  send(line: string): void {
    this.sync();
    if (line.trim() && this.history[this.history.length - 1] !== line) {
      this.history.push(line);
      if (this.history.length > MAX_HISTORY) this.history.shift();
    }
    if (this.awaitingBody === null && this.rq.owns(line)) {
      this.runRq(line);
      return;
    }
    if (!this.engine) {
      this.append({ kind: 'in', text: line });
      this.note('The queue server is down: restart it (with or without its binlog) and try again.');
      return;
    }
    if (!this.session) this.connect(this.engine);
    const body = this.awaitingBody;
    this.awaitingBody = body === null ? putBodyLength(line) : null;
    this.append({ kind: 'in', text: line });
    const bytes = latin1Bytes(line + '\r\n');
    this.cluster?.recordPageInput('console', bytes);
    (this.session as Session).receive(bytes);
    this.cluster?.armLive();
    this.changed();
  }

  clear(): void {
    this.log = [];
    this.lines = [];
  }

  private runRq(line: string): void {
    this.append({ kind: 'in', text: line });
    for (const out of this.rq.input(line)) this.append({ kind: out.error ? 'error' : 'out', text: out.text.endsWith('\n') || out.error ? out.text : out.text + '\n' });
    this.rqCollecting = this.rq.collecting !== null;
    this.changed();
  }

  private output(text: string): void {
    this.append({ kind: 'out', text: text.replace(/\r\n/g, '\n') });
  }

  private note(text: string): void {
    this.append({ kind: 'note', text });
  }

  private append(line: ConsoleLine): void {
    if (this.log.length >= MAX_LINES) this.log = this.log.slice(1 - MAX_LINES);
    this.log.push({ line, at: this.place().at });
    this.shownAt = null;
    this.show();
  }
}

/** `put <pri> <delay> <ttr> <bytes>` announces a body of <bytes> bytes on the next line. */
function putBodyLength(line: string): number | null {
  const m = /^put \d+ \d+ \d+ (\d+)$/.exec(line);
  return m ? Number(m[1]) : null;
}
