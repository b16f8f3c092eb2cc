// Linkerd's proxy API for Trellis: generated messages per proto package, grpc-js service definitions and
// clients, and the helpers every user of the API needs. Message names repeat across packages (HttpRoute,
// ProxyProtocol, PathMatch, ...), so each package is exported as its own namespace.
export * as destination from './gen/destination.ts';
export * as duration from './gen/google/protobuf/duration.ts';
export * as grpcRoute from './gen/grpc_route.ts';
export * as httpRoute from './gen/http_route.ts';
export * as httpTypes from './gen/http_types.ts';
export * as identity from './gen/identity.ts';
export * as inbound from './gen/inbound.ts';
// Not `meta`: vitest's module transform breaks `import.meta` in any file with a binding named meta.
export * as metadata from './gen/meta.ts';
export * as net from './gen/net.ts';
export * as opaqueRoute from './gen/opaque_route.ts';
export * as outbound from './gen/outbound.ts';
export * as tap from './gen/tap.ts';
export * as timestamp from './gen/google/protobuf/timestamp.ts';
export * as tlsRoute from './gen/tls_route.ts';
export * as transport from './gen/transport_header.ts';

// The five services: definitions (for grpc-js Server.addService), handler interfaces and client constructors.
export { DestinationClient, DestinationService, type DestinationServer } from './gen/destination.ts';
export { IdentityClient, IdentityService, type IdentityServer } from './gen/identity.ts';
export {
  InboundServerPoliciesClient,
  InboundServerPoliciesService,
  type InboundServerPoliciesServer,
} from './gen/inbound.ts';
export { OutboundPoliciesClient, OutboundPoliciesService, type OutboundPoliciesServer } from './gen/outbound.ts';
export { TapClient, TapService, type TapServer } from './gen/tap.ts';

// Helpers.
export * from './errors.ts';
export * from './ip.ts';
export * from './tcp-address.ts';
export * from './time.ts';
export * from './transport-header.ts';
