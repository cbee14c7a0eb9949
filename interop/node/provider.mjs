// An OpenID-certified authorization server (node-oidc-provider) for the
// interop tests, configured from a JSON file written by the Go test:
//
//   node provider.mjs CONFIG.json
//
// CONFIG: { "issuer": "http://127.0.0.1:PORT", "port": PORT, "jwks": {"keys": [...private JWKs...]},
//           "clients": [...], "resources": {"<indicator>": {"audience", "format", "alg"?}} }
//
// Confidential clients use client_credentials; a resource indicator
// (RFC 8707) selects the token format: RFC 9068 JWT access tokens (RS256 or
// ES256, per client) or opaque tokens for introspection. Introspection
// (RFC 7662) and revocation (RFC 7009) are enabled. Keys rotate by
// restarting with a new CONFIG on the same port. Prints "READY <issuer>"
// once listening; stops on SIGTERM.
import { readFileSync } from 'node:fs';
import Provider, { errors } from 'oidc-provider';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));

const provider = new Provider(cfg.issuer, {
  clients: cfg.clients,
  jwks: cfg.jwks,
  scopes: ['read:data', 'write:data'],
  clientBasedCORS: () => false,
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      getResourceServerInfo(ctx, indicator, client) {
        const rs = cfg.resources[indicator];
        if (!rs) throw new errors.InvalidTarget();
        const info = { scope: 'read:data write:data', audience: rs.audience, accessTokenTTL: 3600, accessTokenFormat: rs.format };
        if (rs.format === 'jwt') {
          const alg = (cfg.clientAlgs && cfg.clientAlgs[client.clientId]) || 'RS256';
          info.jwt = { sign: { alg } };
        }
        return info;
      },
    },
  },
  ttl: { ClientCredentials: 3600 },
});
provider.proxy = false;

const server = provider.listen(cfg.port, '127.0.0.1', () => {
  process.stdout.write(`READY ${cfg.issuer}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
