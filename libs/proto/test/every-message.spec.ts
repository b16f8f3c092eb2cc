// Round trip for every message type of every .proto file. For each type a fixture is built from the
// compiled descriptors (buf build) with every field set: repeated fields and maps with two entries,
// nested messages filled in turn, and one fixture per branch so that each oneof branch is covered.
// Fixtures are encoded by an independent implementation (@bufbuild/protobuf, reflective), decoded and
// re-encoded by our generated ts-proto code, and must come back equal: a field the generated code
// dropped, renumbered or mistyped would show up as a difference.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import {
  createFileRegistry,
  equals,
  fromBinary,
  ScalarType,
  toBinary,
  type DescField,
  type DescMessage,
  create,
} from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { describe, expect, it } from 'vitest';
import * as destination from '../src/gen/destination.ts';
import * as duration from '../src/gen/google/protobuf/duration.ts';
import * as timestamp from '../src/gen/google/protobuf/timestamp.ts';
import * as grpcRoute from '../src/gen/grpc_route.ts';
import * as httpRoute from '../src/gen/http_route.ts';
import * as httpTypes from '../src/gen/http_types.ts';
import * as identity from '../src/gen/identity.ts';
import * as inbound from '../src/gen/inbound.ts';
import * as metadata from '../src/gen/meta.ts';
import * as net from '../src/gen/net.ts';
import * as opaqueRoute from '../src/gen/opaque_route.ts';
import * as outbound from '../src/gen/outbound.ts';
import * as tap from '../src/gen/tap.ts';
import * as tlsRoute from '../src/gen/tls_route.ts';
import * as transport from '../src/gen/transport_header.ts';

/** The shape every generated message companion has; enums and service definitions lack encode/decode. */
interface GeneratedMessage {
  encode(message: unknown): { finish(): Uint8Array };
  decode(bytes: Uint8Array): unknown;
  fromJSON(json: unknown): unknown;
  toJSON(message: unknown): unknown;
}

const modules: Record<string, Record<string, unknown>> = {
  'destination.proto': destination,
  'google/protobuf/duration.proto': duration,
  'google/protobuf/timestamp.proto': timestamp,
  'grpc_route.proto': grpcRoute,
  'http_route.proto': httpRoute,
  'http_types.proto': httpTypes,
  'identity.proto': identity,
  'inbound.proto': inbound,
  'meta.proto': metadata,
  'net.proto': net,
  'opaque_route.proto': opaqueRoute,
  'outbound.proto': outbound,
  'tap.proto': tap,
  'tls_route.proto': tlsRoute,
  'transport_header.proto': transport,
};

function isGeneratedMessage(value: unknown): value is GeneratedMessage {
  return typeof value === 'object' && value !== null && 'encode' in value && 'decode' in value;
}

const libRoot = join(import.meta.dirname, '..');
const descriptorSet = execFileSync(
  join(libRoot, '../../node_modules/.bin/buf'),
  ['build', '--as-file-descriptor-set', '-o', '-'],
  { cwd: libRoot, maxBuffer: 16 * 1024 * 1024 },
);
const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, descriptorSet));
const messages: DescMessage[] = [];
for (const type of registry) if (type.kind === 'message') messages.push(type);

/** The generated export for a descriptor: nested type A.B.C is A_B_C in the file's module. */
function generatedFor(desc: DescMessage): GeneratedMessage {
  const module = modules[desc.file.proto.name];
  const name = desc.typeName.slice(desc.file.proto.package.length + 1).replaceAll('.', '_');
  const fns = module?.[name];
  if (!isGeneratedMessage(fns)) throw new Error(`no generated message ${name} for ${desc.typeName}`);
  return fns;
}

const MAX_DEPTH = 3;

function scalarValue(type: ScalarType, seed: number): unknown {
  switch (type) {
    case ScalarType.STRING:
      return `s${seed}-ü`; // non-ASCII on purpose: strings are UTF-8 on the wire
    case ScalarType.BYTES:
      return new Uint8Array([0, seed & 0xff, 0xff]);
    case ScalarType.BOOL:
      return true;
    case ScalarType.FLOAT:
      return 0.5 + seed; // exactly representable in 32 bits
    case ScalarType.DOUBLE:
      return 0.25 + seed;
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return -300 - seed;
    case ScalarType.UINT32:
      return 300 + seed;
    case ScalarType.FIXED32:
      return 0xfd00_0001 + seed; // above 2^31: unsigned handling matters
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return -(2n ** 40n) - BigInt(seed);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return 2n ** 63n + BigInt(seed); // above 2^63: unsigned handling matters
  }
}

