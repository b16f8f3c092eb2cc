// A gRPC service without generated code: /interop.Echo/Say answers with the caller's identity as its proxy
// reported it (l5d-client-id), as JSON bytes, so a test sees who the server side believes called.
import { Server, ServerCredentials, credentials, makeGenericClientConstructor, type ServiceDefinition, type ServiceError, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';

const bytes = (b: Buffer) => b;
export const ECHO_SERVICE: ServiceDefinition = {
  Say: {
    path: '/interop.Echo/Say',
    requestStream: false,
    responseStream: false,
    requestSerialize: bytes,
    requestDeserialize: bytes,
    responseSerialize: bytes,
    responseDeserialize: bytes,
  },
};

export interface EchoReply {
  readonly said: string;
  readonly clientId: string | null;
}

function say(call: ServerUnaryCall<Buffer, Buffer>, done: sendUnaryData<Buffer>): void {
  const clientId = call.metadata.get('l5d-client-id')[0]?.toString() ?? null;
  const reply: EchoReply = { said: call.request.toString(), clientId };
  done(null, Buffer.from(JSON.stringify(reply)));
}

export async function grpcEchoServer(port: number): Promise<Server> {
  const server = new Server();
  server.addService(ECHO_SERVICE, { Say: say });
  await new Promise<number>((resolve, reject) => server.bindAsync(`0.0.0.0:${port}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return server;
}

/** One call of Say on target (host:port); resolves with the reply or the gRPC status code and details. */
export function callEcho(target: string, text: string, timeoutMs = 5000): Promise<{ code: number; details?: string; reply?: EchoReply }> {
  const Client = makeGenericClientConstructor(ECHO_SERVICE, 'Echo');
  const client = new Client(target, credentials.createInsecure());
  return new Promise((resolve) => {
    const deadline = new Date(Date.now() + timeoutMs);
    const method = (client as unknown as Record<string, (req: Buffer, o: object, cb: (e: ServiceError | null, r?: Buffer) => void) => void>)['Say']!;
    method.call(client, Buffer.from(text), { deadline }, (err, res) => {
      client.close();
      resolve(err ? { code: err.code, details: err.details } : { code: 0, reply: JSON.parse(res!.toString()) as EchoReply });
    });
  });
}
