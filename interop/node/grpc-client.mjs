// A gRPC client as real Node services write it: npm @grpc/grpc-js with the
// service definition loaded at run time from the .proto file by
// @grpc/proto-loader (no generated code), calling bearerguard's gRPC
// example (bearerguard.example.v1.Data).
//
//   node grpc-client.mjs < SCRIPT.json > RESULT.json
//
// SCRIPT: { "target": "127.0.0.1:PORT", "proto": path of data.proto,
//           "ca"?: path of a PEM certificate, "calls": [CALL...] }
//
// Without "ca" the channel is plaintext and the token travels as call
// metadata ("authorization: Bearer <token>"), as services on a trusted
// network send it. With "ca" the channel is TLS trusting that certificate
// and the token travels as call credentials
// (credentials.createFromMetadataGenerator, which grpc-js sends only over
// a secure channel): the idiomatic way.
//
// CALL: { "method": "Get"|"Put"|"Watch", "token"?, "request"? }: a call
// without token sends no authorization.
//
// RESULT: { "results": [{ "code" (the gRPC status code), "codeName",
//   "details", "replies" (the messages received), "trailers" (metadata
//   name → values) }...] }.
//
// The whole run is bounded (20 s); every call has a 5 s deadline.
import { readFileSync } from 'node:fs';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const deadline = setTimeout(() => {
  process.stderr.write('grpc-client.mjs: did not finish within 20 s\n');
  process.exit(3);
}, 20_000);

const readStdin = async () => {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
};

const script = await readStdin();
const definition = protoLoader.loadSync(script.proto, { keepCase: true, longs: String, enums: String, defaults: true });
const { Data } = grpc.loadPackageDefinition(definition).bearerguard.example.v1;
const tls = Boolean(script.ca);
const channel = tls ? grpc.credentials.createSsl(readFileSync(script.ca)) : grpc.credentials.createInsecure();
const client = new Data(script.target, channel);
const codeName = Object.fromEntries(Object.entries(grpc.status).map(([k, v]) => [v, k]));

function call(c) {
  const metadata = new grpc.Metadata();
  const options = { deadline: Date.now() + 5_000 };
  if (c.token && tls) {
    options.credentials = grpc.credentials.createFromMetadataGenerator((_params, done) => {
      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${c.token}`);
      done(null, md);
    });
  } else if (c.token) {
    metadata.set('authorization', `Bearer ${c.token}`);
  }
  const request = c.request ?? {};
  return new Promise((resolve) => {
    const replies = [];
    let status;
    let ended = false;
    const finish = () => {
      if (!status || !ended) return;
      resolve({
        code: status.code,
        codeName: codeName[status.code],
        details: status.details,
        replies,
        trailers: status.metadata ? status.metadata.toJSON() : {},
      });
    };
    let stream;
    if (c.method === 'Watch') {
      stream = client.Watch(request, metadata, options);
      stream.on('data', (m) => replies.push(m));
      stream.on('end', () => { ended = true; finish(); });
      stream.on('error', () => { ended = true; finish(); }); // the status follows
    } else {
      stream = client[c.method](request, metadata, options, (err, reply) => {
        if (!err) replies.push(reply);
        ended = true;
        finish();
      });
    }
    stream.on('status', (s) => { status = s; finish(); });
  });
}

const results = [];
for (const c of script.calls) results.push(await call(c));
client.close();
clearTimeout(deadline);
process.stdout.write(`${JSON.stringify({ results })}\n`);
