// node:http through require, not an ESM import. The ESM facade of a builtin reads every export once, and
// node:http's WebSocket, CloseEvent and MessageEvent getters then load undici (fetch's engine, with its llhttp
// WebAssembly): about 2 MiB of heap and 12 MiB of RSS that a proxy never uses. Types still come from 'node:http'.
import { createRequire } from 'node:module';
import type * as Http from 'node:http';

const http = createRequire(import.meta.url)('node:http') as typeof Http;

export const { createServer, request, STATUS_CODES, maxHeaderSize } = http;
export const Agent = http.Agent;
export type Agent = Http.Agent;
