// Callers as Node services that talk to an oauth2-server authorization
// server write them: get a client-credentials token and print the token
// response as JSON.
//
//   node axios-caller.mjs axios|simple-oauth2 TOKEN_URL CLIENT_ID CLIENT_SECRET SCOPE
//
// "axios" posts the form with client_id and client_secret in the body, as
// the oauth2-server READMEs and most tutorials do; "simple-oauth2" uses the
// npm simple-oauth2 client with authorizationMethod 'body' (its default,
// 'header', is not what these shops configure). Neither logs the token.
import axios from 'axios';
import { ClientCredentials } from 'simple-oauth2';

const [mode, tokenURL, clientId, clientSecret, scope] = process.argv.slice(2);

let token;
if (mode === 'axios') {
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope });
  try {
    const res = await axios.post(tokenURL, form, { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    token = res.data;
  } catch (err) {
    throw new Error(`token endpoint: ${err.response?.status} ${JSON.stringify(err.response?.data)}`);
  }
} else if (mode === 'simple-oauth2') {
  const url = new URL(tokenURL);
  const client = new ClientCredentials({
    client: { id: clientId, secret: clientSecret },
    auth: { tokenHost: url.origin, tokenPath: url.pathname },
    options: { authorizationMethod: 'body' },
  });
  const at = await client.getToken({ scope: scope.split(' ') });
  token = at.token;
} else {
  throw new Error(`unknown mode ${mode}`);
}
process.stdout.write(JSON.stringify(token) + '\n');
