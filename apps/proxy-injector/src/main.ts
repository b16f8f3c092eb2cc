// Wiring only: parse the command line, build the parts, start them, drain on SIGTERM.
import { runComponent } from '@trellis/config/component';
import { injectorConfig, INJECTOR_SPEC } from './config.ts';
import { startInjector } from './injector.ts';

await runComponent({ spec: INJECTOR_SPEC, config: injectorConfig, start: startInjector, name: 'proxy-injector' });
