#!/usr/bin/env node
// Entry point of the trellis-certs bin; the command lives in ./certs-command.ts.
import { main } from './certs-command.ts';

await main(process.argv.slice(2));
