// Wiring only: parse the command line, build the parts, start them, drain on SIGTERM.
import { runComponent } from '@trellis/config/component';
import { webConfig, WEB_SPEC } from './config.ts';
import { startWeb } from './web.ts';

await runComponent({ spec: WEB_SPEC, config: (cli) => webConfig(cli), start: startWeb, name: 'web' });
