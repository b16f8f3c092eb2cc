// The demo's gRPC services, loaded from proto/emojivoto.proto at start (a demo needs no generated code).
import { fileURLToPath } from 'node:url';
import { loadSync } from '@grpc/proto-loader';
import { loadPackageDefinition, type ServiceClientConstructor, type ServiceDefinition } from '@grpc/grpc-js';

export interface Emoji {
  readonly unicode: string;
  readonly shortcode: string;
}

export interface VotingResult {
  readonly shortcode: string;
  readonly votes: number;
}

const PROTO = fileURLToPath(new URL('../proto/emojivoto.proto', import.meta.url));
const definition = loadSync(PROTO, { keepCase: true, longs: Number, defaults: true });
const pkg = (loadPackageDefinition(definition) as unknown as { trellis: { demo: { v1: Record<string, ServiceClientConstructor> } } }).trellis.demo.v1;

export const EmojiServiceClient = pkg['EmojiService']!;
export const VotingServiceClient = pkg['VotingService']!;
export const emojiService: ServiceDefinition = EmojiServiceClient.service;
export const votingService: ServiceDefinition = VotingServiceClient.service;
