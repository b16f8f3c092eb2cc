// A gRPC service without .proto files: raw bytes in, raw bytes out, through @grpc/grpc-js.
import * as grpc from '@grpc/grpc-js';

const raw = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };

export const echoService = {
  echo: {
    path: '/trellis.test.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: raw.serialize,
    requestDeserialize: raw.deserialize,
    responseSerialize: raw.serialize,
    responseDeserialize: raw.deserialize,
  },
  count: {
    path: '/trellis.test.Echo/Count',
    requestStream: false,
    responseStream: true,
    requestSerialize: raw.serialize,
    requestDeserialize: raw.deserialize,
    responseSerialize: raw.serialize,
    responseDeserialize: raw.deserialize,
  },
} satisfies grpc.ServiceDefinition;

export const EchoClient = grpc.makeGenericClientConstructor(echoService, 'Echo');

export interface EchoClientApi {
  echo(req: Buffer, cb: (err: grpc.ServiceError | null, res?: Buffer) => void): void;
  count(req: Buffer): grpc.ClientReadableStream<Buffer>;
  close(): void;
}

export async function startGrpcServer(host = '127.0.0.1', port = 0): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(echoService, {
    echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request),
    count: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      const n = Number(call.request.toString());
      for (let i = 1; i <= n; i++) call.write(Buffer.from(String(i)));
      call.end();
    },
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port: bound };
}

export function grpcClient(address: string): EchoClientApi {
  return new EchoClient(address, grpc.credentials.createInsecure()) as unknown as EchoClientApi;
}

export function unary(client: EchoClientApi, body: string): Promise<Buffer> {
  return new Promise((resolve, reject) => client.echo(Buffer.from(body), (err, res) => (err ? reject(err) : resolve(res as Buffer))));
}

export async function streamed(client: EchoClientApi, n: number): Promise<string[]> {
  const out: string[] = [];
  for await (const m of client.count(Buffer.from(String(n)))) out.push((m as Buffer).toString());
  return out;
}