function enumValue(field: DescField): number {
  const values = field.enum?.values ?? [];
  return values[values.length - 1]?.number ?? 0; // the last value: never the default 0 when there are more
}

function fieldValue(field: DescField, depth: number, seed: number): unknown {
  switch (field.fieldKind) {
    case 'scalar':
      return scalarValue(field.scalar, seed);
    case 'enum':
      return enumValue(field);
    case 'message':
      return depth >= MAX_DEPTH ? {} : fixtureInit(field.message, depth + 1, 0);
    case 'list': {
      const one = (n: number): unknown =>
        field.listKind === 'scalar'
          ? scalarValue(field.scalar, seed + n)
          : field.listKind === 'enum'
            ? enumValue(field)
            : depth >= MAX_DEPTH
              ? {}
              : fixtureInit(field.message, depth + 1, n);
      return [one(0), one(1)];
    }
    case 'map': {
      const value = (n: number): unknown =>
        field.mapKind === 'scalar'
          ? scalarValue(field.scalar, seed + n)
          : field.mapKind === 'enum'
            ? enumValue(field)
            : fixtureInit(field.message, MAX_DEPTH, n);
      return { [`k${seed}a`]: value(0), [`k${seed}b`]: value(1) };
    }
  }
}

/** Every field set; for each oneof, branch number `branch` (modulo the branch count). */
function fixtureInit(desc: DescMessage, depth: number, branch: number): Record<string, unknown> {
  // A Timestamp's JSON form is an RFC 3339 string, so its fixture must be a real (millisecond) instant.
  if (desc.typeName === 'google.protobuf.Timestamp') {
    return { seconds: 1_800_000_000n + BigInt(branch), nanos: 123_000_000 };
  }
  const init: Record<string, unknown> = {};
  desc.fields.forEach((field, i) => {
    if (field.oneof === undefined) init[field.localName] = fieldValue(field, depth, i);
  });
  for (const oneof of desc.oneofs) {
    const chosen = oneof.fields[branch % oneof.fields.length];
    if (chosen === undefined) continue;
    init[oneof.localName] = { case: chosen.localName, value: fieldValue(chosen, depth, 7) };
  }
  return init;
}

function branchCount(desc: DescMessage): number {
  return Math.max(1, ...desc.oneofs.map((oneof) => oneof.fields.length));
}

describe('every message type round-trips through the generated code', () => {
  it('covers every generated message export, and every descriptor has one', () => {
    const fromDescriptors = new Set(messages.map((desc) => `${desc.file.proto.name}:${generatedName(desc)}`));
    const generated = new Set<string>();
    for (const [file, module] of Object.entries(modules)) {
      for (const [name, value] of Object.entries(module)) {
        // Map entries are synthetic messages the reflective API does not list as types.
        if (isGeneratedMessage(value) && !name.endsWith('Entry')) generated.add(`${file}:${name}`);
      }
    }
    expect([...generated].sort()).toEqual([...fromDescriptors].sort());
    expect(messages.length).toBeGreaterThan(150);
  });

  for (const desc of messages) {
    it(`${desc.typeName}: every field and each oneof branch survives decode and re-encode`, () => {
      const fns = generatedFor(desc);
      for (let branch = 0; branch < branchCount(desc); branch++) {
        const original = create(desc, fixtureInit(desc, 0, branch));
        const wire = toBinary(desc, original);
        const decoded = fns.decode(wire);
        const reencoded = fns.encode(decoded).finish();
        expect(equals(desc, fromBinary(desc, reencoded), original), `branch ${branch}`).toBe(true);
        expect(fns.decode(reencoded)).toEqual(decoded);
        expect(fns.fromJSON(fns.toJSON(decoded))).toEqual(decoded);
      }
    });
  }
});

function generatedName(desc: DescMessage): string {
  return desc.typeName.slice(desc.file.proto.package.length + 1).replaceAll('.', '_');
}
