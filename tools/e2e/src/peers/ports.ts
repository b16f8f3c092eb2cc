/** The interop peer's ports: raw HTTP/1 echo, gRPC echo, and a banner service on a port meshes treat as opaque by default. */
export const PEER_PORTS = { http: 8080, grpc: 8090, banner: 3306 } as const;
