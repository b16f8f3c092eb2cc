// Small helpers around @grpc/grpc-js shared by the demo's servers and clients.
import { Server, ServerCredentials, credentials, type Client, type ServiceError } from '@grpc/grpc-js';

/** Binds a gRPC server on 0.0.0.0:port (0 = any) and resolves with the bound port. */
export function listenGrpc(server: Server, port: number, host = '0.0.0.0'): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
}

export function closeGrpc(server: Server): Promise<void> {
  return new Promise((resolve) => server.tryShutdown(() => resolve()));
}

type Unary = (req: unknown, options: { deadline: Date }, cb: (err: ServiceError | null, res: unknown) => void) => unknown;

/** Calls a unary method of a grpc-js client with a deadline and resolves with its response. */
export function unary<Res>(client: Client, method: string, req: unknown, timeoutMs = 5000): Promise<Res> {
  const fn = (client as unknown as Record<string, Unary>)[method];
  if (!fn) throw new Error(`no method ${method}`);
  return new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + timeoutMs);
    fn.call(client, req, { deadline }, (err, res) => (err ? reject(err) : resolve(res as Res)));
  });
}

export const insecure = () => credentials.createInsecure();
