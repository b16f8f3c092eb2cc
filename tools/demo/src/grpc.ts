// Small helpers around @grpc/grpc-js shared by the demo's servers and clients.
import { Server, ServerCredentials, credentials, type Client, type Metadata, type ServiceError } from '@grpc/grpc-js';

/** Binds a gRPC server on 0.0.0.0:port (0 = any) and resolves with the bound port. */
export function listenGrpc(server: Server, port: number, host = '0.0.0.0'): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
}

export function closeGrpc(server: Server): Promise<void> {
  return new Promise((resolve) => server.tryShutdown(() => resolve()));
}

type Unary = (req: unknown, ...rest: unknown[]) => unknown;
type Done = (err: ServiceError | null, res: unknown) => void;

/** Calls a unary method of a grpc-js client with a deadline (and metadata: a trace context) and resolves with its response. */
export function unary<Res>(client: Client, method: string, req: unknown, timeoutMs = 5000, metadata?: Metadata): Promise<Res> {
  const fn = (client as unknown as Record<string, Unary>)[method];
  if (!fn) throw new Error(`no method ${method}`);
  return new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + timeoutMs);
    const done: Done = (err, res) => (err ? reject(err) : resolve(res as Res));
    if (metadata) fn.call(client, req, metadata, { deadline }, done);
    else fn.call(client, req, { deadline }, done);
  });
}

export const insecure = () => credentials.createInsecure();
