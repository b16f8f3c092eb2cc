// A component run by runComponent, as a main.ts would: an HTTP server on port 0 that answers "ok". The spec drives it
// through its flags: --fail makes start throw a TrellisError, --close-fails makes closing fail.
import { createServer } from 'node:http';
import { once } from 'node:events';
import { LOG_FLAGS, logFlags, runComponent } from '../src/component.ts';
import { TrellisError } from '../src/errors.ts';

await runComponent({
  spec: {
    name: 'sample',
    summary: 'sample: a component for tests.',
    flags: {
      fail: { type: 'boolean', description: 'fail to start', default: false },
      'close-fails': { type: 'boolean', description: 'fail to close', default: false },
      ...LOG_FLAGS,
    },
  },
  config: (cli) => ({ fail: cli.values['fail'] === true, closeFails: cli.values['close-fails'] === true, ...logFlags(cli.values) }),
  name: 'sample',
  start: async (config, { log }) => {
    if (config.fail) throw new TrellisError('TRELLIS_ERR_SAMPLE', 'cannot read /nowhere/sample.pem');
    const server = createServer((_req, res) => res.end('ok'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const addr = server.address();
    // Logged on the next turn, once runComponent has taken the signals: the spec signals as soon as it reads this.
    setImmediate(() => log.info({ port: typeof addr === 'object' && addr ? addr.port : 0 }, 'sample listening'));
    return {
      close: async () => {
        if (config.closeFails) throw new Error('cannot close');
        server.close();
        await once(server, 'close');
      },
    };
  },
});
