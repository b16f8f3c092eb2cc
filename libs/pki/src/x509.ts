// The one place @peculiar/x509 is loaded. It uses tsyringe, which needs the reflect-metadata polyfill to be
// evaluated first (ES modules evaluate imports in order), and it is pointed at node's WebCrypto explicitly.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
