// `npm start`: the app (and, with real-node mode, its signaling server) on one port.
import { parseServeArgs, startServer } from './serve.ts';
import { lanLines } from './lan.ts';

const opts = parseServeArgs(process.argv.slice(2));
startServer(opts).then(
  (s) => {
    console.log(`beanlab is running at ${s.url}`);
    const { listen, port, addresses } = s.served();
    for (const line of lanLines(listen, port, addresses)) console.log(line);
    const stop = () => s.close().then(() => process.exit(0));
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  },
  (err: NodeJS.ErrnoException) => {
    console.error(err.code === 'EADDRINUSE' ? `serve: port ${opts.port} is busy; try --port N` : String(err.message ?? err));
    process.exit(1);
  },
);
