// Wiring only: parse the command line, build the parts, start them, stop on SIGTERM.
import { runComponent } from '@trellis/config/component';
import { tapApiConfig, TAP_API_SPEC } from './config.ts';
import { startTapApi } from './tap-api.ts';

await runComponent({ spec: TAP_API_SPEC, config: tapApiConfig, start: startTapApi, name: 'tap' });
